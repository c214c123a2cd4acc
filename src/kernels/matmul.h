/* matmul.h: nn.Linear forward and backward on row-major matrices via cblas_sgemm.
 *
 * Shapes follow PyTorch's nn.Linear: weight (OC, IC), y = x @ W^T + b.
 * Where an output or output gradient takes a leading dimension (ld >= OC),
 * its row n starts at n * ld: several Linears over the same input (q|k|v,
 * gate|up) then write their columns side by side into one buffer, which
 * later kernels read in place (strided), and one GEMM can serve them all
 * when their weights are adjacent rows of one matrix.
 * These functions call BLAS and must be called from sequential code (never
 * inside an OpenMP region: OpenBLAS brings its own threads). */
#ifndef TA_KERNELS_MATMUL_H
#define TA_KERNELS_MATMUL_H

#include <stddef.h>

/* out (N, OC) = inp (N, IC) @ w^T (w: (OC, IC)) + b (OC; NULL for none).
 * out is overwritten. */
void ta_matmul_forward(float *out, const float *inp, const float *w, const float *b, size_t N, size_t IC,
                       size_t OC);

/* The same with out's rows ldo floats apart (ldo >= OC; the columns in
 * between are left untouched). */
void ta_matmul_forward_ld(float *out, size_t ldo, const float *inp, const float *w, const float *b, size_t N,
                          size_t IC, size_t OC);

/* out (N, OC) += inp (N, IC) @ w^T: the residual-stream form (out holds the
 * residual on entry). */
void ta_matmul_forward_add(float *out, const float *inp, const float *w, size_t N, size_t IC, size_t OC);

/* dinp (N, IC) = dout (N, OC; rows ldd apart) @ w (OC, IC), overwritten when
 * accumulate == 0, added to (+=) otherwise. */
void ta_matmul_backward_input(float *dinp, const float *dout, size_t ldd, const float *w, size_t N, size_t IC,
                              size_t OC, int accumulate);

/* dw (OC, IC) = dout^T @ inp and db (OC) = column sums of dout (each skipped
 * when NULL: a frozen tensor); dout (N, OC) has rows ldd apart. accumulate != 0 adds (+=)
 * instead, so tied weights and several micro-batches add up in one gradient
 * slab; accumulate == 0 overwrites, so a step's first backward needs no
 * zeroed slab. */
void ta_matmul_backward_weight(float *dw, float *db, const float *dout, size_t ldd, const float *inp, size_t N,
                               size_t IC, size_t OC, int accumulate);

/* Both of the above over a contiguous dout (ldd = OC); dinp may be NULL (no
 * input gradient wanted), and so may dw. */
void ta_matmul_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        size_t N, size_t IC, size_t OC, int accumulate_dinp, int accumulate_dw);

/* Column sums of x (N, OC; rows ldx apart) into out (OC): += when accumulate,
 * = otherwise. OpenMP over column blocks. */
void ta_colsum(float *out, const float *x, size_t ldx, size_t N, size_t OC, int accumulate);

#endif
