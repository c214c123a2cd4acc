/* rmsnorm.h: RMSNorm forward and backward, matching Hugging Face LlamaRMSNorm
 * computed in fp32: y = x * rsqrt(mean(x^2) + eps) * w. OpenMP over rows. */
#ifndef TA_KERNELS_RMSNORM_H
#define TA_KERNELS_RMSNORM_H

#include <stddef.h>

/* out (N, C) = rmsnorm(x (N, C)) * w (C). rstd (N) receives 1/sqrt(mean(x^2)+eps)
 * for the backward pass (may be NULL when no backward follows). out may equal x. */
void ta_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, size_t N, size_t C, float eps);

/* Given dout (N, C), adds the input gradient into dx (N, C) (+=, the residual
 * stream's gradient) and writes the weight gradient into dw (C): += when
 * accumulate_dw, = otherwise; dw NULL (frozen) skips it. x and rstd are the forward's input and saved
 * rstd. dx must not alias dout. */
void ta_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                         const float *rstd, size_t N, size_t C, int accumulate_dw);

#endif
