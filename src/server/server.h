/* server.h: `taskalign serve`: an OpenAI-compatible HTTP server with the Task
 * API, on libmicrohttpd (one thread per connection).
 *
 * Endpoints
 *   POST /v1/chat/completions   OpenAI chat completions: messages, tools, tool_choice,
 *                               tool_calls in responses, stream (server-sent events),
 *                               temperature/top_p/max_tokens/seed/stop, usage
 *   POST /v1/agent              the TaskMaster agent loop server-side against the store:
 *                               {"messages": [...]} or {"message": "..."} ->
 *                               {"reply", "tool_calls": [...], "messages": [...], "usage"}
 *   GET/POST /v1/tasks, GET/PATCH/DELETE /v1/tasks/{id}   REST over the same store
 *   GET /v1/models, GET /health (503 while the model loads), GET /metrics (Prometheus)
 *   GET /                       a small chat page (tasks beside the chat)
 *
 * Concurrency: `parallel` generations run at once, each with its own KV cache
 * over the shared read-only weights; up to `queue` more wait; beyond that a
 * request gets 503 with Retry-After. Each request opens its own connection to
 * the SQLite store (WAL + busy timeout), so tool calls, the REST API and the
 * CLI share one file safely; each tool call is its own transaction.
 * Limits: body size, max_tokens, and a wall-clock limit per generation.
 * Errors use OpenAI's JSON: {"error": {"message", "type", "param", "code"}}.
 * Security: binds to 127.0.0.1 unless told otherwise; optional bearer key for
 * every /v1/ endpoint; every JSON field is validated; requests never name files. */
#ifndef TA_SERVER_SERVER_H
#define TA_SERVER_SERVER_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct ta_server_opts {
    const char *model_dir;     /* NULL: no model (tasks API only; model endpoints answer 503) */
    const char *db_path;       /* SQLite file (required; created if missing) */
    const char *host;          /* default "127.0.0.1" */
    int port;                  /* 0: an ephemeral port (see ta_server_port) */
    size_t parallel;           /* concurrent generations (default 2) */
    size_t queue;              /* waiting generations before 503 (default 8) */
    size_t max_body;           /* bytes (default 1 MiB) */
    size_t max_tokens_limit;   /* cap on max_tokens (default 1024) */
    double request_timeout_s;  /* per generation (default 120) */
    const char *api_key;       /* NULL: no auth */
    const char *guard_path;    /* NULL: no guard; "" : the default guard */
    const char *system_path;   /* system prompt template for /v1/agent (NULL: TaskMaster's) */
    const char *today;         /* NULL: the local date at each request */
    int render_tools;          /* pass request tools to the chat template */
    FILE *log;                 /* one line per request (NULL: quiet) */
} ta_server_opts;

void ta_server_opts_default(ta_server_opts *o);

typedef struct ta_server ta_server;

/* Binds and starts serving at once; the model loads in the background
 * (/health says 503 until it is ready). */
int ta_server_start(ta_server **out, const ta_server_opts *o, ta_error *err);
int ta_server_port(const ta_server *s);
/* 1 when the model is loaded, -1 when loading failed (message in err), 0 while loading. */
int ta_server_model_state(const ta_server *s, ta_error *err);
/* Stops accepting connections, lets in-flight requests finish for up to
 * grace_s seconds (then they are cut), stops and frees everything. */
void ta_server_stop(ta_server *s, double grace_s);

#endif
