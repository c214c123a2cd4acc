/* bench_dpo: times DPO optimizer steps of the real trainer (reference
 * forward, policy forward over chosen + rejected rows, sigmoid loss,
 * backward, [LoRA dA/dB], clipping, AdamW, [LoRA re-merge]) on a random
 * model of a config, and prints one JSON object:
 *
 *   bench_dpo --config CFG.json [--pairs P] [--seq T] [--steps N] [--threads N]
 *             [--lora-r R] [--precompute-ref]
 *
 * Data: P synthetic pairs whose rows (prompt + completion) are exactly T
 * tokens, one token per byte. tokens/s counts the chosen + rejected tokens the
 * policy processes per second of step (best of N after one warm-up step).
 * max_rss_mb is the process's RSS high-water mark (getrusage). bench/dpo.sh
 * runs this against bench/torch_dpo.py and prints the ratios. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/progress.h"
#include "core/rng.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "bench_trainer.h"

static int enc_sft(void *ctx, const ta_conversation *c, const json_t *tools, int32_t **ids, uint8_t **mask, size_t *n,
                   ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "bench: no SFT");
}

static int bytes(const char *s, int eos, int32_t **out, size_t *n) {
    size_t k = strlen(s);
    *out = malloc((k + 1) * sizeof **out);
    for (size_t i = 0; i < k; i++) (*out)[i] = (unsigned char)s[i];
    if (eos) (*out)[k++] = 2;
    *n = k;
    return TA_OK;
}

static int enc_pair(void *ctx, const ta_text_part *p, const ta_text_part *c, const json_t *tools, int32_t **pid,
                    size_t *np, int32_t **cid, size_t *nc, ta_error *err) {
    bytes(p->text, 0, pid, np);
    bytes(c->text, 1, cid, nc);
    return TA_OK;
}

/* CPU seconds of the process (all threads): on a shared machine this is
 * what a step costs, where wall time also counts other people's work. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void rand_text(ta_rng *r, char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + ta_rng_below(r, 26));
    buf[n] = 0;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},  {"pairs", required_argument, 0, 'p'},
                                         {"seq", required_argument, 0, 's'},     {"steps", required_argument, 0, 'n'},
                                         {"threads", required_argument, 0, 't'}, {"lora-r", required_argument, 0, 'r'},
                                         {"precompute-ref", no_argument, 0, 'P'}, {0, 0, 0, 0}};
    const char *config = NULL;
    size_t pairs = 2, T = 256, lora_r = 0;
    int steps = 3, threads = 1, pre = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'p': pairs = (size_t)atol(optarg); break;
        case 's': T = (size_t)atol(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'r': lora_r = (size_t)atol(optarg); break;
        case 'P': pre = 1; break;
        default: fprintf(stderr, "usage: bench_dpo --config CFG [--pairs P] [--seq T] [--steps N] [--threads N] [--lora-r R] [--precompute-ref]\n"); return 2;
        }
    }
    if (!config || pairs == 0 || T < 8 || steps < 1) {
        fprintf(stderr, "usage: bench_dpo --config CFG [--pairs P] [--seq T] [--steps N] [--threads N] [--lora-r R]\n");
        return 2;
    }
    ta_error err = {0};
    bench_run run;
    if (bench_run_open(&run, "dpo", config, "prefs.jsonl", &err)) { fprintf(stderr, "bench_dpo: %s\n", err.msg); return 1; }
    size_t n_params = run.n_params;
    /* rows: prompt T/2 tokens, completion T - T/2 - 1 characters + EOS = T */
    size_t lp = T / 2, lc = T - lp - 1;
    FILE *f = fopen(run.data, "w");
    if (!f) { perror(run.data); return 1; }
    ta_rng r;
    ta_rng_seed(&r, 3);
    char *pb = malloc(lp + 1), *cb = malloc(lc + 1), *rb = malloc(lc + 1);
    for (size_t i = 0; i < pairs; i++) {
        rand_text(&r, pb, lp), rand_text(&r, cb, lc), rand_text(&r, rb, lc);
        fprintf(f, "{\"prompt\":\"%s\",\"chosen\":\"%s\",\"rejected\":\"%s\"}\n", pb, cb, rb);
    }
    fclose(f);
    free(pb), free(cb), free(rb);
    ta_train_opts o;
    bench_run_opts(&run, &o, TA_DATA_PREF, pairs, steps, threads, T);
    o.max_prompt_length = T;
    o.precompute_ref = pre;
    o.lora.r = lora_r;
    o.lora.alpha = 2.0 * (double)(lora_r ? lora_r : 1);
    ta_encoder enc = {NULL, enc_sft, enc_pair};
    ta_trainer *t;
    double t_open = ta_now();
    if (ta_trainer_open(&t, &o, &enc, &err)) { fprintf(stderr, "bench_dpo: %s\n", err.msg); return 1; }
    t_open = ta_now() - t_open;
    double best = 1e30, best_cpu = 1e30, tokens = 0, loss0 = 0, loss = 0;
    for (int s = 0; s < steps + 1; s++) {
        double c0 = cpu_now();
        if (ta_trainer_step(t, &err)) { fprintf(stderr, "bench_dpo: %s\n", err.msg); return 1; }
        double cpu = cpu_now() - c0;
        if (s > 0 && cpu < best_cpu) best_cpu = cpu;
        const json_t *row = ta_trainer_last_metrics(t);
        double dt = json_real_value(json_object_get(row, "step_s"));
        tokens = json_real_value(json_object_get(row, "tokens"));
        loss = json_real_value(json_object_get(row, "loss"));
        if (s == 0) loss0 = loss;
        if (s > 0 && dt < best) best = dt;
    }
    size_t n_train;
    ta_trainer_params(t, &n_train);
    ta_trainer_close(t);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"engine\": \"taskalign\", \"config\": \"%s\", \"params\": %zu, \"trainable\": %zu, \"pairs\": %zu, "
           "\"seq\": %zu, \"threads\": %d, \"lora_r\": %zu, \"precompute_ref\": %d, \"step_s\": %.4f, "
           "\"tokens_per_s\": %.1f, \"cpu_s\": %.4f, \"tokens_per_cpu_s\": %.1f, \"open_s\": %.2f, \"loss_first\": %.6f, \"loss_last\": %.6f, \"max_rss_mb\": %.1f}\n",
           config, n_params, n_train, pairs, T, threads, lora_r, pre, best, tokens / best, best_cpu, tokens / best_cpu, t_open, loss0, loss,
           (double)ru.ru_maxrss / 1024.0);
    bench_run_close(&run);
    return 0;
}
