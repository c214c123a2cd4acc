#include "server/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "align/guard.h"
#include "core/file.h"
#include "core/json.h"
#include "core/progress.h"
#include "taskapi/agent.h"
#include "taskapi/dispatch.h"
#include "taskapi/lm.h"
#include "taskapi/store.h"
#include "taskapi/toolcall.h"
#include "taskapi/tools.h"

/* ---------------------------------------------------------------- metrics */

static const double latency_buckets[] = {0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
#define N_BUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])
#define N_ROUTES 8
static const char *const route_names[N_ROUTES] = {"chat_completions", "agent", "tasks", "models", "health", "metrics", "page", "other"};
enum { R_CHAT, R_AGENT, R_TASKS, R_MODELS, R_HEALTH, R_METRICS, R_PAGE, R_OTHER };

/* Guarded by ta_server.mu. */
typedef struct {
    unsigned long requests[N_ROUTES][6]; /* by status class 1xx..5xx (index 1..5) */
    unsigned long hist[N_ROUTES][N_BUCKETS + 1];
    double latency_sum[N_ROUTES];
    unsigned long prompt_tokens, completion_tokens, guard_refusals, guard_blocks, busy_rejections;
    long in_flight, generating, waiting;
} metrics;

/* ---------------------------------------------------------------- server */

struct ta_server {
    ta_server_opts o;
    struct MHD_Daemon *d;
    int port;
    pthread_t loader;
    int loader_started;
    pthread_mutex_t mu; /* model state, slots */
    pthread_cond_t slot_cv, idle_cv;
    int model_state; /* 0 loading, 1 ready, -1 failed */
    ta_error model_err;
    ta_lm lm;
    ta_guard *guard;
    char *system_template;
    char model_id[256];
    unsigned long next_id;
    metrics m;
};

static const char page_html[] =
#include "embed/web/index.html.inc"
    ;

/* Per-connection state: the request body and timing. */
typedef struct {
    char *body;
    size_t len, cap;
    int too_large;
    double t0;
    int route;
    char guard_note[160]; /* what a guard did to this request, for the log line ("" : nothing) */
} conn;

static void today_str(const ta_server *s, char out[11]) {
    if (s->o.today) {
        snprintf(out, 11, "%s", s->o.today);
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int guard_reply(ta_server *s, const char *reply, char *note, size_t cap, const char **response);

/* ---------------------------------------------------------------- responses */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type, const char *body, size_t len,
                                 const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j) {
    char *txt = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (!txt) return MHD_NO;
    enum MHD_Result rc = send_text(c, status, "application/json", txt, strlen(txt), NULL);
    free(txt);
    return rc;
}

/* OpenAI's error shape. */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type, const char *param,
                                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type, const char *param,
                                  const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", msg, "type", type, "param",
                          param ? json_string(param) : json_null(), "code", json_null());
    char *txt = json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(e);
    enum MHD_Result rc = send_text(c, status, "application/json", txt ? txt : "{}", txt ? strlen(txt) : 2,
                                   status == 503 ? "1" : NULL);
    free(txt);
    return rc;
}

/* ---------------------------------------------------------------- model + slots */

static void *load_model(void *arg) {
    ta_server *s = arg;
    ta_lm lm;
    ta_error err = {0};
    int rc = ta_lm_open(&lm, s->o.model_dir, &err);
    pthread_mutex_lock(&s->mu);
    if (rc == TA_OK) {
        s->lm = lm;
        s->lm.render_tools = s->o.render_tools;
        s->model_state = 1;
    } else {
        s->model_err = err;
        s->model_state = -1;
    }
    pthread_mutex_unlock(&s->mu);
    if (s->o.log) fprintf(s->o.log, rc ? "serve: cannot load the model: %s\n" : "serve: model %s%s loaded\n", rc ? err.msg : s->o.model_dir, "");
    return NULL;
}

int ta_server_model_state(const ta_server *s, ta_error *err) {
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    int st = s->model_state;
    if (st < 0 && err) *err = s->model_err;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return st;
}

/* 0: got a slot; 1: the queue is full (503); 2: no model (503). */
static int acquire_slot(ta_server *s) {
    pthread_mutex_lock(&s->mu);
    if (s->model_state != 1) {
        pthread_mutex_unlock(&s->mu);
        return 2;
    }
    if (s->m.generating >= (long)s->o.parallel && s->m.waiting >= (long)s->o.queue) {
        s->m.busy_rejections++;
        pthread_mutex_unlock(&s->mu);
        return 1;
    }
    s->m.waiting++;
    while (s->m.generating >= (long)s->o.parallel) pthread_cond_wait(&s->slot_cv, &s->mu);
    s->m.waiting--;
    s->m.generating++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void release_slot(ta_server *s, size_t prompt_tokens, size_t completion_tokens) {
    pthread_mutex_lock(&s->mu);
    s->m.generating--;
    s->m.prompt_tokens += prompt_tokens;
    s->m.completion_tokens += completion_tokens;
    pthread_cond_signal(&s->slot_cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- request validation */

typedef struct {
    ta_gen_params params;
    const char *stop[4];
    size_t n_stop;
    int stream, tools_none, include_usage;
    json_t *tools; /* borrowed from the request */
} chat_req;

/* Validates the sampling fields of an OpenAI request into r. Returns NULL or
 * the name of the bad parameter with msg filled. */
static const char *parse_sampling(const ta_server *s, const json_t *req, chat_req *r, char *msg, size_t cap) {
    r->params = s->lm.gen;
    const json_t *v;
    if ((v = json_object_get(req, "temperature")) && !json_is_null(v)) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 2) return snprintf(msg, cap, "temperature must be a number in [0, 2]"), "temperature";
        r->params.sampler.temperature = (float)json_number_value(v);
    }
    if ((v = json_object_get(req, "top_p")) && !json_is_null(v)) {
        if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1) return snprintf(msg, cap, "top_p must be a number in (0, 1]"), "top_p";
        r->params.sampler.top_p = (float)json_number_value(v);
    }
    const char *mt = json_object_get(req, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    if ((v = json_object_get(req, mt)) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || (size_t)json_integer_value(v) > s->o.max_tokens_limit)
            return snprintf(msg, cap, "%s must be an integer in [1, %zu]", mt, s->o.max_tokens_limit), mt;
        r->params.max_tokens = (size_t)json_integer_value(v);
    } else if (r->params.max_tokens > s->o.max_tokens_limit) {
        r->params.max_tokens = s->o.max_tokens_limit;
    }
    if ((v = json_object_get(req, "seed")) && !json_is_null(v)) {
        if (!json_is_integer(v)) return snprintf(msg, cap, "seed must be an integer"), "seed";
        r->params.seed = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(req, "n")) && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) != 1))
        return snprintf(msg, cap, "only n = 1 is supported"), "n";
    if ((v = json_object_get(req, "stop")) && !json_is_null(v)) {
        if (json_is_string(v)) {
            r->stop[r->n_stop++] = json_string_value(v);
        } else if (json_is_array(v) && json_array_size(v) <= 4) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *e = json_array_get(v, i);
                if (!json_is_string(e) || !json_string_length(e)) return snprintf(msg, cap, "stop must be a string or up to 4 non-empty strings"), "stop";
                r->stop[r->n_stop++] = json_string_value(e);
            }
        } else {
            return snprintf(msg, cap, "stop must be a string or up to 4 non-empty strings"), "stop";
        }
    }
    if ((v = json_object_get(req, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v)) return snprintf(msg, cap, "stream must be true or false"), "stream";
        r->stream = json_is_true(v);
    }
    if ((v = json_object_get(req, "stream_options")) && json_is_object(v)) r->include_usage = json_is_true(json_object_get(v, "include_usage"));
    if ((v = json_object_get(req, "tools")) && !json_is_null(v)) {
        if (!json_is_array(v)) return snprintf(msg, cap, "tools must be an array"), "tools";
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *t = json_array_get(v, i), *fn = json_object_get(t, "function");
            if (!json_is_object(fn) || !json_is_string(json_object_get(fn, "name")))
                return snprintf(msg, cap, "tools[%zu] must be {\"type\": \"function\", \"function\": {\"name\", ...}}", i), "tools";
        }
        r->tools = (json_t *)v;
    }
    if ((v = json_object_get(req, "tool_choice")) && !json_is_null(v)) {
        if (json_is_string(v)) {
            const char *tc = json_string_value(v);
            if (!strcmp(tc, "none")) r->tools_none = 1;
            else if (strcmp(tc, "auto") && strcmp(tc, "required")) return snprintf(msg, cap, "tool_choice must be none, auto, required or a function"), "tool_choice";
        } else if (!json_is_object(v)) {
            return snprintf(msg, cap, "tool_choice must be none, auto, required or a function"), "tool_choice";
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- chat completions */

static json_t *tool_calls_json(const ta_parsed_reply *pr, size_t *n_valid) {
    json_t *arr = json_array();
    *n_valid = 0;
    for (size_t i = 0; i < pr->n_calls; i++) {
        const ta_parsed_call *c = &pr->calls[i];
        if (c->status != TA_TC_OK && c->status != TA_TC_UNKNOWN_TOOL) continue;
        char id[32];
        snprintf(id, sizeof id, "call_%zu", ++*n_valid);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type", "function", "function", "name", c->name,
                                             "arguments", c->arguments));
    }
    return arr;
}

/* Builds the OpenAI message for a reply: content (free text, or the raw reply
 * when tool_choice is none) and tool_calls. *finish is "tool_calls" when calls were made. */
static json_t *reply_message(const char *reply, int tools_none, const char **finish) {
    json_t *msg = json_object();
    json_object_set_new(msg, "role", json_string("assistant"));
    if (tools_none) {
        json_object_set_new(msg, "content", json_string(reply));
        return msg;
    }
    ta_parsed_reply pr;
    ta_error e;
    if (ta_toolcall_parse(reply, strlen(reply), &pr, &e) != TA_OK) {
        json_object_set_new(msg, "content", json_string(reply));
        return msg;
    }
    size_t nv;
    json_t *tc = tool_calls_json(&pr, &nv);
    /* invalid blocks stay in the content verbatim, so the client sees what the model wrote */
    if (nv < pr.n_calls) json_object_set_new(msg, "content", json_string(reply));
    else json_object_set_new(msg, "content", pr.text[0] || !nv ? json_string(pr.text) : json_null());
    if (nv) {
        json_object_set_new(msg, "tool_calls", tc);
        *finish = "tool_calls";
    } else {
        json_decref(tc);
    }
    ta_parsed_reply_release(&pr);
    return msg;
}

static const char *finish_name(ta_finish_reason f) { return f == TA_FINISH_LENGTH ? "length" : "stop"; }

/* Streaming: a generation thread fills a buffer that the MHD reader drains. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *data;
    size_t len, cap, off;
    int done, client_gone;
    /* the generation */
    ta_server *s;
    ta_conversation conv;
    chat_req req;
    json_t *request; /* owned: keeps req's borrowed strings alive */
    char id[48];
    long created;
    ta_tc_filter filter; /* hides <tool_call> blocks (sent as tool_calls at the end) */
    char guard_note[160]; /* what the output guard did (the request's conn may be gone when it is known) */
    int started;
    char ws[256];        /* whitespace held back */
    size_t n_ws;
} sse_stream;

static void sse_push(sse_stream *st, const char *txt, size_t n) {
    pthread_mutex_lock(&st->mu);
    if (st->len + n > st->cap) {
        size_t nc = st->cap ? st->cap : 4096;
        while (nc < st->len + n) nc *= 2;
        char *nd = realloc(st->data, nc);
        if (nd) {
            st->data = nd;
            st->cap = nc;
        }
    }
    if (st->len + n <= st->cap) {
        memcpy(st->data + st->len, txt, n);
        st->len += n;
    }
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void sse_event(sse_stream *st, json_t *delta, const char *finish, json_t *usage) {
    json_t *chunk = json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:o}]}", "id", st->id, "object", "chat.completion.chunk", "created",
                              (json_int_t)st->created, "model", st->s->model_id, "choices", "index", 0, "delta", delta,
                              "finish_reason", finish ? json_string(finish) : json_null());
    if (usage) json_object_set_new(chunk, "usage", usage);
    char *txt = json_dumps(chunk, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(chunk);
    if (!txt) return;
    sse_push(st, "data: ", 6);
    sse_push(st, txt, strlen(txt));
    sse_push(st, "\n\n", 2);
    free(txt);
}

static void sse_content(sse_stream *st, const char *piece, size_t len) {
    if (!len) return;
    char *s = strndup(piece, len);
    if (!s) return;
    sse_event(st, json_pack("{s:s}", "content", s), NULL, NULL);
    free(s);
}

/* What the tool-call filter lets through (text outside <tool_call> blocks) is
 * streamed with leading and trailing whitespace dropped, so the streamed text
 * equals the non-streamed content (which is trimmed): whitespace is held back
 * until something visible follows it. */
static int sse_emit(void *user, const char *text, size_t len) {
    sse_stream *st = user;
    if (st->client_gone) return 1;
    char *out = malloc(len + sizeof st->ws + 1);
    if (!out) return 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
            if (!st->started) continue;
            if (st->n_ws == sizeof st->ws) { /* a very long run: let it through */
                memcpy(out + n, st->ws, st->n_ws);
                n += st->n_ws;
                st->n_ws = 0;
            }
            st->ws[st->n_ws++] = ch;
            continue;
        }
        memcpy(out + n, st->ws, st->n_ws);
        n += st->n_ws;
        st->n_ws = 0;
        out[n++] = ch;
        st->started = 1;
    }
    sse_content(st, out, n);
    free(out);
    return 0;
}

static int on_stream_text(void *user, const char *piece, size_t len) {
    sse_stream *st = user;
    if (st->client_gone) return 1;
    return st->req.tools_none ? sse_emit(st, piece, len) : ta_tc_filter_feed(&st->filter, piece, len);
}

static void *sse_generate(void *arg) {
    sse_stream *st = arg;
    ta_server *s = st->s;
    sse_event(st, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL, NULL);
    ta_stream stream = {.on_text = on_stream_text, .user = st};
    const ta_conversation *convs[1] = {&st->conv};
    char *reply = NULL;
    ta_lm_usage u = {0};
    ta_error err = {0};
    ta_lm_request lr = {.params = &st->req.params, .tools = st->req.tools, .stop = st->req.stop, .n_stop = st->req.n_stop,
                        .deadline = ta_now() + s->o.request_timeout_s, .stream = &stream};
    int rc = ta_lm_respond_batch(&s->lm, convs, 1, &lr, &reply, &u, &err);
    release_slot(s, u.prompt_tokens, u.completion_tokens);
    if (rc) {
        json_t *e = json_pack("{s:{s:s,s:s}}", "error", "message", err.msg, "type", "server_error");
        char *txt = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        sse_push(st, "data: ", 6);
        if (txt) sse_push(st, txt, strlen(txt));
        sse_push(st, "\n\n", 2);
        free(txt);
    } else {
        const char *finish = finish_name(u.finish);
        if (!st->req.tools_none) ta_tc_filter_finish(&st->filter); /* a held-back prefix that never became a tag */
        if (!st->req.tools_none) {
            ta_parsed_reply pr;
            ta_error e2;
            const char *blocked;
            if (guard_reply(s, reply, st->guard_note, sizeof st->guard_note, &blocked)) {
                /* tool-call blocks were never streamed (the filter holds them back): the
                   refusal follows the streamed text and no tool_calls are sent */
                sse_event(st, json_pack("{s:s}", "content", blocked), NULL, NULL);
                if (s->o.log) fprintf(s->o.log, "serve: chat_completions (stream %s) %s\n", st->id, st->guard_note);
            } else if (ta_toolcall_parse(reply, strlen(reply), &pr, &e2) == TA_OK) {
                size_t nv;
                json_t *tc = tool_calls_json(&pr, &nv);
                if (nv) {
                    for (size_t i = 0; i < json_array_size(tc); i++) json_object_set_new(json_array_get(tc, i), "index", json_integer((json_int_t)i));
                    sse_event(st, json_pack("{s:o}", "tool_calls", tc), NULL, NULL);
                    finish = "tool_calls";
                } else {
                    json_decref(tc);
                }
                ta_parsed_reply_release(&pr);
            }
        }
        json_t *usage = st->req.include_usage ? json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)u.prompt_tokens, "completion_tokens",
                                                          (json_int_t)u.completion_tokens, "total_tokens", (json_int_t)(u.prompt_tokens + u.completion_tokens))
                                              : NULL;
        sse_event(st, json_object(), finish, usage);
    }
    free(reply);
    sse_push(st, "data: [DONE]\n\n", 14);
    pthread_mutex_lock(&st->mu);
    st->done = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

typedef struct {
    sse_stream *st;
    pthread_t th;
    int has_thread;
} sse_owner;

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    sse_stream *st = ((sse_owner *)cls)->st;
    pthread_mutex_lock(&st->mu);
    while (st->off == st->len && !st->done) pthread_cond_wait(&st->cv, &st->mu);
    ssize_t n;
    if (st->off == st->len && st->done) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        size_t k = st->len - st->off < max ? st->len - st->off : max;
        memcpy(buf, st->data + st->off, k);
        st->off += k;
        n = (ssize_t)k;
    }
    pthread_mutex_unlock(&st->mu);
    return n;
}

static void sse_free(void *cls) {
    sse_owner *ow = cls;
    sse_stream *st = ow->st;
    pthread_mutex_lock(&st->mu);
    st->client_gone = 1;
    pthread_mutex_unlock(&st->mu);
    if (ow->has_thread) pthread_join(ow->th, NULL);
    free(st->data);
    ta_conv_release(&st->conv);
    json_decref(st->request);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
    free(ow);
}

/* The input guard on the last user message. Returns 1 (and the answer to
 * give) when it answers instead of the model. */
static int guard_input(ta_server *s, const ta_conversation *conv, conn *cn, const char **response) {
    *response = NULL;
    if (!s->guard || !conv->n || conv->msgs[conv->n - 1].role != TA_ROLE_USER) return 0;
    ta_guard_verdict v;
    ta_error e;
    if (ta_guard_check_input(s->guard, conv->msgs[conv->n - 1].content, &v, &e) || v.action == TA_GUARD_PASS) return 0;
    pthread_mutex_lock(&s->mu);
    s->m.guard_refusals++;
    pthread_mutex_unlock(&s->mu);
    snprintf(cn->guard_note, sizeof cn->guard_note, "answered by the input guard (rule %s)", v.rule);
    *response = v.response;
    return 1;
}

static const char guard_fail_response[] = "I can't do that right now. Is there something else I can help you with?";

static void note_block(ta_server *s, char *note, size_t cap, const char *tool, const char *rule) {
    pthread_mutex_lock(&s->mu);
    s->m.guard_blocks++;
    pthread_mutex_unlock(&s->mu);
    snprintf(note, cap, "tool call %s blocked by the output guard (rule %s)", tool ? tool : "?", rule ? rule : "?");
}

/* The output guard on the tool calls of a chat-completions reply (the client
 * would execute them): returns 1 and the answer to give instead when one is
 * blocked. A guard failure blocks (fails closed). */
static int guard_reply(ta_server *s, const char *reply, char *note, size_t cap, const char **response) {
    *response = NULL;
    if (!s->guard) return 0;
    ta_parsed_reply pr;
    ta_error e;
    if (ta_toolcall_parse(reply, strlen(reply), &pr, &e) != TA_OK) return 0; /* nothing parseable: no call to run */
    int blocked = 0;
    for (size_t i = 0; i < pr.n_calls && !blocked; i++) {
        const ta_parsed_call *c = &pr.calls[i];
        if (c->status != TA_TC_OK && c->status != TA_TC_UNKNOWN_TOOL) continue;
        ta_guard_verdict v;
        if (ta_guard_check_call(s->guard, c->name, c->arguments, &v, &e)) {
            note_block(s, note, cap, c->name, "guard failure");
            *response = guard_fail_response;
            blocked = 1;
        } else if (v.action == TA_GUARD_BLOCK) {
            note_block(s, note, cap, c->name, v.rule);
            *response = v.response;
            blocked = 1;
        }
    }
    ta_parsed_reply_release(&pr);
    return blocked;
}

static enum MHD_Result handle_chat(ta_server *s, struct MHD_Connection *c, conn *cn) {
    json_t *req;
    ta_error err = {0};
    if (ta_json_load_buf(cn->body ? cn->body : "", cn->len, "request body", &req, &err))
        return send_error(c, 400, "invalid_request_error", NULL, "%s", err.msg);
    if (!json_is_object(req)) {
        json_decref(req);
        return send_error(c, 400, "invalid_request_error", NULL, "the request body must be a JSON object");
    }
    ta_conversation conv;
    ta_conv_init(&conv);
    const json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs) || !json_array_size(msgs) || ta_conv_from_json(&conv, msgs, "messages", &err)) {
        json_decref(req);
        ta_conv_release(&conv);
        return send_error(c, 400, "invalid_request_error", "messages", "%s", err.msg[0] ? err.msg : "messages must be a non-empty array");
    }
    chat_req r = {0};
    char msg[300];
    pthread_mutex_lock(&s->mu);
    int state = s->model_state;
    pthread_mutex_unlock(&s->mu);
    if (state != 1) {
        json_decref(req);
        ta_conv_release(&conv);
        return send_error(c, 503, "server_error", NULL, state == 0 ? "the model is still loading" : "no model is loaded");
    }
    const char *bad = parse_sampling(s, req, &r, msg, sizeof msg);
    if (bad) {
        json_decref(req);
        ta_conv_release(&conv);
        return send_error(c, 400, "invalid_request_error", bad, "%s", msg);
    }
    pthread_mutex_lock(&s->mu);
    unsigned long idn = ++s->next_id;
    pthread_mutex_unlock(&s->mu);
    char id[48];
    snprintf(id, sizeof id, "chatcmpl-%lu", idn);
    long created = (long)time(NULL);
    const char *guarded;
    int input_guarded = guard_input(s, &conv, cn, &guarded);
    if (input_guarded && !r.stream) {
        json_t *resp = json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s},s:s}],s:{s:i,s:i,s:i}}", "id", id, "object", "chat.completion",
                                 "created", (json_int_t)created, "model", s->model_id, "choices", "index", 0, "message", "role",
                                 "assistant", "content", guarded, "finish_reason", "stop", "usage", "prompt_tokens", 0,
                                 "completion_tokens", 0, "total_tokens", 0);
        json_decref(req);
        ta_conv_release(&conv);
        return send_json(c, 200, resp);
    }
    int slot = acquire_slot(s);
    if (slot) {
        json_decref(req);
        ta_conv_release(&conv);
        return send_error(c, 503, "server_error", NULL, slot == 1 ? "the server is busy: too many requests are waiting" : "no model is loaded");
    }
    if (r.stream) {
        sse_stream *st = calloc(1, sizeof *st);
        sse_owner *ow = calloc(1, sizeof *ow);
        if (!st || !ow) {
            free(st);
            free(ow);
            release_slot(s, 0, 0);
            json_decref(req);
            ta_conv_release(&conv);
            return send_error(c, 500, "server_error", NULL, "out of memory");
        }
        pthread_mutex_init(&st->mu, NULL);
        pthread_cond_init(&st->cv, NULL);
        st->s = s;
        ta_tc_filter_init(&st->filter, sse_emit, st);
        st->conv = conv;
        st->req = r;
        st->request = req;
        st->created = created;
        snprintf(st->id, sizeof st->id, "%s", id);
        ow->st = st;
        if (input_guarded) {
            /* guarded streams answer at once; the generation thread only emits the text */
            release_slot(s, 0, 0);
            st->req.tools_none = 1;
            sse_event(st, json_pack("{s:s,s:s}", "role", "assistant", "content", guarded), NULL, NULL);
            sse_event(st, json_object(), "stop", NULL);
            sse_push(st, "data: [DONE]\n\n", 14);
            st->done = 1;
        } else if (pthread_create(&ow->th, NULL, sse_generate, st) == 0) {
            ow->has_thread = 1;
        } else {
            release_slot(s, 0, 0);
            static const char msg[] = "data: {\"error\": {\"message\": \"cannot start the generation thread\", \"type\": \"server_error\"}}\n\n";
            sse_push(st, msg, sizeof msg - 1);
            st->done = 1;
        }
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_reader, ow, sse_free);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        enum MHD_Result rc = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    const ta_conversation *convs[1] = {&conv};
    char *reply = NULL;
    ta_lm_usage u = {0};
    ta_lm_request lr = {.params = &r.params, .tools = r.tools, .stop = r.stop, .n_stop = r.n_stop, .deadline = ta_now() + s->o.request_timeout_s};
    int rc = ta_lm_respond_batch(&s->lm, convs, 1, &lr, &reply, &u, &err);
    release_slot(s, u.prompt_tokens, u.completion_tokens);
    if (rc) {
        json_decref(req);
        ta_conv_release(&conv);
        return send_error(c, rc == TA_EINVAL || rc == TA_ERANGE || rc == TA_EFORMAT ? 400 : 500, rc == TA_EINVAL || rc == TA_ERANGE || rc == TA_EFORMAT ? "invalid_request_error" : "server_error", NULL, "%s", err.msg);
    }
    const char *finish = finish_name(u.finish);
    const char *blocked;
    json_t *message;
    if (!r.tools_none && guard_reply(s, reply, cn->guard_note, sizeof cn->guard_note, &blocked)) {
        /* the reply's tool calls are withheld from the client: a normal answer with the refusal */
        message = json_pack("{s:s,s:s}", "role", "assistant", "content", blocked);
        finish = "stop";
    } else {
        message = reply_message(reply, r.tools_none, &finish);
    }
    json_t *resp = json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:s}],s:{s:I,s:I,s:I}}", "id", id, "object", "chat.completion", "created",
                             (json_int_t)created, "model", s->model_id, "choices", "index", 0, "message", message, "finish_reason", finish,
                             "usage", "prompt_tokens", (json_int_t)u.prompt_tokens, "completion_tokens", (json_int_t)u.completion_tokens,
                             "total_tokens", (json_int_t)(u.prompt_tokens + u.completion_tokens));
    free(reply);
    json_decref(req);
    ta_conv_release(&conv);
    return send_json(c, 200, resp);
}

/* ---------------------------------------------------------------- agent */

static enum MHD_Result handle_agent(ta_server *s, struct MHD_Connection *c, conn *cn) {
    json_t *req;
    ta_error err = {0};
    if (ta_json_load_buf(cn->body ? cn->body : "", cn->len, "request body", &req, &err))
        return send_error(c, 400, "invalid_request_error", NULL, "%s", err.msg);
    ta_conversation conv;
    ta_conv_init(&conv);
    ta_store *store = NULL;
    char *sys = NULL;
    json_t *resp = NULL;
    unsigned status = 200;
    const char *etype = "invalid_request_error", *eparam = NULL;
    char emsg[600] = "";
    if (!json_is_object(req)) { snprintf(emsg, sizeof emsg, "the request body must be a JSON object"); status = 400; goto out; }
    const json_t *msgs = json_object_get(req, "messages"), *one = json_object_get(req, "message");
    if (msgs && !json_is_null(msgs)) {
        if (!json_is_array(msgs) || !json_array_size(msgs) || ta_conv_from_json(&conv, msgs, "messages", &err)) {
            snprintf(emsg, sizeof emsg, "%s", err.msg[0] ? err.msg : "messages must be a non-empty array");
            eparam = "messages";
            status = 400;
            goto out;
        }
    } else if (!json_is_string(one) || !json_string_length(one)) {
        snprintf(emsg, sizeof emsg, "give \"messages\" (an array) or \"message\" (a string)");
        eparam = "message";
        status = 400;
        goto out;
    }
    if (!conv.n || conv.msgs[0].role != TA_ROLE_SYSTEM) {
        /* the TaskMaster system prompt goes first */
        char today[11];
        today_str(s, today);
        if (ta_system_prompt_render(s->system_template, today, &sys, &err)) { snprintf(emsg, sizeof emsg, "%s", err.msg); status = 500; etype = "server_error"; goto out; }
        ta_conversation tmp;
        ta_conv_init(&tmp);
        ta_conv_add(&tmp, TA_ROLE_SYSTEM, sys);
        ta_conv_append(&tmp, &conv, &err);
        ta_conv_release(&conv);
        conv = tmp;
    }
    if (json_is_string(one) && !(msgs && !json_is_null(msgs))) ta_conv_add(&conv, TA_ROLE_USER, json_string_value(one));
    if (conv.msgs[conv.n - 1].role != TA_ROLE_USER) { snprintf(emsg, sizeof emsg, "the last message must be from the user"); eparam = "messages"; status = 400; goto out; }
    chat_req r = {0};
    pthread_mutex_lock(&s->mu);
    int state = s->model_state;
    pthread_mutex_unlock(&s->mu);
    if (state != 1) { snprintf(emsg, sizeof emsg, state == 0 ? "the model is still loading" : "no model is loaded"); status = 503; etype = "server_error"; goto out; }
    const char *bad = parse_sampling(s, req, &r, emsg, sizeof emsg);
    if (bad) { eparam = bad; status = 400; goto out; }
    const json_t *ms = json_object_get(req, "max_steps");
    int max_steps = TA_AGENT_DEFAULT_STEPS;
    if (ms && !json_is_null(ms)) {
        if (!json_is_integer(ms) || json_integer_value(ms) < 1 || json_integer_value(ms) > 20) { snprintf(emsg, sizeof emsg, "max_steps must be an integer in [1, 20]"); eparam = "max_steps"; status = 400; goto out; }
        max_steps = (int)json_integer_value(ms);
    }
    const char *guarded;
    json_t *calls = json_array();
    const char *reply_text;
    ta_agent_result res;
    ta_agent_result_init(&res);
    size_t pt = 0, ct = 0;
    if (guard_input(s, &conv, cn, &guarded)) {
        ta_conv_add(&conv, TA_ROLE_ASSISTANT, guarded);
        reply_text = guarded;
    } else {
        if (ta_store_open(&store, s->o.db_path, &err)) { json_decref(calls); snprintf(emsg, sizeof emsg, "%s", err.msg); status = 500; etype = "server_error"; goto out; }
        int slot = acquire_slot(s);
        if (slot) { json_decref(calls); snprintf(emsg, sizeof emsg, slot == 1 ? "the server is busy: too many requests are waiting" : "no model is loaded"); status = 503; etype = "server_error"; goto out; }
        ta_lm_agent la;
        ta_lm_agent_init(&la, &s->lm);
        la.params = r.params;
        ta_agent_model am = ta_lm_agent_model(&la);
        ta_agent_opts ao = {.max_steps = max_steps};
        if (s->guard) {
            ao.filter = ta_guard_agent_filter;
            ao.filter_user = s->guard;
        }
        int rc = ta_agent_run(&am, store, &conv, &ao, &res, &err);
        release_slot(s, la.prompt_tokens, la.completion_tokens);
        pt = la.prompt_tokens;
        ct = la.completion_tokens;
        if (rc) { ta_agent_result_release(&res); json_decref(calls); snprintf(emsg, sizeof emsg, "%s", err.msg); status = 500; etype = "server_error"; goto out; }
        for (size_t i = 0; i < res.n_calls; i++) {
            const ta_agent_call *ac = &res.calls[i];
            json_t *args = ac->arguments ? json_loads(ac->arguments, 0, NULL) : NULL;
            json_t *result = ac->result ? json_loads(ac->result, 0, NULL) : NULL;
            json_t *cj = json_pack("{s:o,s:o,s:b,s:s,s:o}", "name", ac->name ? json_string(ac->name) : json_null(), "arguments",
                                   args ? args : json_null(), "ok", ac->ok, "status", ta_tc_status_name(ac->status), "result",
                                   result ? result : json_null());
            if (cj && ac->guard != TA_AGENT_CALL_RUN) {
                json_object_set_new(cj, "guard", json_string(ac->guard == TA_AGENT_CALL_BLOCKED ? "blocked" : "withheld"));
                if (ac->block_rule) json_object_set_new(cj, "guard_rule", json_string(ac->block_rule));
            }
            json_array_append_new(calls, cj);
        }
        if (res.blocked) {
            const char *bname = NULL;
            for (size_t i = 0; i < res.n_calls && !bname; i++)
                if (res.calls[i].guard == TA_AGENT_CALL_BLOCKED) bname = res.calls[i].name;
            note_block(s, cn->guard_note, sizeof cn->guard_note, bname, res.block_rule);
        }
        reply_text = res.final_text;
    }
    resp = json_pack("{s:s,s:o,s:o,s:b,s:{s:I,s:I,s:I}}", "reply", reply_text, "tool_calls", calls, "messages", ta_conv_to_json(&conv),
                     "hit_step_limit", res.hit_step_limit, "usage", "prompt_tokens", (json_int_t)pt, "completion_tokens", (json_int_t)ct,
                     "total_tokens", (json_int_t)(pt + ct));
    if (resp && cn->guard_note[0]) json_object_set_new(resp, "guard", json_string(cn->guard_note));
    ta_agent_result_release(&res);
out:
    ta_store_close(store);
    free(sys);
    ta_conv_release(&conv);
    json_decref(req);
    if (status != 200) return send_error(c, status, etype, eparam, "%s", emsg);
    return send_json(c, 200, resp);
}

/* ---------------------------------------------------------------- tasks REST */

static unsigned status_for_tool_error(int rc) { return rc == TA_ENOTFOUND ? 404 : rc == TA_EINVAL ? 400 : 500; }

static enum MHD_Result tool_response(struct MHD_Connection *c, ta_store *st, const char *tool, json_t *args, unsigned ok_status) {
    json_t *result = NULL;
    ta_error err = {0};
    int rc = ta_dispatch_json(st, tool, args, &result, &err);
    json_decref(args);
    if (rc) {
        json_decref(result);
        return send_error(c, status_for_tool_error(rc), rc == TA_ENOTFOUND ? "not_found_error" : "invalid_request_error", NULL, "%s", err.msg);
    }
    return send_json(c, ok_status, result);
}

static int parse_id(const char *s, int64_t *id) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 1) return -1;
    *id = v;
    return 0;
}

static enum MHD_Result handle_tasks(ta_server *s, struct MHD_Connection *c, const char *method, const char *rest, conn *cn) {
    ta_store *st = NULL;
    ta_error err = {0};
    if (ta_store_open(&st, s->o.db_path, &err)) return send_error(c, 500, "server_error", NULL, "%s", err.msg);
    enum MHD_Result r;
    json_t *body = NULL;
    int has_body = cn->len > 0;
    if (has_body) {
        if (ta_json_load_buf(cn->body, cn->len, "request body", &body, &err) || !json_is_object(body)) {
            json_decref(body);
            ta_store_close(st);
            return send_error(c, 400, "invalid_request_error", NULL, "%s", err.msg[0] ? err.msg : "the request body must be a JSON object");
        }
    }
    if (!*rest) {
        if (!strcmp(method, "GET")) {
            json_t *args = json_object();
            const char *keys[] = {"status", "priority", "due_before", "tag", "project"};
            for (size_t i = 0; i < 5; i++) {
                const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, keys[i]);
                if (v) json_object_set_new(args, keys[i], json_string(v));
            }
            r = tool_response(c, st, "list_tasks", args, 200);
        } else if (!strcmp(method, "POST")) {
            r = body ? tool_response(c, st, "create_task", json_incref(body), 201) : send_error(c, 400, "invalid_request_error", NULL, "POST /v1/tasks needs a JSON body with at least \"title\"");
        } else {
            r = send_error(c, 405, "invalid_request_error", NULL, "method %s is not allowed on /v1/tasks", method);
        }
    } else {
        int64_t id;
        if (parse_id(rest, &id)) {
            r = send_error(c, 404, "not_found_error", NULL, "no such resource: /v1/tasks/%.40s", rest);
        } else if (!strcmp(method, "GET")) {
            json_t *task = NULL;
            int rc = ta_store_task_get(st, id, &task, &err);
            r = rc ? send_error(c, status_for_tool_error(rc), "not_found_error", NULL, "%s", err.msg) : send_json(c, 200, task);
        } else if (!strcmp(method, "PATCH")) {
            if (!body) r = send_error(c, 400, "invalid_request_error", NULL, "PATCH needs a JSON body with the fields to change");
            else {
                json_t *args = json_deep_copy(body);
                json_object_set_new(args, "task_id", json_integer(id));
                r = tool_response(c, st, "update_task", args, 200);
            }
        } else if (!strcmp(method, "DELETE")) {
            r = tool_response(c, st, "delete_task", json_pack("{s:I}", "task_id", (json_int_t)id), 200);
        } else {
            r = send_error(c, 405, "invalid_request_error", NULL, "method %s is not allowed on /v1/tasks/{id}", method);
        }
    }
    json_decref(body);
    ta_store_close(st);
    return r;
}

/* ---------------------------------------------------------------- metrics text */

static enum MHD_Result handle_metrics(ta_server *s, struct MHD_Connection *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return send_error(c, 500, "server_error", NULL, "out of memory");
    pthread_mutex_lock(&s->mu);
    metrics *m = &s->m;
    fprintf(fp, "# HELP taskalign_requests_total HTTP requests by route and status class.\n# TYPE taskalign_requests_total counter\n");
    for (int r = 0; r < N_ROUTES; r++)
        for (int k = 1; k <= 5; k++)
            if (m->requests[r][k]) fprintf(fp, "taskalign_requests_total{route=\"%s\",code=\"%dxx\"} %lu\n", route_names[r], k, m->requests[r][k]);
    fprintf(fp, "# HELP taskalign_request_duration_seconds Request latency.\n# TYPE taskalign_request_duration_seconds histogram\n");
    for (int r = 0; r < N_ROUTES; r++) {
        unsigned long cum = 0, total = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++) total += m->hist[r][b];
        if (!total) continue;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cum += m->hist[r][b];
            fprintf(fp, "taskalign_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", route_names[r], latency_buckets[b], cum);
        }
        fprintf(fp, "taskalign_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", route_names[r], total);
        fprintf(fp, "taskalign_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r], m->latency_sum[r]);
        fprintf(fp, "taskalign_request_duration_seconds_count{route=\"%s\"} %lu\n", route_names[r], total);
    }
    fprintf(fp, "# TYPE taskalign_prompt_tokens_total counter\ntaskalign_prompt_tokens_total %lu\n", m->prompt_tokens);
    fprintf(fp, "# TYPE taskalign_completion_tokens_total counter\ntaskalign_completion_tokens_total %lu\n", m->completion_tokens);
    fprintf(fp, "# HELP taskalign_guard_refusals_total Requests answered by the input guard.\n# TYPE taskalign_guard_refusals_total counter\ntaskalign_guard_refusals_total %lu\n", m->guard_refusals);
    fprintf(fp, "# HELP taskalign_guard_blocks_total Replies whose tool calls the output guard blocked.\n# TYPE taskalign_guard_blocks_total counter\ntaskalign_guard_blocks_total %lu\n", m->guard_blocks);
    fprintf(fp, "# TYPE taskalign_busy_rejections_total counter\ntaskalign_busy_rejections_total %lu\n", m->busy_rejections);
    fprintf(fp, "# TYPE taskalign_in_flight_requests gauge\ntaskalign_in_flight_requests %ld\n", m->in_flight);
    fprintf(fp, "# TYPE taskalign_generations_running gauge\ntaskalign_generations_running %ld\n", m->generating);
    fprintf(fp, "# TYPE taskalign_generations_waiting gauge\ntaskalign_generations_waiting %ld\n", m->waiting);
    fprintf(fp, "# TYPE taskalign_model_loaded gauge\ntaskalign_model_loaded %d\n", s->model_state == 1);
    pthread_mutex_unlock(&s->mu);
    fclose(fp);
    enum MHD_Result r = send_text(c, 200, "text/plain; version=0.0.4", buf, len, NULL);
    free(buf);
    return r;
}

/* ---------------------------------------------------------------- dispatch */

static int route_of(const char *url) {
    if (!strcmp(url, "/v1/chat/completions")) return R_CHAT;
    if (!strcmp(url, "/v1/agent")) return R_AGENT;
    if (!strncmp(url, "/v1/tasks", 9) && (url[9] == '\0' || url[9] == '/')) return R_TASKS;
    if (!strcmp(url, "/v1/models")) return R_MODELS;
    if (!strcmp(url, "/health")) return R_HEALTH;
    if (!strcmp(url, "/metrics")) return R_METRICS;
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) return R_PAGE;
    return R_OTHER;
}

static int authorized(const ta_server *s, struct MHD_Connection *c) {
    if (!s->o.api_key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    const char *k = h + 7;
    size_t a = strlen(k), b = strlen(s->o.api_key);
    unsigned diff = a != b; /* constant-time compare over the key length */
    for (size_t i = 0; i < b; i++) diff |= (unsigned)(i < a ? k[i] : 0) ^ (unsigned)s->o.api_key[i];
    return diff == 0;
}

static enum MHD_Result route(ta_server *s, struct MHD_Connection *c, const char *url, const char *method, conn *cn) {
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    if (cn->too_large) return send_error(c, 413, "invalid_request_error", NULL, "the request body is larger than %zu bytes", s->o.max_body);
    if (!strncmp(url, "/v1/", 4) && !authorized(s, c)) return send_error(c, 401, "invalid_request_error", NULL, "missing or wrong API key (Authorization: Bearer ...)");
    switch (cn->route) {
    case R_CHAT:
        return is_post ? handle_chat(s, c, cn) : send_error(c, 405, "invalid_request_error", NULL, "use POST /v1/chat/completions");
    case R_AGENT:
        return is_post ? handle_agent(s, c, cn) : send_error(c, 405, "invalid_request_error", NULL, "use POST /v1/agent");
    case R_TASKS:
        return handle_tasks(s, c, method, url[9] == '/' ? url + 10 : "", cn);
    case R_MODELS: {
        if (!is_get) return send_error(c, 405, "invalid_request_error", NULL, "use GET /v1/models");
        json_t *data = json_array();
        if (ta_server_model_state(s, NULL) == 1)
            json_array_append_new(data, json_pack("{s:s,s:s,s:i,s:s}", "id", s->model_id, "object", "model", "created", 0, "owned_by", "taskalign"));
        return send_json(c, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
    }
    case R_HEALTH: {
        ta_error e = {0};
        int st = ta_server_model_state(s, &e);
        if (!s->o.model_dir) return send_json(c, 200, json_pack("{s:s,s:b}", "status", "ok", "model", 0));
        if (st == 1) return send_json(c, 200, json_pack("{s:s,s:s}", "status", "ok", "model", s->model_id));
        if (st == 0) return send_json(c, 503, json_pack("{s:s}", "status", "loading"));
        return send_json(c, 503, json_pack("{s:s,s:s}", "status", "error", "error", e.msg));
    }
    case R_METRICS:
        return handle_metrics(s, c);
    case R_PAGE:
        return is_get ? send_text(c, 200, "text/html; charset=utf-8", page_html, sizeof page_html - 1, NULL)
                      : send_error(c, 405, "invalid_request_error", NULL, "use GET /");
    default:
        return send_error(c, 404, "invalid_request_error", NULL, "no such endpoint: %.100s", url);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    ta_server *s = cls;
    conn *cn = *con_cls;
    if (!cn) {
        cn = calloc(1, sizeof *cn);
        if (!cn) return MHD_NO;
        cn->t0 = ta_now();
        cn->route = route_of(url);
        *con_cls = cn;
        pthread_mutex_lock(&s->mu);
        s->m.in_flight++;
        pthread_mutex_unlock(&s->mu);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (cn->too_large || cn->len + n > s->o.max_body) {
            cn->too_large = 1;
            return MHD_YES;
        }
        if (cn->len + n + 1 > cn->cap) {
            size_t nc = cn->cap ? cn->cap : 4096;
            while (nc < cn->len + n + 1) nc *= 2;
            char *nb = realloc(cn->body, nc);
            if (!nb) return MHD_NO;
            cn->body = nb;
            cn->cap = nc;
        }
        memcpy(cn->body + cn->len, upload, n);
        cn->len += n;
        cn->body[cn->len] = '\0';
        return MHD_YES;
    }
    return route(s, c, url, method, cn);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    ta_server *s = cls;
    conn *cn = *con_cls;
    if (!cn) return;
    double dt = ta_now() - cn->t0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = ci ? ci->http_status : 0;
    pthread_mutex_lock(&s->mu);
    metrics *m = &s->m;
    int k = status >= 100 && status < 600 ? (int)(status / 100) : 5;
    m->requests[cn->route][k]++;
    size_t b = 0;
    while (b < N_BUCKETS && dt > latency_buckets[b]) b++;
    m->hist[cn->route][b]++;
    m->latency_sum[cn->route] += dt;
    m->in_flight--;
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->o.log) fprintf(s->o.log, "serve: %s %u %.3fs%s%s\n", route_names[cn->route], status, dt, cn->guard_note[0] ? " " : "", cn->guard_note);
    free(cn->body);
    free(cn);
    *con_cls = NULL;
}

/* ---------------------------------------------------------------- lifecycle */

void ta_server_opts_default(ta_server_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->parallel = 2;
    o->queue = 8;
    o->max_body = 1u << 20;
    o->max_tokens_limit = 1024;
    o->request_timeout_s = 120;
}

int ta_server_start(ta_server **out, const ta_server_opts *o, ta_error *err) {
    if (!o->db_path || !o->db_path[0]) return ta_error_set(err, TA_EINVAL, "--db FILE is required");
    if (!strcmp(o->db_path, ":memory:")) return ta_error_set(err, TA_EINVAL, "--db: the server needs a file (each request opens its own connection), not ':memory:'");
    if (!o->parallel) return ta_error_set(err, TA_EINVAL, "--parallel must be at least 1");
    ta_server *s = calloc(1, sizeof *s);
    if (!s) return ta_error_set(err, TA_ENOMEM, "out of memory");
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->slot_cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    int rc = TA_OK;
    /* the store is created (and migrated) once up front, so requests only open it */
    ta_store *st;
    if ((rc = ta_store_open(&st, o->db_path, err))) goto fail;
    ta_store_close(st);
    if (o->system_path) {
        size_t len;
        if ((rc = ta_file_read_all(o->system_path, 1 << 20, &s->system_template, &len, err))) goto fail;
    }
    if (o->guard_path && (rc = o->guard_path[0] ? ta_guard_load(&s->guard, o->guard_path, err) : ta_guard_load_default(&s->guard, err))) goto fail;
    if (o->model_dir) {
        const char *base = strrchr(o->model_dir, '/');
        snprintf(s->model_id, sizeof s->model_id, "%s", base && base[1] ? base + 1 : o->model_dir);
    } else {
        s->model_state = -1;
        ta_error_set(&s->model_err, TA_ENOTFOUND, "the server was started without --model");
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &addr.sin_addr) != 1) {
        rc = ta_error_set(err, TA_EINVAL, "--host: '%s' is not an IPv4 address", o->host);
        goto fail;
    }
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)o->port, NULL, NULL,
                            on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->request_timeout_s + 30), MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)(o->parallel + o->queue + 64), MHD_OPTION_END);
    if (!s->d) {
        rc = ta_error_set(err, TA_EIO, "cannot listen on %s:%d (in use, or not allowed)", o->host, o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    if (o->model_dir) {
        if (pthread_create(&s->loader, NULL, load_model, s)) {
            rc = ta_error_set(err, TA_EINTERNAL, "cannot start the model loader thread");
            goto fail;
        }
        s->loader_started = 1;
    }
    *out = s;
    return TA_OK;
fail:
    ta_server_stop(s, 0);
    return rc;
}

int ta_server_port(const ta_server *s) { return s->port; }

void ta_server_stop(ta_server *s, double grace_s) {
    if (!s) return;
    if (s->d) {
        MHD_socket lsock = MHD_quiesce_daemon(s->d); /* no new connections from here on */
        (void)lsock;
        double until = ta_now() + grace_s;
        pthread_mutex_lock(&s->mu);
        while (s->m.in_flight > 0 && ta_now() < until) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
            pthread_cond_timedwait(&s->idle_cv, &s->mu, &ts);
        }
        pthread_mutex_unlock(&s->mu);
        MHD_stop_daemon(s->d);
    }
    if (s->loader_started) pthread_join(s->loader, NULL);
    if (s->model_state == 1) ta_lm_close(&s->lm);
    ta_guard_free(s->guard);
    free(s->system_template);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->slot_cv);
    pthread_cond_destroy(&s->idle_cv);
    free(s);
}
