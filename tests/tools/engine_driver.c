/* engine_driver: runs the engine on a batch given as a safetensors file, for
 * the PyTorch oracle (tests/oracle/test_engine.py). Not a user command.
 *
 *   engine_driver MODEL_DIR BATCH.safetensors OUT.safetensors [THREADS]
 *
 * BATCH (all F32, ids exact below 2^24):
 *   tokens (B,T), lengths (B), targets (B,T) (-1: none), mask (B,T)
 *   train (9), optional: steps, lr, weight_decay, beta1, beta2, eps,
 *         max_grad_norm (<= 0: none), warmup_steps, schedule (0 constant, 1 linear, 2 cosine)
 * OUT:
 *   logits (B,T,V), token_logprob (B,T), mean_logit (B,T), loss (1) = masked
 *   mean NLL, grad.<HF name> for every parameter (gradient of loss);
 *   with train: train_loss, grad_norm, lr (steps) recorded before each update
 *   (the same batch every step) and param.<HF name> after the last step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "train/adamw.h"
#include "train/schedule.h"

static int get(const ta_safetensors *st, const char *name, size_t want, float **out, ta_error *err) {
    const ta_st_tensor *t = ta_safetensors_find(st, name);
    if (!t) return ta_error_set(err, TA_ENOTFOUND, "batch: tensor '%s' is missing", name);
    if (want && t->numel != want)
        return ta_error_set(err, TA_EFORMAT, "batch: '%s' has %zu values, want %zu", name, t->numel, want);
    *out = malloc(t->numel * sizeof(float));
    if (!*out) return ta_error_set(err, TA_ENOMEM, "out of memory");
    return ta_safetensors_read_f32(st, t, *out, err);
}

static int run(int argc, char **argv, ta_error *err) {
    ta_model m = {0};
    ta_safetensors st = {0};
    int rc = ta_model_load(&m, argv[1], err);
    if (rc) return rc;
    if ((rc = ta_safetensors_open(&st, argv[2], err))) return rc;
    const ta_st_tensor *tt = ta_safetensors_find(&st, "tokens");
    if (!tt || tt->ndim != 2) return ta_error_set(err, TA_EFORMAT, "batch: 'tokens' (B,T) is missing");
    size_t B = tt->shape[0], T = tt->shape[1], N = B * T, V = m.cfg.vocab_size;
    float *ftok, *flen, *ftgt, *mask, *train = NULL;
    if ((rc = get(&st, "tokens", N, &ftok, err)) || (rc = get(&st, "lengths", B, &flen, err)) ||
        (rc = get(&st, "targets", N, &ftgt, err)) || (rc = get(&st, "mask", N, &mask, err)))
        return rc;
    if (ta_safetensors_find(&st, "train") && (rc = get(&st, "train", 9, &train, err))) return rc;
    int32_t *tok = malloc(N * 4), *tgt = malloc(N * 4);
    size_t *len = malloc(B * sizeof *len);
    for (size_t i = 0; i < N; i++) tok[i] = (int32_t)ftok[i], tgt[i] = (int32_t)ftgt[i];
    for (size_t b = 0; b < B; b++) len[b] = (size_t)flen[b];

    ta_acts *a;
    if ((rc = ta_acts_plan(&a, &m.cfg, B, T, err))) return rc;
    float *lp = malloc(N * 4), *ml = malloc(N * 4), *dlp = malloc(N * 4), *logits = malloc(N * V * 4);
    float *gslab = calloc(m.w.n_params, 4);
    ta_weights g;
    if ((rc = ta_weights_bind(&g, &m.cfg, gslab, err))) return rc;
    if ((rc = ta_forward(&m, a, tok, len, tgt, lp, ml, err))) return rc;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++) {
            const float *row = ta_acts_logits_at(a, b, t); /* NULL at padding: written as zeros */
            if (row) memcpy(logits + (b * T + t) * V, row, V * 4);
            else memset(logits + (b * T + t) * V, 0, V * 4);
        }
    float loss = (float)ta_masked_nll(lp, mask, N, dlp);
    float *lp0 = malloc(N * 4); /* training below reuses lp */
    memcpy(lp0, lp, N * 4);
    if ((rc = ta_backward(&m, a, dlp, &g, 1, err))) return rc;

    size_t steps = train ? (size_t)train[0] : 0;
    float *tl = calloc(steps + 1, 4), *gn = calloc(steps + 1, 4), *lrs = calloc(steps + 1, 4);
    if (steps) {
        ta_adamw opt;
        ta_adamw_hparams hp = {.beta1 = train[3], .beta2 = train[4], .eps = train[5], .weight_decay = train[2]};
        if ((rc = ta_adamw_init(&opt, &m.w, &hp, err))) return rc;
        ta_schedule sc = {.kind = (ta_sched_kind)(int)train[8], .base_lr = train[1],
                          .warmup_steps = (int64_t)train[7], .total_steps = (int64_t)steps};
        float *g2 = calloc(m.w.n_params, 4);
        ta_weights gw;
        if ((rc = ta_weights_bind(&gw, &m.cfg, g2, err))) return rc;
        for (size_t s = 0; s < steps; s++) {
            memset(g2, 0, m.w.n_params * 4);
            if ((rc = ta_forward(&m, a, tok, len, tgt, lp, NULL, err))) return rc;
            tl[s] = (float)ta_masked_nll(lp, mask, N, dlp);
            if ((rc = ta_backward(&m, a, dlp, &gw, 1, err))) return rc;
            gn[s] = (float)ta_clip_grad_norm(g2, m.w.n_params, train[6]);
            lrs[s] = (float)ta_schedule_lr(&sc, (int64_t)s);
            ta_adamw_step(&opt, m.slab, g2, lrs[s]);
        }
        ta_weights_release(&gw);
        free(g2);
        ta_adamw_release(&opt);
    }

    size_t ne = 4 + 2 * m.w.n_tensors + 3, k = 0;
    ta_st_entry *e = calloc(ne, sizeof *e);
    char (*names)[TA_PARAM_NAME_MAX + 8] = calloc(2 * m.w.n_tensors, sizeof *names);
    e[k++] = (ta_st_entry){.name = "logits", .data = logits, .ndim = 3, .shape = {B, T, V}};
    e[k++] = (ta_st_entry){.name = "token_logprob", .data = lp0, .ndim = 2, .shape = {B, T}};
    e[k++] = (ta_st_entry){.name = "mean_logit", .data = ml, .ndim = 2, .shape = {B, T}};
    e[k++] = (ta_st_entry){.name = "loss", .data = &loss, .ndim = 1, .shape = {1}};
    for (size_t i = 0; i < m.w.n_tensors; i++) {
        const ta_param_info *p = &m.w.params[i];
        snprintf(names[i], sizeof names[i], "grad.%s", p->name);
        e[k++] = (ta_st_entry){.name = names[i], .data = gslab + p->offset, .ndim = p->ndim,
                               .shape = {p->shape[0], p->shape[1]}};
        if (steps) {
            snprintf(names[m.w.n_tensors + i], sizeof names[i], "param.%s", p->name);
            e[k++] = (ta_st_entry){.name = names[m.w.n_tensors + i], .data = m.slab + p->offset,
                                   .ndim = p->ndim, .shape = {p->shape[0], p->shape[1]}};
        }
    }
    if (steps) {
        e[k++] = (ta_st_entry){.name = "train_loss", .data = tl, .ndim = 1, .shape = {steps}};
        e[k++] = (ta_st_entry){.name = "grad_norm", .data = gn, .ndim = 1, .shape = {steps}};
        e[k++] = (ta_st_entry){.name = "lr", .data = lrs, .ndim = 1, .shape = {steps}};
    }
    rc = ta_safetensors_write(argv[3], e, k, TA_DTYPE_F32, err);
    ta_acts_free(a);
    ta_safetensors_release(&st);
    ta_weights_release(&g);
    ta_model_release(&m);
    free(e), free(names), free(lp0), free(lp), free(ml), free(dlp), free(logits), free(gslab);
    free(tl), free(gn), free(lrs), free(tok), free(tgt), free(len), free(ftok), free(flen), free(ftgt), free(mask), free(train);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: engine_driver MODEL_DIR BATCH.safetensors OUT.safetensors [THREADS]\n");
        return 2;
    }
    ta_threads_set(argc > 4 ? atoi(argv[4]) : 1);
    ta_error err = {0};
    if (run(argc, argv, &err)) {
        fprintf(stderr, "engine_driver: error: %s\n", err.msg);
        return 1;
    }
    return 0;
}
