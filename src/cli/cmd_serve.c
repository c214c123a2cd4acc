/* cmd_serve.c: `taskalign serve`: the OpenAI-compatible server with the Task API. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/threads.h"
#include "server/server.h"

TA_COMMAND("serve", ta_cmd_serve, "OpenAI-compatible HTTP server with the Task API, agent endpoint and chat page");

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: taskalign serve --model DIR --db FILE [options]\n\n"
            "Serves POST /v1/chat/completions (OpenAI-compatible, streaming, tools), POST /v1/agent (the\n"
            "TaskMaster tool loop run server-side against the store), /v1/tasks REST, GET /v1/models,\n"
            "/health, /metrics (Prometheus) and a chat page at /. SIGTERM or Ctrl-C stops accepting,\n"
            "lets running requests finish (up to --grace seconds) and exits.\n\n"
            "options:\n"
            "  --model DIR            model folder (omit to serve only the task store)\n"
            "  --db FILE              SQLite task store, shared with `taskalign tasks` (created if missing)\n"
            "  --host ADDR            IPv4 address to bind (default 127.0.0.1: loopback only)\n"
            "  --port N               port (default 8080; 0 picks a free one, printed on start)\n"
            "  -t, --threads N        compute threads for generation (default: all cores)\n"
            "  --parallel N           generations at once, each with its own KV cache (default 2)\n"
            "  --queue N              generations that may wait before 503 + Retry-After (default 8)\n"
            "  --max-body BYTES       largest request body (default 1048576)\n"
            "  --max-tokens-limit N   cap on a request's max_tokens (default 1024)\n"
            "  --timeout S            wall-clock limit per generation in seconds (default 120)\n"
            "  --api-key KEY          require 'Authorization: Bearer KEY' on /v1/ (also $TASKALIGN_API_KEY)\n"
            "  --guard[=FILE]         guardrails (default guard if no FILE): the input guard on the last user\n"
            "                         message, the output guard on every tool call before it runs (/v1/agent)\n"
            "                         or is returned (/v1/chat/completions); a blocked request gets a normal\n"
            "                         assistant message with the refusal, and the log line says so\n"
            "  --system FILE          system prompt template for /v1/agent (default: TaskMaster's)\n"
            "  --today YYYY-MM-DD     fix the date the agent works with (default: today)\n"
            "  --render-tools         pass request tools to the chat template (for Hub models whose\n"
            "                         template renders tools; the embedded model's prompt lists them)\n"
            "  --grace S              seconds in-flight requests get at shutdown (default 30)\n"
            "  --quiet                no request log on stderr\n");
}

int ta_cmd_serve(int argc, char **argv) {
    ta_server_opts o;
    ta_server_opts_default(&o);
    o.log = stderr;
    o.api_key = getenv("TASKALIGN_API_KEY");
    long threads = 0, v;
    double grace = 30, timeout = o.request_timeout_s;
    ta_error err = {0};
    enum { O_DB = 256, O_HOST, O_PORT, O_PAR, O_QUEUE, O_BODY, O_MTL, O_TIMEOUT, O_KEY, O_GUARD, O_SYS, O_TODAY, O_RT, O_GRACE, O_QUIET, O_HELP };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"db", required_argument, 0, O_DB},
                                         {"host", required_argument, 0, O_HOST}, {"port", required_argument, 0, O_PORT},
                                         {"threads", required_argument, 0, 't'}, {"parallel", required_argument, 0, O_PAR},
                                         {"queue", required_argument, 0, O_QUEUE}, {"max-body", required_argument, 0, O_BODY},
                                         {"max-tokens-limit", required_argument, 0, O_MTL}, {"timeout", required_argument, 0, O_TIMEOUT},
                                         {"api-key", required_argument, 0, O_KEY}, {"guard", optional_argument, 0, O_GUARD},
                                         {"system", required_argument, 0, O_SYS}, {"today", required_argument, 0, O_TODAY},
                                         {"render-tools", no_argument, 0, O_RT}, {"grace", required_argument, 0, O_GRACE},
                                         {"quiet", no_argument, 0, O_QUIET}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:t:", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'm': o.model_dir = optarg; break;
        case O_DB: o.db_path = optarg; break;
        case O_HOST: o.host = optarg; break;
        case O_PORT:
            if (!(rc = ta_cli_parse_long(optarg, "--port", &v, &err)) && (v < 0 || v > 65535)) rc = ta_error_set(&err, TA_EINVAL, "--port must be 0..65535");
            o.port = (int)v;
            break;
        case 't': rc = ta_cli_parse_long(optarg, "--threads", &threads, &err); break;
        case O_PAR:
            if (!(rc = ta_cli_parse_long(optarg, "--parallel", &v, &err)) && (v < 1 || v > 64)) rc = ta_error_set(&err, TA_EINVAL, "--parallel must be 1..64");
            o.parallel = (size_t)v;
            break;
        case O_QUEUE:
            if (!(rc = ta_cli_parse_long(optarg, "--queue", &v, &err)) && (v < 0 || v > 4096)) rc = ta_error_set(&err, TA_EINVAL, "--queue must be 0..4096");
            o.queue = (size_t)v;
            break;
        case O_BODY:
            if (!(rc = ta_cli_parse_long(optarg, "--max-body", &v, &err)) && (v < 1024 || v > (1L << 30))) rc = ta_error_set(&err, TA_EINVAL, "--max-body must be 1 KiB..1 GiB");
            o.max_body = (size_t)v;
            break;
        case O_MTL:
            if (!(rc = ta_cli_parse_long(optarg, "--max-tokens-limit", &v, &err)) && (v < 1 || v > 65536)) rc = ta_error_set(&err, TA_EINVAL, "--max-tokens-limit must be 1..65536");
            o.max_tokens_limit = (size_t)v;
            break;
        case O_TIMEOUT:
            if (!(rc = ta_cli_parse_double(optarg, "--timeout", &timeout, &err)) && (timeout <= 0 || timeout > 86400)) rc = ta_error_set(&err, TA_EINVAL, "--timeout must be in (0, 86400]");
            o.request_timeout_s = timeout;
            break;
        case O_KEY: o.api_key = optarg; break;
        case O_GUARD: o.guard_path = optarg ? optarg : ""; break;
        case O_SYS: o.system_path = optarg; break;
        case O_TODAY: o.today = optarg; break;
        case O_RT: o.render_tools = 1; break;
        case O_GRACE: rc = ta_cli_parse_double(optarg, "--grace", &grace, &err); break;
        case O_QUIET: o.log = NULL; break;
        case O_HELP: usage(stdout); return 0;
        default: return ta_cli_usage_error("serve", "bad option");
        }
        if (rc) return ta_cli_usage_error("serve", "%s", err.msg);
    }
    if (optind < argc) return ta_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!o.db_path) return ta_cli_usage_error("serve", "--db FILE is required");
    if (o.api_key && !o.api_key[0]) o.api_key = NULL;
    ta_threads_set((int)threads);
    /* Block the stop signals in every thread (the server's threads inherit the
       mask) and wait for them here: no handler, no global flag. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    ta_server *s;
    if (ta_server_start(&s, &o, &err)) return ta_cli_fail(&err);
    printf("taskalign serve: listening on http://%s:%d/ (model %s, store %s)\n", o.host, ta_server_port(s), o.model_dir ? o.model_dir : "none", o.db_path);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "taskalign serve: %s: finishing in-flight requests (up to %.0fs)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT", grace);
    ta_server_stop(s, grace);
    fprintf(stderr, "taskalign serve: stopped\n");
    return 0;
}
