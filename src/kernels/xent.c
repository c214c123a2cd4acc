#include "kernels/xent.h"
#include "kernels/parallel.h"

#include <math.h>
#include <string.h>

#include "kernels/fastmath.h"

void ta_logsoftmax_gather_forward(float *lp, float *lse, float *mean_logit, const float *logits,
                                  const int32_t *target, size_t N, size_t V) {
#pragma omp parallel for schedule(static) if (N * V > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) {
        const float *row = logits + n * V;
        float m = row[0];
#pragma omp simd reduction(max : m)
        for (size_t i = 1; i < V; i++) m = row[i] > m ? row[i] : m;
        float sum = 0.0f, tot = 0.0f;
#pragma omp simd reduction(+ : sum, tot)
        for (size_t i = 0; i < V; i++) {
            sum += ta_expf(row[i] - m);
            tot += row[i];
        }
        float l = m + logf(sum);
        lse[n] = l;
        lp[n] = target[n] >= 0 ? row[target[n]] - l : 0.0f;
        if (mean_logit) mean_logit[n] = tot / (float)V;
    }
}

void ta_logsoftmax_gather_backward(float *dlogits, const float *logits, const float *lse, const int32_t *target,
                                   const float *dlp, size_t N, size_t V) {
#pragma omp parallel for schedule(static) if (N * V > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) {
        float *d = dlogits + n * V;
        const float *row = logits + n * V;
        if (target[n] < 0 || dlp[n] == 0.0f) {
            memset(d, 0, V * sizeof(float));
            continue;
        }
        float g = dlp[n], l = lse[n];
#pragma omp simd
        for (size_t i = 0; i < V; i++) d[i] = ta_flush_tiny(-g * ta_expf(row[i] - l));
        d[target[n]] += g;
    }
}

double ta_masked_nll(const float *token_logprob, const float *mask, size_t n, float *dlp) {
    double msum = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        msum += mask[i];
        s += (double)mask[i] * token_logprob[i];
    }
    if (dlp)
        for (size_t i = 0; i < n; i++) dlp[i] = msum != 0.0 ? (float)(-mask[i] / msum) : 0.0f;
    return msum != 0.0 ? -s / msum : 0.0;
}
