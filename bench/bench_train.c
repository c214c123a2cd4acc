/* bench_train: times one training step (forward + masked NLL + backward +
 * grad clipping + AdamW) on a config and batch, and OpenBLAS sgemm at a few
 * sizes for the machine's GEMM peak. Prints one JSON object on stdout.
 *
 *   bench_train --config CFG.json [--batch B] [--seq T] [--steps N] [--threads N]
 *
 * FLOPs counted per step: every Linear 6*N*IC*OC (forward 2, input and weight
 * gradients 4), attention 12*T^2*HD per (row, head) (Q K^T and P V forward,
 * four GEMMs backward; the causal half is computed, so it counts). Elementwise
 * work is not counted. Tokens/s = B*T / best step time. */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/model.h"
#include "model/transformer.h"
#include "train/adamw.h"

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
    threads = ta_threads_set(threads);
    ta_error err = {0};
    ta_config cfg;
    ta_model m;
    ta_acts *a;
    if (ta_config_load(&cfg, config, &err) || ta_model_create(&m, &cfg, &err) ||
        ta_acts_plan(&a, &cfg, B, T, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    ta_model_init_random(&m, 1, 0.02f);
    size_t N = B * T, V = cfg.vocab_size;
    int32_t *tok = malloc(N * 4), *tgt = malloc(N * 4);
    size_t *len = malloc(B * sizeof *len);
    float *lp = malloc(N * 4), *dlp = malloc(N * 4), *mask = malloc(N * 4);
    ta_rng rng;
    ta_rng_seed(&rng, 7);
    for (size_t i = 0; i < N; i++) tok[i] = (int32_t)ta_rng_below(&rng, V);
    for (size_t i = 0; i < N; i++) {
        tgt[i] = (i % T) + 1 < T ? tok[i + 1] : -1;
        mask[i] = tgt[i] >= 0;
    }
    for (size_t b = 0; b < B; b++) len[b] = T;
    float *gslab = calloc(m.w.n_params, 4);
    ta_weights g;
    ta_adamw opt;
    ta_adamw_hparams hp = ta_adamw_defaults();
    if (ta_weights_bind(&g, &cfg, gslab, &err) || ta_adamw_init(&opt, &m.w, &hp, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    double best = 1e30, first_loss = 0, last_loss = 0;
    for (int s = 0; s < steps + 1; s++) {
        double t0 = ta_now();
        memset(gslab, 0, m.w.n_params * 4);
        if (ta_forward(&m, a, tok, len, tgt, lp, NULL, &err)) break;
        double loss = ta_masked_nll(lp, mask, N, dlp);
        if (ta_backward(&m, a, dlp, &g, &err)) break;
        ta_clip_grad_norm(gslab, m.w.n_params, 1.0);
        ta_adamw_step(&opt, m.slab, gslab, 1e-4f);
        double dt = ta_now() - t0;
        if (s == 0) first_loss = loss;
        last_loss = loss;
        if (s > 0 && dt < best) best = dt; /* step 0 warms caches and page-faults the plan */
    }
    if (err.code) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    size_t C = cfg.hidden_size, F = cfg.intermediate_size, L = cfg.n_layers, HD = cfg.head_dim;
    size_t QD = cfg.n_heads * HD, KD = cfg.n_kv_heads * HD;
    double lin = (double)L * ((double)C * QD + 2.0 * C * KD + (double)QD * C + 3.0 * C * F) + (double)C * V;
    double flops = 6.0 * N * lin + 12.0 * (double)B * cfg.n_heads * (double)T * T * HD * L;
    double g256 = sgemm_gflops(256, 256, 256, 20), g512 = sgemm_gflops(512, 512, 512, 10);
    double g1024 = sgemm_gflops(1024, 1024, 1024, 5), g2048 = sgemm_gflops(2048, 2048, 2048, 2);
    double gmodel = sgemm_gflops(N, C, F, 5);
    /* the best rate any size reached: on a shared machine short runs dodge preemption */
    double peak = g256;
    double all[4] = {g512, g1024, g2048, gmodel};
    for (int i = 0; i < 4; i++) peak = all[i] > peak ? all[i] : peak;
    printf("{\"engine\": \"taskalign\", \"blas_core\": \"%s\", \"config\": \"%s\", \"params\": %zu, \"batch\": %zu, \"seq\": %zu, "
           "\"threads\": %d, \"step_s\": %.4f, \"tokens_per_s\": %.1f, \"step_gflop\": %.2f, \"gflops\": %.1f, "
           "\"sgemm_gflops\": {\"256\": %.1f, \"512\": %.1f, \"1024\": %.1f, \"2048\": %.1f, \"%zux%zux%zu\": %.1f}, "
           "\"peak_fraction\": %.3f, \"loss_first\": %.4f, \"loss_last\": %.4f, \"act_mib\": %.0f}\n",
           ta_blas_core(), config, m.w.n_params, B, T, threads, best, (double)N / best, flops / 1e9, flops / best / 1e9, g256, g512,
           g1024, g2048, N, C, F, gmodel, flops / best / 1e9 / peak, first_loss, last_loss,
           (double)ta_acts_numel(a) * 4 / 1048576.0);
    ta_adamw_release(&opt);
    ta_weights_release(&g);
    ta_acts_free(a);
    ta_model_release(&m);
    free(gslab), free(tok), free(tgt), free(len), free(lp), free(dlp), free(mask);
    return 0;
}
