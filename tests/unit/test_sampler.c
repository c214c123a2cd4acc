#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "harness.h"
#include "model/sampler.h"

static ta_sampler make(float temperature, size_t top_k, float top_p, float penalty, size_t V, uint64_t seed) {
    ta_sampler_params p = {.temperature = temperature, .top_k = top_k, .top_p = top_p,
                           .repetition_penalty = penalty};
    ta_sampler s;
    ta_error e = {0};
    int rc = ta_sampler_init(&s, &p, V, seed, &e);
    CHECK_OK(rc, e);
    return s;
}

/* logits = log(p) for a normalised p, so softmax gives p back */
static void log_of(const float *p, float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) logits[i] = logf(p[i]);
}

static const float P4[4] = {0.5f, 0.3f, 0.15f, 0.05f};

TEST(test_greedy_argmax_ties_lowest) {
    ta_sampler s = make(0.0f, 0, 1.0f, 1.0f, 5, 1);
    float l[5] = {1, 3, 3, -2, 0};
    CHECK(ta_sampler_sample(&s, l, NULL, 0) == 1);
    float pr[5];
    float l2[5] = {1, 3, 3, -2, 0};
    ta_sampler_distribution(&s, l2, NULL, 0, pr);
    CHECK(pr[1] == 1.0f && pr[0] == 0.0f && pr[2] == 0.0f);
    ta_sampler_release(&s);
    /* top_k == 1 is greedy too, whatever the temperature */
    s = make(5.0f, 1, 1.0f, 1.0f, 5, 1);
    float l3[5] = {1, 3, 4, -2, 0};
    CHECK(ta_sampler_sample(&s, l3, NULL, 0) == 2);
    ta_sampler_release(&s);
}

TEST(test_plain_softmax) {
    ta_sampler s = make(1.0f, 0, 1.0f, 1.0f, 4, 1);
    float l[4], pr[4];
    log_of(P4, l, 4);
    ta_sampler_distribution(&s, l, NULL, 0, pr);
    for (int i = 0; i < 4; i++) CHECK_NEAR(pr[i], P4[i], 1e-6);
    ta_sampler_release(&s);
}

TEST(test_temperature) {
    ta_sampler s = make(2.0f, 0, 1.0f, 1.0f, 4, 1);
    float l[4], pr[4], want[4];
    log_of(P4, l, 4);
    double z = 0;
    for (int i = 0; i < 4; i++) z += sqrt(P4[i]);
    for (int i = 0; i < 4; i++) want[i] = (float)(sqrt(P4[i]) / z);
    ta_sampler_distribution(&s, l, NULL, 0, pr);
    for (int i = 0; i < 4; i++) CHECK_NEAR(pr[i], want[i], 1e-6);
    ta_sampler_release(&s);
}

TEST(test_top_k) {
    ta_sampler s = make(1.0f, 2, 1.0f, 1.0f, 4, 1);
    float l[4], pr[4];
    log_of(P4, l, 4);
    ta_sampler_distribution(&s, l, NULL, 0, pr);
    CHECK_NEAR(pr[0], 0.5 / 0.8, 1e-6);
    CHECK_NEAR(pr[1], 0.3 / 0.8, 1e-6);
    CHECK(pr[2] == 0.0f && pr[3] == 0.0f);
    /* ties with the k-th value are kept, as HF's TopKLogitsWarper */
    float t[4] = {3, 2, 2, 0};
    ta_sampler_distribution(&s, t, NULL, 0, pr);
    CHECK(pr[0] > 0 && pr[1] > 0 && pr[2] > 0 && pr[3] == 0.0f);
    CHECK_NEAR(pr[1], pr[2], 0);
    ta_sampler_release(&s);
}

TEST(test_top_p) {
    float l[4], pr[4];
    /* 0.75: {0.5, 0.3} is the smallest set reaching 0.75 */
    ta_sampler s = make(1.0f, 0, 0.75f, 1.0f, 4, 1);
    log_of(P4, l, 4);
    ta_sampler_distribution(&s, l, NULL, 0, pr);
    CHECK_NEAR(pr[0], 0.5 / 0.8, 1e-6);
    CHECK_NEAR(pr[1], 0.3 / 0.8, 1e-6);
    CHECK(pr[2] == 0.0f && pr[3] == 0.0f);
    ta_sampler_release(&s);
    /* 0.85: three tokens */
    s = make(1.0f, 0, 0.85f, 1.0f, 4, 1);
    log_of(P4, l, 4);
    ta_sampler_distribution(&s, l, NULL, 0, pr);
    CHECK_NEAR(pr[0], 0.5 / 0.95, 1e-6);
    CHECK_NEAR(pr[2], 0.15 / 0.95, 1e-6);
    CHECK(pr[3] == 0.0f);
    ta_sampler_release(&s);
    /* 0.4 and 0: the top token alone (at least one is kept) */
    float ps[2] = {0.4f, 0.0f};
    for (int k = 0; k < 2; k++) {
        s = make(1.0f, 0, ps[k], 1.0f, 4, 1);
        log_of(P4, l, 4);
        ta_sampler_distribution(&s, l, NULL, 0, pr);
        CHECK(pr[0] == 1.0f && pr[1] == 0.0f);
        ta_sampler_release(&s);
    }
    /* top-k then top-p on the renormalised top-k distribution:
     * top-2 gives {0.625, 0.375}; p = 0.6 keeps only the first */
    s = make(1.0f, 2, 0.6f, 1.0f, 4, 1);
    log_of(P4, l, 4);
    ta_sampler_distribution(&s, l, NULL, 0, pr);
    CHECK(pr[0] == 1.0f);
    ta_sampler_release(&s);
}

/* A plainly written nucleus over the full sorted vocabulary. */
static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

TEST(test_top_p_large_vocab_matches_naive) {
    enum { V = 2000 };
    static float l[V], pr[V], sorted[V], p[V];
    ta_rng r;
    ta_rng_seed(&r, 7);
    float tp[3] = {0.3f, 0.9f, 0.99f};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < V; i++) l[i] = (float)(3.0 * ta_rng_normal(&r));
        double mx = -1e30, z = 0;
        for (int i = 0; i < V; i++) mx = l[i] > mx ? l[i] : mx;
        for (int i = 0; i < V; i++) z += exp(l[i] - mx);
        for (int i = 0; i < V; i++) p[i] = sorted[i] = (float)(exp(l[i] - mx) / z);
        qsort(sorted, V, sizeof *sorted, cmp_desc);
        double cum = 0;
        size_t keep = 0;
        while (keep < V && cum < tp[k]) cum += sorted[keep++];
        float cut = sorted[keep - 1];
        ta_sampler s = make(1.0f, 0, tp[k], 1.0f, V, 1);
        ta_sampler_distribution(&s, l, NULL, 0, pr);
        size_t n_kept = 0;
        double mass = 0;
        for (int i = 0; i < V; i++) {
            if (pr[i] > 0) {
                n_kept++;
                mass += pr[i];
                CHECK(p[i] >= cut);
                CHECK_NEAR(pr[i], p[i] / cum, 1e-5);
            }
        }
        CHECK(n_kept == keep);
        CHECK_NEAR(mass, 1.0, 1e-5);
        ta_sampler_release(&s);
    }
}

TEST(test_repetition_penalty) {
    ta_sampler s = make(0.0f, 0, 1.0f, 2.0f, 3, 1);
    float l[3] = {2.0f, -1.0f, 0.5f};
    int32_t hist[4] = {0, 1, 0, 99}; /* repeats count once; out-of-range ids are ignored */
    float pr[3];
    ta_sampler_distribution(&s, l, hist, 4, pr);
    CHECK(l[0] == 1.0f && l[1] == -2.0f && l[2] == 0.5f);
    CHECK(pr[0] == 1.0f);
    float l2[3] = {2.0f, -1.0f, 1.5f};
    CHECK(ta_sampler_sample(&s, l2, hist, 3) == 2); /* 2/2 = 1 < 1.5 */
    ta_sampler_release(&s);
}

TEST(test_sampling_frequencies) {
    /* 200000 draws: each frequency within 0.005 of its probability (about 4.5
     * standard deviations for p = 0.5); filtered tokens never appear. */
    enum { N = 200000 };
    float l[4];
    size_t count[4] = {0};
    ta_sampler s = make(1.0f, 0, 1.0f, 1.0f, 4, 12345);
    for (int i = 0; i < N; i++) {
        log_of(P4, l, 4);
        count[ta_sampler_sample(&s, l, NULL, 0)]++;
    }
    for (int i = 0; i < 4; i++) CHECK_NEAR((double)count[i] / N, P4[i], 0.005);
    ta_sampler_release(&s);

    size_t c2[4] = {0};
    s = make(1.0f, 0, 0.85f, 1.0f, 4, 999);
    for (int i = 0; i < N; i++) {
        log_of(P4, l, 4);
        c2[ta_sampler_sample(&s, l, NULL, 0)]++;
    }
    CHECK(c2[3] == 0);
    CHECK_NEAR((double)c2[0] / N, 0.5 / 0.95, 0.005);
    CHECK_NEAR((double)c2[1] / N, 0.3 / 0.95, 0.005);
    ta_sampler_release(&s);
}

TEST(test_seed_reproducible) {
    enum { N = 500, V = 50 };
    int32_t a[N], b[N], c[N];
    float l[V];
    uint64_t seeds[3] = {42, 42, 43};
    int32_t *outs[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        ta_sampler s = make(0.8f, 20, 0.95f, 1.0f, V, seeds[k]);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < V; j++) l[j] = (float)((j * 7 + i) % 11) * 0.3f;
            outs[k][i] = ta_sampler_sample(&s, l, NULL, 0);
        }
        ta_sampler_release(&s);
    }
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);
}

TEST(test_bad_params) {
    ta_sampler s;
    ta_error e = {0};
    ta_sampler_params p = ta_sampler_params_default();
    p.temperature = NAN;
    CHECK(ta_sampler_init(&s, &p, 10, 1, &e) == TA_EINVAL);
    p = ta_sampler_params_default();
    p.top_p = -0.5f;
    CHECK(ta_sampler_init(&s, &p, 10, 1, &e) == TA_EINVAL);
    CHECK(strstr(e.msg, "top_p") != NULL);
    p = ta_sampler_params_default();
    CHECK(ta_sampler_init(&s, &p, 0, 1, &e) == TA_EINVAL);
}

TEST(test_all_neg_inf_falls_back) {
    ta_sampler s = make(1.0f, 0, 0.9f, 1.0f, 3, 1);
    float l[3] = {-INFINITY, -INFINITY, -INFINITY};
    int32_t t = ta_sampler_sample(&s, l, NULL, 0);
    CHECK(t >= 0 && t < 3);
    ta_sampler_release(&s);
}

int main(void) {
    RUN(test_greedy_argmax_ties_lowest);
    RUN(test_plain_softmax);
    RUN(test_temperature);
    RUN(test_top_k);
    RUN(test_top_p);
    RUN(test_top_p_large_vocab_matches_naive);
    RUN(test_repetition_penalty);
    RUN(test_sampling_frequencies);
    RUN(test_seed_reproducible);
    RUN(test_bad_params);
    RUN(test_all_neg_inf_falls_back);
    return TEST_END();
}
