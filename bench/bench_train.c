/* bench_train: times one optimizer step of the real SFT trainer (ta_trainer:
 * forward + masked NLL + backward + grad clipping + AdamW, with its thread
 * plan: data-parallel workers when the batch has at least as many rows as
 * threads) on a random model of a config and B synthetic rows of exactly T
 * tokens (every position but the first trained), and OpenBLAS sgemm at a few
 * sizes for the machine's GEMM peak. Prints one JSON object on stdout.
 *
 *   bench_train --config CFG.json [--batch B] [--seq T] [--steps N] [--threads N]
 *
 * FLOPs counted per step: every Linear 6*N*IC*OC (forward 2, input and weight
 * gradients 4), attention 12*E*HD per (row, head) (Q K^T and P V forward,
 * four GEMMs backward) with E the score entries the causal blocks compute
 * (ta_attention_entries: 0.625*T^2 at T = 256; the skipped masked corner is
 * not counted; before the blocking E was T^2). Elementwise work is not
 * counted. Tokens/s = B*T / best step time. */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/file.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/threads.h"
#include "kernels/attention.h"
#include "model/model.h"
#include "train/trainer.h"
#include "bench_trainer.h"

/* The synthetic encoder: every conversation becomes T random ids below the
 * vocabulary size (ctx: {T, V, rng}), all trained but the first. */
typedef struct bench_enc {
    size_t T, V;
    ta_rng rng;
} bench_enc;

static int enc_sft(void *ctx, const ta_conversation *c, const json_t *tools, int32_t **ids, uint8_t **mask, size_t *n,
                   ta_error *err) {
    bench_enc *e = ctx;
    *ids = malloc(e->T * sizeof **ids);
    *mask = malloc(e->T);
    if (!*ids || !*mask) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < e->T; i++) {
        (*ids)[i] = (int32_t)ta_rng_below(&e->rng, e->V);
        (*mask)[i] = i > 0;
    }
    *n = e->T;
    return TA_OK;
}

static int enc_pair(void *ctx, const ta_text_part *p, const ta_text_part *c, const json_t *tools, int32_t **pid,
                    size_t *np, int32_t **cid, size_t *nc, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "bench: no preferences");
}

static double sgemm_gflops(size_t M, size_t K, size_t Nn, int reps) {
    float *a = malloc(M * K * 4), *b = malloc(K * Nn * 4), *c = malloc(M * Nn * 4);
    for (size_t i = 0; i < M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < K * Nn; i++) b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t0 = ta_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)Nn, (int)K, 1.0f, a, (int)K, b, (int)K,
                    0.0f, c, (int)Nn);
        double dt = ta_now() - t0;
        if (r > 0 && dt < best) best = dt; /* first call warms up */
    }
    free(a), free(b), free(c);
    return 2.0 * (double)M * K * Nn / best / 1e9;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"batch", required_argument, 0, 'b'},
                                         {"seq", required_argument, 0, 's'},    {"steps", required_argument, 0, 'n'},
                                         {"threads", required_argument, 0, 't'}, {0, 0, 0, 0}};
    ta_blas_fix_core(argv);
    const char *config = NULL;
    size_t B = 8, T = 256;
    int steps = 5, threads = 0, c;
    while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'b': B = (size_t)atol(optarg); break;
        case 's': T = (size_t)atol(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        default: fprintf(stderr, "usage: bench_train --config CFG [--batch B] [--seq T] [--steps N] [--threads N]\n"); return 2;
        }
    }
    if (!config || B == 0 || T == 0 || steps < 1) {
        fprintf(stderr, "usage: bench_train --config CFG [--batch B] [--seq T] [--steps N] [--threads N]\n");
        return 2;
    }
    threads = ta_threads_set(threads); /* 0: all cores */
    ta_error err = {0};
    bench_run run;
    if (bench_run_open(&run, "train", config, "sft.jsonl", &err)) { fprintf(stderr, "bench_train: %s\n", err.msg); return 1; }
    const ta_config cfg = run.cfg;
    size_t n_params = run.n_params;
    FILE *f = fopen(run.data, "w");
    if (!f) { perror(run.data); return 1; }
    for (size_t i = 0; i < B; i++)
        fprintf(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]}\n");
    fclose(f);
    size_t N = B * T, V = cfg.vocab_size;
    bench_enc be = {T, V, {{0}}};
    ta_rng_seed(&be.rng, 7);
    ta_encoder enc = {&be, enc_sft, enc_pair};
    ta_train_opts o;
    bench_run_opts(&run, &o, TA_DATA_SFT, B, steps, threads, T);
    o.lr = 1e-4;
    o.weight_decay = 0.01;
    o.schedule = TA_SCHED_CONSTANT;
    ta_trainer *t;
    if (ta_trainer_open(&t, &o, &enc, &err)) { fprintf(stderr, "bench_train: %s\n", err.msg); return 1; }
    double best = 1e30, first_loss = 0, last_loss = 0;
    for (int s = 0; s < steps + 1; s++) {
        if (ta_trainer_step(t, &err)) break;
        const json_t *row = ta_trainer_last_metrics(t);
        double dt = json_real_value(json_object_get(row, "step_s"));
        double loss = json_real_value(json_object_get(row, "loss"));
        if (s == 0) first_loss = loss;
        last_loss = loss;
        if (s > 0 && dt < best) best = dt; /* step 0 warms caches and page-faults the plan */
    }
    if (err.code) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    size_t workers = ta_trainer_workers(t);
    ta_trainer_close(t);
    bench_run_close(&run);
    ta_threads_set(threads); /* the sgemm peak below with the run's thread count */
    size_t C = cfg.hidden_size, F = cfg.intermediate_size, L = cfg.n_layers, HD = cfg.head_dim;
    size_t QD = cfg.n_heads * HD, KD = cfg.n_kv_heads * HD;
    double lin = (double)L * ((double)C * QD + 2.0 * C * KD + (double)QD * C + 3.0 * C * F) + (double)C * V;
    ta_attn_shape as = {.Tq = T, .Tk = T, .NH = cfg.n_heads, .NKV = cfg.n_kv_heads, .HD = HD};
    double flops = 6.0 * N * lin + 12.0 * (double)B * cfg.n_heads * (double)ta_attention_entries(&as) * HD * L;
    double g256 = sgemm_gflops(256, 256, 256, 20), g512 = sgemm_gflops(512, 512, 512, 10);
    double g1024 = sgemm_gflops(1024, 1024, 1024, 5), g2048 = sgemm_gflops(2048, 2048, 2048, 2);
    double gmodel = sgemm_gflops(N, C, F, 5);
    /* the best rate any size reached: on a shared machine short runs dodge preemption */
    double peak = g256;
    double all[4] = {g512, g1024, g2048, gmodel};
    for (int i = 0; i < 4; i++) peak = all[i] > peak ? all[i] : peak;
    printf("{\"engine\": \"taskalign\", \"blas_core\": \"%s\", \"config\": \"%s\", \"params\": %zu, \"batch\": %zu, \"seq\": %zu, "
           "\"threads\": %d, \"workers\": %zu, \"step_s\": %.4f, \"tokens_per_s\": %.1f, \"step_gflop\": %.2f, \"gflops\": %.1f, "
           "\"sgemm_gflops\": {\"256\": %.1f, \"512\": %.1f, \"1024\": %.1f, \"2048\": %.1f, \"%zux%zux%zu\": %.1f}, "
           "\"peak_fraction\": %.3f, \"loss_first\": %.4f, \"loss_last\": %.4f}\n",
           ta_blas_core(), config, n_params, B, T, threads, workers, best, (double)N / best, flops / 1e9, flops / best / 1e9, g256, g512,
           g1024, g2048, N, C, F, gmodel, flops / best / 1e9 / peak, first_loss, last_loss);
    return 0;
}
