#include "kernels/swiglu.h"
#include "kernels/parallel.h"

#include "kernels/fastmath.h"

void ta_swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > TA_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + ta_expf(-g)) * up[i];
    }
}

/* d silu(g)/dg = sig(g) (1 + g (1 - sig(g))). */
void ta_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > TA_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], sg = 1.0f / (1.0f + ta_expf(-g));
        float d = dout[i];
        dup[i] = d * g * sg;
        dgate[i] = d * up[i] * sg * (1.0f + g * (1.0f - sg));
    }
}
