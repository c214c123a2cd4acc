/* lora.h: LoRA adapters over a base model, PEFT-compatible on disk.
 *
 * For each targeted Linear W (out, in) of every layer: A (r, in), B (out, r),
 * and the adapted weight W_eff = W + s * B @ A with s = alpha / r (PEFT's
 * scaling, use_rslora off). Init as PEFT's LoraLayer.reset_lora_parameters:
 * A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0, so a
 * fresh adapter leaves the model unchanged.
 *
 * How training works here (the merged-weight path): the policy runs on a view
 * of the base model whose targeted tensors point at W_eff (a work buffer that
 * holds only the targeted tensors; everything else is shared with the base),
 * the engine computes the full weight gradient dW of those tensors, and
 *   dB = s * dW @ A^T,   dA = s * B^T @ dW
 * which is exact (W_eff is linear in A and B) when dropout is 0. The cost is
 * the engine computing dW of every weight, frozen or not, plus one full-size
 * gradient slab; a LoRA path inside the engine that skips frozen dW would be
 * faster and smaller. The reference model is the base itself (adapters off):
 * no second copy. Dropout > 0 is refused (it would need the LoRA path inside
 * the engine, where the dropped input x feeds only the B@A branch).
 *
 * On disk (PEFT): adapter_config.json and adapter_model.safetensors with
 * tensors base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight
 * (r, in) and ...lora_B.weight (out, r); mlp.{gate,up,down}_proj likewise. */
#ifndef TA_TRAIN_LORA_H
#define TA_TRAIN_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/model.h"

enum {
    TA_LORA_Q = 1 << 0,
    TA_LORA_K = 1 << 1,
    TA_LORA_V = 1 << 2,
    TA_LORA_O = 1 << 3,
    TA_LORA_GATE = 1 << 4,
    TA_LORA_UP = 1 << 5,
    TA_LORA_DOWN = 1 << 6,
    TA_LORA_ALL = 0x7f
};

typedef struct ta_lora_config {
    size_t r;         /* rank, > 0 */
    double alpha;     /* scaling = alpha / r */
    double dropout;   /* must be 0 (see above) */
    unsigned targets; /* TA_LORA_* bits */
} ta_lora_config;

/* Parses "q,k,v,o" / "q_proj,v_proj" / "all" into TA_LORA_* bits. */
int ta_lora_parse_targets(const char *s, unsigned *out, ta_error *err);

typedef struct ta_lora_module {
    size_t layer;
    unsigned which;  /* one TA_LORA_* bit */
    size_t out, in;  /* W is (out, in) */
    size_t a_off;    /* A (r, in) at slab + a_off */
    size_t b_off;    /* B (out, r) at slab + b_off */
    const float *w;  /* base W (out, in), borrowed from the base model */
    float *w_eff;    /* (out, in) in the work buffer */
    float *dw;       /* (out, in) in the full gradient slab (set by ta_lora_bind_grad) */
} ta_lora_module;

typedef struct ta_lora {
    ta_lora_config cfg;
    float scale;             /* alpha / r */
    ta_lora_module *mods;    /* (n_mods), owned */
    size_t n_mods;
    float *slab;             /* (n_params) every A then B, owned; the trainable parameters */
    size_t n_params;
    float *work;             /* W_eff of each module, owned */
    ta_model policy;         /* view: cfg and weights of the base with targeted tensors -> work.
                                policy.slab is the base's (not owned): never ta_model_release it */
} ta_lora;

/* Adds adapters to `base` (which must outlive l). A drawn from seed; B = 0. */
int ta_lora_create(ta_lora *l, const ta_model *base, const ta_lora_config *cfg, uint64_t seed, ta_error *err);
void ta_lora_release(ta_lora *l);
/* Recomputes W_eff = W + s B A for every module (after A or B changed). */
void ta_lora_merge(ta_lora *l);
/* Points each module's dw at its tensor in the gradient layout `grad`. */
void ta_lora_bind_grad(ta_lora *l, const ta_weights *grad);
/* Sets every tensor pointer of g (a full-layout gradient ta_weights) that no
 * module adapts to NULL, so ta_backward skips those weight gradients (the
 * frozen embedding, norms, lm_head and unadapted Linears: most of the
 * backward's weight-gradient GEMMs when only attention is adapted). */
void ta_lora_freeze_grad(const ta_lora *l, ta_weights *g);
/* lora_grad (n_params, A/B layout) += the exact A/B gradient from dW. */
void ta_lora_grad_from_full(const ta_lora *l, float *lora_grad);

/* Writes adapter_config.json + adapter_model.safetensors (F32) into dir. */
int ta_lora_save(const ta_lora *l, const char *dir, const char *base_model_path, ta_error *err);
/* Loads an adapter saved by us or PEFT (r, lora_alpha, target_modules from
 * adapter_config.json; every tensor must be present with the right shape). */
int ta_lora_load(ta_lora *l, const ta_model *base, const char *dir, ta_error *err);
/* Writes W + s B A into the targeted tensors of model m in place (for
 * `taskalign lora merge`); m must have the base's config. */
void ta_lora_merge_into(const ta_lora *l, ta_model *m);
#endif
