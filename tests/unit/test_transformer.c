/* Transformer tests on tiny random models: a central finite-difference check
 * of the masked NLL's gradient on a sample of every kind of parameter (the
 * loss is evaluated in fp32, so eps = 1e-2 and tolerance
 * |num - ana| <= 2e-4 + 2e-2 |ana|; the exact comparison of every gradient is
 * the PyTorch oracle's job, tests/oracle/test_engine.py), padded-vs-unpadded
 * equivalence, tied embeddings, overwrite vs accumulate, fused vs per-tensor
 * projections, the head at targets only vs everywhere, frozen (NULL) gradients,
 * input validation. */
#include <stdlib.h>

#include "core/rng.h"
#include "harness.h"
#include "model/model.h"
#include "model/transformer.h"

static const char *QWEN_GQA =
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"vocab_size\": 37, \"hidden_size\": 16, "
    "\"intermediate_size\": 24, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
    "\"num_key_value_heads\": 2, \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-6, "
    "\"rope_theta\": 10000.0, \"tie_word_embeddings\": false}";
static const char *LLAMA_TIED =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 29, \"hidden_size\": 16, "
    "\"intermediate_size\": 20, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
    "\"num_key_value_heads\": 2, \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-5, "
    "\"rope_theta\": 500000.0, \"tie_word_embeddings\": true, \"rope_scaling\": {\"rope_type\": \"llama3\", "
    "\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
    "\"original_max_position_embeddings\": 8}}";

/* Random weights with non-trivial norms and biases (init gives 1 and 0). */
static int make_model(ta_model *m, const char *json, uint64_t seed, ta_error *err) {
    ta_config cfg;
    int rc = ta_config_parse(&cfg, json, strlen(json), "test config", err);
    if (!rc) rc = ta_model_create(m, &cfg, err);
    if (rc) return rc;
    ta_model_init_random(m, seed, 0.3f);
    ta_rng rng;
    ta_rng_seed(&rng, seed + 1);
    for (size_t i = 0; i < m->w.n_tensors; i++) {
        const ta_param_info *p = &m->w.params[i];
        if (p->ndim == 1)
            for (size_t j = 0; j < p->numel; j++) m->slab[p->offset + j] += 0.2f * (float)ta_rng_normal(&rng);
    }
    return TA_OK;
}

typedef struct {
    ta_model *m;
    ta_acts *a;
    size_t B, T;
    int32_t *tok, *tgt;
    size_t *len;
    float *mask, *lp, *dlp;
} batch;

static double loss_of(batch *b, ta_error *err) {
    if (ta_forward(b->m, b->a, b->tok, b->len, b->tgt, b->lp, NULL, err)) return NAN;
    return ta_masked_nll(b->lp, b->mask, b->B * b->T, b->dlp);
}

/* Fills next-token targets, a mask over real positions (every 3rd dropped),
 * and garbage ids at padding. */
static void fill_batch(batch *b, uint64_t seed) {
    ta_rng rng;
    ta_rng_seed(&rng, seed);
    size_t V = b->m->cfg.vocab_size;
    for (size_t r = 0; r < b->B; r++)
        for (size_t t = 0; t < b->T; t++) {
            size_t i = r * b->T + t;
            int real = t < b->len[r];
            b->tok[i] = real ? (int32_t)(ta_rng_below(&rng, V)) : -7;
        }
    for (size_t r = 0; r < b->B; r++)
        for (size_t t = 0; t < b->T; t++) {
            size_t i = r * b->T + t;
            int has = t + 1 < b->len[r];
            b->tgt[i] = has ? b->tok[i + 1] : -1;
            b->mask[i] = has && (t % 3 != 2) ? 1.0f : 0.0f;
        }
}

static void fd_model(const char *json, size_t B, size_t T, const size_t *lens, uint64_t seed) {
    ta_error err = {0};
    ta_model m;
    CHECK_OK(make_model(&m, json, seed, &err), err);
    batch b = {.m = &m, .B = B, .T = T};
    CHECK_OK(ta_acts_plan(&b.a, &m.cfg, B, T, &err), err);
    b.tok = malloc(B * T * 4), b.tgt = malloc(B * T * 4), b.len = malloc(B * sizeof(size_t));
    b.mask = malloc(B * T * 4), b.lp = malloc(B * T * 4), b.dlp = malloc(B * T * 4);
    memcpy(b.len, lens, B * sizeof(size_t));
    fill_batch(&b, seed + 7);
    float *gslab = calloc(m.w.n_params, sizeof(float));
    ta_weights g;
    CHECK_OK(ta_weights_bind(&g, &m.cfg, gslab, &err), err);
    double L0 = loss_of(&b, &err);
    CHECK(isfinite(L0));
    CHECK_OK(ta_backward(&m, b.a, b.dlp, &g, 1, &err), err);
    for (size_t i = 0; i < m.w.n_params; i++) CHECK(isfinite(gslab[i]));
    /* 4 elements of every tensor */
    int bad = 0;
    ta_rng rng;
    ta_rng_seed(&rng, seed + 3);
    const float eps = 1e-2f;
    for (size_t ti = 0; ti < m.w.n_tensors; ti++) {
        const ta_param_info *p = &m.w.params[ti];
        for (int s = 0; s < 4; s++) {
            size_t i = p->offset + ta_rng_below(&rng, p->numel);
            float keep = m.slab[i];
            m.slab[i] = keep + eps;
            double lp = loss_of(&b, &err);
            m.slab[i] = keep - eps;
            double lm = loss_of(&b, &err);
            m.slab[i] = keep;
            double num = (lp - lm) / (2 * eps), ana = gslab[i];
            if (!(fabs(num - ana) <= 2e-4 + 2e-2 * fabs(ana))) {
                if (bad++ < 5) fprintf(stderr, "  %s[%zu]: numeric %.6g analytic %.6g\n", p->name, i - p->offset, num, ana);
            }
        }
    }
    CHECK(bad == 0);
    ta_weights_release(&g);
    free(gslab);
    free(b.tok), free(b.tgt), free(b.len), free(b.mask), free(b.lp), free(b.dlp);
    ta_acts_free(b.a);
    ta_model_release(&m);
}

TEST(finite_differences_qwen2_gqa_padded) {
    size_t lens[3] = {7, 4, 6};
    fd_model(QWEN_GQA, 3, 7, lens, 11);
}

TEST(finite_differences_llama_tied_llama3_rope) {
    size_t lens[2] = {9, 5};
    fd_model(LLAMA_TIED, 2, 9, lens, 23);
}

/* Row 1 of a padded batch gives the same log-probs and, when it alone is in
 * the mask, the same gradient as that row run alone without padding. */
TEST(padded_equals_unpadded) {
    ta_error err = {0};
    ta_model m;
    CHECK_OK(make_model(&m, QWEN_GQA, 5, &err), err);
    size_t B = 3, T = 8, V = m.cfg.vocab_size;
    size_t lens[3] = {8, 5, 2};
    batch b = {.m = &m, .B = B, .T = T, .len = lens};
    CHECK_OK(ta_acts_plan(&b.a, &m.cfg, B, T, &err), err);
    int32_t tok[24], tgt[24];
    float mask[24], lp[24], dlp[24];
    b.tok = tok, b.tgt = tgt, b.mask = mask, b.lp = lp, b.dlp = dlp;
    fill_batch(&b, 99);
    for (size_t i = 0; i < 24; i++)
        if (i / T != 1) mask[i] = 0.0f;
    float *g1 = calloc(m.w.n_params, 4), *g2 = calloc(m.w.n_params, 4);
    ta_weights w1, w2;
    CHECK_OK(ta_weights_bind(&w1, &m.cfg, g1, &err), err);
    CHECK_OK(ta_weights_bind(&w2, &m.cfg, g2, &err), err);
    loss_of(&b, &err);
    float logits_row1[5 * 37];
    for (size_t t = 0; t < 5; t++) memcpy(logits_row1 + t * V, ta_acts_logits_at(b.a, 1, t), V * sizeof(float));
    CHECK_OK(ta_backward(&m, b.a, dlp, &w1, 1, &err), err);

    batch s = {.m = &m, .B = 1, .T = 5};
    size_t len1 = 5;
    s.len = &len1;
    CHECK_OK(ta_acts_plan(&s.a, &m.cfg, 1, 5, &err), err);
    s.tok = tok + T, s.tgt = tgt + T, s.mask = mask + T;
    float lp1[5], dlp1[5];
    s.lp = lp1, s.dlp = dlp1;
    loss_of(&s, &err);
    for (size_t t = 0; t < 4; t++) CHECK_NEAR(lp1[t], lp[T + t], 1e-6);
    const float *l1 = ta_acts_logits_at(s.a, 0, 0); /* one full row: its positions are contiguous */
    double worst = 0;
    for (size_t i = 0; i < 5 * V; i++) worst = fmax(worst, fabs(l1[i] - logits_row1[i]));
    CHECK(worst < 1e-5);
    CHECK_OK(ta_backward(&m, s.a, dlp1, &w2, 1, &err), err);
    double gmax = 0, gdiff = 0;
    for (size_t i = 0; i < m.w.n_params; i++) {
        gmax = fmax(gmax, fabs(g2[i]));
        gdiff = fmax(gdiff, fabs(g1[i] - g2[i]));
    }
    CHECK_MSG(gdiff <= 1e-5 * gmax, "max grad diff %.3g (max grad %.3g)", gdiff, gmax);
    ta_weights_release(&w1), ta_weights_release(&w2);
    free(g1), free(g2);
    ta_acts_free(b.a), ta_acts_free(s.a);
    ta_model_release(&m);
}

/* What the gradient-path tests below share: a model and one planned batch of
 * two rows of at most 8 tokens (next-token targets, a mask), arrays included. */
typedef struct {
    ta_model m;
    batch b;
    size_t lens[2];
    int32_t tok[16], tgt[16];
    float mask[16], lp[16], dlp[16];
} fixture;

static void fixture_open(fixture *f, const char *json, uint64_t seed, size_t T, size_t len0, size_t len1) {
    ta_error err = {0};
    memset(f, 0, sizeof *f);
    CHECK_OK(make_model(&f->m, json, seed, &err), err);
    f->lens[0] = len0, f->lens[1] = len1;
    f->b = (batch){.m = &f->m, .B = 2, .T = T, .len = f->lens, .tok = f->tok, .tgt = f->tgt, .mask = f->mask,
                   .lp = f->lp, .dlp = f->dlp};
    CHECK_OK(ta_acts_plan(&f->b.a, &f->m.cfg, 2, T, &err), err);
    fill_batch(&f->b, seed + 1);
}

static void fixture_close(fixture *f) {
    ta_acts_free(f->b.a);
    ta_model_release(&f->m);
}

/* A gradient view *w over a new slab of m's layout with every float = fill. */
static float *grad_slab(ta_weights *w, const ta_model *m, float fill) {
    ta_error err = {0};
    float *g = malloc(m->w.n_params * sizeof *g);
    for (size_t i = 0; i < m->w.n_params; i++) g[i] = fill;
    CHECK_OK(ta_weights_bind(w, &m->cfg, g, &err), err);
    return g;
}

/* max |g0 - g1| over max |g0| (infinite if g1 holds a NaN). */
static double grad_rel_diff(const float *g0, const float *g1, size_t n) {
    double gmax = 0, gd = 0;
    for (size_t i = 0; i < n; i++) {
        gmax = fmax(gmax, fabs(g0[i]));
        gd = isnan(g1[i]) ? INFINITY : fmax(gd, fabs(g0[i] - g1[i]));
    }
    return gd / (gmax + 1e-30);
}

/* A backward that overwrites (a step's first) writes every float of the slab:
 * on a slab of NaNs it gives what accumulating into zeros gives, for biases,
 * GQA, tied embeddings (lm_head and the scatter-add share one region) and a
 * batch whose rows are all empty. */
static void overwrite_equals_accumulate(const char *json, uint64_t seed) {
    ta_error err = {0};
    fixture f;
    fixture_open(&f, json, seed, 6, 6, 3);
    size_t P = f.m.w.n_params;
    ta_weights w0, w1;
    float *g0 = grad_slab(&w0, &f.m, 0.0f), *g1 = grad_slab(&w1, &f.m, NAN);
    loss_of(&f.b, &err);
    CHECK_OK(ta_backward(&f.m, f.b.a, f.dlp, &w0, 1, &err), err);
    loss_of(&f.b, &err);
    CHECK_OK(ta_backward(&f.m, f.b.a, f.dlp, &w1, 0, &err), err);
    size_t differ = 0;
    for (size_t i = 0; i < P; i++) differ += !(g0[i] == g1[i]); /* NaN counts as different */
    CHECK_MSG(differ == 0, "%zu of %zu gradient floats differ", differ, P);
    /* all rows empty: an overwrite leaves zeros */
    size_t none[2] = {0, 0};
    for (size_t i = 0; i < P; i++) g1[i] = NAN;
    CHECK_OK(ta_forward(&f.m, f.b.a, f.tok, none, f.tgt, f.lp, NULL, &err), err);
    CHECK_OK(ta_backward(&f.m, f.b.a, f.dlp, &w1, 0, &err), err);
    size_t nonzero = 0;
    for (size_t i = 0; i < P; i++) nonzero += g1[i] != 0.0f;
    CHECK(nonzero == 0);
    ta_weights_release(&w0), ta_weights_release(&w1);
    free(g0), free(g1);
    fixture_close(&f);
}

TEST(backward_overwrite_equals_accumulate_into_zeros) {
    overwrite_equals_accumulate(QWEN_GQA, 31);
    overwrite_equals_accumulate(LLAMA_TIED, 37);
}

/* The engine runs q|k|v and gate|up as one GEMM when the tensors are adjacent
 * (as ta_weights_bind lays them out) and one GEMM per tensor otherwise (a LoRA
 * view). Moving k_proj, v_proj's bias and up_proj of the model, and q_proj's
 * bias and gate_proj of the gradient, to their own buffers must change
 * log-probs and gradients by rounding only. */
TEST(unfused_view_equals_fused) {
    ta_error err = {0};
    fixture f;
    fixture_open(&f, QWEN_GQA, 41, 7, 7, 5);
    const ta_config *c = &f.m.cfg;
    size_t P = f.m.w.n_params, C = c->hidden_size, F = c->intermediate_size;
    size_t KD = c->n_kv_heads * c->head_dim, QD = c->n_heads * c->head_dim;
    float lp0[16];
    ta_weights w0, w1;
    float *g0 = grad_slab(&w0, &f.m, NAN), *g1 = grad_slab(&w1, &f.m, NAN);
    loss_of(&f.b, &err);
    memcpy(lp0, f.lp, sizeof lp0);
    CHECK_OK(ta_backward(&f.m, f.b.a, f.dlp, &w0, 0, &err), err);

    /* the view: same slab, three tensors of layer 1 copied elsewhere */
    ta_model v = f.m;
    CHECK_OK(ta_weights_bind(&v.w, c, f.m.slab, &err), err);
    ta_layer_weights *vl = &v.w.layers[1];
    float *k_copy = malloc(KD * C * 4), *bv_copy = malloc(KD * 4), *up_copy = malloc(F * C * 4);
    memcpy(k_copy, vl->wk, KD * C * 4), memcpy(bv_copy, vl->bv, KD * 4), memcpy(up_copy, vl->w_up, F * C * 4);
    vl->wk = k_copy, vl->bv = bv_copy, vl->w_up = up_copy;
    float *bq_g = malloc(QD * 4), *gate_g = malloc(F * C * 4);
    for (size_t i = 0; i < QD; i++) bq_g[i] = NAN;
    for (size_t i = 0; i < F * C; i++) gate_g[i] = NAN;
    float *bq_home = w1.layers[1].bq, *gate_home = w1.layers[1].w_gate;
    w1.layers[1].bq = bq_g, w1.layers[1].w_gate = gate_g;
    f.b.m = &v;
    loss_of(&f.b, &err);
    CHECK_OK(ta_backward(&v, f.b.a, f.dlp, &w1, 0, &err), err);
    memcpy(bq_home, bq_g, QD * 4), memcpy(gate_home, gate_g, F * C * 4);
    double lpd = 0;
    for (size_t i = 0; i < 14; i++) lpd = fmax(lpd, fabs(lp0[i] - f.lp[i]));
    CHECK_MSG(lpd < 1e-5, "log-prob diff %.3g", lpd);
    double gd = grad_rel_diff(g0, g1, P);
    CHECK_MSG(gd <= 1e-5, "max grad diff %.3g of the max grad", gd);
    ta_weights_release(&v.w), ta_weights_release(&w0), ta_weights_release(&w1);
    free(k_copy), free(bv_copy), free(up_copy), free(g0), free(g1), free(bq_g), free(gate_g);
    fixture_close(&f);
}

/* With ta_acts_set_targets_only the head runs only at positions with a
 * target: log-probs, mean logits, logits there and every gradient equal the
 * full head's up to rounding; no logits elsewhere; no target at all gives a
 * zero gradient (overwritten from NaN). Prompt-like: the first half of each
 * row has no target. */
static void targets_only_equals_full(const char *json, uint64_t seed) {
    ta_error err = {0};
    fixture f;
    fixture_open(&f, json, seed, 8, 8, 6);
    size_t T = 8, P = f.m.w.n_params, V = f.m.cfg.vocab_size;
    ta_acts *full = f.b.a, *part = NULL;
    CHECK_OK(ta_acts_plan(&part, &f.m.cfg, 2, T, &err), err);
    ta_acts_set_targets_only(part, 1);
    for (size_t i = 0; i < 16; i++)
        if (i % T < f.lens[i / T] / 2) f.tgt[i] = -1, f.mask[i] = 0.0f;
    float lp1[16], ml0[16], ml1[16];
    ta_weights w0, w1;
    float *g0 = grad_slab(&w0, &f.m, NAN), *g1 = grad_slab(&w1, &f.m, NAN);
    CHECK_OK(ta_forward(&f.m, full, f.tok, f.lens, f.tgt, f.lp, ml0, &err), err);
    CHECK_OK(ta_forward(&f.m, part, f.tok, f.lens, f.tgt, lp1, ml1, &err), err);
    ta_masked_nll(f.lp, f.mask, 16, f.dlp);
    double d = 0, dl = 0;
    size_t wrong_null = 0;
    for (size_t i = 0; i < 16; i++) {
        size_t r = i / T, t = i % T;
        d = fmax(d, fabs(f.lp[i] - lp1[i]));
        if (t >= f.lens[r]) continue;
        const float *l0 = ta_acts_logits_at(full, r, t), *l1 = ta_acts_logits_at(part, r, t);
        if (f.tgt[i] < 0) {
            wrong_null += l1 != NULL || lp1[i] != 0.0f || ml1[i] != 0.0f;
            continue;
        }
        wrong_null += l1 == NULL;
        d = fmax(d, fabs(ml0[i] - ml1[i]));
        for (size_t v = 0; l1 && v < V; v++) dl = fmax(dl, fabs(l0[v] - l1[v]));
    }
    CHECK(wrong_null == 0);
    CHECK_MSG(d < 1e-6 && dl < 1e-6, "log-prob/mean diff %.3g, logits diff %.3g", d, dl);
    CHECK_OK(ta_backward(&f.m, full, f.dlp, &w0, 0, &err), err);
    CHECK_OK(ta_backward(&f.m, part, f.dlp, &w1, 0, &err), err);
    double gd = grad_rel_diff(g0, g1, P);
    CHECK_MSG(gd <= 1e-6, "max grad diff %.3g of the max grad", gd);
    /* no target anywhere */
    for (size_t i = 0; i < 16; i++) f.tgt[i] = -1, f.dlp[i] = 0.0f;
    for (size_t i = 0; i < P; i++) g1[i] = NAN;
    CHECK_OK(ta_forward(&f.m, part, f.tok, f.lens, f.tgt, lp1, NULL, &err), err);
    CHECK_OK(ta_backward(&f.m, part, f.dlp, &w1, 0, &err), err);
    size_t nonzero = 0;
    for (size_t i = 0; i < P; i++) nonzero += g1[i] != 0.0f;
    CHECK(nonzero == 0);
    ta_weights_release(&w0), ta_weights_release(&w1);
    free(g0), free(g1);
    ta_acts_free(part);
    fixture_close(&f);
}

TEST(targets_only_head_equals_full) {
    targets_only_equals_full(QWEN_GQA, 51);
    targets_only_equals_full(LLAMA_TIED, 53);
}

/* NULL tensors in the gradient view are frozen: not written (the slab keeps
 * its NaNs there) while every other gradient equals the full backward's,
 * including q and v around a frozen k (the fused q|k|v weight gradient
 * splits) and the input gradients through frozen norms and embeddings. */
TEST(frozen_null_gradients_are_skipped) {
    ta_error err = {0};
    fixture f;
    fixture_open(&f, QWEN_GQA, 61, 6, 6, 4);
    ta_weights w0, w1;
    float *g0 = grad_slab(&w0, &f.m, 0.0f), *g1 = grad_slab(&w1, &f.m, NAN);
    w1.embed = w1.lm_head = w1.final_norm = NULL;
    for (size_t l = 0; l < f.m.cfg.n_layers; l++) {
        ta_layer_weights *lw = &w1.layers[l];
        lw->attn_norm = lw->mlp_norm = lw->wk = lw->bq = lw->bk = lw->bv = lw->w_up = lw->w_down = NULL;
    }
    loss_of(&f.b, &err);
    CHECK_OK(ta_backward(&f.m, f.b.a, f.dlp, &w0, 1, &err), err);
    loss_of(&f.b, &err);
    CHECK_OK(ta_backward(&f.m, f.b.a, f.dlp, &w1, 0, &err), err);
    size_t wrong = 0;
    double worst = 0;
    for (size_t ti = 0; ti < f.m.w.n_tensors; ti++) {
        const ta_param_info *p = &f.m.w.params[ti];
        int frozen = !strstr(p->name, "q_proj.weight") && !strstr(p->name, "v_proj.weight") &&
                     !strstr(p->name, "o_proj") && !strstr(p->name, "gate_proj");
        if (!frozen) worst = fmax(worst, grad_rel_diff(g0 + p->offset, g1 + p->offset, p->numel));
        for (size_t i = p->offset; frozen && i < p->offset + p->numel; i++) wrong += !isnan(g1[i]);
    }
    CHECK_MSG(wrong == 0, "%zu frozen gradient floats written", wrong);
    CHECK_MSG(worst <= 1e-6, "max grad diff %.3g of a tensor's max grad", worst);
    ta_weights_release(&w0), ta_weights_release(&w1);
    free(g0), free(g1);
    fixture_close(&f);
}

TEST(bad_inputs_are_errors) {
    ta_error err = {0};
    ta_model m;
    CHECK_OK(make_model(&m, LLAMA_TIED, 1, &err), err);
    ta_acts *a = NULL;
    CHECK(ta_acts_plan(&a, &m.cfg, 0, 4, &err) == TA_EINVAL);
    CHECK_OK(ta_acts_plan(&a, &m.cfg, 1, 4, &err), err);
    int32_t tok[4] = {1, 2, 29, 0}, tgt[4] = {2, 3, -1, -1};
    float lp[4];
    size_t len = 3;
    CHECK(ta_forward(&m, a, tok, &len, tgt, lp, NULL, &err) == TA_ERANGE);
    CHECK(strstr(err.msg, "position 2") != NULL);
    tok[2] = 3;
    len = 5;
    CHECK(ta_forward(&m, a, tok, &len, tgt, lp, NULL, &err) == TA_ERANGE);
    len = 3;
    tgt[1] = 29;
    CHECK(ta_forward(&m, a, tok, &len, tgt, lp, NULL, &err) == TA_ERANGE);
    tgt[1] = 3;
    float *gs = calloc(m.w.n_params, 4);
    ta_weights g;
    CHECK_OK(ta_weights_bind(&g, &m.cfg, gs, &err), err);
    float d[4] = {1, 1, 1, 1};
    CHECK(ta_backward(&m, a, d, &g, 1, &err) == TA_EINVAL); /* no forward yet */
    CHECK_OK(ta_forward(&m, a, tok, &len, tgt, lp, NULL, &err), err);
    CHECK(lp[2] == 0.0f && lp[3] == 0.0f && lp[0] < 0.0f);
    CHECK_OK(ta_backward(&m, a, d, &g, 1, &err), err);
    ta_weights_release(&g);
    free(gs);
    ta_acts_free(a);
    ta_model_release(&m);
}

int main(void) {
    RUN(finite_differences_qwen2_gqa_padded);
    RUN(finite_differences_llama_tied_llama3_rope);
    RUN(padded_equals_unpadded);
    RUN(backward_overwrite_equals_accumulate_into_zeros);
    RUN(unfused_view_equals_fused);
    RUN(targets_only_head_equals_full);
    RUN(frozen_null_gradients_are_skipped);
    RUN(bad_inputs_are_errors);
    return TEST_END();
}
