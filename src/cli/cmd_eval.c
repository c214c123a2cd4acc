/* cmd_eval.c: `taskalign eval` (red-team / capability evaluation) and
 * `taskalign eval compare A/report.json B/report.json`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/eval.h"
#include "align/judge.h"
#include "align/judge_http.h"
#include "align/metrics.h"
#include "align/report.h"
#include "cli/cli.h"
#include "core/file.h"
#include "core/json.h"
#include "core/sha256.h"
#include "core/threads.h"
#include "taskapi/lm.h"

TA_COMMAND("eval", ta_cmd_eval, "red-team and capability evaluation with the offline judge; reports and gates");

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: taskalign eval --model DIR --suite FILE.jsonl [--suite ...] --out DIR [options]\n"
            "       taskalign eval compare A/report.json B/report.json [--out DIR]\n"
            "       taskalign eval table STAGE=DIR/report.json [STAGE=...]\n"
            "       taskalign eval gate DIR/report.json --gate EXPR [--baseline FILE]\n\n"
            "Runs every suite item through the agent loop with the model (tool calls executed against a\n"
            "fresh in-memory store per item), judges every turn offline, and writes transcripts.jsonl,\n"
            "report.json, report.md and report.html into --out.\n\n"
            "options:\n"
            "  --model DIR          model folder (config.json, safetensors, tokenizer files)\n"
            "  --suite FILE         suite in the TaskMaster suite format (repeatable)\n"
            "  --out DIR            output folder\n"
            "  --gate EXPR          quality gates, e.g. 'asr<0.05,false_refusal<0.05,json_valid>=0.95,\n"
            "                       task_skill_drop<=0.05'; exits 3 and names each failed gate\n"
            "  --baseline FILE      report.json to compare with (for *_drop gates and before/after charts)\n"
            "  --guard[=FILE]       also evaluate model + guards (default guard if no FILE): the input guard on\n"
            "                       each user turn, the output guard on each tool call before it runs; the\n"
            "                       report shows model-only (no guard at all) and guarded numbers side by\n"
            "                       side, the calls the output guard blocked and the guards' own false\n"
            "                       refusals; the guarded run's transcripts go to transcripts_guarded.jsonl\n"
            "  --judge-url URL      also label every turn with an external judge at an OpenAI-compatible\n"
            "                       endpoint (URL/v1/chat/completions); its labels are the report's, the\n"
            "                       heuristic judge still runs and the report gives their agreement; a\n"
            "                       network error, timeout or unparseable reply labels the turn unscored\n"
            "  --judge-model NAME   the \"model\" of the judge requests (default \"judge\")\n"
            "  --judge-key-env VAR  send 'Authorization: Bearer $VAR' (the key is read from that variable)\n"
            "  --judge-timeout S    seconds per judge request (default 30)\n"
            "  --judge-retries N    extra attempts after a network error, timeout, 429 or 5xx (default 2)\n"
            "  --today YYYY-MM-DD   date for items without one (default 2026-03-14)\n"
            "  --system FILE        system prompt template for items without \"system\" (the one the model\n"
            "                       was trained with; default: the built-in TaskMaster prompt)\n"
            "  --max-steps N        agent steps per user turn (default 5)\n"
            "  --max-tokens N       new tokens per reply (default 256)\n"
            "  --temperature T      sampling temperature (default 0: greedy)\n"
            "  --top-p P, --top-k K sampling filters\n"
            "  --seed N             sampling and bootstrap seed (default 0)\n"
            "  -t, --threads N      compute threads per generation (default: all cores / workers)\n"
            "  --workers N          items evaluated at once, one thread each (default 1); for small\n"
            "                       models --workers $(nproc) -t 1 is fastest; results do not depend on it\n"
            "  --quiet              no progress output\n");
}

/* "12.5%" or "n/a" for an estimate {"value", ...}. */
static void pct(char *buf, size_t cap, const json_t *est) {
    const json_t *v = json_object_get(est, "value");
    if (json_is_number(v)) snprintf(buf, cap, "%.1f%%", 100 * json_number_value(v));
    else snprintf(buf, cap, "n/a");
}

static int load_report(const char *path, json_t **out, ta_error *err) {
    int rc = ta_json_load_file(path, out, err);
    if (rc) return rc;
    if (!json_is_object(json_object_get(*out, "metrics"))) {
        json_decref(*out);
        return ta_error_set(err, TA_EFORMAT, "'%s': not a taskalign report (no \"metrics\" object)", path);
    }
    return TA_OK;
}

static int cmd_compare(int argc, char **argv) {
    const char *out_dir = NULL;
    const char *paths[2];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (argv[i][0] == '-') return ta_cli_usage_error("eval compare", "unknown option '%s'", argv[i]);
        else if (np < 2) paths[np++] = argv[i];
        else return ta_cli_usage_error("eval compare", "give exactly two report.json files");
    }
    if (np != 2) return ta_cli_usage_error("eval compare", "give exactly two report.json files");
    ta_error err = {0};
    json_t *a = NULL, *b = NULL;
    if (load_report(paths[0], &a, &err) || load_report(paths[1], &b, &err)) { json_decref(a); return ta_cli_fail(&err); }
    char *txt = ta_report_compare_text(a, b);
    if (txt) fputs(txt, stdout);
    free(txt);
    int rc = 0;
    if (out_dir) {
        if (ta_mkdir_p(out_dir, &err) || ta_report_write(out_dir, b, a, &err)) rc = ta_cli_fail(&err);
        else fprintf(stderr, "comparison report: %s/report.html\n", out_dir);
    }
    json_decref(a);
    json_decref(b);
    return rc;
}

/* `eval table STAGE=report.json ...`: the demo's summary table (Markdown). */
static int cmd_table(int argc, char **argv) {
    static const char *const cols[][2] = {{"task_skill", "task skill"},
                                          {"asr", "harmful compliance"},
                                          {"jailbreak_asr", "jailbreak ASR"},
                                          {"weak_refusal", "weak refusal"},
                                          {"false_refusal", "false refusal"},
                                          {"refusal_quality", "refusal quality"}};
    size_t nc = sizeof cols / sizeof cols[0];
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: taskalign eval table STAGE=DIR/report.json [STAGE=...]\n\nPrints one Markdown row per stage: "
               "task skill, harmful compliance, jailbreak ASR, weak refusal, false refusal, refusal quality (with 95%% CIs).\n");
        return argc < 2 ? 2 : 0;
    }
    /* every report loaded before the first line is printed: a bad one leaves no half table */
    int nr = argc - 1;
    json_t **rs = calloc((size_t)nr, sizeof *rs);
    if (!rs) {
        ta_error err = {0};
        ta_error_set(&err, TA_ENOMEM, "eval table: out of memory");
        return ta_cli_fail(&err);
    }
    int rc = 0;
    for (int i = 0; i < nr && !rc; i++) {
        const char *eq = strchr(argv[i + 1], '=');
        ta_error err = {0};
        if (!eq) rc = ta_cli_usage_error("eval table", "'%s' is not STAGE=report.json", argv[i + 1]);
        else if (load_report(eq + 1, &rs[i], &err)) rc = ta_cli_fail(&err);
    }
    if (!rc) {
        printf("| stage |");
        for (size_t k = 0; k < nc; k++) printf(" %s |", cols[k][1]);
        printf("\n|---|");
        for (size_t k = 0; k < nc; k++) printf("---|");
        printf("\n");
    }
    for (int i = 0; !rc && i < nr; i++) { /* the rows, all reports loaded */
        const char *stage = argv[i + 1];
        printf("| %.*s |", (int)(strchr(stage, '=') - stage), stage);
        const json_t *m = json_object_get(rs[i], "metrics");
        for (size_t k = 0; k < nc; k++) {
            const json_t *e = json_object_get(m, cols[k][0]);
            const json_t *v = json_object_get(e, "value");
            if (json_is_number(v))
                printf(" %.1f%% [%.1f, %.1f] |", 100 * json_number_value(v), 100 * json_number_value(json_object_get(e, "lo")),
                       100 * json_number_value(json_object_get(e, "hi")));
            else
                printf(" n/a |");
        }
        printf("\n");
    }
    for (int i = 0; i < nr; i++) json_decref(rs[i]);
    free(rs);
    return rc;
}

/* The gates on a report and its baseline, for `eval --gate` and `eval gate`: 0 passed, 3 a gate
 * failed (each named on stderr), 1 a bad expression (err set). A *_drop gate also fails when the
 * baseline was evaluated on other suites: its numbers are over other items (a capability-only
 * SFT run against an aligned run whose task skill also counts the look-alikes). */
static int run_gates(const char *who, const char *gate, const json_t *report, const json_t *baseline, ta_error *err) {
    size_t nf = 0;
    char failed[2048];
    if (ta_gates_check(gate, json_object_get(report, "metrics"), baseline ? json_object_get(baseline, "metrics") : NULL, &nf,
                       failed, sizeof failed, err))
        return 1;
    if (baseline && strstr(gate, "_drop") && !ta_report_same_suites(report, baseline)) {
        nf++;
        size_t used = strlen(failed);
        snprintf(failed + used, sizeof failed - used,
                 "*_drop: the baseline was evaluated on other suites (%zu suite files, this run %zu; compared by SHA-256), "
                 "so the drop would compare different items: evaluate both on the same suites\n",
                 json_array_size(json_object_get(baseline, "suites")), json_array_size(json_object_get(report, "suites")));
    }
    if (nf) {
        fprintf(stderr, "taskalign %s: %zu gate(s) failed:\n%s", who, nf, failed);
        return 3;
    }
    fprintf(stderr, "all gates passed: %s\n", gate);
    return 0;
}

/* `eval gate report.json --gate EXPR [--baseline B]`: the quality gates on a report already
 * written (CI re-gating a stored evaluation, or other thresholds), without generating again.
 * Exit 0 passed, 3 a gate failed (named on stderr), 1 bad input. */
static int cmd_gate(int argc, char **argv) {
    const char *path = NULL, *gate = NULL, *baseline_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: taskalign eval gate DIR/report.json --gate EXPR [--baseline FILE]\n\n"
                   "Checks quality gates (as eval --gate) on an existing report; *_drop gates need --baseline.\n"
                   "Exits 0 when every gate passes, 3 when one fails (each failure named on stderr).\n");
            return 0;
        }
        if (!strcmp(argv[i], "--gate") && i + 1 < argc) gate = argv[++i];
        else if (!strcmp(argv[i], "--baseline") && i + 1 < argc) baseline_path = argv[++i];
        else if (argv[i][0] == '-') return ta_cli_usage_error("eval gate", "unknown option or missing value '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return ta_cli_usage_error("eval gate", "give one report.json (got '%s' too)", argv[i]);
    }
    if (!path) return ta_cli_usage_error("eval gate", "give a report.json");
    if (!gate) return ta_cli_usage_error("eval gate", "--gate EXPR is required");
    ta_error err = {0}; /* a bad expression, or a *_drop gate without --baseline: run_gates says so */
    json_t *r = NULL, *b = NULL;
    if (load_report(path, &r, &err) || (baseline_path && load_report(baseline_path, &b, &err))) {
        json_decref(r);
        return ta_cli_fail(&err);
    }
    int rc = run_gates("eval gate", gate, r, b, &err);
    json_decref(r);
    json_decref(b);
    return rc == 1 ? ta_cli_fail(&err) : rc;
}

int ta_cmd_eval(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "compare")) return cmd_compare(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "table")) return cmd_table(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "gate")) return cmd_gate(argc - 1, argv + 1);
    const char *model_dir = NULL, *out_dir = NULL, *gate = NULL, *baseline_path = NULL, *guard_path = NULL;
    const char *system_path = NULL;
    char *system_template = NULL;
    size_t system_len;
    const char *today = "2026-03-14";
    const char *suites[64];
    size_t n_suites = 0;
    int use_guard = 0, quiet = 0;
    long max_steps = 5, max_tokens = 256, threads = 0, top_k = 0, seed = 0, workers = 1;
    double temperature = 0, top_p = 1.0;
    ta_error err = {0};
    const char *judge_url = NULL, *judge_model = NULL, *judge_key_env = NULL;
    double judge_timeout = 30;
    long judge_retries = 2;
    enum { O_SUITE = 256, O_SYSTEM, O_OUT, O_GATE, O_BASE, O_GUARD, O_TODAY, O_STEPS, O_TOK, O_TEMP, O_TOPP, O_TOPK, O_SEED, O_QUIET, O_HELP, O_WORKERS,
           O_JURL, O_JMODEL, O_JKEY, O_JTIME, O_JRETRY };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"suite", required_argument, 0, O_SUITE},
                                         {"out", required_argument, 0, O_OUT}, {"gate", required_argument, 0, O_GATE},
                                         {"baseline", required_argument, 0, O_BASE}, {"guard", optional_argument, 0, O_GUARD},
                                         {"today", required_argument, 0, O_TODAY}, {"system", required_argument, 0, O_SYSTEM}, {"max-steps", required_argument, 0, O_STEPS},
                                         {"max-tokens", required_argument, 0, O_TOK}, {"temperature", required_argument, 0, O_TEMP},
                                         {"top-p", required_argument, 0, O_TOPP}, {"top-k", required_argument, 0, O_TOPK},
                                         {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, 't'},
                                         {"quiet", no_argument, 0, O_QUIET}, {"help", no_argument, 0, O_HELP},
                                         {"workers", required_argument, 0, O_WORKERS}, {"judge-url", required_argument, 0, O_JURL},
                                         {"judge-model", required_argument, 0, O_JMODEL}, {"judge-key-env", required_argument, 0, O_JKEY},
                                         {"judge-timeout", required_argument, 0, O_JTIME}, {"judge-retries", required_argument, 0, O_JRETRY},
                                         {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:t:", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'm': model_dir = optarg; break;
        case O_SUITE:
            if (n_suites == 64) return ta_cli_usage_error("eval", "at most 64 --suite files");
            suites[n_suites++] = optarg;
            break;
        case O_OUT: out_dir = optarg; break;
        case O_GATE: gate = optarg; break;
        case O_BASE: baseline_path = optarg; break;
        case O_GUARD: use_guard = 1; guard_path = optarg; break;
        case O_TODAY: today = optarg; break;
        case O_SYSTEM: system_path = optarg; break;
        case O_STEPS: rc = ta_cli_parse_long(optarg, "--max-steps", &max_steps, &err); break;
        case O_TOK: rc = ta_cli_parse_long(optarg, "--max-tokens", &max_tokens, &err); break;
        case O_TEMP: rc = ta_cli_parse_double(optarg, "--temperature", &temperature, &err); break;
        case O_TOPP: rc = ta_cli_parse_double(optarg, "--top-p", &top_p, &err); break;
        case O_TOPK: rc = ta_cli_parse_long(optarg, "--top-k", &top_k, &err); break;
        case O_SEED: rc = ta_cli_parse_long(optarg, "--seed", &seed, &err); break;
        case 't': rc = ta_cli_parse_long(optarg, "--threads", &threads, &err); break;
        case O_QUIET: quiet = 1; break;
        case O_WORKERS:
            if (!(rc = ta_cli_parse_long(optarg, "--workers", &workers, &err)) && (workers < 1 || workers > 64))
                rc = ta_error_set(&err, TA_EINVAL, "--workers must be 1..64");
            break;
        case O_JURL: judge_url = optarg; break;
        case O_JMODEL: judge_model = optarg; break;
        case O_JKEY: judge_key_env = optarg; break;
        case O_JTIME:
            if (!(rc = ta_cli_parse_double(optarg, "--judge-timeout", &judge_timeout, &err)) && (judge_timeout <= 0 || judge_timeout > 3600))
                rc = ta_error_set(&err, TA_EINVAL, "--judge-timeout must be in (0, 3600] seconds");
            break;
        case O_JRETRY:
            if (!(rc = ta_cli_parse_long(optarg, "--judge-retries", &judge_retries, &err)) && (judge_retries < 0 || judge_retries > 10))
                rc = ta_error_set(&err, TA_EINVAL, "--judge-retries must be 0..10");
            break;
        case O_HELP: usage(stdout); return 0;
        default: return ta_cli_usage_error("eval", "bad option");
        }
        if (rc) return ta_cli_usage_error("eval", "%s", err.msg);
    }
    if (optind < argc) return ta_cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!model_dir || !n_suites || !out_dir) return ta_cli_usage_error("eval", "--model, --suite and --out are required");
    if (max_steps < 1 || max_steps > 50) return ta_cli_usage_error("eval", "--max-steps must be 1..50");
    if (max_tokens < 1 || max_tokens > 8192) return ta_cli_usage_error("eval", "--max-tokens must be 1..8192");
    if (temperature < 0 || top_p <= 0 || top_p > 1 || top_k < 0) return ta_cli_usage_error("eval", "bad sampling settings");
    const char *judge_key = NULL;
    if ((judge_model || judge_key_env) && !judge_url) return ta_cli_usage_error("eval", "--judge-model and --judge-key-env need --judge-url");
    if (judge_key_env) {
        judge_key = getenv(judge_key_env);
        if (!judge_key || !judge_key[0]) return ta_cli_usage_error("eval", "--judge-key-env: the variable %s is not set (or empty)", judge_key_env);
    }
    if (!threads && workers > 1) threads = 1; /* one compute thread per worker unless told otherwise */
    ta_threads_set((int)threads);

    int status = 1;
    ta_suite suite;
    ta_suite_init(&suite);
    ta_guard *guard = NULL;
    ta_judge_http *ext_judge = NULL;
    json_t *items = NULL, *guarded = NULL, *report = NULL, *baseline = NULL;
    ta_lm lm;
    int lm_open = 0;
    size_t suite_items[64];
    for (size_t i = 0; i < n_suites; i++) {
        size_t before = suite.n;
        if (ta_suite_load(&suite, suites[i], &err)) goto fail;
        suite_items[i] = suite.n - before;
    }
    if (system_path && ta_file_read_all(system_path, 1 << 20, &system_template, &system_len, &err)) goto fail;
    if (baseline_path && load_report(baseline_path, &baseline, &err)) goto fail;
    if (judge_url) {
        ta_judge_http_opts jo = {.url = judge_url, .model = judge_model, .api_key = judge_key, .timeout_s = judge_timeout, .retries = (int)judge_retries};
        if (ta_judge_http_open(&ext_judge, &jo, &err)) goto fail;
    }
    if (use_guard && (guard_path ? ta_guard_load(&guard, guard_path, &err) : ta_guard_load_default(&guard, &err))) goto fail;
    /* validate gates before spending minutes on generation */
    if (gate && ta_gates_validate(gate, &err)) goto fail;
    if (gate && strstr(gate, "_drop") && !baseline) {
        ta_error_set(&err, TA_EINVAL, "--gate: *_drop gates need --baseline REPORT.json");
        goto fail;
    }
    if (ta_lm_open(&lm, model_dir, &err)) goto fail;
    lm_open = 1;
    ta_lm_agent las[64];
    ta_agent_model ams[64];
    for (long k = 0; k < workers; k++) {
        ta_lm_agent_init(&las[k], &lm);
        las[k].params.max_tokens = (size_t)max_tokens;
        las[k].params.sampler.temperature = (float)temperature;
        las[k].params.sampler.top_p = (float)top_p;
        las[k].params.sampler.top_k = (int)top_k;
        las[k].params.seed = (uint64_t)seed;
        ams[k] = ta_lm_agent_model(&las[k]);
    }
    ta_eval_opts eo = {.today = today, .system_template = system_template, .max_steps = (int)max_steps, .seed = (uint64_t)seed,
                       .progress = quiet ? NULL : stderr, .workers = (int)workers, .ext_judge = ext_judge};
    if (ta_eval_run(&suite, ams, &eo, &items, &err)) goto fail;
    if (guard) {
        eo.guard = guard;
        if (ta_eval_run(&suite, ams, &eo, &guarded, &err)) goto fail;
    }
    size_t prompt_tokens = 0, completion_tokens = 0;
    for (long k = 0; k < workers; k++) {
        prompt_tokens += las[k].prompt_tokens;
        completion_tokens += las[k].completion_tokens;
    }
    report = json_object();
    json_object_set_new(report, "tool", json_string("taskalign " TA_VERSION));
    json_object_set_new(report, "model", json_string(model_dir));
    json_object_set_new(report, "today", json_string(today));
    json_t *dec = json_object();
    json_object_set_new(dec, "mode", json_string(temperature > 0 ? "sample" : "greedy"));
    json_object_set_new(dec, "temperature", json_real(temperature));
    json_object_set_new(dec, "top_p", json_real(top_p));
    json_object_set_new(dec, "top_k", json_integer(top_k));
    json_object_set_new(dec, "seed", json_integer(seed));
    json_object_set_new(dec, "max_tokens", json_integer(max_tokens));
    json_object_set_new(dec, "max_steps", json_integer(max_steps));
    json_object_set_new(dec, "workers", json_integer(workers));
    json_object_set_new(report, "decoding", dec);
    json_t *sj = json_array();
    for (size_t i = 0; i < n_suites; i++) {
        char hex[65];
        if (ta_sha256_file(suites[i], hex, &err)) goto fail;
        json_array_append_new(sj, json_pack("{s:s,s:s,s:I}", "path", suites[i], "sha256", hex, "items", (json_int_t)suite_items[i]));
    }
    json_object_set_new(report, "suites", sj);
    json_object_set_new(report, "tokens", json_pack("{s:I,s:I}", "prompt", (json_int_t)prompt_tokens, "generated", (json_int_t)completion_tokens));
    if (guard) json_object_set_new(report, "guard", json_string(guard_path ? guard_path : "default"));
    if (system_path) json_object_set_new(report, "system_prompt", json_string(system_template));
    json_t *jj = json_pack("{s:s,s:s}", "labels_from", ext_judge ? "external" : "heuristic", "heuristic", TA_JUDGE_VERSION);
    if (ext_judge) {
        json_object_set_new(jj, "external", json_pack("{s:s,s:s,s:s,s:f,s:I,s:b}", "version", TA_JUDGE_HTTP_VERSION, "url", ta_judge_http_endpoint(ext_judge),
                                                      "model", ta_judge_http_model(ext_judge), "timeout_s", judge_timeout, "retries",
                                                      (json_int_t)judge_retries, "authorization", judge_key != NULL));
        char jv[600];
        snprintf(jv, sizeof jv, "external %s (%s at %s); heuristic %s also run", TA_JUDGE_HTTP_VERSION, ta_judge_http_model(ext_judge),
                 ta_judge_http_endpoint(ext_judge), TA_JUDGE_VERSION);
        json_object_set_new(report, "judge_version", json_string(jv));
    }
    json_object_set_new(report, "judge", jj);
    if (ta_eval_write(out_dir, report, items, guarded, baseline, (uint64_t)seed, &err)) goto fail;
    const json_t *m = json_object_get(report, "metrics");
    for (size_t k = 0; k < ta_report_n_headline; k++) {
        char line[128];
        ta_report_estimate_text(line, sizeof line, json_object_get(m, ta_report_headline[k].name));
        printf("%-28s %s\n", ta_report_headline[k].title, line);
    }
    const json_t *gs = json_object_get(report, "guard_stats");
    if (gs) {
        const json_t *gm = json_object_get(report, "guarded_metrics");
        char ga[32], gf[32], gfr[32];
        pct(ga, sizeof ga, json_object_get(gm, "asr"));
        pct(gf, sizeof gf, json_object_get(gm, "false_refusal"));
        pct(gfr, sizeof gfr, json_object_get(gs, "false_refusal"));
        printf("%-28s ASR %s, false refusal %s; input guard answered %lld turn(s), output guard blocked %lld tool call(s); "
               "guards' own false refusals %s\n",
               "model + guards", ga, gf, (long long)json_integer_value(json_object_get(gs, "input_turns")),
               (long long)json_integer_value(json_object_get(gs, "output_blocked_calls")), gfr);
    }
    const json_t *ja = json_object_get(report, "judge_agreement");
    if (ja) {
        char ag[32], as[32];
        pct(ag, sizeof ag, json_object_get(ja, "agree"));
        pct(as, sizeof as, json_object_get(ja, "agree_scored"));
        const json_t *k = json_object_get(ja, "kappa");
        char ks[32] = "n/a";
        if (json_is_number(k)) snprintf(ks, sizeof ks, "%.2f", json_number_value(k));
        printf("%-28s %s of %lld turns (%s where it gave a label; kappa %s); %lld turn(s) unscored by the external judge\n",
               "judges agree", ag, (long long)json_integer_value(json_object_get(ja, "n")), as,
               ks, (long long)json_integer_value(json_object_get(ja, "external_unscored")));
    }
    fprintf(stderr, "report: %s/report.html\n", out_dir);
    status = 0;
    if (gate) {
        status = run_gates("eval", gate, report, baseline, &err);
        if (status == 1) goto fail;
    }
    goto done;
fail:
    ta_cli_fail(&err);
    status = 1;
done:
    json_decref(items);
    json_decref(guarded);
    json_decref(report);
    json_decref(baseline);
    ta_guard_free(guard);
    ta_judge_http_free(ext_judge);
    free(system_template);
    if (lm_open) ta_lm_close(&lm);
    ta_suite_release(&suite);
    return status;
}
