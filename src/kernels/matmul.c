#include "kernels/matmul.h"
#include "kernels/parallel.h"

#include <cblas.h>

/* BLAS takes int dimensions; callers size tensors far below INT_MAX. */
void ta_matmul_forward_ld(float *out, size_t ldo, const float *inp, const float *w, const float *b, size_t N,
                          size_t IC, size_t OC) {
    if (N == 0 || OC == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)IC, 1.0f, inp, (int)IC, w,
                (int)IC, 0.0f, out, (int)ldo);
    if (b) {
#pragma omp parallel for schedule(static) if (N * OC > TA_PAR_MIN)
        for (size_t n = 0; n < N; n++) {
            float *row = out + n * ldo;
            for (size_t o = 0; o < OC; o++) row[o] += b[o];
        }
    }
}

void ta_matmul_forward(float *out, const float *inp, const float *w, const float *b, size_t N, size_t IC,
                       size_t OC) {
    ta_matmul_forward_ld(out, OC, inp, w, b, N, IC, OC);
}

void ta_matmul_forward_add(float *out, const float *inp, const float *w, size_t N, size_t IC, size_t OC) {
    if (N == 0 || OC == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)IC, 1.0f, inp, (int)IC, w,
                (int)IC, 1.0f, out, (int)OC);
}

void ta_matmul_backward_input(float *dinp, const float *dout, size_t ldd, const float *w, size_t N, size_t IC,
                              size_t OC, int accumulate) {
    if (N == 0 || IC == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)IC, (int)OC, 1.0f, dout, (int)ldd, w,
                (int)IC, accumulate ? 1.0f : 0.0f, dinp, (int)IC);
}

void ta_colsum(float *out, const float *x, size_t ldx, size_t N, size_t OC, int accumulate) {
    const size_t blk = 64;
    size_t nblk = (OC + blk - 1) / blk;
#pragma omp parallel for schedule(static) if (N * OC > TA_PAR_MIN)
    for (size_t ib = 0; ib < nblk; ib++) {
        size_t o0 = ib * blk, o1 = o0 + blk < OC ? o0 + blk : OC;
        float acc[64] = {0};
        for (size_t n = 0; n < N; n++) {
            const float *row = x + n * ldx;
            for (size_t o = o0; o < o1; o++) acc[o - o0] += row[o];
        }
        for (size_t o = o0; o < o1; o++) out[o] = accumulate ? out[o] + acc[o - o0] : acc[o - o0];
    }
}

void ta_matmul_backward_weight(float *dw, float *db, const float *dout, size_t ldd, const float *inp, size_t N,
                               size_t IC, size_t OC, int accumulate) {
    if (OC == 0) return;
    if (N == 0) { /* nothing to add; an overwrite still owes zeros */
        if (!accumulate) {
            for (size_t i = 0; dw && i < OC * IC; i++) dw[i] = 0.0f;
            for (size_t o = 0; db && o < OC; o++) db[o] = 0.0f;
        }
        return;
    }
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC, (int)IC, (int)N, 1.0f, dout, (int)ldd, inp,
                    (int)IC, accumulate ? 1.0f : 0.0f, dw, (int)IC);
    if (db) ta_colsum(db, dout, ldd, N, OC, accumulate);
}

void ta_matmul_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        size_t N, size_t IC, size_t OC, int accumulate_dinp, int accumulate_dw) {
    if (dinp) ta_matmul_backward_input(dinp, dout, OC, w, N, IC, OC, accumulate_dinp);
    ta_matmul_backward_weight(dw, db, dout, OC, inp, N, IC, OC, accumulate_dw);
}
