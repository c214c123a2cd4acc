#include "kernels/embed.h"
#include "kernels/parallel.h"

#include <string.h>

void ta_embed_forward(float *out, const float *table, const int32_t *tokens, size_t N, size_t C) {
#pragma omp parallel for schedule(static) if (N * C > TA_PAR_MIN)
    for (size_t n = 0; n < N; n++) memcpy(out + n * C, table + (size_t)tokens[n] * C, C * sizeof(float));
}

void ta_embed_backward(float *dtable, const float *dout, const int32_t *tokens, size_t N, size_t C) {
    const size_t blk = 64;
    size_t nblk = (C + blk - 1) / blk;
#pragma omp parallel for schedule(static) if (N * C > TA_PAR_MIN)
    for (size_t ib = 0; ib < nblk; ib++) {
        size_t c0 = ib * blk, c1 = c0 + blk < C ? c0 + blk : C;
        for (size_t n = 0; n < N; n++) {
            float *d = dtable + (size_t)tokens[n] * C;
            const float *g = dout + n * C;
            for (size_t c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}
