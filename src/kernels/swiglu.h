/* swiglu.h: the Llama MLP activation h = silu(gate) * up (transformers'
 * LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = SiLU).
 * Elementwise over n floats; OpenMP. */
#ifndef TA_KERNELS_SWIGLU_H
#define TA_KERNELS_SWIGLU_H

#include <stddef.h>

/* out (n) = gate * sigmoid(gate) * up. out may alias neither input. */
void ta_swiglu_forward(float *out, const float *gate, const float *up, size_t n);

/* dgate, dup (n) overwritten from dout (n) and the forward's inputs. */
void ta_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n);

#endif
