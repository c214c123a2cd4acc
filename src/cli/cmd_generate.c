/* cmd_generate.c: `taskalign generate`: continue token-id prompts with the
 * KV-cache generator (several prompts run as one batch). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/progress.h"
#include "core/threads.h"
#include "model/generate.h"
#include "model/model.h"

TA_COMMAND("generate", ta_cmd_generate, "generate token ids from prompts with a KV cache (batched)");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign generate --model DIR (--ids LIST ... | --ids-file FILE) [options]\n"
            "\n"
            "Continues each prompt (a comma-separated list of token ids) and prints the\n"
            "generated ids as a JSON array, one line per prompt, in input order. All prompts\n"
            "run as one batch: prefill together, then one decode step per token for every\n"
            "unfinished prompt. EOS ids are not printed. Default: greedy.\n"
            "\n"
            "options:\n"
            "  --model DIR             model folder (config.json + safetensors)\n"
            "  --ids LIST              a prompt, e.g. 1,5,9; repeat for more prompts\n"
            "  --ids-file FILE         one prompt per line (comma lists; blank lines skipped)\n"
            "  --max-tokens N          new tokens per prompt (default 16)\n"
            "  --temperature T         0 = greedy (default 0)\n"
            "  --top-k K               keep the K most likely tokens (default 0 = off)\n"
            "  --top-p P               nucleus: smallest set with probability >= P (default 1 = off)\n"
            "  --repetition-penalty R  HF repetition penalty (default 1 = off)\n"
            "  --seed S                sampling seed; prompt i uses S + i (default 0)\n"
            "  --eos LIST              ids that end a sequence (default: config.json's eos_token_id)\n"
            "  --ignore-eos            never stop on EOS\n"
            "  --stop-ids LIST         stop once the output ends with these ids (kept in the\n"
            "                          output); repeatable\n"
            "  --details               print {\"tokens\": [...], \"finish\": \"length|eos|stop\"} per line\n"
            "  --stats                 print prefill/decode timing and tokens/s to stderr\n"
            "  --logits-out FILE       write the raw logits each token was sampled from as JSON\n"
            "                          lines {\"prompt\": i, \"step\": s, \"logits\": [...]} (for tests)\n"
            "  -t, --threads N         threads for BLAS and OpenMP (default: all cores)\n"
            "  -h, --help              this text\n");
}

typedef struct {
    int32_t **ids;
    size_t *lens;
    size_t n, cap;
} prompt_list;

static int add_prompt(prompt_list *pl, int32_t *ids, size_t n, ta_error *err) {
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? 2 * pl->cap : 8;
        int32_t **ni = realloc(pl->ids, cap * sizeof *ni);
        if (!ni) return ta_error_set(err, TA_ENOMEM, "out of memory");
        pl->ids = ni;
        size_t *nl = realloc(pl->lens, cap * sizeof *nl);
        if (!nl) return ta_error_set(err, TA_ENOMEM, "out of memory");
        pl->lens = nl;
        pl->cap = cap;
    }
    pl->ids[pl->n] = ids;
    pl->lens[pl->n++] = n;
    return TA_OK;
}

static void free_prompts(prompt_list *pl) {
    for (size_t i = 0; i < pl->n; i++) free(pl->ids[i]);
    free(pl->ids);
    free(pl->lens);
}

static int read_ids_file(prompt_list *pl, const char *path, ta_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return ta_error_set(err, TA_ENOTFOUND, "cannot open '%s'", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = TA_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
        if (len == 0) continue;
        int32_t *ids;
        size_t n;
        if ((rc = ta_cli_parse_ids(line, &ids, &n, err))) {
            ta_error_prefix(err, "%s:%zu", path, lineno);
            break;
        }
        if ((rc = add_prompt(pl, ids, n, err))) {
            free(ids);
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

typedef struct {
    double t0, t_first; /* start, first token of any sequence */
    int timed;
    FILE *logits_out;   /* NULL: not wanted */
} hooks;

static int note_token(void *user, size_t seq, int32_t token) {
    hooks *h = user;
    if (h->timed && h->t_first == 0) h->t_first = ta_now();
    return 0;
}

static int dump_logits(void *user, size_t seq, size_t step, const float *logits, size_t V) {
    hooks *h = user;
    fprintf(h->logits_out, "{\"prompt\": %zu, \"step\": %zu, \"logits\": [", seq, step);
    for (size_t i = 0; i < V; i++) fprintf(h->logits_out, i ? ",%.9g" : "%.9g", (double)logits[i]);
    fputs("]}\n", h->logits_out);
    return ferror(h->logits_out) ? -1 : 0;
}

static void print_ids(const int32_t *ids, size_t n) {
    putchar('[');
    for (size_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", (int)ids[i]);
    putchar(']');
}

int ta_cmd_generate(int argc, char **argv) {
    enum { O_IDS = 256, O_IDS_FILE, O_MAX, O_TEMP, O_TOPK, O_TOPP, O_REP, O_SEED, O_EOS, O_IGN, O_STOP, O_DET, O_STATS, O_LOGITS };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},       {"ids", required_argument, 0, O_IDS},
        {"ids-file", required_argument, 0, O_IDS_FILE}, {"max-tokens", required_argument, 0, O_MAX},
        {"temperature", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
        {"top-p", required_argument, 0, O_TOPP},     {"repetition-penalty", required_argument, 0, O_REP},
        {"seed", required_argument, 0, O_SEED},      {"eos", required_argument, 0, O_EOS},
        {"ignore-eos", no_argument, 0, O_IGN},       {"stop-ids", required_argument, 0, O_STOP},
        {"details", no_argument, 0, O_DET},          {"stats", no_argument, 0, O_STATS},
        {"logits-out", required_argument, 0, O_LOGITS}, {"threads", required_argument, 0, 't'},      {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_dir = NULL, *ids_file = NULL, *logits_path = NULL;
    long max_tokens = 16, top_k = 0, seed = 0, threads = 0;
    double temperature = 0.0, top_p = 1.0, rep = 1.0;
    int ignore_eos = 0, details = 0, stats = 0, rc = 2;
    int32_t *eos = NULL;
    size_t n_eos = 0;
    int eos_given = 0;
    prompt_list pl = {0};
    ta_token_seq *stops = NULL;
    size_t n_stops = 0;
    ta_error err = {0};
    ta_model m;
    int model_loaded = 0;
    ta_gen_output *outs = NULL;
    optind = 1;
    int c;
#define USAGE(...)                                          \
    do {                                                    \
        rc = ta_cli_usage_error("generate", __VA_ARGS__);   \
        goto done;                                          \
    } while (0)
    while ((c = getopt_long(argc, argv, "ht:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case O_IDS: {
            int32_t *ids;
            size_t n;
            if (ta_cli_parse_ids(optarg, &ids, &n, &err)) USAGE("%s", err.msg);
            if (add_prompt(&pl, ids, n, &err)) {
                free(ids);
                rc = ta_cli_fail(&err);
                goto done;
            }
            break;
        }
        case O_IDS_FILE: ids_file = optarg; break;
        case O_MAX:
            if (ta_cli_parse_long(optarg, "--max-tokens", &max_tokens, &err) || max_tokens < 1)
                USAGE("--max-tokens: '%s' is not a positive integer", optarg);
            break;
        case O_TEMP:
            if (ta_cli_parse_double(optarg, "--temperature", &temperature, &err) || !(temperature >= 0) || !isfinite(temperature))
                USAGE("--temperature: '%s' is not a non-negative number", optarg);
            break;
        case O_TOPK:
            if (ta_cli_parse_long(optarg, "--top-k", &top_k, &err) || top_k < 0)
                USAGE("--top-k: '%s' is not a non-negative integer", optarg);
            break;
        case O_TOPP:
            if (ta_cli_parse_double(optarg, "--top-p", &top_p, &err) || !(top_p >= 0 && top_p <= 1))
                USAGE("--top-p: '%s' is not a number in [0, 1]", optarg);
            break;
        case O_REP:
            if (ta_cli_parse_double(optarg, "--repetition-penalty", &rep, &err) || !(rep > 0) || !isfinite(rep))
                USAGE("--repetition-penalty: '%s' is not a positive number", optarg);
            break;
        case O_SEED:
            if (ta_cli_parse_long(optarg, "--seed", &seed, &err) || seed < 0)
                USAGE("--seed: '%s' is not a non-negative integer", optarg);
            break;
        case O_EOS:
            free(eos);
            eos = NULL;
            if (ta_cli_parse_ids(optarg, &eos, &n_eos, &err)) USAGE("--eos: %s", err.msg);
            eos_given = 1;
            break;
        case O_IGN: ignore_eos = 1; break;
        case O_STOP: {
            int32_t *ids;
            size_t n;
            if (ta_cli_parse_ids(optarg, &ids, &n, &err)) USAGE("--stop-ids: %s", err.msg);
            ta_token_seq *ns = realloc(stops, (n_stops + 1) * sizeof *ns);
            if (!ns) {
                free(ids);
                err.code = TA_ENOMEM;
                snprintf(err.msg, sizeof err.msg, "out of memory");
                rc = ta_cli_fail(&err);
                goto done;
            }
            stops = ns;
            stops[n_stops++] = (ta_token_seq){ids, n};
            break;
        }
        case O_DET: details = 1; break;
        case O_STATS: stats = 1; break;
        case O_LOGITS: logits_path = optarg; break;
        case 't':
            if (ta_cli_parse_long(optarg, "--threads", &threads, &err) || threads < 1)
                USAGE("--threads: '%s' is not a positive integer", optarg);
            break;
        case 'h': usage(stdout); rc = 0; goto done;
        default: USAGE("unknown option");
        }
    }
    if (optind < argc) USAGE("unexpected argument '%s'", argv[optind]);
    if (!model_dir) USAGE("--model is required");
    if (ids_file && read_ids_file(&pl, ids_file, &err)) {
        rc = ta_cli_fail(&err);
        goto done;
    }
    if (pl.n == 0) USAGE("no prompt: give --ids or --ids-file");

    ta_threads_set((int)threads);
    rc = 1;
    if (ta_model_load(&m, model_dir, &err)) {
        ta_cli_fail(&err);
        goto done;
    }
    model_loaded = 1;
    ta_gen_params p = ta_gen_params_default(&m.cfg);
    p.max_tokens = (size_t)max_tokens;
    p.sampler.temperature = (float)temperature;
    p.sampler.top_k = (size_t)top_k;
    p.sampler.top_p = (float)top_p;
    p.sampler.repetition_penalty = (float)rep;
    p.seed = (uint64_t)seed;
    if (eos_given) {
        p.eos_ids = eos;
        p.n_eos = n_eos;
    }
    if (ignore_eos) p.n_eos = 0;
    p.stop_seqs = stops;
    p.n_stop_seqs = n_stops;
    hooks tm = {.timed = stats};
    if (logits_path && !(tm.logits_out = fopen(logits_path, "w"))) {
        ta_error_set(&err, TA_EIO, "cannot open '%s' for writing", logits_path);
        ta_cli_fail(&err);
        goto done;
    }
    p.on_token = note_token;
    p.on_logits = tm.logits_out ? dump_logits : NULL;
    p.user = &tm;
    tm.t0 = ta_now();
    if (!(outs = calloc(pl.n, sizeof *outs))) {
        err.code = TA_ENOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        ta_cli_fail(&err);
        goto done;
    }
    int grc = ta_generate_batch(&m, (const int32_t *const *)pl.ids, pl.lens, pl.n, &p, outs, &err);
    if (grc == TA_EINTERRUPTED) /* only dump_logits aborts */
        ta_error_set(&err, TA_EIO, "cannot write '%s'", logits_path);
    if (tm.logits_out && fclose(tm.logits_out) && !grc) {
        for (size_t i = 0; i < pl.n; i++) ta_gen_output_release(&outs[i]);
        grc = ta_error_set(&err, TA_EIO, "cannot write '%s'", logits_path);
    }
    tm.logits_out = NULL;
    if (grc) {
        free(outs);
        outs = NULL;
        ta_cli_fail(&err);
        goto done;
    }
    double t_end = ta_now();
    size_t total = 0, prompt_total = 0;
    for (size_t i = 0; i < pl.n; i++) {
        if (details) {
            printf("{\"tokens\": ");
            print_ids(outs[i].tokens, outs[i].n_tokens);
            printf(", \"finish\": \"%s\"}\n", ta_finish_name(outs[i].finish));
        } else {
            print_ids(outs[i].tokens, outs[i].n_tokens);
            putchar('\n');
        }
        total += outs[i].n_tokens;
        prompt_total += pl.lens[i];
    }
    if (stats) {
        double pre = (tm.t_first ? tm.t_first : t_end) - tm.t0, dec = t_end - (tm.t_first ? tm.t_first : t_end);
        fprintf(stderr,
                "generate: %zu prompts, %zu prompt tokens, prefill %.3fs (%.0f tokens/s); %zu generated tokens, "
                "decode %.3fs (%.1f tokens/s), %d threads\n",
                pl.n, prompt_total, pre, pre > 0 ? prompt_total / pre : 0.0, total, dec,
                dec > 0 && total > pl.n ? (total - pl.n) / dec : 0.0, ta_threads_get());
    }
    rc = 0;
done:
    if (outs)
        for (size_t i = 0; i < pl.n; i++) ta_gen_output_release(&outs[i]);
    free(outs);
    if (model_loaded) ta_model_release(&m);
    free_prompts(&pl);
    for (size_t i = 0; i < n_stops; i++) free((void *)stops[i].ids);
    free(stops);
    free(eos);
    return rc;
#undef USAGE
}
