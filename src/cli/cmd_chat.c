/* cmd_chat.c: `taskalign chat`: an interactive TaskMaster chat in the
 * terminal. The model's tool calls run against the store (--db), results are
 * fed back, the final answer streams as it is generated. The same agent loop
 * (taskapi/agent.h) serves the evaluator and the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/file.h"
#include "core/threads.h"
#include "taskapi/agent.h"
#include "taskapi/lm.h"
#include "taskapi/store.h"
#include "taskapi/toolcall.h"
#include "taskapi/tools.h"

TA_COMMAND("chat", ta_cmd_chat, "interactive TaskMaster chat: the model's tool calls run against a task store");

static void usage(FILE *fp) {
    fprintf(fp, "usage: taskalign chat --model DIR --db FILE [options]\n\n"
                "Chat with the model in the terminal. Its <tool_call>s are executed against the task store,\n"
                "the results fed back, and the final answer streamed. Lines starting with '/' are commands:\n"
                "/save FILE (append the transcript as JSONL), /reset (new conversation), /quit.\n"
                "Standard input may be a pipe (one user message per line).\n\n"
                "options:\n"
                "  --model DIR         model folder\n"
                "  --db FILE           SQLite task store (created if missing; ':memory:' for a throwaway one)\n"
                "  --system FILE       system prompt template ({today}, {weekday}, {tools} are filled in);\n"
                "                      default: the TaskMaster prompt\n"
                "  --today YYYY-MM-DD  the date the assistant works with (default: today)\n"
                "  --transcript FILE   append the conversation to FILE (JSONL, messages format) at exit\n"
                "  --max-steps N       tool-call steps per answer (default 5)\n"
                "  --max-tokens N      tokens per model reply (default 256)\n"
                "  --temperature T, --top-p P, --seed N   sampling (default greedy)\n"
                "  -t, --threads N     threads\n");
}

static int print_text(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* The model's words stream as they come; its <tool_call> blocks are hidden
 * (on_call prints each call once it ran). */
static int on_text(void *user, const char *piece, size_t len) { return ta_tc_filter_feed(user, piece, len); }

static void on_call(void *user, const ta_agent_call *c) {
    (void)user;
    fprintf(stdout, "\n  -> %s %s %s\n", c->name ? c->name : "(invalid tool call)", c->arguments ? c->arguments : "",
            c->ok ? "ok" : "failed");
    if (c->result) fprintf(stdout, "     %s\n", c->result);
    fflush(stdout);
}

int ta_cmd_chat(int argc, char **argv) {
    const char *model_dir = NULL, *db = NULL, *system_path = NULL, *today = NULL, *transcript = NULL;
    long max_steps = 5, max_tokens = 256, seed = 0, threads = 0;
    double temperature = 0, top_p = 1;
    ta_error err = {0};
    enum { O_DB = 256, O_SYS, O_TODAY, O_TR, O_STEPS, O_TOK, O_TEMP, O_TOPP, O_SEED, O_HELP };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"db", required_argument, 0, O_DB},
                                         {"system", required_argument, 0, O_SYS}, {"today", required_argument, 0, O_TODAY},
                                         {"transcript", required_argument, 0, O_TR}, {"max-steps", required_argument, 0, O_STEPS},
                                         {"max-tokens", required_argument, 0, O_TOK}, {"temperature", required_argument, 0, O_TEMP},
                                         {"top-p", required_argument, 0, O_TOPP}, {"seed", required_argument, 0, O_SEED},
                                         {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:t:", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'm': model_dir = optarg; break;
        case O_DB: db = optarg; break;
        case O_SYS: system_path = optarg; break;
        case O_TODAY: today = optarg; break;
        case O_TR: transcript = optarg; break;
        case O_STEPS: rc = ta_cli_parse_long(optarg, "--max-steps", &max_steps, &err); break;
        case O_TOK: rc = ta_cli_parse_long(optarg, "--max-tokens", &max_tokens, &err); break;
        case O_TEMP: rc = ta_cli_parse_double(optarg, "--temperature", &temperature, &err); break;
        case O_TOPP: rc = ta_cli_parse_double(optarg, "--top-p", &top_p, &err); break;
        case O_SEED: rc = ta_cli_parse_long(optarg, "--seed", &seed, &err); break;
        case 't': rc = ta_cli_parse_long(optarg, "--threads", &threads, &err); break;
        case O_HELP: usage(stdout); return 0;
        default: return ta_cli_usage_error("chat", "bad option");
        }
        if (rc) return ta_cli_usage_error("chat", "%s", err.msg);
    }
    if (!model_dir || !db) return ta_cli_usage_error("chat", "--model and --db are required");
    ta_threads_set((int)threads);
    char today_buf[16];
    if (!today) {
        time_t t = time(NULL);
        strftime(today_buf, sizeof today_buf, "%Y-%m-%d", localtime(&t));
        today = today_buf;
    }
    int status = 1;
    ta_store *store = NULL;
    ta_lm lm;
    int lm_open = 0;
    char *tmpl = NULL, *sys = NULL, *line = NULL;
    size_t tmpl_len, cap = 0;
    ta_conversation conv;
    ta_conv_init(&conv);
    ta_agent_result res;
    ta_agent_result_init(&res);
    if (system_path && ta_file_read_all(system_path, 1 << 20, &tmpl, &tmpl_len, &err)) goto fail;
    if (ta_system_prompt_render(tmpl, today, &sys, &err)) goto fail;
    if (ta_store_open(&store, db, &err)) goto fail;
    if (ta_lm_open(&lm, model_dir, &err)) goto fail;
    lm_open = 1;
    ta_lm_agent la;
    ta_lm_agent_init(&la, &lm);
    la.params.max_tokens = (size_t)max_tokens;
    la.params.sampler.temperature = (float)temperature;
    la.params.sampler.top_p = (float)top_p;
    la.params.seed = (uint64_t)seed;
    ta_agent_model am = ta_lm_agent_model(&la);
    ta_conv_add(&conv, TA_ROLE_SYSTEM, sys);
    int tty = isatty(0);
    if (tty) fprintf(stdout, "TaskMaster (%s, today %s). /quit to leave.\n", model_dir, today);
    for (;;) {
        if (tty) { fputs("\nyou> ", stdout); fflush(stdout); }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) break;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (!n) continue;
        if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) break;
        if (!strcmp(line, "/reset")) {
            ta_conv_truncate(&conv, 1);
            fputs("(new conversation)\n", stdout);
            continue;
        }
        if (!strncmp(line, "/save ", 6)) {
            if (ta_agent_save_transcript(&conv, line + 6, &err)) ta_cli_fail(&err);
            else fprintf(stdout, "(saved to %s)\n", line + 6);
            continue;
        }
        ta_conv_add(&conv, TA_ROLE_USER, line);
        fputs(tty ? "taskmaster> " : "", stdout);
        ta_tc_filter filt;
        ta_tc_filter_init(&filt, print_text, NULL);
        ta_agent_opts ao = {.max_steps = (int)max_steps, .stream = {.on_text = on_text, .user = &filt}, .on_call = on_call};
        if (ta_agent_run(&am, store, &conv, &ao, &res, &err)) goto fail;
        ta_tc_filter_finish(&filt);
        if (res.hit_step_limit) fprintf(stdout, "\n(stopped after %d tool-call steps)", res.n_steps);
        fputc('\n', stdout);
        fflush(stdout);
    }
    if (transcript && ta_agent_save_transcript(&conv, transcript, &err)) goto fail;
    status = 0;
    goto done;
fail:
    ta_cli_fail(&err);
done:
    free(line);
    free(tmpl);
    free(sys);
    ta_agent_result_release(&res);
    ta_conv_release(&conv);
    if (lm_open) ta_lm_close(&lm);
    ta_store_close(store);
    return status;
}
