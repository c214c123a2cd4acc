/* KV-cache forward and generation: logits against a plainly written full
 * forward (no cache, double accumulation), batching invariance, sampling
 * reproducibility and the stop rules. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/rng.h"
#include "harness.h"
#include "model/generate.h"
#include "model/kvcache.h"
#include "model/transformer.h"

static ta_config tiny_cfg(int qwen, int llama3) {
    ta_config c = {0};
    c.arch = qwen ? TA_ARCH_QWEN2 : TA_ARCH_LLAMA;
    c.vocab_size = 61;
    c.hidden_size = 32;
    c.intermediate_size = 48;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    c.max_position_embeddings = 96;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.attn_bias = qwen;
    c.bos_token_id = -1;
    c.pad_token_id = -1;
    if (llama3) {
        c.rope_kind = TA_ROPE_LLAMA3;
        c.rope_factor = 8.0;
        c.rope_low_freq_factor = 1.0;
        c.rope_high_freq_factor = 4.0;
        c.rope_original_max_pos = 16;
    }
    return c;
}

/* A model with every parameter random (norm weights around 1), so no path
 * hides behind zeros or ones. */
static void build_model(ta_model *m, const ta_config *cfg, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    size_t n = ta_weights_numel(cfg);
    m->slab = malloc(n * sizeof(float));
    ta_error e = {0};
    CHECK_OK(ta_weights_bind(&m->w, cfg, m->slab, &e), e);
    ta_rng r;
    ta_rng_seed(&r, seed);
    for (size_t i = 0; i < m->w.n_tensors; i++) {
        const ta_param_info *p = &m->w.params[i];
        int is_norm = strstr(p->name, "norm") != NULL;
        for (size_t j = 0; j < p->numel; j++)
            m->slab[p->offset + j] = (float)(is_norm ? 1.0 + 0.1 * ta_rng_normal(&r) : 0.15 * ta_rng_normal(&r));
    }
}

static void free_model(ta_model *m) {
    ta_weights_release(&m->w);
    free(m->slab);
}

/* ---- plain reference forward: logits (T, V) for ids (T) ------------------- */

static void ref_rmsnorm(double *out, const double *x, const float *w, size_t C, double eps) {
    double ss = 0;
    for (size_t c = 0; c < C; c++) ss += x[c] * x[c];
    double r = 1.0 / sqrt(ss / (double)C + eps);
    for (size_t c = 0; c < C; c++) out[c] = x[c] * r * w[c];
}

static void ref_linear(double *y, const double *x, const float *w, const float *b, size_t K, size_t N) {
    for (size_t j = 0; j < N; j++) {
        double a = b ? b[j] : 0.0;
        for (size_t k = 0; k < K; k++) a += (double)w[j * K + k] * x[k];
        y[j] = a;
    }
}

static double ref_inv_freq(const ta_config *c, size_t i) {
    double f = 1.0 / pow(c->rope_theta, (double)(2 * i) / (double)c->head_dim);
    if (c->rope_kind != TA_ROPE_LLAMA3) return f;
    double orig = (double)c->rope_original_max_pos, wl = 2 * M_PI / f;
    if (wl < orig / c->rope_high_freq_factor) return f;
    if (wl > orig / c->rope_low_freq_factor) return f / c->rope_factor;
    double s = (orig / wl - c->rope_low_freq_factor) / (c->rope_high_freq_factor - c->rope_low_freq_factor);
    return (1 - s) * f / c->rope_factor + s * f;
}

static void ref_rope(double *v, size_t HD, size_t pos, const ta_config *c) {
    size_t h = HD / 2;
    for (size_t i = 0; i < h; i++) {
        double a = (double)pos * ref_inv_freq(c, i), x = v[i], y = v[i + h];
        v[i] = x * cos(a) - y * sin(a);
        v[i + h] = y * cos(a) + x * sin(a);
    }
}

static void ref_forward(const ta_model *m, const int32_t *ids, size_t T, float *logits) {
    const ta_config *c = &m->cfg;
    size_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size, HD = c->head_dim;
    size_t NH = c->n_heads, NKV = c->n_kv_heads, Q = NH * HD, KV = NKV * HD;
    double *x = calloc(T * C, sizeof *x), *xn = calloc(C, sizeof *xn), *tmp = calloc(F > C ? F : C, sizeof *tmp);
    double *q = calloc(T * Q, sizeof *q), *k = calloc(T * KV, sizeof *k), *v = calloc(T * KV, sizeof *v);
    double *o = calloc(Q, sizeof *o), *g = calloc(F, sizeof *g), *u = calloc(F, sizeof *u), *p = calloc(T, sizeof *p);
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < C; i++) x[t * C + i] = m->w.embed[(size_t)ids[t] * C + i];
    for (size_t l = 0; l < c->n_layers; l++) {
        const ta_layer_weights *w = &m->w.layers[l];
        for (size_t t = 0; t < T; t++) {
            ref_rmsnorm(xn, x + t * C, w->attn_norm, C, c->rms_norm_eps);
            ref_linear(q + t * Q, xn, w->wq, w->bq, C, Q);
            ref_linear(k + t * KV, xn, w->wk, w->bk, C, KV);
            ref_linear(v + t * KV, xn, w->wv, w->bv, C, KV);
            for (size_t h = 0; h < NH; h++) ref_rope(q + t * Q + h * HD, HD, t, c);
            for (size_t h = 0; h < NKV; h++) ref_rope(k + t * KV + h * HD, HD, t, c);
        }
        for (size_t t = 0; t < T; t++) {
            for (size_t h = 0; h < NH; h++) {
                size_t kh = h / (NH / NKV);
                double mx = -1e300, z = 0;
                for (size_t s = 0; s <= t; s++) {
                    double d = 0;
                    for (size_t i = 0; i < HD; i++) d += q[t * Q + h * HD + i] * k[s * KV + kh * HD + i];
                    p[s] = d / sqrt((double)HD);
                    mx = p[s] > mx ? p[s] : mx;
                }
                for (size_t s = 0; s <= t; s++) z += (p[s] = exp(p[s] - mx));
                for (size_t i = 0; i < HD; i++) {
                    double a = 0;
                    for (size_t s = 0; s <= t; s++) a += p[s] / z * v[s * KV + kh * HD + i];
                    o[h * HD + i] = a;
                }
            }
            ref_linear(tmp, o, w->wo, NULL, Q, C);
            for (size_t i = 0; i < C; i++) x[t * C + i] += tmp[i];
            ref_rmsnorm(xn, x + t * C, w->mlp_norm, C, c->rms_norm_eps);
            ref_linear(g, xn, w->w_gate, NULL, C, F);
            ref_linear(u, xn, w->w_up, NULL, C, F);
            for (size_t i = 0; i < F; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
            ref_linear(tmp, g, w->w_down, NULL, F, C);
            for (size_t i = 0; i < C; i++) x[t * C + i] += tmp[i];
        }
    }
    double *lg = calloc(V, sizeof *lg);
    for (size_t t = 0; t < T; t++) {
        ref_rmsnorm(xn, x + t * C, m->w.final_norm, C, c->rms_norm_eps);
        ref_linear(lg, xn, m->w.lm_head, NULL, C, V);
        for (size_t i = 0; i < V; i++) logits[t * V + i] = (float)lg[i];
    }
    free(lg);
    free(x), free(xn), free(tmp), free(q), free(k), free(v), free(o), free(g), free(u), free(p);
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static void random_ids(int32_t *ids, size_t n, size_t V, uint64_t seed) {
    ta_rng r;
    ta_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)ta_rng_below(&r, V);
}

#define TOL 1e-4

/* prefill-all, prefill + one-token decode steps, and uneven chunks all give
 * the reference logits at every position. */
static void check_cache_paths(const ta_config *cfg) {
    ta_model m;
    build_model(&m, cfg, 11);
    enum { T = 20 };
    size_t V = cfg->vocab_size;
    int32_t ids[T];
    random_ids(ids, T, V, 5);
    float *want = malloc(T * V * sizeof(float)), *got = malloc(T * V * sizeof(float));
    ref_forward(&m, ids, T, want);
    ta_error e = {0};
    ta_kv_scratch s;
    ta_kv_scratch_init(&s);
    ta_kvcache c;
    CHECK_OK(ta_kvcache_init(&c, cfg, T, &e), e);

    ta_kv_seq sq = {&c, ids, T};
    CHECK_OK(ta_kv_forward(&m, &sq, 1, TA_KV_LOGITS_ALL, got, &s, &e), e);
    CHECK(c.len == T);
    double d = max_abs_diff(got, want, T * V);
    CHECK_MSG(d <= TOL, "prefill-all max |diff| %g", d);

    /* prefill 3, then one token at a time */
    ta_kvcache_reset(&c);
    sq = (ta_kv_seq){&c, ids, 3};
    CHECK_OK(ta_kv_forward(&m, &sq, 1, TA_KV_LOGITS_ALL, got, &s, &e), e);
    for (size_t t = 3; t < T; t++) {
        sq = (ta_kv_seq){&c, ids + t, 1};
        CHECK_OK(ta_kv_forward(&m, &sq, 1, TA_KV_LOGITS_LAST, got + t * V, &s, &e), e);
    }
    d = max_abs_diff(got, want, T * V);
    CHECK_MSG(d <= TOL, "prefill+decode max |diff| %g", d);

    /* uneven chunks: 7, 2, 11 */
    ta_kvcache_reset(&c);
    size_t chunks[3] = {7, 2, 11}, off = 0;
    for (int i = 0; i < 3; i++) {
        sq = (ta_kv_seq){&c, ids + off, chunks[i]};
        CHECK_OK(ta_kv_forward(&m, &sq, 1, TA_KV_LOGITS_ALL, got + off * V, &s, &e), e);
        off += chunks[i];
    }
    d = max_abs_diff(got, want, T * V);
    CHECK_MSG(d <= TOL, "chunked max |diff| %g", d);

    /* full cache: one more token is refused and changes nothing */
    CHECK(c.len == T);
    sq = (ta_kv_seq){&c, ids, 1};
    CHECK(ta_kv_forward(&m, &sq, 1, TA_KV_LOGITS_LAST, got, &s, &e) == TA_ERANGE);
    CHECK(c.len == T);
    CHECK(strstr(e.msg, "capacity") != NULL);

    ta_kvcache_release(&c);
    ta_kv_scratch_release(&s);
    free(want);
    free(got);
    free_model(&m);
}

TEST(test_cache_logits_llama) {
    ta_config c = tiny_cfg(0, 0);
    check_cache_paths(&c);
}
TEST(test_cache_logits_qwen2_bias) {
    ta_config c = tiny_cfg(1, 0);
    check_cache_paths(&c);
}
TEST(test_cache_logits_llama3_rope) {
    ta_config c = tiny_cfg(0, 1);
    check_cache_paths(&c);
}
TEST(test_cache_logits_tied_mha) {
    ta_config c = tiny_cfg(0, 0);
    c.tie_word_embeddings = 1;
    c.n_kv_heads = 4;
    check_cache_paths(&c);
}

/* Sequences of different lengths in one packed forward, some prefilling and
 * some decoding, give the logits each gets alone. */
TEST(test_packed_batch_mixed) {
    ta_config cfg = tiny_cfg(1, 1);
    ta_model m;
    build_model(&m, &cfg, 3);
    size_t V = cfg.vocab_size;
    enum { NS = 4 };
    size_t lens[NS] = {9, 1, 14, 5};
    int32_t ids[NS][16];
    ta_error e = {0};
    ta_kv_scratch s;
    ta_kv_scratch_init(&s);
    ta_kvcache caches[NS];
    ta_kv_seq seqs[NS];
    size_t total = 0;
    for (int i = 0; i < NS; i++) {
        random_ids(ids[i], 16, V, 100 + i);
        CHECK_OK(ta_kvcache_init(&caches[i], &cfg, 32, &e), e);
        /* sequence 3 already has two cached tokens: its rows are a continuation */
        if (i == 3) {
            ta_kv_seq pre = {&caches[i], ids[i], 2};
            float tmp[61];
            CHECK_OK(ta_kv_forward(&m, &pre, 1, TA_KV_LOGITS_LAST, tmp, &s, &e), e);
            seqs[i] = (ta_kv_seq){&caches[i], ids[i] + 2, lens[i]};
        } else {
            seqs[i] = (ta_kv_seq){&caches[i], ids[i], lens[i]};
        }
        total += lens[i];
    }
    float *got = malloc(total * V * sizeof(float)), *want = malloc(16 * V * sizeof(float));
    CHECK_OK(ta_kv_forward(&m, seqs, NS, TA_KV_LOGITS_ALL, got, &s, &e), e);
    size_t off = 0;
    for (int i = 0; i < NS; i++) {
        size_t pre = i == 3 ? 2 : 0;
        ref_forward(&m, ids[i], pre + lens[i], want);
        double d = max_abs_diff(got + off * V, want + pre * V, lens[i] * V);
        CHECK_MSG(d <= TOL, "sequence %d max |diff| %g", i, d);
        off += lens[i];
    }
    /* LAST: one row per sequence, equal to the ALL rows' last */
    for (int i = 0; i < NS; i++) ta_kvcache_truncate(&caches[i], i == 3 ? 2 : 0);
    float *last = malloc(NS * V * sizeof(float));
    CHECK_OK(ta_kv_forward(&m, seqs, NS, TA_KV_LOGITS_LAST, last, &s, &e), e);
    off = 0;
    for (int i = 0; i < NS; i++) {
        off += lens[i];
        CHECK(max_abs_diff(last + i * V, got + (off - 1) * V, V) <= 1e-5);
    }
    /* a bad id is refused before anything changes */
    size_t len0 = caches[0].len;
    int32_t bad = (int32_t)V;
    ta_kv_seq b = {&caches[0], &bad, 1};
    CHECK(ta_kv_forward(&m, &b, 1, TA_KV_LOGITS_LAST, last, &s, &e) == TA_EINVAL);
    CHECK(caches[0].len == len0);
    ta_kv_seq dup[2] = {{&caches[0], ids[0], 1}, {&caches[0], ids[0], 1}};
    CHECK(ta_kv_forward(&m, dup, 2, TA_KV_LOGITS_LAST, last, &s, &e) == TA_EINVAL);
    for (int i = 0; i < NS; i++) ta_kvcache_release(&caches[i]);
    ta_kv_scratch_release(&s);
    free(got);
    free(want);
    free(last);
    free_model(&m);
}

/* The cache path against the training forward (ta_forward over a right-padded
 * batch, full logits from ta_acts_logits_at): every position of every row. */
TEST(test_cache_matches_training_forward) {
    ta_config cfg = tiny_cfg(1, 1);
    ta_model m;
    build_model(&m, &cfg, 17);
    size_t V = cfg.vocab_size;
    enum { B = 2, T = 15 };
    size_t lens[B] = {15, 9};
    int32_t tokens[B * T], targets[B * T];
    float lp[B * T];
    random_ids(tokens, B * T, V, 44);
    for (size_t i = 0; i < B * T; i++) targets[i] = -1;
    ta_error e = {0};
    ta_acts *a = NULL;
    CHECK_OK(ta_acts_plan(&a, &cfg, B, T, &e), e);
    CHECK_OK(ta_forward(&m, a, tokens, lens, targets, lp, NULL, &e), e);
    const float *full[B] = {ta_acts_logits_at(a, 0, 0), ta_acts_logits_at(a, 1, 0)}; /* each row contiguous */
    ta_kv_scratch s;
    ta_kv_scratch_init(&s);
    ta_kvcache c[B];
    ta_kv_seq seqs[B];
    for (int b = 0; b < B; b++) {
        CHECK_OK(ta_kvcache_init(&c[b], &cfg, T, &e), e);
        seqs[b] = (ta_kv_seq){&c[b], tokens + b * T, 4}; /* 4-token prefill, then decode */
    }
    float *got = malloc(B * T * V * sizeof(float)), *step = malloc(B * V * sizeof(float));
    float *pre = malloc(8 * V * sizeof(float));
    CHECK_OK(ta_kv_forward(&m, seqs, B, TA_KV_LOGITS_ALL, pre, &s, &e), e);
    for (int b = 0; b < B; b++) memcpy(got + b * T * V, pre + b * 4 * V, 4 * V * sizeof(float));
    for (size_t t = 4; t < T; t++) {
        size_t nb = 0;
        int which[B];
        for (int b = 0; b < B; b++)
            if (t < lens[b]) {
                seqs[nb] = (ta_kv_seq){&c[b], tokens + b * T + t, 1};
                which[nb++] = b;
            }
        CHECK_OK(ta_kv_forward(&m, seqs, nb, TA_KV_LOGITS_LAST, step, &s, &e), e);
        for (size_t i = 0; i < nb; i++) memcpy(got + (which[i] * T + t) * V, step + i * V, V * sizeof(float));
    }
    for (int b = 0; b < B; b++) {
        double d = max_abs_diff(got + b * T * V, full[b], lens[b] * V);
        CHECK_MSG(d <= TOL, "row %d max |diff| %g", b, d);
        ta_kvcache_release(&c[b]);
    }
    free(got);
    free(step);
    free(pre);
    ta_kv_scratch_release(&s);
    ta_acts_free(a);
    free_model(&m);
}

/* Small (sequential) and large (parallel, > 2^20 multiply-adds) shapes, with
 * an output count that is not a multiple of the 4-row blocks. */
TEST(test_skinny_matmul) {
    size_t shapes[2][3] = {{3, 37, 29}, {2, 1100, 1003}};
    for (int sh = 0; sh < 2; sh++) {
        size_t B = shapes[sh][0], K = shapes[sh][1], N = shapes[sh][2];
        float *x = malloc(B * K * sizeof(float)), *w = malloc(N * K * sizeof(float));
        float *b = malloc(N * sizeof(float)), *y = malloc(B * N * sizeof(float));
        ta_rng r;
        ta_rng_seed(&r, 1);
        for (size_t i = 0; i < B * K; i++) x[i] = (float)ta_rng_normal(&r);
        for (size_t i = 0; i < N * K; i++) w[i] = (float)ta_rng_normal(&r);
        for (size_t i = 0; i < N; i++) b[i] = (float)ta_rng_normal(&r);
        ta_kv_matmul_skinny(y, x, w, b, B, K, N);
        double worst = 0;
        for (size_t i = 0; i < B; i++)
            for (size_t j = 0; j < N; j++) {
                double a = b[j];
                for (size_t k = 0; k < K; k++) a += (double)x[i * K + k] * w[j * K + k];
                worst = fmax(worst, fabs(y[i * N + j] - a));
            }
        CHECK_MSG(worst <= 1e-3, "shape %zux%zux%zu: max |diff| %g", B, K, N, worst);
        free(x), free(w), free(b), free(y);
    }
}


/* ---- generation ----------------------------------------------------------- */

typedef struct {
    size_t V;
    float *step0; /* (n_seqs, V) logits at step 0 */
    int abort_at; /* abort when a token count reaches this (0: never) */
    size_t streamed[8];
} cb_state;

static int on_logits(void *u, size_t seq, size_t step, const float *logits, size_t V) {
    cb_state *st = u;
    if (step == 0 && st->step0) memcpy(st->step0 + seq * V, logits, V * sizeof(float));
    return 0;
}

static int on_token(void *u, size_t seq, int32_t tok) {
    cb_state *st = u;
    st->streamed[seq]++;
    if (st->abort_at && (int)st->streamed[seq] >= st->abort_at) return -1;
    return 0;
}

static int gen(const ta_model *m, const int32_t *const *prompts, const size_t *lens, size_t n,
               const ta_gen_params *p, ta_gen_output *out) {
    ta_error e = {0};
    int rc = ta_generate_batch(m, prompts, lens, n, p, out, &e);
    CHECK_OK(rc, e);
    return rc;
}

static int same_tokens(const ta_gen_output *a, const ta_gen_output *b) {
    return a->n_tokens == b->n_tokens && !memcmp(a->tokens, b->tokens, a->n_tokens * sizeof(int32_t)) &&
           a->finish == b->finish;
}

TEST(test_generate_batch_equals_alone) {
    ta_config cfg = tiny_cfg(1, 0);
    ta_model m;
    build_model(&m, &cfg, 21);
    enum { NS = 3 };
    int32_t a[5], b[1], c[12];
    random_ids(a, 5, cfg.vocab_size, 1);
    random_ids(b, 1, cfg.vocab_size, 2);
    random_ids(c, 12, cfg.vocab_size, 3);
    const int32_t *prompts[NS] = {a, b, c};
    size_t lens[NS] = {5, 1, 12};
    float temps[2] = {0.0f, 0.9f};
    for (int k = 0; k < 2; k++) {
        ta_gen_params p = ta_gen_params_default(&cfg);
        p.n_eos = 0;
        p.max_tokens = 17;
        p.sampler.temperature = temps[k];
        p.sampler.top_k = k ? 20 : 0;
        p.sampler.top_p = k ? 0.95f : 1.0f;
        p.seed = 77;
        p.prefill_chunk = 7; /* exercise chunked, mixed prefill */
        ta_gen_output batch[NS], alone[NS], again[NS];
        gen(&m, prompts, lens, NS, &p, batch);
        gen(&m, prompts, lens, NS, &p, again);
        for (int i = 0; i < NS; i++) {
            ta_gen_params pi = p;
            pi.seed = p.seed + (uint64_t)i;
            pi.prefill_chunk = 0;
            gen(&m, &prompts[i], &lens[i], 1, &pi, &alone[i]);
            CHECK(batch[i].n_tokens == 17 && batch[i].finish == TA_FINISH_LENGTH);
            CHECK_MSG(same_tokens(&batch[i], &alone[i]), "temperature %g, sequence %d", (double)temps[k], i);
            CHECK(same_tokens(&batch[i], &again[i])); /* deterministic / reproducible */
            ta_gen_output_release(&alone[i]);
            ta_gen_output_release(&again[i]);
        }
        if (k == 1) {
            /* another seed gives another sample */
            ta_gen_params p2 = p;
            p2.seed = 78;
            ta_gen_output other[NS];
            gen(&m, prompts, lens, NS, &p2, other);
            int differs = 0;
            for (int i = 0; i < NS; i++) differs |= !same_tokens(&batch[i], &other[i]);
            CHECK(differs);
            for (int i = 0; i < NS; i++) ta_gen_output_release(&other[i]);
        }
        for (int i = 0; i < NS; i++) ta_gen_output_release(&batch[i]);
    }
    free_model(&m);
}

/* Greedy generation is the argmax of the reference forward at every step. */
TEST(test_greedy_matches_reference) {
    ta_config cfg = tiny_cfg(0, 1);
    ta_model m;
    build_model(&m, &cfg, 8);
    size_t V = cfg.vocab_size;
    int32_t seq[40];
    random_ids(seq, 4, V, 9);
    const int32_t *pr = seq;
    size_t len = 4;
    ta_gen_params p = ta_gen_params_default(&cfg);
    p.n_eos = 0;
    p.max_tokens = 12;
    cb_state st = {.V = V, .step0 = malloc(V * sizeof(float))};
    p.on_logits = on_logits;
    p.on_token = on_token;
    p.user = &st;
    ta_gen_output o;
    gen(&m, &pr, &len, 1, &p, &o);
    CHECK(o.n_tokens == 12 && st.streamed[0] == 12);
    float *lg = malloc(40 * V * sizeof(float));
    ref_forward(&m, seq, 4, lg);
    CHECK(max_abs_diff(st.step0, lg + 3 * V, V) <= TOL);
    for (size_t i = 0; i < o.n_tokens; i++) seq[4 + i] = o.tokens[i];
    ref_forward(&m, seq, 4 + o.n_tokens, lg);
    for (size_t i = 0; i < o.n_tokens; i++) {
        const float *row = lg + (3 + i) * V;
        size_t best = 0;
        for (size_t j = 1; j < V; j++) best = row[j] > row[best] ? j : best;
        CHECK_MSG((int32_t)best == o.tokens[i], "step %zu", i);
    }
    ta_gen_output_release(&o);
    free(lg);
    free(st.step0);
    free_model(&m);
}

TEST(test_stop_rules) {
    ta_config cfg = tiny_cfg(0, 0);
    ta_model m;
    build_model(&m, &cfg, 31);
    int32_t prompt[3] = {1, 2, 3};
    const int32_t *pr = prompt;
    size_t len = 3;
    ta_gen_params p = ta_gen_params_default(&cfg);
    p.n_eos = 0;
    p.max_tokens = 10;
    ta_gen_output full;
    gen(&m, &pr, &len, 1, &p, &full);
    CHECK(full.n_tokens == 10 && full.finish == TA_FINISH_LENGTH);

    /* EOS: the first occurrence of the token at step 4 ends it, excluded */
    int32_t eos = full.tokens[4];
    size_t first = 0;
    while (full.tokens[first] != eos) first++;
    p.eos_ids = &eos;
    p.n_eos = 1;
    ta_gen_output o;
    gen(&m, &pr, &len, 1, &p, &o);
    CHECK(o.finish == TA_FINISH_EOS && o.n_tokens == first);
    CHECK(!memcmp(o.tokens, full.tokens, first * sizeof(int32_t)));
    ta_gen_output_release(&o);

    /* a token stop sequence: kept in the output */
    p.n_eos = 0;
    ta_token_seq stop = {full.tokens + 5, 2};
    p.stop_seqs = &stop;
    p.n_stop_seqs = 1;
    gen(&m, &pr, &len, 1, &p, &o);
    CHECK(o.finish == TA_FINISH_STOP && o.n_tokens <= 7 && o.n_tokens >= 2);
    CHECK(!memcmp(o.tokens + o.n_tokens - 2, stop.ids, 2 * sizeof(int32_t)));
    ta_gen_output_release(&o);
    p.n_stop_seqs = 0;

    /* the context window caps the length: 96 positions, 90-token prompt */
    int32_t longp[90];
    random_ids(longp, 90, cfg.vocab_size, 4);
    const int32_t *lp = longp;
    size_t ll = 90;
    p.max_tokens = 50;
    gen(&m, &lp, &ll, 1, &p, &o);
    CHECK(o.n_tokens == 6 && o.finish == TA_FINISH_LENGTH);
    ta_gen_output_release(&o);

    /* a callback abort fails the call and leaves the output untouched */
    cb_state st = {.V = cfg.vocab_size, .abort_at = 3};
    p.on_token = on_token;
    p.user = &st;
    p.max_tokens = 10;
    ta_gen_output untouched = {.tokens = NULL, .n_tokens = 12345};
    ta_error e = {0};
    CHECK(ta_generate_batch(&m, &pr, &len, 1, &p, &untouched, &e) == TA_EINTERRUPTED);
    CHECK(untouched.n_tokens == 12345);
    p.on_token = NULL;

    /* bad input */
    int32_t badp[2] = {1, (int32_t)cfg.vocab_size};
    const int32_t *bp = badp;
    size_t bl = 2;
    CHECK(ta_generate_batch(&m, &bp, &bl, 1, &p, &o, &e) == TA_EINVAL);
    CHECK(strstr(e.msg, "prompt 0: token 1") != NULL);
    size_t zero = 0;
    CHECK(ta_generate_batch(&m, &pr, &zero, 1, &p, &o, &e) == TA_EINVAL);
    int32_t huge[96] = {0};
    const int32_t *hp = huge;
    size_t hl = 96;
    CHECK(ta_generate_batch(&m, &hp, &hl, 1, &p, &o, &e) == TA_ERANGE);
    p.max_tokens = 0;
    CHECK(ta_generate_batch(&m, &pr, &len, 1, &p, &o, &e) == TA_EINVAL);

    ta_gen_output_release(&full);
    free_model(&m);
}

/* One read-only model, several threads generating at once, each with its own
 * state: the same tokens as sequential runs (no hidden mutable state). */
typedef struct {
    const ta_model *m;
    const int32_t *prompt;
    size_t len;
    ta_gen_params p;
    ta_gen_output out;
    int rc;
} thread_job;

static void *run_job(void *arg) {
    thread_job *j = arg;
    ta_error e = {0};
    j->rc = ta_generate_batch(j->m, &j->prompt, &j->len, 1, &j->p, &j->out, &e);
    return NULL;
}

TEST(test_concurrent_generation) {
    ta_config cfg = tiny_cfg(1, 1);
    ta_model m;
    build_model(&m, &cfg, 5);
    enum { NT = 4 };
    int32_t prompts[NT][6];
    thread_job jobs[NT];
    for (int i = 0; i < NT; i++) {
        random_ids(prompts[i], 6, cfg.vocab_size, 50 + i);
        jobs[i] = (thread_job){.m = &m, .prompt = prompts[i], .len = (size_t)(3 + i)};
        jobs[i].p = ta_gen_params_default(&cfg);
        jobs[i].p.n_eos = 0;
        jobs[i].p.max_tokens = 20;
        jobs[i].p.sampler.temperature = i % 2 ? 0.9f : 0.0f;
        jobs[i].p.seed = (uint64_t)i;
    }
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) CHECK(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NT; i++) {
        CHECK(jobs[i].rc == TA_OK);
        ta_gen_output seq;
        gen(&m, &jobs[i].prompt, &jobs[i].len, 1, &jobs[i].p, &seq);
        CHECK_MSG(same_tokens(&seq, &jobs[i].out), "thread %d", i);
        ta_gen_output_release(&seq);
        ta_gen_output_release(&jobs[i].out);
    }
    free_model(&m);
}

int main(void) {
    RUN(test_cache_logits_llama);
    RUN(test_cache_logits_qwen2_bias);
    RUN(test_cache_logits_llama3_rope);
    RUN(test_cache_logits_tied_mha);
    RUN(test_packed_batch_mixed);
    RUN(test_cache_matches_training_forward);
    RUN(test_skinny_matmul);
    RUN(test_generate_batch_equals_alone);
    RUN(test_greedy_matches_reference);
    RUN(test_stop_rules);
    RUN(test_concurrent_generation);
    return TEST_END();
}
