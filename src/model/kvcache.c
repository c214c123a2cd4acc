#include "model/kvcache.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/embed.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "model/transformer.h"

/* ---- cache ---------------------------------------------------------------- */

int ta_kvcache_init(ta_kvcache *c, const ta_config *cfg, size_t capacity, ta_error *err) {
    if (capacity == 0 || (cfg->max_position_embeddings && capacity > cfg->max_position_embeddings))
        return ta_error_set(err, TA_ERANGE, "kv cache: capacity %zu outside 1..max_position_embeddings (%zu)",
                            capacity, cfg->max_position_embeddings);
    size_t kv_dim = cfg->n_kv_heads * cfg->head_dim;
    size_t n = cfg->n_layers * capacity * kv_dim;
    ta_kvcache nc = {.n_layers = cfg->n_layers, .kv_dim = kv_dim, .capacity = capacity};
    nc.k = malloc((n ? n : 1) * sizeof(float));
    nc.v = malloc((n ? n : 1) * sizeof(float));
    if (!nc.k || !nc.v) {
        free(nc.k);
        free(nc.v);
        return ta_error_set(err, TA_ENOMEM, "kv cache: out of memory for %zu positions (%zu MB)", capacity,
                            2 * n * sizeof(float) >> 20);
    }
    *c = nc;
    return TA_OK;
}

void ta_kvcache_reset(ta_kvcache *c) { c->len = 0; }

void ta_kvcache_truncate(ta_kvcache *c, size_t len) {
    if (len < c->len) c->len = len;
}

void ta_kvcache_release(ta_kvcache *c) {
    if (!c) return;
    free(c->k);
    free(c->v);
    c->k = c->v = NULL;
    c->capacity = c->len = 0;
}

/* ---- scratch -------------------------------------------------------------- */

void ta_kv_scratch_init(ta_kv_scratch *s) { memset(s, 0, sizeof *s); }

static void free_rows(ta_kv_scratch *s) {
    free(s->x);
    free(s->xn);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->att_out);
    free(s->gate);
    free(s->up);
    free(s->hid);
    free(s->tok);
    free(s->pos);
    s->x = s->xn = s->q = s->k = s->v = s->att_out = s->gate = s->up = s->hid = NULL;
    s->tok = s->pos = NULL;
    s->rows_cap = 0;
}

void ta_kv_scratch_release(ta_kv_scratch *s) {
    if (!s) return;
    free_rows(s);
    free(s->att);
    free(s->last);
    free(s->inv_freq);
    free(s->cos_t);
    free(s->sin_t);
    memset(s, 0, sizeof *s);
}

/* Contents are not kept: every buffer is fully rewritten by each forward. */
static int grow_floats(float **p, size_t *cap, size_t need) {
    if (need <= *cap) return TA_OK;
    free(*p);
    *p = malloc(need * sizeof **p);
    *cap = *p ? need : 0;
    return *p ? TA_OK : TA_ENOMEM;
}

static int reserve(ta_kv_scratch *s, const ta_config *cfg, size_t rows, size_t ctx, size_t out_rows,
                   size_t att_need, ta_error *err) {
    size_t C = cfg->hidden_size, F = cfg->intermediate_size, HD = cfg->head_dim;
    size_t Q = cfg->n_heads * HD, KV = cfg->n_kv_heads * HD;
    if (rows > s->rows_cap) {
        free_rows(s);
        s->x = malloc(rows * C * sizeof(float));
        s->xn = malloc(rows * C * sizeof(float));
        s->q = malloc(rows * Q * sizeof(float));
        s->k = malloc(rows * KV * sizeof(float));
        s->v = malloc(rows * KV * sizeof(float));
        s->att_out = malloc(rows * Q * sizeof(float));
        s->gate = malloc(rows * F * sizeof(float));
        s->up = malloc(rows * F * sizeof(float));
        s->hid = malloc(rows * F * sizeof(float));
        s->tok = malloc(rows * sizeof(int32_t));
        s->pos = malloc(rows * sizeof(int32_t));
        if (!s->x || !s->xn || !s->q || !s->k || !s->v || !s->att_out || !s->gate || !s->up || !s->hid ||
            !s->tok || !s->pos) {
            free_rows(s);
            return ta_error_set(err, TA_ENOMEM, "kv forward: out of memory for %zu rows", rows);
        }
        s->rows_cap = rows;
    }
    if (grow_floats(&s->last, &s->out_cap, out_rows * C))
        return ta_error_set(err, TA_ENOMEM, "kv forward: out of memory for %zu output rows", out_rows);
    if (grow_floats(&s->att, &s->att_cap, att_need))
        return ta_error_set(err, TA_ENOMEM, "kv forward: out of memory for attention scores (%zu floats)",
                            att_need);
    if (s->head_dim != HD || ctx > s->ctx_cap) {
        /* RoPE tables cover the caches' capacity, so they are built once per
         * generation, not per step. */
        size_t half = HD / 2, tab = ctx * half;
        if (tab == 0) tab = 1;
        free(s->inv_freq);
        free(s->cos_t);
        free(s->sin_t);
        s->inv_freq = malloc((half ? half : 1) * sizeof(double));
        s->cos_t = malloc(tab * sizeof(float));
        s->sin_t = malloc(tab * sizeof(float));
        if (!s->inv_freq || !s->cos_t || !s->sin_t) {
            free(s->inv_freq);
            free(s->cos_t);
            free(s->sin_t);
            s->inv_freq = NULL;
            s->cos_t = s->sin_t = NULL;
            s->ctx_cap = s->head_dim = 0;
            return ta_error_set(err, TA_ENOMEM, "kv forward: out of memory for RoPE tables (%zu positions)", ctx);
        }
        ta_rope_params rp;
        ta_config_rope_params(cfg, &rp);
        ta_rope_inv_freq(s->inv_freq, &rp);
        ta_rope_table(s->cos_t, s->sin_t, s->inv_freq, HD, ctx);
        s->ctx_cap = ctx;
        s->head_dim = HD;
    }
    return TA_OK;
}

/* ---- kernels this path needs beyond src/kernels --------------------------- */

/* Output rows j .. min(j + 4, N) of y (B, N) = x (B, K) @ W^T + b: four
 * independent weight streams and accumulators per pass over x (about 25%
 * faster than one row at a time at B = 1 here). */
static void skinny_block(float *y, const float *x, const float *w, const float *b, size_t B, size_t K, size_t N,
                         size_t j) {
    if (j + 4 <= N) {
        const float *w0 = w + j * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        for (size_t r = 0; r < B; r++) {
            const float *xr = x + r * K;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
            for (size_t k = 0; k < K; k++) {
                float xk = xr[k];
                a0 += w0[k] * xk;
                a1 += w1[k] * xk;
                a2 += w2[k] * xk;
                a3 += w3[k] * xk;
            }
            float *yr = y + r * N + j;
            yr[0] = a0 + (b ? b[j] : 0.0f);
            yr[1] = a1 + (b ? b[j + 1] : 0.0f);
            yr[2] = a2 + (b ? b[j + 2] : 0.0f);
            yr[3] = a3 + (b ? b[j + 3] : 0.0f);
        }
        return;
    }
    for (; j < N; j++) {
        const float *wr = w + j * K;
        for (size_t r = 0; r < B; r++) {
            const float *xr = x + r * K;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (size_t k = 0; k < K; k++) acc += wr[k] * xr[k];
            y[r * N + j] = acc + (b ? b[j] : 0.0f);
        }
    }
}

/* One product of a shared input: y (B, N) = x @ w^T + b. */
typedef struct {
    float *y;
    const float *w, *b;
    size_t N;
} skinny_job;

/* Several products of the same x (q, k and v; gate and up) in ONE parallel
 * loop: one barrier instead of one per product. Every barrier costs a
 * scheduler time slice whenever a thread is parked, which on a busy machine
 * dominates a decode step. */
#define MAX_JOBS 3
/* Parallelise a decode-step loop only above this many multiply-adds (floats
 * of weights streamed): the reason of kernels/parallel.h, but a decode step
 * has ~50 dependent loops of ~1 ms work in all, so the bar is 4x higher
 * (model-10m at 2 threads on the shared machine: 4 tok/s with every product
 * parallel, 17 with this bar; 1 thread: 37). Models with hidden size >= 1024
 * stay fully parallel. */
#define PAR_MIN_WORK (4 * TA_PAR_MIN)
static void skinny_multi(const skinny_job *jobs, size_t n_jobs, const float *x, size_t B, size_t K) {
    size_t start[MAX_JOBS + 1] = {0}, work = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        start[i + 1] = start[i] + (jobs[i].N + 3) / 4;
        work += jobs[i].N * K;
    }
    size_t total = start[n_jobs];
#pragma omp parallel for schedule(static) if (work > PAR_MIN_WORK)
    for (size_t blk = 0; blk < total; blk++) {
        size_t i = 0;
        while (blk >= start[i + 1]) i++;
        const skinny_job *jb = &jobs[i];
        skinny_block(jb->y, x, jb->w, jb->b, B, K, jb->N, (blk - start[i]) * 4);
    }
}

void ta_kv_matmul_skinny(float *y, const float *x, const float *w, const float *b, size_t B, size_t K, size_t N) {
    skinny_job j = {y, w, b, N};
    skinny_multi(&j, 1, x, B, K);
}

/* Few rows (a decode step): the skinny products, all jobs in one loop;
 * otherwise one sgemm per job. */
#define SKINNY_MAX_ROWS 8
static void linear_multi(const skinny_job *jobs, size_t n_jobs, const float *x, size_t B, size_t K) {
    if (B <= SKINNY_MAX_ROWS) {
        skinny_multi(jobs, n_jobs, x, B, K);
        return;
    }
    for (size_t i = 0; i < n_jobs; i++) ta_matmul_forward(jobs[i].y, x, jobs[i].w, jobs[i].b, B, K, jobs[i].N);
}

static void linear(float *y, const float *x, const float *w, const float *b, size_t B, size_t K, size_t N) {
    skinny_job j = {y, w, b, N};
    linear_multi(&j, 1, x, B, K);
}

static void add_inplace(float *x, const float *y, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* One query row per (sequence, head) over that sequence's cache: the decode
 * step's attention. ta_attention_forward serves it too, but as two sgemm calls
 * of one row per head, whose call overhead dominated at these sizes; this
 * runs all (sequence, head) pairs of the step in one OpenMP loop. Same math:
 * softmax(q k^T / sqrt(HD)) v over keys 0..len (all earlier positions). */
typedef struct {
    float *out;      /* (NH*HD) */
    const float *q;  /* (NH*HD) */
    const float *kc; /* (T, NKV*HD) */
    const float *vc; /* (T, NKV*HD) */
    size_t T;
} decode_item;

static void attend_decode(const decode_item *items, size_t n_items, size_t NH, size_t NKV, size_t HD,
                          float *scores, size_t ctx, int n_threads) {
    size_t rep = NH / NKV, KV = NKV * HD;
    float scale = 1.0f / sqrtf((float)HD);
    size_t n_pairs = n_items * NH;
    size_t work = 0;
    for (size_t i = 0; i < n_items; i++) work += items[i].T;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (work * NH * HD > PAR_MIN_WORK)
    for (size_t pi = 0; pi < n_pairs; pi++) {
        const decode_item *it = &items[pi / NH];
        size_t h = pi % NH, g = h / rep, T = it->T;
        float *sc = scores + (size_t)omp_get_thread_num() * ctx;
        const float *q = it->q + h * HD;
        float m = -INFINITY;
        for (size_t t = 0; t < T; t++) {
            const float *kr = it->kc + t * KV + g * HD;
            float d = 0.0f;
#pragma omp simd reduction(+ : d)
            for (size_t i = 0; i < HD; i++) d += q[i] * kr[i];
            d *= scale;
            sc[t] = d;
            m = d > m ? d : m;
        }
        float sum = 0.0f;
        for (size_t t = 0; t < T; t++) {
            sc[t] = expf(sc[t] - m);
            sum += sc[t];
        }
        float inv = 1.0f / sum;
        float *o = it->out + h * HD;
        for (size_t i = 0; i < HD; i++) o[i] = 0.0f;
        for (size_t t = 0; t < T; t++) {
            const float *vr = it->vc + t * KV + g * HD;
            float p = sc[t] * inv;
#pragma omp simd
            for (size_t i = 0; i < HD; i++) o[i] += p * vr[i];
        }
    }
}

/* ---- forward -------------------------------------------------------------- */

int ta_kv_forward(const ta_model *m, ta_kv_seq *seqs, size_t n_seqs, ta_kv_logits which, float *logits,
                  ta_kv_scratch *s, ta_error *err) {
    const ta_config *cfg = &m->cfg;
    size_t C = cfg->hidden_size, F = cfg->intermediate_size, V = cfg->vocab_size, HD = cfg->head_dim;
    size_t NH = cfg->n_heads, NKV = cfg->n_kv_heads, Q = NH * HD, KV = NKV * HD, L = cfg->n_layers;
    if (n_seqs == 0) return ta_error_set(err, TA_EINVAL, "kv forward: no sequences");
    if (which != TA_KV_LOGITS_NONE && !logits) return ta_error_set(err, TA_EINVAL, "kv forward: no logits buffer");
    size_t rows = 0, ctx = 0, att_need = 0, n_decode = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        const ta_kv_seq *sq = &seqs[i];
        const ta_kvcache *c = sq->cache;
        if (sq->n_tokens == 0) return ta_error_set(err, TA_EINVAL, "kv forward: sequence %zu has no new tokens", i);
        if (c->n_layers != L || c->kv_dim != KV)
            return ta_error_set(err, TA_EINVAL, "kv forward: sequence %zu: cache shaped for another model", i);
        if (c->len + sq->n_tokens > c->capacity)
            return ta_error_set(err, TA_ERANGE, "kv forward: sequence %zu: %zu cached + %zu new tokens exceed the cache capacity %zu",
                                i, c->len, sq->n_tokens, c->capacity);
        for (size_t j = 0; j < sq->n_tokens; j++)
            if (sq->tokens[j] < 0 || (size_t)sq->tokens[j] >= V)
                return ta_error_set(err, TA_EINVAL, "kv forward: sequence %zu: token %zu is id %d, vocabulary has %zu",
                                    i, j, (int)sq->tokens[j], V);
        for (size_t j = 0; j < i; j++)
            if (seqs[j].cache == c) return ta_error_set(err, TA_EINVAL, "kv forward: sequences %zu and %zu share a cache", j, i);
        rows += sq->n_tokens;
        if (c->capacity > ctx) ctx = c->capacity;
        if (sq->n_tokens == 1) {
            n_decode++;
        } else {
            size_t a = NH * sq->n_tokens * (c->len + sq->n_tokens);
            if (a > att_need) att_need = a;
        }
    }
    int n_threads = omp_get_max_threads();
    if ((size_t)n_threads * ctx > att_need) att_need = (size_t)n_threads * ctx;
    size_t out_rows = which == TA_KV_LOGITS_ALL ? rows : n_seqs;
    decode_item *items = NULL;
    if (n_decode && !(items = malloc(n_decode * sizeof *items)))
        return ta_error_set(err, TA_ENOMEM, "kv forward: out of memory");
    int rc = reserve(s, cfg, rows, ctx, out_rows, att_need, err);
    if (rc) {
        free(items);
        return rc;
    }

    /* pack tokens and positions */
    for (size_t i = 0, r = 0; i < n_seqs; i++)
        for (size_t j = 0; j < seqs[i].n_tokens; j++, r++) {
            s->tok[r] = seqs[i].tokens[j];
            s->pos[r] = (int32_t)(seqs[i].cache->len + j);
        }
    float *x = s->x;   /* (rows, C) */
    float *xn = s->xn; /* (rows, C) */
    ta_embed_forward(x, m->w.embed, s->tok, rows, C);

    for (size_t l = 0; l < L; l++) {
        const ta_layer_weights *lw = &m->w.layers[l];
        ta_rmsnorm_forward(xn, NULL, x, lw->attn_norm, rows, C, cfg->rms_norm_eps);
        skinny_job qkv[3] = {{s->q, lw->wq, lw->bq, Q}, {s->k, lw->wk, lw->bk, KV}, {s->v, lw->wv, lw->bv, KV}};
        linear_multi(qkv, 3, xn, rows, C);
        ta_rope_forward(s->q, rows, Q, NH, HD, s->pos, s->cos_t, s->sin_t);
        ta_rope_forward(s->k, rows, KV, NKV, HD, s->pos, s->cos_t, s->sin_t);
        size_t nd = 0;
        for (size_t i = 0, r = 0; i < n_seqs; r += seqs[i].n_tokens, i++) {
            ta_kvcache *c = seqs[i].cache;
            size_t n = seqs[i].n_tokens;
            float *kc = c->k + l * c->capacity * KV; /* (capacity, KV) */
            float *vc = c->v + l * c->capacity * KV;
            memcpy(kc + c->len * KV, s->k + r * KV, n * KV * sizeof(float));
            memcpy(vc + c->len * KV, s->v + r * KV, n * KV * sizeof(float));
            if (n == 1) {
                items[nd++] = (decode_item){s->att_out + r * Q, s->q + r * Q, kc, vc, c->len + 1};
            } else {
                ta_attn_shape sh = {.Tq = n, .Tk = c->len + n, .q_pos0 = c->len, .NH = NH, .NKV = NKV,
                                    .HD = HD, .q_stride = Q, .kv_stride = KV, .out_stride = Q};
                ta_attention_forward(s->att_out + r * Q, s->att, s->q + r * Q, kc, vc, &sh);
            }
        }
        if (nd) attend_decode(items, nd, NH, NKV, HD, s->att, ctx, n_threads);
        linear(xn, s->att_out, lw->wo, NULL, rows, Q, C);
        add_inplace(x, xn, rows * C);
        ta_rmsnorm_forward(xn, NULL, x, lw->mlp_norm, rows, C, cfg->rms_norm_eps);
        skinny_job gate_up[2] = {{s->gate, lw->w_gate, NULL, F}, {s->up, lw->w_up, NULL, F}};
        linear_multi(gate_up, 2, xn, rows, C);
        ta_swiglu_forward(s->hid, s->gate, s->up, rows, F, F);
        linear(xn, s->hid, lw->w_down, NULL, rows, F, C);
        add_inplace(x, xn, rows * C);
    }
    for (size_t i = 0; i < n_seqs; i++) seqs[i].cache->len += seqs[i].n_tokens;
    free(items);

    if (which == TA_KV_LOGITS_NONE) return TA_OK;
    const float *fin = x;
    if (which == TA_KV_LOGITS_LAST) {
        /* only the last new row of each sequence needs logits */
        for (size_t i = 0, r = 0; i < n_seqs; i++) {
            r += seqs[i].n_tokens;
            memcpy(s->last + i * C, x + (r - 1) * C, C * sizeof(float));
        }
        fin = s->last;
    }
    ta_rmsnorm_forward(s->last, NULL, fin, m->w.final_norm, out_rows, C, cfg->rms_norm_eps);
    linear(logits, s->last, m->w.lm_head, NULL, out_rows, C, V);
    return TA_OK;
}
