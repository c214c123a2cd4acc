#include "align/stats.h"

#include <stdlib.h>

#include "core/rng.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double mean_of(const double *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return n ? s / (double)n : 0;
}

static double resample_mean(const double *x, size_t n, ta_rng *r) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[ta_rng_below(r, n)];
    return s / (double)n;
}

static void percentiles(double *v, size_t m, ta_estimate *e) {
    qsort(v, m, sizeof *v, cmp_double);
    size_t lo = (size_t)(0.025 * (double)(m - 1) + 0.5), hi = (size_t)(0.975 * (double)(m - 1) + 0.5);
    e->lo = v[lo];
    e->hi = v[hi];
}

ta_estimate ta_bootstrap_mean(const double *x, size_t n, size_t resamples, uint64_t seed) {
    ta_estimate e = {.n = n};
    if (n == 0) return e;
    e.value = mean_of(x, n);
    double *v = malloc(resamples * sizeof *v);
    if (!v || resamples < 2) {
        free(v);
        e.lo = e.hi = e.value;
        return e;
    }
    ta_rng r;
    ta_rng_seed(&r, seed);
    for (size_t i = 0; i < resamples; i++) v[i] = resample_mean(x, n, &r);
    percentiles(v, resamples, &e);
    free(v);
    return e;
}

ta_estimate ta_bootstrap_mean_clustered(const double *x, const size_t *cluster, size_t n, size_t k, size_t resamples,
                                        uint64_t seed) {
    ta_estimate e = {.n = n};
    if (n == 0) return e;
    e.value = mean_of(x, n);
    double *sum = calloc(k ? k : 1, sizeof *sum), *cnt = calloc(k ? k : 1, sizeof *cnt);
    double *v = malloc(resamples * sizeof *v);
    int ok = sum && cnt && v && k && resamples >= 2;
    for (size_t i = 0; ok && i < n; i++) {
        if (cluster[i] >= k) {
            ok = 0;
            break;
        }
        sum[cluster[i]] += x[i];
        cnt[cluster[i]] += 1;
    }
    if (!ok) { /* out of memory or a bad cluster index: no interval rather than a wrong one */
        free(sum), free(cnt), free(v);
        e.lo = e.hi = e.value;
        return e;
    }
    ta_rng r;
    ta_rng_seed(&r, seed);
    for (size_t i = 0; i < resamples; i++) {
        double s = 0, c = 0;
        for (size_t j = 0; j < k; j++) {
            size_t pick = ta_rng_below(&r, k);
            s += sum[pick];
            c += cnt[pick];
        }
        v[i] = c > 0 ? s / c : 0;
    }
    percentiles(v, resamples, &e);
    free(sum), free(cnt), free(v);
    return e;
}

ta_estimate ta_bootstrap_diff(const double *a, size_t na, const double *b, size_t nb, size_t resamples, uint64_t seed) {
    ta_estimate e = {.n = na < nb ? na : nb};
    if (na == 0 || nb == 0) return e;
    e.value = mean_of(b, nb) - mean_of(a, na);
    double *v = malloc(resamples * sizeof *v);
    if (!v || resamples < 2) {
        free(v);
        e.lo = e.hi = e.value;
        return e;
    }
    ta_rng r;
    ta_rng_seed(&r, seed);
    for (size_t i = 0; i < resamples; i++) v[i] = resample_mean(b, nb, &r) - resample_mean(a, na, &r);
    percentiles(v, resamples, &e);
    free(v);
    return e;
}
