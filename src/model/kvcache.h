/* kvcache.h: per-sequence KV cache and the incremental forward that extends it.
 *
 * Ownership: the model (ta_model) is read-only here and may be shared by any
 * number of threads; everything that changes while a sequence runs lives in a
 * ta_kvcache (one per sequence, owned by whoever runs it) and a ta_kv_scratch
 * (one per thread running forwards, reused across steps, so decode allocates
 * nothing per token once the scratch has grown to the batch's size).
 *
 * ta_kv_forward runs a packed batch: sequence i contributes n_tokens[i] new
 * tokens (a whole prompt, a prompt chunk, or one decode token), appended at
 * positions cache->len .. cache->len + n - 1. All rows of all sequences go
 * through each projection as one matrix product (rows = tokens); attention is
 * per sequence over its own cache. The same call is the batched prefill and
 * the decode step. */
#ifndef TA_MODEL_KVCACHE_H
#define TA_MODEL_KVCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/model.h"

typedef struct ta_kvcache {
    size_t n_layers; /* L */
    size_t kv_dim;   /* NKV*HD: one cached row */
    size_t capacity; /* positions it can hold */
    size_t len;      /* positions filled = the next token's position */
    float *k;        /* (L, capacity, NKV*HD), owned; rows after RoPE */
    float *v;        /* (L, capacity, NKV*HD), owned */
} ta_kvcache;

/* Allocates a cache for `capacity` positions (1 <= capacity <=
 * max_position_embeddings of cfg). */
int ta_kvcache_init(ta_kvcache *c, const ta_config *cfg, size_t capacity, ta_error *err);
/* Forgets the contents (len = 0); keeps the memory. */
void ta_kvcache_reset(ta_kvcache *c);
/* Drops positions >= len (len <= c->len), e.g. to reuse a shared prefix. */
void ta_kvcache_truncate(ta_kvcache *c, size_t len);
void ta_kvcache_release(ta_kvcache *c);

/* Scratch for ta_kv_forward. Buffers grow on demand to the largest batch seen
 * and are kept; opaque fields, owned. */
typedef struct ta_kv_scratch {
    size_t rows_cap, ctx_cap, out_cap, att_cap, thr_cap;
    float *x;        /* (rows, C) residual stream */
    float *xn;       /* (rows, C) normed */
    float *q;        /* (rows, NH*HD) */
    float *k;        /* (rows, NKV*HD) new keys */
    float *v;        /* (rows, NKV*HD) new values */
    float *att_out;  /* (rows, NH*HD) */
    float *gate;     /* (rows, F) */
    float *up;       /* (rows, F) */
    float *hid;      /* (rows, F) */
    float *att;      /* prefill: (NH, Tq, Tk) probabilities; decode: (threads, ctx) scores */
    float *last;     /* (out rows, C) final-normed rows that get logits */
    int32_t *tok;    /* (rows) packed token ids */
    int32_t *pos;    /* (rows) positions */
    double *inv_freq; /* (HD/2) */
    float *cos_t;    /* (ctx, HD/2) */
    float *sin_t;    /* (ctx, HD/2) */
    size_t head_dim; /* the tables' HD; 0 before the first use */
} ta_kv_scratch;

void ta_kv_scratch_init(ta_kv_scratch *s);
void ta_kv_scratch_release(ta_kv_scratch *s);

/* One sequence's part of a packed batch. */
typedef struct ta_kv_seq {
    ta_kvcache *cache;     /* extended by n_tokens positions */
    const int32_t *tokens; /* (n_tokens) new token ids, each in [0, V) */
    size_t n_tokens;       /* >= 1 */
} ta_kv_seq;

typedef enum {
    TA_KV_LOGITS_LAST = 0, /* logits (n_seqs, V): each sequence's last new token */
    TA_KV_LOGITS_ALL = 1,  /* logits (sum n_tokens, V): every new token, packed in sequence order */
    TA_KV_LOGITS_NONE = 2  /* logits may be NULL (e.g. a prompt chunk that is not the last) */
} ta_kv_logits;

/* Runs the model over the new tokens of n_seqs sequences, appends their keys
 * and values to each cache and writes logits as `which` says. Every cache
 * must have room (len + n_tokens <= capacity) and every id must be in range;
 * otherwise nothing is changed and TA_ERANGE / TA_EINVAL is returned. The
 * caches must be distinct. Calls BLAS and OpenMP; run from sequential code. */
int ta_kv_forward(const ta_model *m, ta_kv_seq *seqs, size_t n_seqs, ta_kv_logits which, float *logits,
                  ta_kv_scratch *s, ta_error *err);

/* y (B, N) = x (B, K) @ W^T (W: (N, K)) + b (N; NULL for none), for few rows.
 * At B <= 8 this beats OpenBLAS's sgemm and sgemv on the skinny products of a
 * decode step by 2-3x here (measured with OpenBLAS 0.3.21 on 2 cores), since
 * it streams W once for all rows. OpenMP over output rows when the product has
 * more than 2^20 multiply-adds (see PAR_MIN_WORK in kvcache.c). */
void ta_kv_matmul_skinny(float *y, const float *x, const float *w, const float *b, size_t B, size_t K, size_t N);

#endif
