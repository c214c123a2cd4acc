#include <stdlib.h>

#include "core/rng.h"
#include "harness.h"
#include "model/safetensors.h"
#include "train/lora.h"

static int load_base(ta_model *m, ta_error *e) {
    ta_config c;
    const char *root = getenv("TA_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/configs/tiny-llama-gqa.json", root ? root : ".");
    int rc = ta_config_load(&c, path, e);
    if (rc) return rc;
    if ((rc = ta_model_create(m, &c, e))) return rc;
    ta_model_init_random(m, 3, 0.02f);
    return TA_OK;
}

static void randomize(float *x, size_t n, uint64_t seed) {
    ta_rng r;
    ta_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.1 * ta_rng_normal(&r));
}

TEST(test_init_merge_and_view) {
    ta_model base;
    ta_error e = {0};
    CHECK_OK(load_base(&base, &e), e);
    ta_lora l;
    ta_lora_config cfg = {4, 8.0, 0.0, TA_LORA_Q | TA_LORA_V | TA_LORA_DOWN};
    CHECK_OK(ta_lora_create(&l, &base, &cfg, 1, &e), e);
    CHECK(l.n_mods == 3 * base.cfg.n_layers);
    CHECK(l.scale == 2.0f);
    const ta_lora_module *q = &l.mods[0];
    CHECK(q->which == TA_LORA_Q && q->in == base.cfg.hidden_size);
    /* PEFT init: B = 0 so W_eff == W, and |A| <= 1/sqrt(in) */
    CHECK(!memcmp(q->w_eff, base.w.layers[0].wq, q->out * q->in * sizeof(float)));
    float bound = 1.0f / sqrtf((float)q->in), amax = 0;
    for (size_t i = 0; i < cfg.r * q->in; i++) amax = fmaxf(amax, fabsf(l.slab[q->a_off + i]));
    CHECK(amax <= bound && amax > 0.5f * bound);
    /* view: targeted tensors redirected, the rest shared */
    CHECK(l.policy.w.layers[1].wq == l.mods[3].w_eff);
    CHECK(l.policy.w.layers[1].wk == base.w.layers[1].wk);
    CHECK(l.policy.w.embed == base.w.embed);
    /* gradient view: only the adapted tensors' gradients are computed */
    ta_weights g;
    CHECK_OK(ta_weights_bind(&g, &base.cfg, base.slab, &e), e);
    float *dq1 = g.layers[1].wq, *dd1 = g.layers[1].w_down;
    ta_lora_freeze_grad(&l, &g);
    CHECK(g.layers[1].wq == dq1 && g.layers[1].w_down == dd1 && g.layers[0].wv != NULL);
    CHECK(!g.layers[1].wk && !g.layers[1].wo && !g.layers[0].w_gate && !g.layers[0].w_up && !g.layers[0].attn_norm);
    CHECK(!g.embed && !g.lm_head && !g.final_norm);
    ta_weights_release(&g);
    randomize(l.slab, l.n_params, 9);
    ta_lora_merge(&l);
    const ta_lora_module *d = &l.mods[2];
    double maxdiff = 0;
    for (size_t o = 0; o < d->out; o++)
        for (size_t i = 0; i < d->in; i++) {
            double s = 0;
            for (size_t k = 0; k < cfg.r; k++) s += l.slab[d->b_off + o * cfg.r + k] * l.slab[d->a_off + k * d->in + i];
            double want = d->w[o * d->in + i] + 2.0 * s;
            maxdiff = fmax(maxdiff, fabs(want - d->w_eff[o * d->in + i]));
        }
    CHECK_NEAR(maxdiff, 0, 1e-5);
    ta_lora_release(&l);
    cfg.dropout = 0.05;
    CHECK(ta_lora_create(&l, &base, &cfg, 1, &e) == TA_EUNSUPPORTED);
    CHECK(strstr(e.msg, "--lora-dropout") != NULL);
    ta_model_release(&base);
}

/* f(A, B) = sum(G .* (W + s B A)) has dW = G; check dA, dB by finite differences. */
TEST(test_grad_from_full_is_exact) {
    ta_model base, grad;
    ta_error e = {0};
    CHECK_OK(load_base(&base, &e), e);
    CHECK_OK(ta_model_create(&grad, &base.cfg, &e), e);
    randomize(grad.slab, grad.w.n_params, 5);
    ta_lora l;
    ta_lora_config cfg = {3, 6.0, 0.0, TA_LORA_ALL};
    CHECK_OK(ta_lora_create(&l, &base, &cfg, 2, &e), e);
    randomize(l.slab, l.n_params, 6);
    ta_lora_bind_grad(&l, &grad.w);
    float *g = calloc(l.n_params, sizeof *g);
    ta_lora_grad_from_full(&l, g);
    ta_rng r;
    ta_rng_seed(&r, 11);
    int bad = 0;
    for (int trial = 0; trial < 40; trial++) {
        size_t mi = ta_rng_below(&r, l.n_mods);
        const ta_lora_module *m = &l.mods[mi];
        size_t nA = cfg.r * m->in, nB = m->out * cfg.r;
        size_t j = ta_rng_below(&r, nA + nB);
        size_t idx = j < nA ? m->a_off + j : m->b_off + (j - nA);
        double fx[2];
        for (int s = 0; s < 2; s++) {
            float keep = l.slab[idx];
            l.slab[idx] = keep + (s ? -1e-2f : 1e-2f);
            ta_lora_merge(&l);
            double f = 0;
            for (size_t k = 0; k < m->out * m->in; k++) f += (double)m->dw[k] * m->w_eff[k];
            fx[s] = f;
            l.slab[idx] = keep;
        }
        double fd = (fx[0] - fx[1]) / 2e-2;
        if (fabs(fd - g[idx]) > 2e-3 * (1 + fabs(fd))) {
            bad++;
            fprintf(stderr, "  module %zu elem %zu: fd %g analytic %g\n", mi, j, fd, g[idx]);
        }
    }
    CHECK(bad == 0);
    free(g);
    ta_lora_release(&l);
    ta_model_release(&grad);
    ta_model_release(&base);
}

TEST(test_save_load_peft_names_and_merge_into) {
    ta_model base;
    ta_error e = {0};
    CHECK_OK(load_base(&base, &e), e);
    ta_lora l, l2;
    ta_lora_config cfg = {2, 4.0, 0.0, TA_LORA_K | TA_LORA_O | TA_LORA_UP};
    CHECK_OK(ta_lora_create(&l, &base, &cfg, 4, &e), e);
    randomize(l.slab, l.n_params, 8);
    ta_lora_merge(&l);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/lora_adapter", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp");
    CHECK_OK(ta_lora_save(&l, dir, "base-model", &e), e);
    char path[600];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    ta_safetensors st;
    CHECK_OK(ta_safetensors_open(&st, path, &e), e);
    const ta_st_tensor *t = ta_safetensors_find(&st, "base_model.model.model.layers.1.mlp.up_proj.lora_B.weight");
    CHECK(t && t->shape[0] == base.cfg.intermediate_size && t->shape[1] == 2);
    CHECK(ta_safetensors_find(&st, "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight") != NULL);
    CHECK(st.n_tensors == 2 * l.n_mods);
    ta_safetensors_release(&st);
    CHECK_OK(ta_lora_load(&l2, &base, dir, &e), e);
    CHECK(l2.n_params == l.n_params && l2.scale == l.scale && l2.cfg.targets == cfg.targets);
    CHECK(!memcmp(l2.slab, l.slab, l.n_params * sizeof(float)));
    /* merge into a copy of the base == W_eff */
    ta_model copy;
    CHECK_OK(ta_model_create(&copy, &base.cfg, &e), e);
    memcpy(copy.slab, base.slab, base.w.n_params * sizeof(float));
    ta_lora_merge_into(&l2, &copy);
    CHECK(!memcmp(copy.w.layers[1].wo, l.mods[4].w_eff, l.mods[4].out * l.mods[4].in * sizeof(float)));
    CHECK(!memcmp(copy.w.layers[1].wq, base.w.layers[1].wq, 4 * sizeof(float)));
    ta_model_release(&copy);
    ta_lora_release(&l2);
    ta_lora_release(&l);
    unsigned bits;
    CHECK_OK(ta_lora_parse_targets("q,v_proj,down", &bits, &e), e);
    CHECK(bits == (TA_LORA_Q | TA_LORA_V | TA_LORA_DOWN));
    CHECK(ta_lora_parse_targets("q,emb", &bits, &e) == TA_EINVAL);
    CHECK(strstr(e.msg, "'emb'") != NULL);
    CHECK(ta_lora_load(&l2, &base, "/nonexistent", &e) != TA_OK);
    ta_model_release(&base);
}

int main(void) {
    RUN(test_init_merge_and_view);
    RUN(test_grad_from_full_is_exact);
    RUN(test_save_load_peft_names_and_merge_into);
    return TEST_END();
}
