/* weights.h: every parameter of the model in one float slab, llm.c style.
 *
 * The layout (order, shapes, Hugging Face names) is defined once by
 * ta_weights_bind(); parameters, gradients and both AdamW moments use the same
 * layout over different slabs, so an optimizer step is one loop over
 * n_params floats. Shapes follow PyTorch's nn.Linear: weight (out, in), and
 * y = x @ W^T + b.
 *
 * Per layer l, in this order (names are model.layers.{l}.<suffix>):
 *   input_layernorm.weight            (C)
 *   self_attn.q_proj.weight           (NH*HD, C)
 *   self_attn.k_proj.weight           (NKV*HD, C)
 *   self_attn.v_proj.weight           (NKV*HD, C)
 *   self_attn.q_proj.bias (NH*HD), k_proj.bias (NKV*HD), v_proj.bias (NKV*HD)   [attn_bias]
 *   self_attn.o_proj.weight           (C, NH*HD)
 *   post_attention_layernorm.weight   (C)
 *   mlp.gate_proj.weight              (F, C)
 *   mlp.up_proj.weight                (F, C)
 *   mlp.down_proj.weight              (C, F)
 * Global: model.embed_tokens.weight (V, C) first, model.norm.weight (C) and,
 * unless tie_word_embeddings, lm_head.weight (V, C) last.
 *
 * Fused views: in a bound slab wk == wq + NH*HD*C and wv == wk + NKV*HD*C, so
 * wq is also the (NH*HD + 2*NKV*HD, C) matrix of the q|k|v projection; the
 * biases likewise form one vector at bq; w_up == w_gate + F*C, so w_gate is
 * the (2F, C) gate|up matrix. The engine relies on this when it holds (a LoRA
 * view redirects some tensors elsewhere; it then runs them one by one). */
#ifndef TA_MODEL_WEIGHTS_H
#define TA_MODEL_WEIGHTS_H

#include <stddef.h>

#include "core/error.h"
#include "model/config.h"

#define TA_PARAM_NAME_MAX 96

typedef struct ta_param_info {
    char name[TA_PARAM_NAME_MAX]; /* Hugging Face name */
    size_t ndim;                  /* 1 or 2 */
    size_t shape[2];
    size_t offset;                /* in floats from the slab start */
    size_t numel;
} ta_param_info;

typedef struct ta_layer_weights {
    float *attn_norm; /* (C) */
    float *wq;        /* (NH*HD, C) */
    float *bq;        /* (NH*HD) or NULL */
    float *wk;        /* (NKV*HD, C) */
    float *bk;        /* (NKV*HD) or NULL */
    float *wv;        /* (NKV*HD, C) */
    float *bv;        /* (NKV*HD) or NULL */
    float *wo;        /* (C, NH*HD) */
    float *mlp_norm;  /* (C) */
    float *w_gate;    /* (F, C) */
    float *w_up;      /* (F, C) */
    float *w_down;    /* (C, F) */
} ta_layer_weights;

/* Pointers into a slab; the slab is owned by whoever allocated it. */
typedef struct ta_weights {
    float *slab;               /* n_params floats */
    size_t n_params;
    float *embed;              /* (V, C) */
    ta_layer_weights *layers;  /* (L), owned by this struct */
    float *final_norm;         /* (C) */
    float *lm_head;            /* (V, C); == embed when tied */
    ta_param_info *params;     /* (n_tensors), owned by this struct */
    size_t n_tensors;
} ta_weights;

/* Number of floats the slab needs for cfg. */
size_t ta_weights_numel(const ta_config *cfg);
/* Binds pointers and the name table over `slab` (n_params floats, caller-owned).
 * Allocates only the small layer/param tables. */
int ta_weights_bind(ta_weights *w, const ta_config *cfg, float *slab, ta_error *err);
/* Frees the tables (not the slab). */
void ta_weights_release(ta_weights *w);
/* Looks a parameter up by Hugging Face name; NULL if absent. */
const ta_param_info *ta_weights_find(const ta_weights *w, const char *name);

#endif
