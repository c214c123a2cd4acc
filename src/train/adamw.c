#include "train/adamw.h"
#include "kernels/parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ta_adamw_hparams ta_adamw_defaults(void) {
    ta_adamw_hparams hp = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    return hp;
}

int ta_adamw_init_ranges(ta_adamw *opt, size_t n, const ta_adamw_range *ranges, size_t n_ranges,
                         const ta_adamw_hparams *hp, ta_error *err) {
    for (size_t i = 0; i < n_ranges; i++)
        if (ranges[i].offset > n || ranges[i].numel > n - ranges[i].offset)
            return ta_error_set(err, TA_ERANGE, "adamw: range %zu [%zu, +%zu) lies outside %zu parameters", i,
                                ranges[i].offset, ranges[i].numel, n);
    ta_adamw o = {.n = n, .n_ranges = n_ranges, .hp = *hp};
    o.m = calloc(n ? n : 1, sizeof(float));
    o.v = calloc(n ? n : 1, sizeof(float));
    o.ranges = malloc((n_ranges ? n_ranges : 1) * sizeof *o.ranges);
    if (!o.m || !o.v || !o.ranges) {
        free(o.m), free(o.v), free(o.ranges);
        return ta_error_set(err, TA_ENOMEM, "adamw: out of memory for %zu parameters", n);
    }
    if (n_ranges) memcpy(o.ranges, ranges, n_ranges * sizeof *ranges);
    *opt = o;
    return TA_OK;
}

int ta_adamw_init(ta_adamw *opt, const ta_weights *layout, const ta_adamw_hparams *hp, ta_error *err) {
    ta_adamw_range *r = malloc((layout->n_tensors ? layout->n_tensors : 1) * sizeof *r);
    if (!r) return ta_error_set(err, TA_ENOMEM, "adamw: out of memory");
    for (size_t i = 0; i < layout->n_tensors; i++) {
        r[i].offset = layout->params[i].offset;
        r[i].numel = layout->params[i].numel;
        r[i].decay = layout->params[i].ndim >= 2;
    }
    int rc = ta_adamw_init_ranges(opt, layout->n_params, r, layout->n_tensors, hp, err);
    free(r);
    if (rc == TA_OK) opt->names = layout->params;
    return rc;
}

void ta_adamw_release(ta_adamw *opt) {
    if (!opt) return;
    free(opt->m), free(opt->v), free(opt->ranges);
    memset(opt, 0, sizeof *opt);
}

int ta_adamw_set_decay(ta_adamw *opt, const char *name, int decay, ta_error *err) {
    for (size_t i = 0; opt->names && i < opt->n_ranges; i++)
        if (!strcmp(opt->names[i].name, name)) {
            opt->ranges[i].decay = decay;
            return TA_OK;
        }
    return ta_error_set(err, TA_ENOTFOUND, "adamw: no parameter named '%s'", name);
}

void ta_adamw_step_scaled(ta_adamw *opt, float *params, const float *grads, float lr, float gscale) {
    opt->step++;
    const ta_adamw_hparams *hp = &opt->hp;
    double t = (double)opt->step;
    float b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps;
    /* the scalar factors as torch computes them (Python floats = double) */
    float step_size = (float)(lr / (1.0 - pow(b1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    float *m = opt->m, *v = opt->v;
    for (size_t r = 0; r < opt->n_ranges; r++) {
        size_t o = opt->ranges[r].offset, n = opt->ranges[r].numel;
        float decay = opt->ranges[r].decay ? 1.0f - lr * hp->weight_decay : 1.0f;
#pragma omp parallel for simd schedule(static) if (n > TA_PAR_MIN)
        for (size_t i = o; i < o + n; i++) {
            float g = grads[i] * gscale; /* exactly clip_grad_norm_'s in-place scaling, fused */
            float p = params[i] * decay;
            m[i] = b1 * m[i] + (1.0f - b1) * g;
            v[i] = b2 * v[i] + (1.0f - b2) * g * g;
            float denom = sqrtf(v[i]) / bc2_sqrt + eps;
            params[i] = p - step_size * m[i] / denom;
        }
    }
}

void ta_adamw_step(ta_adamw *opt, float *params, const float *grads, float lr) {
    ta_adamw_step_scaled(opt, params, grads, lr, 1.0f);
}

double ta_grad_norm(const float *grads, size_t n) {
    double ss = 0.0;
    /* simd: several partial sums per thread (a single chain is bound by the
     * add latency); the order differs from a serial sum only in rounding. */
#pragma omp parallel for simd reduction(+ : ss) schedule(static) if (n > TA_PAR_MIN)
    for (size_t i = 0; i < n; i++) ss += (double)grads[i] * grads[i];
    return sqrt(ss);
}

float ta_clip_coef(double norm, double max_norm) {
    if (!(max_norm > 0)) return 1.0f;
    double coef = max_norm / (norm + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

double ta_clip_grad_norm(float *grads, size_t n, double max_norm) {
    double norm = ta_grad_norm(grads, n);
    float c = ta_clip_coef(norm, max_norm);
    if (c != 1.0f) {
#pragma omp parallel for simd schedule(static) if (n > TA_PAR_MIN)
        for (size_t i = 0; i < n; i++) grads[i] *= c;
    }
    return norm;
}
