#include "model/transformer.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/embed.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"

struct ta_acts {
    ta_config cfg;
    size_t B, T;
    float *slab;      /* owned: every float buffer below lives in it */
    size_t numel;
    /* Packed layout: the last forward's real tokens only, row b's at
     * [off[b], off[b] + lengths[b]); Np of them in all (<= B*T). Every
     * activation below holds Np rows (planned for B*T), so padding costs
     * neither time nor gradient. */
    int32_t *tokens;  /* (Np) ids */
    int32_t *targets; /* (Np) */
    int32_t *pos;     /* (Np) position within its row */
    size_t *lengths;  /* (B) */
    size_t *off;      /* (B) first packed row of batch row b */
    size_t *att_off;  /* (B) where row b's (NH, len, len) probabilities start in att */
    size_t Np;
    size_t att_per_layer; /* sum over rows of NH * len^2: one layer's share of att */
    int have_forward;
    /* The head (final norm, lm_head, log-softmax) runs over Nh of the Np
     * rows: all of them, or with targets_only those with a target. When
     * Nh < Np its rows are gathered (hrow) into xf; hidx maps back. */
    int targets_only;
    size_t Nh;
    int32_t *hidx;    /* (Np) head row of packed row n, or -1 */
    int32_t *hrow;    /* (Nh) packed row of head row j (gathered case) */
    int32_t *htg;     /* (Nh) targets of the head rows (gathered case) */

    float *rope_cos, *rope_sin; /* (T, HD/2) */
    /* saved activations, per layer l at l * (size per layer) */
    float *resid;  /* (L+1, B*T, C) resid[l] = input of layer l; resid[L] = final */
    float *ln1;    /* (L, B*T, C) */
    float *rstd1;  /* (L, B*T) */
    float *qkv;    /* (L, B*T, QKV) q|k|v per row (QKV = NH*HD + 2*NKV*HD), q and k after rope */
    float *att;    /* (L, B*NH*T*T) planned; layer l holds rows' (NH, len, len) back to back */
    float *ao;     /* (L, B*T, NH*HD) attention output before o_proj */
    float *mid;    /* (L, B*T, C) residual after attention */
    float *ln2;    /* (L, B*T, C) */
    float *rstd2;  /* (L, B*T) */
    float *gu;     /* (L, B*T, 2F) gate|up per row */
    float *hmlp;   /* (L, B*T, F) silu(gate) * up */
    float *xf;     /* (B*T, C) the head rows of resid[L] (gathered case) */
    float *lnf;    /* (B*T, C) head rows */
    float *rstdf;  /* (B*T) */
    float *logits; /* (B*T, V) head rows; the logits' gradient after ta_backward */
    float *lse;    /* (B*T) */
    /* backward scratch (one layer at a time) */
    float *dresid; /* (B*T, C) */
    float *dln;    /* (B*T, C) */
    float *dqkv;   /* (B*T, QKV) like qkv */
    float *dao;    /* (B*T, NH*HD) */
    float *dgu;    /* (B*T, 2F) like gu */
    float *dh;     /* (B*T, F) */
    float *datt;   /* (T, T) */
    float *dxf;    /* (B*T, C) gradient of xf (gathered case) */
    float *dlp;    /* (B*T) per head row */
    float *lpk, *mlk; /* (B*T) head rows' log-probs and mean logits before scattering to (B,T) */
};

/* One walk assigns the buffers (base != NULL) or counts floats (base == NULL).
 * Every buffer starts on a 64-byte boundary. */
static size_t layout(ta_acts *a, float *base) {
    const ta_config *c = &a->cfg;
    size_t N = a->B * a->T, L = c->n_layers, C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    size_t QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
    size_t off = 0;
#define BUF(field, n)                                  \
    do {                                               \
        if (base) a->field = base + off;               \
        off += ((size_t)(n) + 15) / 16 * 16;           \
    } while (0)
    BUF(rope_cos, a->T * (c->head_dim / 2));
    BUF(rope_sin, a->T * (c->head_dim / 2));
    BUF(resid, (L + 1) * N * C);
    BUF(ln1, L * N * C);
    BUF(rstd1, L * N);
    BUF(qkv, L * N * (QD + 2 * KD));
    BUF(att, L * a->B * c->n_heads * a->T * a->T);
    BUF(ao, L * N * QD);
    BUF(mid, L * N * C);
    BUF(ln2, L * N * C);
    BUF(rstd2, L * N);
    BUF(gu, L * N * 2 * F);
    BUF(hmlp, L * N * F);
    BUF(xf, N * C);
    BUF(lnf, N * C);
    BUF(rstdf, N);
    BUF(logits, N * V);
    BUF(lse, N);
    BUF(dresid, N * C);
    BUF(dln, N * C);
    BUF(dqkv, N * (QD + 2 * KD));
    BUF(dao, N * QD);
    BUF(dgu, N * 2 * F);
    BUF(dh, N * F);
    BUF(datt, a->T * a->T);
    BUF(dxf, N * C);
    BUF(dlp, N);
    BUF(lpk, N);
    BUF(mlk, N);
#undef BUF
    return off;
}

void ta_config_rope_params(const ta_config *cfg, ta_rope_params *p) {
    memset(p, 0, sizeof *p);
    p->head_dim = cfg->head_dim;
    p->theta = cfg->rope_theta;
    p->llama3 = cfg->rope_kind == TA_ROPE_LLAMA3;
    p->factor = cfg->rope_factor;
    p->low_freq_factor = cfg->rope_low_freq_factor;
    p->high_freq_factor = cfg->rope_high_freq_factor;
    p->original_max_pos = (double)cfg->rope_original_max_pos;
}

int ta_acts_plan(ta_acts **out, const ta_config *cfg, size_t B, size_t T, ta_error *err) {
    if (B == 0 || T == 0) return ta_error_set(err, TA_EINVAL, "activation plan: batch %zu x %zu is empty", B, T);
    if (cfg->head_dim == 0 || cfg->head_dim % 2 || cfg->n_kv_heads == 0 || cfg->n_heads % cfg->n_kv_heads)
        return ta_error_set(err, TA_EINVAL, "activation plan: bad head layout (%zu heads, %zu kv heads, dim %zu)",
                            cfg->n_heads, cfg->n_kv_heads, cfg->head_dim);
    /* BLAS takes int dimensions and leading dimensions. */
    size_t maxdim = B * T > cfg->vocab_size ? B * T : cfg->vocab_size;
    if (B > (1u << 20) || T > (1u << 20) || maxdim > 0x7fffffffu / 4)
        return ta_error_set(err, TA_ERANGE, "activation plan: batch %zu x %zu is too large", B, T);
    if (cfg->sliding_window && T > cfg->sliding_window)
        return ta_error_set(err, TA_EUNSUPPORTED,
                            "activation plan: sequence length %zu exceeds sliding_window %zu (sliding-window "
                            "attention is not implemented; within the window it equals full causal attention)",
                            T, cfg->sliding_window);
    ta_acts *a = calloc(1, sizeof *a);
    if (!a) return ta_error_set(err, TA_ENOMEM, "out of memory planning activations");
    a->cfg = *cfg;
    a->B = B;
    a->T = T;
    a->numel = layout(a, NULL);
    size_t N = B * T;
    double *inv = malloc(cfg->head_dim / 2 * sizeof *inv);
    a->slab = aligned_alloc(64, a->numel * sizeof(float));
    a->tokens = malloc(N * sizeof *a->tokens);
    a->targets = malloc(N * sizeof *a->targets);
    a->pos = malloc(N * sizeof *a->pos);
    a->lengths = calloc(B, sizeof *a->lengths);
    a->off = calloc(B, sizeof *a->off);
    a->att_off = calloc(B, sizeof *a->att_off);
    a->hidx = malloc(N * sizeof *a->hidx);
    a->hrow = malloc(N * sizeof *a->hrow);
    a->htg = malloc(N * sizeof *a->htg);
    if (!inv || !a->slab || !a->tokens || !a->targets || !a->pos || !a->lengths || !a->off || !a->att_off || !a->hidx ||
        !a->hrow || !a->htg) {
        size_t mb = a->numel * sizeof(float) >> 20;
        free(inv);
        ta_acts_free(a);
        return ta_error_set(err, TA_ENOMEM, "out of memory allocating %zu MiB of activations for batch %zu x %zu",
                            mb, B, T);
    }
    layout(a, a->slab);
    ta_rope_params rp;
    ta_config_rope_params(cfg, &rp);
    ta_rope_inv_freq(inv, &rp);
    ta_rope_table(a->rope_cos, a->rope_sin, inv, cfg->head_dim, T);
    free(inv);
    *out = a;
    return TA_OK;
}

void ta_acts_free(ta_acts *a) {
    if (!a) return;
    free(a->slab);
    free(a->tokens);
    free(a->targets);
    free(a->pos);
    free(a->lengths);
    free(a->off);
    free(a->att_off);
    free(a->hidx);
    free(a->hrow);
    free(a->htg);
    free(a);
}

size_t ta_acts_numel(const ta_acts *a) { return a->numel; }

void ta_acts_set_targets_only(ta_acts *a, int on) { a->targets_only = on != 0; }

const float *ta_acts_logits_at(const ta_acts *a, size_t b, size_t t) {
    if (!a->have_forward || b >= a->B || t >= a->lengths[b]) return NULL;
    int32_t j = a->hidx[a->off[b] + t];
    return j < 0 ? NULL : a->logits + (size_t)j * a->cfg.vocab_size;
}

static int same_shape(const ta_config *x, const ta_config *y) {
    return x->vocab_size == y->vocab_size && x->hidden_size == y->hidden_size &&
           x->intermediate_size == y->intermediate_size && x->n_layers == y->n_layers &&
           x->n_heads == y->n_heads && x->n_kv_heads == y->n_kv_heads && x->head_dim == y->head_dim &&
           x->attn_bias == y->attn_bias && x->tie_word_embeddings == y->tie_word_embeddings &&
           x->rope_theta == y->rope_theta && x->rope_kind == y->rope_kind;
}

/* ---- q|k|v and gate|up: several Linears over one input ------------------- */

/* The parts of one projection: weights w[i] (oc[i], IC), biases b[i] (oc[i])
 * or all NULL; the output holds the parts' columns side by side, rows of OC =
 * sum oc[i]. When the parts are adjacent in memory (always in a slab bound by
 * ta_weights_bind, see weights.h) they are one (OC, IC) Linear and take one
 * GEMM; otherwise (a LoRA view's adapted tensors live in their own buffer)
 * one GEMM per part reads and writes its columns in place. */
typedef struct proj {
    size_t n, oc[3], OC;
    float *w[3], *b[3];
} proj;

static proj qkv_proj(const ta_config *c, const ta_layer_weights *lw) {
    size_t QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
    proj p = {3, {QD, KD, KD}, QD + 2 * KD, {lw->wq, lw->wk, lw->wv}, {lw->bq, lw->bk, lw->bv}};
    return p;
}

static proj gate_up_proj(const ta_config *c, const ta_layer_weights *lw) {
    size_t F = c->intermediate_size;
    proj p = {2, {F, F}, 2 * F, {lw->w_gate, lw->w_up}, {NULL, NULL}};
    return p;
}

/* 1 when every x[i] starts where x[i-1] (rows[i-1] * cols floats) ends
 * (none NULL). */
static int adjacent(float *const *x, const size_t *rows, size_t n, size_t cols) {
    for (size_t i = 0; i < n; i++)
        if (!x[i] || (i && x[i] != x[i - 1] + rows[i - 1] * cols)) return 0;
    return 1;
}

/* One (OC, IC) Linear: weights adjacent, biases adjacent or all absent. */
static int proj_fused(const proj *p, size_t IC) {
    int no_bias = 1;
    for (size_t i = 0; i < p->n; i++) no_bias &= !p->b[i];
    return adjacent(p->w, p->oc, p->n, IC) && (no_bias || adjacent(p->b, p->oc, p->n, 1));
}

/* out (N, OC) = inp (N, IC) through every part. */
static void proj_forward(float *out, const float *inp, const proj *p, size_t N, size_t IC) {
    if (proj_fused(p, IC)) {
        ta_matmul_forward_ld(out, p->OC, inp, p->w[0], p->b[0], N, IC, p->OC);
        return;
    }
    for (size_t i = 0, o = 0; i < p->n; o += p->oc[i++])
        ta_matmul_forward_ld(out + o, p->OC, inp, p->w[i], p->b[i], N, IC, p->oc[i]);
}

/* dinp (N, IC) = the input gradient (overwritten), and the weight (and bias)
 * gradients into g's tensors (+= when accumulate, = otherwise; none for a
 * NULL, frozen, tensor), from dout (N, OC). */
static void proj_backward(float *dinp, const proj *g, const float *dout, const float *inp, const proj *p, size_t N,
                          size_t IC, int accumulate) {
    if (adjacent(p->w, p->oc, p->n, IC)) {
        ta_matmul_backward_input(dinp, dout, p->OC, p->w[0], N, IC, p->OC, 0);
    } else {
        for (size_t i = 0, o = 0; i < p->n; o += p->oc[i++])
            ta_matmul_backward_input(dinp, dout + o, p->OC, p->w[i], N, IC, p->oc[i], i > 0);
    }
    if (proj_fused(g, IC)) {
        ta_matmul_backward_weight(g->w[0], g->b[0], dout, g->OC, inp, N, IC, g->OC, accumulate);
        return;
    }
    for (size_t i = 0, o = 0; i < g->n; o += g->oc[i++])
        if (g->w[i] || g->b[i])
            ta_matmul_backward_weight(g->w[i], g->b[i], dout + o, g->OC, inp, N, IC, g->oc[i], accumulate);
}

/* Attention shape for batch row b of length len (training: no cache offset). */
static ta_attn_shape row_shape(const ta_config *c, size_t len) {
    size_t qkv = (c->n_heads + 2 * c->n_kv_heads) * c->head_dim; /* q, k, v read in place from the fused rows */
    ta_attn_shape s = {.Tq = len, .Tk = len, .q_pos0 = 0, .NH = c->n_heads, .NKV = c->n_kv_heads,
                       .HD = c->head_dim, .q_stride = qkv, .kv_stride = qkv, .out_stride = c->n_heads * c->head_dim};
    return s;
}

int ta_forward(const ta_model *m, ta_acts *a, const int32_t *tokens, const size_t *lengths,
               const int32_t *targets, float *token_logprob, float *mean_logit, ta_error *err) {
    const ta_config *c = &a->cfg;
    if (!same_shape(&m->cfg, c))
        return ta_error_set(err, TA_EINVAL, "forward: the model's config differs from the activation plan's");
    size_t B = a->B, T = a->T, L = c->n_layers, C = c->hidden_size, F = c->intermediate_size;
    size_t V = c->vocab_size, NH = c->n_heads, HD = c->head_dim;
    size_t QD = NH * HD, KD = c->n_kv_heads * HD, QKV = QD + 2 * KD;
    for (size_t b = 0; b < B; b++) {
        if (lengths[b] > T)
            return ta_error_set(err, TA_ERANGE, "forward: row %zu has length %zu > %zu", b, lengths[b], T);
        for (size_t t = 0; t < lengths[b]; t++) {
            int32_t id = tokens[b * T + t];
            if (id < 0 || (size_t)id >= V)
                return ta_error_set(err, TA_ERANGE, "forward: token id %d at row %zu position %zu is outside [0, %zu)",
                                    (int)id, b, t, V);
        }
    }
    for (size_t b = 0; b < B; b++) {
        for (size_t t = 0; t < lengths[b]; t++) {
            int32_t tg = targets[b * T + t];
            if (tg < -1 || (tg >= 0 && (size_t)tg >= V))
                return ta_error_set(err, TA_ERANGE, "forward: target %d at row %zu position %zu is outside [-1, %zu)",
                                    (int)tg, b, t, V);
        }
    }
    size_t N = 0, A = 0;
    for (size_t b = 0; b < B; b++) {
        size_t len = lengths[b];
        a->lengths[b] = len;
        a->off[b] = N;
        a->att_off[b] = A;
        for (size_t t = 0; t < len; t++) {
            a->tokens[N + t] = tokens[b * T + t];
            a->targets[N + t] = targets[b * T + t];
            a->pos[N + t] = (int32_t)t;
        }
        N += len;
        A += NH * len * len;
    }
    a->Np = N;
    a->att_per_layer = A;
    a->have_forward = 1;
    memset(token_logprob, 0, B * T * sizeof *token_logprob);
    if (mean_logit) memset(mean_logit, 0, B * T * sizeof *mean_logit);
    if (N == 0) return TA_OK; /* every row empty */
    const ta_weights *w = &m->w;
    ta_embed_forward(a->resid, w->embed, a->tokens, N, C);
    for (size_t l = 0; l < L; l++) {
        const ta_layer_weights *lw = &w->layers[l];
        float *x = a->resid + l * N * C, *ln1 = a->ln1 + l * N * C, *qkv = a->qkv + l * N * QKV;
        float *ao = a->ao + l * N * QD, *mid = a->mid + l * N * C, *ln2 = a->ln2 + l * N * C;
        float *gu = a->gu + l * N * 2 * F, *hm = a->hmlp + l * N * F;
        float *att = a->att + l * A;
        ta_rmsnorm_forward(ln1, a->rstd1 + l * N, x, lw->attn_norm, N, C, c->rms_norm_eps);
        proj pq = qkv_proj(c, lw), pg = gate_up_proj(c, lw);
        proj_forward(qkv, ln1, &pq, N, C);
        ta_rope_forward(qkv, N, QKV, NH, HD, a->pos, a->rope_cos, a->rope_sin);
        ta_rope_forward(qkv + QD, N, QKV, c->n_kv_heads, HD, a->pos, a->rope_cos, a->rope_sin);
        for (size_t b = 0; b < B; b++) {
            size_t len = a->lengths[b], o = a->off[b];
            if (!len) continue;
            ta_attn_shape s = row_shape(c, len);
            const float *r = qkv + o * QKV;
            ta_attention_forward(ao + o * QD, att + a->att_off[b], r, r + QD, r + QD + KD, &s);
        }
        memcpy(mid, x, N * C * sizeof(float));
        ta_matmul_forward_add(mid, ao, lw->wo, N, QD, C);
        ta_rmsnorm_forward(ln2, a->rstd2 + l * N, mid, lw->mlp_norm, N, C, c->rms_norm_eps);
        proj_forward(gu, ln2, &pg, N, C);
        ta_swiglu_forward(hm, gu, gu + F, N, F, 2 * F);
        float *next = a->resid + (l + 1) * N * C;
        memcpy(next, mid, N * C * sizeof(float));
        ta_matmul_forward_add(next, hm, lw->w_down, N, F, C);
    }
    /* the head: every row, or only the rows with a target (their gradient is
     * the only one that is not zero, and prompt tokens are most of a chat) */
    const float *xL = a->resid + L * N * C, *xh = xL;
    const int32_t *th = a->targets;
    size_t Nh = 0;
    for (size_t n = 0; n < N; n++) {
        int on = !a->targets_only || a->targets[n] >= 0;
        a->hidx[n] = on ? (int32_t)Nh : -1;
        if (on) a->hrow[Nh++] = (int32_t)n;
    }
    a->Nh = Nh;
    if (Nh < N) {
        for (size_t j = 0; j < Nh; j++) {
            memcpy(a->xf + j * C, xL + (size_t)a->hrow[j] * C, C * sizeof(float));
            a->htg[j] = a->targets[a->hrow[j]];
        }
        xh = a->xf, th = a->htg;
    }
    ta_rmsnorm_forward(a->lnf, a->rstdf, xh, w->final_norm, Nh, C, c->rms_norm_eps);
    ta_matmul_forward(a->logits, a->lnf, w->lm_head, NULL, Nh, C, V);
    ta_logsoftmax_gather_forward(a->lpk, a->lse, mean_logit ? a->mlk : NULL, a->logits, th, Nh, V);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < a->lengths[b]; t++) {
            int32_t j = a->hidx[a->off[b] + t];
            token_logprob[b * T + t] = j < 0 ? 0.0f : a->lpk[j];
            if (mean_logit) mean_logit[b * T + t] = j < 0 ? 0.0f : a->mlk[j];
        }
    return TA_OK;
}

int ta_backward(const ta_model *m, ta_acts *a, const float *d_token_logprob, ta_weights *grad, int accumulate,
                ta_error *err) {
    const ta_config *c = &a->cfg;
    if (!a->have_forward) return ta_error_set(err, TA_EINVAL, "backward: no forward pass on these activations");
    if (!same_shape(&m->cfg, c) || grad->n_params != m->w.n_params)
        return ta_error_set(err, TA_EINVAL, "backward: model, gradient and activation plan disagree on the layout");
    size_t B = a->B, T = a->T, N = a->Np, L = c->n_layers, C = c->hidden_size, F = c->intermediate_size;
    size_t V = c->vocab_size, NH = c->n_heads, NKV = c->n_kv_heads, HD = c->head_dim;
    size_t QD = NH * HD, KD = NKV * HD, QKV = QD + 2 * KD, A = a->att_per_layer;
    const ta_weights *w = &m->w;
    int acc = accumulate != 0;
    a->have_forward = 0; /* the logits buffer becomes their gradient */
    if (N == 0) { /* every row empty: the gradient is zero */
        if (!acc) memset(grad->slab, 0, grad->n_params * sizeof(float));
        return TA_OK;
    }
    size_t Nh = a->Nh;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < a->lengths[b]; t++) {
            int32_t j = a->hidx[a->off[b] + t];
            if (j >= 0) a->dlp[j] = d_token_logprob[b * T + t];
        }
    float *dlogits = a->logits;
    ta_logsoftmax_gather_backward(dlogits, a->logits, a->lse, Nh < N ? a->htg : a->targets, a->dlp, Nh, V);
    /* Tied: this writes (or adds to) the embedding's gradient; its scatter-add at the end adds on top. */
    ta_matmul_backward(a->dln, grad->lm_head, NULL, dlogits, a->lnf, w->lm_head, Nh, C, V, 0, acc);
    memset(a->dresid, 0, N * C * sizeof(float));
    if (Nh == N) {
        ta_rmsnorm_backward(a->dresid, grad->final_norm, a->dln, a->resid + L * N * C, w->final_norm, a->rstdf, N, C, acc);
    } else { /* the head rows' gradient, scattered back; the other rows' is 0 */
        memset(a->dxf, 0, Nh * C * sizeof(float));
        ta_rmsnorm_backward(a->dxf, grad->final_norm, a->dln, a->xf, w->final_norm, a->rstdf, Nh, C, acc);
        for (size_t j = 0; j < Nh; j++) memcpy(a->dresid + (size_t)a->hrow[j] * C, a->dxf + j * C, C * sizeof(float));
    }
    for (size_t l = L; l-- > 0;) {
        const ta_layer_weights *lw = &w->layers[l];
        ta_layer_weights *gw = &grad->layers[l];
        const float *x = a->resid + l * N * C, *ln1 = a->ln1 + l * N * C, *qkv = a->qkv + l * N * QKV;
        const float *ao = a->ao + l * N * QD, *mid = a->mid + l * N * C, *ln2 = a->ln2 + l * N * C;
        const float *gu = a->gu + l * N * 2 * F, *hm = a->hmlp + l * N * F;
        const float *att = a->att + l * A;
        proj pq = qkv_proj(c, lw), pg = gate_up_proj(c, lw), gq = qkv_proj(c, gw), gg = gate_up_proj(c, gw);
        /* MLP: resid[l+1] = mid + down(h) */
        ta_matmul_backward(a->dh, gw->w_down, NULL, a->dresid, hm, lw->w_down, N, F, C, 0, acc);
        ta_swiglu_backward(a->dgu, a->dgu + F, a->dh, gu, gu + F, N, F, 2 * F);
        proj_backward(a->dln, &gg, a->dgu, ln2, &pg, N, C, acc);
        ta_rmsnorm_backward(a->dresid, gw->mlp_norm, a->dln, mid, lw->mlp_norm, a->rstd2 + l * N, N, C, acc);
        /* attention: mid = x + o_proj(ao) */
        ta_matmul_backward(a->dao, gw->wo, NULL, a->dresid, ao, lw->wo, N, QD, C, 0, acc);
        for (size_t b = 0; b < B; b++) {
            size_t len = a->lengths[b], o = a->off[b];
            if (!len) continue;
            ta_attn_shape s = row_shape(c, len);
            const float *r = qkv + o * QKV;
            float *dr = a->dqkv + o * QKV;
            ta_attention_backward(dr, dr + QD, dr + QD + KD, a->datt, a->dao + o * QD, att + a->att_off[b], r, r + QD,
                                  r + QD + KD, &s);
        }
        ta_rope_backward(a->dqkv, N, QKV, NH, HD, a->pos, a->rope_cos, a->rope_sin);
        ta_rope_backward(a->dqkv + QD, N, QKV, NKV, HD, a->pos, a->rope_cos, a->rope_sin);
        proj_backward(a->dln, &gq, a->dqkv, ln1, &pq, N, C, acc);
        ta_rmsnorm_backward(a->dresid, gw->attn_norm, a->dln, x, lw->attn_norm, a->rstd1 + l * N, N, C, acc);
    }
    if (grad->embed) {
        if (!acc && grad->embed != grad->lm_head) memset(grad->embed, 0, V * C * sizeof(float));
        ta_embed_backward(grad->embed, a->dresid, a->tokens, N, C);
    }
    return TA_OK;
}

int ta_sequence_logprobs(const ta_model *m, const int32_t *ids, size_t n, float *lp, double *sum, ta_weights *grad,
                         ta_error *err) {
    if (n == 0) return ta_error_set(err, TA_EINVAL, "no token ids given");
    ta_acts *a = NULL;
    int rc = ta_acts_plan(&a, &m->cfg, 1, n, err);
    if (rc) return rc;
    int32_t *targets = malloc(n * sizeof *targets);
    float *tlp = malloc(n * sizeof *tlp), *d = malloc(n * sizeof *d);
    if (!targets || !tlp || !d) {
        rc = ta_error_set(err, TA_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < n; t++) {
        targets[t] = t + 1 < n ? ids[t + 1] : -1;
        d[t] = t + 1 < n ? -1.0f : 0.0f; /* d(-sum lp)/d lp */
    }
    if ((rc = ta_forward(m, a, ids, &n, targets, tlp, NULL, err))) goto done;
    double s = 0.0;
    for (size_t t = 0; t + 1 < n; t++) s += tlp[t];
    if (grad && (rc = ta_backward(m, a, d, grad, 1, err))) goto done;
    if (lp) memcpy(lp, tlp, (n - 1) * sizeof *lp);
    if (sum) *sum = s;
done:
    free(targets), free(tlp), free(d);
    ta_acts_free(a);
    return rc;
}
