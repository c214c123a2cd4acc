#include "kernels/rmsnorm.h"
#include "kernels/parallel.h"

#include <math.h>

void ta_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, size_t N, size_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) {
        const float *xr = x + n * C;
        float *o = out + n * C;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (size_t c = 0; c < C; c++) ss += xr[c] * xr[c];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
        if (rstd) rstd[n] = r;
        for (size_t c = 0; c < C; c++) o[c] = xr[c] * r * w[c];
    }
}

/* y_c = w_c x_c r, r = (mean(x^2)+eps)^-1/2, so with g_c = dout_c w_c:
 *   dx_c = r g_c - x_c r^3 / C * sum_k g_k x_k,   dw_c = sum_n dout_c x_c r. */
void ta_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                         const float *rstd, size_t N, size_t C, int accumulate_dw) {
#pragma omp parallel for schedule(static) if (N * C > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) {
        const float *xr = x + n * C, *d = dout + n * C;
        float *dxr = dx + n * C;
        float r = rstd[n], dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (size_t c = 0; c < C; c++) dot += d[c] * w[c] * xr[c];
        float k = dot * r * r * r / (float)C;
        for (size_t c = 0; c < C; c++) dxr[c] += r * d[c] * w[c] - k * xr[c];
    }
    if (!dw) return;
    /* Weight gradient: column blocks per thread, so no reduction buffers. */
    const size_t blk = 64;
    size_t nblk = (C + blk - 1) / blk;
#pragma omp parallel for schedule(static) if (N * C > TA_PAR_MIN)
    for (size_t ib = 0; ib < nblk; ib++) {
        size_t c0 = ib * blk, c1 = c0 + blk < C ? c0 + blk : C;
        float acc[64] = {0};
        for (size_t n = 0; n < N; n++) {
            const float *xr = x + n * C, *d = dout + n * C;
            float r = rstd[n];
            for (size_t c = c0; c < c1; c++) acc[c - c0] += d[c] * xr[c] * r;
        }
        for (size_t c = c0; c < c1; c++) dw[c] = accumulate_dw ? dw[c] + acc[c - c0] : acc[c - c0];
    }
}
