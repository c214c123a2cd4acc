/* matmul.h: nn.Linear forward and backward on row-major matrices via cblas_sgemm.
 *
 * Shapes follow PyTorch's nn.Linear: weight (OC, IC), y = x @ W^T + b.
 * These functions call BLAS and must be called from sequential code (never
 * inside an OpenMP region: OpenBLAS brings its own threads). */
#ifndef TA_KERNELS_MATMUL_H
#define TA_KERNELS_MATMUL_H

#include <stddef.h>

/* out (N, OC) = inp (N, IC) @ w^T (w: (OC, IC)) + b (OC; NULL for none).
 * out is overwritten. */
void ta_matmul_forward(float *out, const float *inp, const float *w, const float *b, size_t N, size_t IC,
                       size_t OC);

/* out (N, OC) += inp (N, IC) @ w^T: the residual-stream form (out holds the
 * residual on entry). */
void ta_matmul_forward_add(float *out, const float *inp, const float *w, size_t N, size_t IC, size_t OC);

/* dinp (N, IC) = dout (N, OC) @ w (OC, IC), overwritten when accumulate == 0,
 * added to (+=) otherwise. */
void ta_matmul_backward_input(float *dinp, const float *dout, const float *w, size_t N, size_t IC, size_t OC,
                              int accumulate);

/* dw (OC, IC) += dout^T @ inp; db (OC) += column sums of dout (skipped when
 * db is NULL). Always accumulates, so tied weights and several micro-batches
 * add up in one gradient slab. */
void ta_matmul_backward_weight(float *dw, float *db, const float *dout, const float *inp, size_t N, size_t IC,
                               size_t OC);

/* Both of the above; dinp may be NULL (no input gradient wanted). */
void ta_matmul_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        size_t N, size_t IC, size_t OC, int accumulate_dinp);

/* Column sums: out (OC) += sum over rows of x (N, OC). OpenMP over column blocks. */
void ta_colsum_add(float *out, const float *x, size_t N, size_t OC);

#endif
