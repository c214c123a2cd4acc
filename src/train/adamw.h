/* adamw.h: AdamW exactly as torch.optim.AdamW (amsgrad=False, maximize=False)
 * and global-norm gradient clipping as torch.nn.utils.clip_grad_norm_.
 *
 * Per element, at step t (1-based, counted by the optimizer):
 *   p  -= lr * wd * p                     (decoupled decay; only tensors with decay set)
 *   m   = b1 m + (1 - b1) g
 *   v   = b2 v + (1 - b2) g^2
 *   p  -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)    (eps outside the sqrt, as torch)
 *
 * Weight-decay mask: a per-tensor flag. ta_adamw_init sets it from the
 * parameter table: 2-D tensors (Linear weights, embeddings, lm_head) decay,
 * 1-D tensors (RMSNorm weights, biases) do not — Hugging Face Trainer's rule
 * (no decay on bias and norm weights). ta_adamw_set_decay overrides one tensor.
 *
 * State: m, v (n floats each, the parameters' layout) and step are plain
 * public fields so a checkpoint writer can save and restore them (write m and
 * v as tensors under the parameter names, step as an integer). */
#ifndef TA_TRAIN_ADAMW_H
#define TA_TRAIN_ADAMW_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/weights.h"

typedef struct ta_adamw_hparams {
    float beta1;        /* 0.9 */
    float beta2;        /* 0.999 */
    float eps;          /* 1e-8 */
    float weight_decay; /* 0.0 .. 0.1 */
} ta_adamw_hparams;

typedef struct ta_adamw_range {
    size_t offset, numel; /* in floats from the slab start */
    int decay;            /* 1: weight decay applies */
} ta_adamw_range;

typedef struct ta_adamw {
    size_t n;                /* floats in params / grads / m / v */
    float *m;                /* (n) first moment, owned */
    float *v;                /* (n) second moment, owned */
    int64_t step;            /* optimizer steps taken so far */
    ta_adamw_range *ranges;  /* (n_ranges) one per tensor, owned */
    size_t n_ranges;
    const ta_param_info *names; /* (n_ranges) borrowed from the layout, for set_decay; may be NULL */
    ta_adamw_hparams hp;
} ta_adamw;

/* Hyper-parameters torch.optim.AdamW uses by default (weight_decay 0.01). */
ta_adamw_hparams ta_adamw_defaults(void);

/* Zeroed moments for the tensors of `layout` (a ta_weights over any slab);
 * decay flags as described above. */
int ta_adamw_init(ta_adamw *opt, const ta_weights *layout, const ta_adamw_hparams *hp, ta_error *err);
/* Same over explicit ranges (e.g. LoRA adapters); ranges are copied. */
int ta_adamw_init_ranges(ta_adamw *opt, size_t n, const ta_adamw_range *ranges, size_t n_ranges,
                         const ta_adamw_hparams *hp, ta_error *err);
void ta_adamw_release(ta_adamw *opt);
/* Sets the decay flag of the tensor named `name`; TA_ENOTFOUND if absent. */
int ta_adamw_set_decay(ta_adamw *opt, const char *name, int decay, ta_error *err);

/* One step at learning rate lr: updates params (n) from grads (n) in place.
 * Elements outside every range are left untouched. OpenMP. */
void ta_adamw_step(ta_adamw *opt, float *params, const float *grads, float lr);
/* The same step on gradients grads * gscale, without writing them: with
 * gscale = ta_clip_coef(ta_grad_norm(...), max) it equals ta_clip_grad_norm
 * followed by ta_adamw_step bit for bit, one pass over the gradients fewer. */
void ta_adamw_step_scaled(ta_adamw *opt, float *params, const float *grads, float lr, float gscale);

/* Global L2 norm of grads (n), accumulated in double; if max_norm > 0,
 * scales grads by min(1, max_norm / (norm + 1e-6)) as clip_grad_norm_ does.
 * Returns the norm before clipping. */
double ta_clip_grad_norm(float *grads, size_t n, double max_norm);
/* Global L2 norm of grads (n), accumulated in double. */
double ta_grad_norm(const float *grads, size_t n);
/* The clipping factor min(1, max_norm / (norm + 1e-6)) as a float (1 when max_norm <= 0). */
float ta_clip_coef(double norm, double max_norm);

#endif
