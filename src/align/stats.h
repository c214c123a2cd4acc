/* stats.h: rates and means with 95% percentile-bootstrap confidence intervals.
 * Deterministic: the resampling RNG is seeded by the caller, so a report is
 * reproducible byte for byte. */
#ifndef TA_ALIGN_STATS_H
#define TA_ALIGN_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ta_estimate {
    size_t n;     /* sample size */
    double value; /* point estimate (rate or mean); 0 when n == 0 */
    double lo, hi;/* 95% CI (2.5th and 97.5th bootstrap percentiles); both 0 when n == 0 */
} ta_estimate;

#define TA_BOOTSTRAP_RESAMPLES 2000

/* Mean of x (0/1 outcomes give a rate) with a bootstrap CI. */
ta_estimate ta_bootstrap_mean(const double *x, size_t n, size_t resamples, uint64_t seed);
/* The same when items come in clusters that are not independent (a suite's
 * "group": one request under several attack families): cluster[i] in [0, k)
 * names item i's cluster, and each resample draws k clusters with
 * replacement and takes the pooled mean of their items (the ratio estimator).
 * With every item its own cluster (cluster[i] = i) it draws exactly what
 * ta_bootstrap_mean draws, so the two agree byte for byte. */
ta_estimate ta_bootstrap_mean_clustered(const double *x, const size_t *cluster, size_t n, size_t k, size_t resamples,
                                        uint64_t seed);
/* Difference mean(b) - mean(a) of two independent samples, with a bootstrap CI. */
ta_estimate ta_bootstrap_diff(const double *a, size_t na, const double *b, size_t nb, size_t resamples, uint64_t seed);

#endif
