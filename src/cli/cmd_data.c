/* cmd_data.c: `taskalign data gen|check|corpus|from-eval|mix`: the training and red-team data
 * generator and the data validator. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "core/progress.h"
#include "align/from_eval.h"
#include "taskapi/corpus.h"
#include "taskapi/datagen.h"
#include "taskapi/datagen_check.h"
#include "train/mix.h"

TA_COMMAND("data", ta_cmd_data, "generate training/red-team data (gen) and validate data files (check)");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign data gen --out DIR [--seed N] [--scale small|demo|default|large] [--system FILE] [--data DIR] [--quiet]\n"
            "       taskalign data check [--kind auto|sft|pref|suite] [--data DIR] FILE...\n"
            "       taskalign data corpus --out FILE.txt DATA.jsonl...   (plain text for tokenizer training)\n"
            "       taskalign data from-eval DIR/report.json --out prefs.jsonl [--seed N] [--no-off-topic]\n"
            "                  (every failure of an eval run as a preference pair for the next DPO round;\n"
            "                  refusals the judge found off topic too, unless --no-off-topic)\n"
            "       taskalign data mix --out FILE.jsonl [--seed N] FILE[:N]...\n"
            "                  (all lines of FILE, or N random ones; the union shuffled)\n"
            "\n"
            "gen writes, deterministically for a seed, base_{train,dev}.jsonl (general chat +\n"
            "safety), sft_{train,dev}.jsonl (TaskMaster conversations whose tool results come\n"
            "from a real store), prefs_{train,dev}.jsonl (preference pairs), suites/\n"
            "{redteam,benign,capability}_{dev,test}.jsonl (suite format) and manifest.json\n"
            "(counts per split, category and attack family, token estimates, sha256).\n"
            "Held-out attack families and harm categories appear only in the test suites.\n"
            "See docs/datagen.md for the grammar and the split design.\n"
            "\n"
            "check validates each FILE (JSON, fields, roles, tool calls against the tool\n"
            "schemas, the refusal rubric of chosen answers, suite enums) and prints every\n"
            "problem as FILE:LINE: message; exits 1 if any line is bad.\n"
            "\n"
            "options:\n"
            "  --out DIR       (gen) output folder, created if missing; files replaced atomically\n"
            "  --seed N        (gen) random seed (default 0)\n"
            "  --scale S       (gen) small (tests, < 1 s), demo (the embedded demo: a fifth of default,\n"
            "                  test suites halved), default (millions of tokens), large (4x)\n"
            "  --system FILE   (gen) TaskMaster system prompt template ({today}, {weekday}, {tools});\n"
            "                  default: the built-in prompt. Evaluate with the same --system.\n"
            "  --data DIR      grammar folder to use instead of the data/gen embedded in the binary\n"
            "  --kind K        (check) force the file kind instead of detecting it\n"
            "  --quiet         (gen) no per-file summary\n"
            "  -h, --help      this text\n");
}

static void print_problem(void *ctx, size_t line, const char *msg) {
    printf("%s:%zu: %s\n", (const char *)ctx, line, msg);
}

static int cmd_gen(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},  {"seed", required_argument, 0, 's'},
                                         {"scale", required_argument, 0, 'S'}, {"data", required_argument, 0, 'd'},
                                         {"quiet", no_argument, 0, 'q'},      {"help", no_argument, 0, 'h'},
                                         {"system", required_argument, 0, 'y'}, {0, 0, 0, 0}};
    ta_datagen_opts o = {.scale = TA_SCALE_DEFAULT, .log = stderr};
    char *system_template = NULL;
    size_t system_len;
    ta_error err = {0};
    long seed = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out_dir = optarg; break;
        case 's':
            if (ta_cli_parse_long(optarg, "--seed", &seed, &err) || seed < 0)
                return ta_cli_usage_error("data gen", "--seed: '%s' is not a non-negative integer", optarg);
            break;
        case 'S':
            if (ta_datagen_scale_parse(optarg, &o.scale)) return ta_cli_usage_error("data gen", "--scale: '%s' is not small, demo, default or large", optarg);
            break;
        case 'd': o.data_dir = optarg; break;
        case 'y':
            free(system_template);
            if (ta_file_read_all(optarg, 1 << 20, &system_template, &system_len, &err)) return ta_cli_fail(&err);
            o.system_template = system_template;
            break;
        case 'q': o.log = NULL; break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("data gen", "unknown option");
        }
    }
    if (!o.out_dir) return ta_cli_usage_error("data gen", "--out DIR is required");
    if (optind < argc) return ta_cli_usage_error("data gen", "unexpected argument '%s'", argv[optind]);
    o.seed = (uint64_t)seed;
    double t0 = ta_now();
    ta_datagen_stats st;
    if (o.log) fprintf(o.log, "data gen: seed %lu, scale %s -> %s\n", (unsigned long)o.seed, ta_datagen_scale_name(o.scale), o.out_dir);
    int rc = ta_datagen_run(&o, &st, &err);
    free(system_template);
    if (rc) return ta_cli_fail(&err);
    if (o.log)
        fprintf(o.log, "data gen: %zu files, %zu chars, ~%zu tokens (chars/4) in %.2f s; manifest: %s/manifest.json\n", st.n_files,
                st.total_chars, st.total_chars / 4, ta_now() - t0, o.out_dir);
    return 0;
}

static int cmd_check(int argc, char **argv) {
    static const struct option opts[] = {{"kind", required_argument, 0, 'k'}, {"data", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    ta_dcheck_kind kind = TA_DCHECK_AUTO;
    const char *data_dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (!strcmp(optarg, "auto")) kind = TA_DCHECK_AUTO;
            else if (!strcmp(optarg, "sft")) kind = TA_DCHECK_SFT;
            else if (!strcmp(optarg, "pref")) kind = TA_DCHECK_PREF;
            else if (!strcmp(optarg, "suite")) kind = TA_DCHECK_SUITE;
            else return ta_cli_usage_error("data check", "--kind: '%s' is not auto, sft, pref or suite", optarg);
            break;
        case 'd': data_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("data check", "unknown option");
        }
    }
    if (optind >= argc) return ta_cli_usage_error("data check", "no FILE given");
    int bad = 0;
    for (int i = optind; i < argc; i++) {
        ta_error err = {0};
        ta_dcheck_stats st;
        if (ta_datagen_check_file(argv[i], kind, data_dir, print_problem, argv[i], &st, &err)) {
            ta_cli_fail(&err);
            bad = 1;
            continue;
        }
        fprintf(stderr, "%s: %s, %zu lines, %zu bad (%zu problems)\n", argv[i], ta_dcheck_kind_name(st.kind), st.lines, st.bad,
                st.problems);
        if (st.bad || !st.lines) bad = 1;
    }
    return bad;
}

static int cmd_corpus(int argc, char **argv) {
    const char *out = NULL;
    const char *inputs[256];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] == '-') return ta_cli_usage_error("data corpus", "unknown option '%s'", argv[i]);
        else if (n < 256) inputs[n++] = argv[i];
        else return ta_cli_usage_error("data corpus", "at most 256 input files");
    }
    if (!out || !n) return ta_cli_usage_error("data corpus", "give --out FILE and at least one JSONL file");
    ta_error err = {0};
    ta_corpus_stats st;
    if (ta_corpus_write(inputs, n, out, &st, &err)) return ta_cli_fail(&err);
    fprintf(stderr, "data corpus: %zu lines, %zu texts, %zu bytes -> %s\n", st.lines, st.texts, st.bytes, out);
    return 0;
}

static int cmd_from_eval(int argc, char **argv) {
    const char *out = NULL, *report = NULL;
    long seed = 0;
    int off_topic = 1;
    ta_error err = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--no-off-topic")) off_topic = 0;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (ta_cli_parse_long(argv[++i], "--seed", &seed, &err)) return ta_cli_usage_error("data from-eval", "%s", err.msg);
        } else if (argv[i][0] == '-') return ta_cli_usage_error("data from-eval", "unknown option '%s'", argv[i]);
        else if (!report) report = argv[i];
        else return ta_cli_usage_error("data from-eval", "give one report.json");
    }
    if (!out || !report) return ta_cli_usage_error("data from-eval", "give DIR/report.json and --out FILE");
    ta_from_eval_stats st;
    if (ta_from_eval(report, out, (uint64_t)seed, off_topic, &st, &err)) return ta_cli_fail(&err);
    fprintf(stderr, "data from-eval: %zu items -> %zu pairs (%zu harmful compliance, %zu unscored on a harmful turn, %zu off-topic refusal, %zu false refusal, %zu wrong tool call); %zu failures without a reference answer and %zu after a malformed tool call skipped -> %s\n",
            st.items, st.harmful + st.unscored + st.off_topic + st.false_refusal + st.wrong_tool, st.harmful, st.unscored, st.off_topic, st.false_refusal, st.wrong_tool, st.skipped_no_reference,
            st.skipped_malformed, out);
    return 0;
}

#define MIX_MAX 64

static int cmd_mix(int argc, char **argv) {
    const char *out = NULL;
    long seed = 0;
    ta_error err = {0};
    ta_mix_source *src = calloc(MIX_MAX, sizeof *src);
    size_t n = 0;
    int rc = 0;
    if (!src) return ta_cli_fail(&(ta_error){.code = TA_ENOMEM, .msg = "out of memory"});
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            rc = -1;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (ta_cli_parse_long(argv[++i], "--seed", &seed, &err)) rc = ta_cli_usage_error("data mix", "%s", err.msg);
        } else if (argv[i][0] == '-') rc = ta_cli_usage_error("data mix", "unknown option '%s'", argv[i]);
        else if (n == MIX_MAX) rc = ta_cli_usage_error("data mix", "at most %d sources", MIX_MAX);
        else if (ta_mix_source_parse(argv[i], &src[n], &err)) rc = ta_cli_usage_error("data mix", "%s", err.msg);
        else n++;
    }
    if (!rc && (!out || !n)) rc = ta_cli_usage_error("data mix", "give --out FILE and at least one FILE[:N]");
    size_t total;
    if (!rc && ta_mix(src, n, (uint64_t)seed, out, &total, &err)) rc = ta_cli_fail(&err);
    if (!rc) {
        fprintf(stderr, "data mix:");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s %s %zu of %zu", i ? "," : "", src[i].path, src[i].take < 0 ? src[i].lines : (size_t)src[i].take, src[i].lines);
        fprintf(stderr, " -> %zu lines in %s\n", total, out);
    }
    free(src);
    return rc < 0 ? 0 : rc;
}

int ta_cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "gen")) return cmd_gen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "corpus")) return cmd_corpus(argc - 1, argv + 1);
    if (!strcmp(argv[1], "mix")) return cmd_mix(argc - 1, argv + 1);
    if (!strcmp(argv[1], "from-eval")) return cmd_from_eval(argc - 1, argv + 1);
    return ta_cli_usage_error("data", "unknown action '%s' (use gen, check, corpus, from-eval or mix)", argv[1]);
}
