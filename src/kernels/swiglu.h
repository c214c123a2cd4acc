/* swiglu.h: the Llama MLP activation h = silu(gate) * up (transformers'
 * LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = SiLU).
 * Over N rows of F; gate and up rows (and their gradients') are ld floats
 * apart (ld >= F), so both can be halves of one fused gate|up projection
 * (ld = 2F, up = gate + F) or separate contiguous buffers (ld = F). OpenMP. */
#ifndef TA_KERNELS_SWIGLU_H
#define TA_KERNELS_SWIGLU_H

#include <stddef.h>

/* out (N, F), contiguous = gate * sigmoid(gate) * up. out may alias neither input. */
void ta_swiglu_forward(float *out, const float *gate, const float *up, size_t N, size_t F, size_t ld);

/* dgate, dup (rows ld apart, like gate and up) overwritten from dout (N, F),
 * contiguous, and the forward's inputs. */
void ta_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t N,
                        size_t F, size_t ld);

#endif
