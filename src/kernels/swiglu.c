#include "kernels/swiglu.h"
#include "kernels/parallel.h"

#include "kernels/fastmath.h"

void ta_swiglu_forward(float *out, const float *gate, const float *up, size_t N, size_t F, size_t ld) {
#pragma omp parallel for schedule(static) if (N * F > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) {
        const float *g = gate + n * ld, *u = up + n * ld;
        float *o = out + n * F;
#pragma omp simd
        for (size_t i = 0; i < F; i++) o[i] = g[i] / (1.0f + ta_expf(-g[i])) * u[i];
    }
}

/* d silu(g)/dg = sig(g) (1 + g (1 - sig(g))). */
void ta_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t N,
                        size_t F, size_t ld) {
#pragma omp parallel for schedule(static) if (N * F > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) {
        const float *g = gate + n * ld, *u = up + n * ld, *d = dout + n * F;
        float *dg = dgate + n * ld, *du = dup + n * ld;
#pragma omp simd
        for (size_t i = 0; i < F; i++) {
            float sg = 1.0f / (1.0f + ta_expf(-g[i]));
            du[i] = d[i] * g[i] * sg;
            dg[i] = d[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        }
    }
}
