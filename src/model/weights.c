#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ta_param_info *tab; /* NULL: count only */
    size_t n, off;
} layout_builder;

static float *add(layout_builder *b, float *slab, const char *name, size_t d0, size_t d1) {
    size_t numel = d1 ? d0 * d1 : d0;
    if (b->tab) {
        ta_param_info *p = &b->tab[b->n];
        snprintf(p->name, sizeof p->name, "%s", name);
        p->ndim = d1 ? 2 : 1;
        p->shape[0] = d0;
        p->shape[1] = d1;
        p->offset = b->off;
        p->numel = numel;
    }
    float *ptr = slab ? slab + b->off : NULL;
    b->n++;
    b->off += numel;
    return ptr;
}

/* One walk over the layout serves counting (tab == NULL) and binding. */
static void walk(layout_builder *b, const ta_config *c, float *slab, ta_weights *w) {
    size_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    size_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    char nm[TA_PARAM_NAME_MAX];
    float *embed = add(b, slab, "model.embed_tokens.weight", V, C);
    if (w) w->embed = embed;
    for (size_t l = 0; l < c->n_layers; l++) {
        ta_layer_weights tmp = {0}, *lw = w ? &w->layers[l] : &tmp;
#define P(field, suffix, d0, d1)                                                \
    snprintf(nm, sizeof nm, "model.layers.%zu.%s", l, suffix);                  \
    lw->field = add(b, slab, nm, d0, d1)
        P(attn_norm, "input_layernorm.weight", C, 0);
        /* q, k, v weights back to back (one (q+2kv, C) matrix), then their
         * biases (one vector): the engine runs the three as one GEMM. */
        P(wq, "self_attn.q_proj.weight", q, C);
        P(wk, "self_attn.k_proj.weight", kv, C);
        P(wv, "self_attn.v_proj.weight", kv, C);
        if (c->attn_bias) {
            P(bq, "self_attn.q_proj.bias", q, 0);
            P(bk, "self_attn.k_proj.bias", kv, 0);
            P(bv, "self_attn.v_proj.bias", kv, 0);
        }
        P(wo, "self_attn.o_proj.weight", C, q);
        P(mlp_norm, "post_attention_layernorm.weight", C, 0);
        P(w_gate, "mlp.gate_proj.weight", F, C);
        P(w_up, "mlp.up_proj.weight", F, C);
        P(w_down, "mlp.down_proj.weight", C, F);
#undef P
    }
    float *fn = add(b, slab, "model.norm.weight", C, 0);
    float *head = c->tie_word_embeddings ? embed : add(b, slab, "lm_head.weight", V, C);
    if (w) {
        w->final_norm = fn;
        w->lm_head = head;
    }
}

size_t ta_weights_numel(const ta_config *cfg) {
    layout_builder b = {0};
    walk(&b, cfg, NULL, NULL);
    return b.off;
}

int ta_weights_bind(ta_weights *w, const ta_config *cfg, float *slab, ta_error *err) {
    layout_builder count = {0};
    walk(&count, cfg, NULL, NULL);
    ta_weights nw = {0};
    nw.layers = calloc(cfg->n_layers ? cfg->n_layers : 1, sizeof *nw.layers);
    nw.params = calloc(count.n, sizeof *nw.params);
    if (!nw.layers || !nw.params) {
        free(nw.layers);
        free(nw.params);
        return ta_error_set(err, TA_ENOMEM, "out of memory binding %zu tensors", count.n);
    }
    layout_builder b = {.tab = nw.params};
    walk(&b, cfg, slab, &nw);
    nw.slab = slab;
    nw.n_params = b.off;
    nw.n_tensors = b.n;
    *w = nw;
    return TA_OK;
}

void ta_weights_release(ta_weights *w) {
    if (!w) return;
    free(w->layers);
    free(w->params);
    w->layers = NULL;
    w->params = NULL;
    w->n_tensors = 0;
}

const ta_param_info *ta_weights_find(const ta_weights *w, const char *name) {
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->params[i].name, name)) return &w->params[i];
    return NULL;
}
