/* transformer.h: forward and backward of a Llama-family decoder (Llama,
 * Mistral, Qwen2) over a right-padded batch, llm.c style.
 *
 * Math (per layer, x the residual stream (B, T, C)):
 *   h  = x + o_proj(attn(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1))),  n1 = rmsnorm(x)
 *   x' = h + down_proj(silu(gate_proj(n2)) * up_proj(n2)),                  n2 = rmsnorm(h)
 * then logits = lm_head(rmsnorm(x_L)). Qwen2 adds q/k/v biases; tied models
 * use embed as lm_head (the gradient slab aliases the same way, so both
 * contributions add up in one region). Mistral is Llama math.
 *
 * Padding: row b holds lengths[b] real tokens at positions 0..len-1 and
 * padding after. Internally the real tokens of all rows are packed back to
 * back (as TRL's padding-free batches), so every GEMM and kernel runs over
 * sum(lengths) rows, attention per row over its own tokens; padding costs no
 * time, gets no log-prob and contributes nothing to any gradient. All activation memory is planned once per (B, T) by
 * ta_acts_plan; forward and backward never allocate. Not thread-safe per
 * ta_acts; several ta_acts may share one read-only model. */
#ifndef TA_MODEL_TRANSFORMER_H
#define TA_MODEL_TRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "kernels/rope.h"
#include "kernels/xent.h" /* ta_masked_nll: cross-entropy with a per-token loss mask */
#include "model/config.h"
#include "model/model.h"

typedef struct ta_acts ta_acts; /* activation memory planned once per (B, T) */

/* Allocates activations (and backward scratch) for batches of B rows of T
 * tokens. *a is set only on success. */
int ta_acts_plan(ta_acts **a, const ta_config *cfg, size_t B, size_t T, ta_error *err);
void ta_acts_free(ta_acts *a);
/* Floats held by a plan (for reports). */
size_t ta_acts_numel(const ta_acts *a);
/* on != 0: later forwards run the head (final norm, lm_head, log-softmax)
 * only at positions with a target >= 0, the only ones whose log-prob (and
 * gradient) exists; the others get no logits (ta_acts_logits_at returns
 * NULL there) and mean_logit 0. Training sets this (prompt tokens are most
 * of a chat); off (the default) computes every position's logits. */
void ta_acts_set_targets_only(ta_acts *a, int on);

/* tokens (B,T) right-padded; lengths (B) valid length per row (positions
 * 0..len-1 real; the rest padding, ignored, may hold any value). targets
 * (B,T): the id whose log-prob is wanted at each position, or -1 for none.
 * Writes token_logprob (B,T) = log softmax(logits[b,t])[targets[b,t]] (0 where
 * target < 0 or t >= len). If mean_logit != NULL, also writes (B,T) the mean
 * over the vocabulary of the logits (TRL's logits/chosen metric). Ids out of
 * range and lengths > T are errors naming row and position. m's config must
 * equal the plan's. */
int ta_forward(const ta_model *m, ta_acts *a, const int32_t *tokens, const size_t *lengths,
               const int32_t *targets, float *token_logprob, float *mean_logit, ta_error *err);

/* d_token_logprob (B,T): dLoss/d token_logprob (entries at padding or
 * target < 0 are ignored). Writes the parameter gradients into grad, a
 * ta_weights bound over a gradient slab with the model's layout: accumulate
 * != 0 adds them (+=; micro-batches, workers, tied weights), accumulate == 0
 * overwrites every float of the slab (a step's first backward: no zeroing
 * pass needed, whatever the slab held). A tensor pointer of grad set to NULL
 * marks it frozen: its gradient is not computed (LoRA needs only the adapted
 * tensors'; the input gradients flow through everything regardless). Must
 * follow ta_forward on the same acts. Overwrites the stored logits (see
 * below). */
int ta_backward(const ta_model *m, ta_acts *a, const float *d_token_logprob, ta_weights *grad, int accumulate,
                ta_error *err);

/* The V logits of row b, position t of the last ta_forward, or NULL if
 * (b, t) is padding, has no target under ta_acts_set_targets_only, or there
 * is no forward; valid until the next ta_backward
 * (which reuses the buffer for the logits' gradient). */
const float *ta_acts_logits_at(const ta_acts *a, size_t b, size_t t);

/* Next-token log-probabilities of one sequence ids (n >= 1):
 * lp[t] = log p(ids[t+1] | ids[0..t]) for t < n-1 (lp has n-1 entries; may be
 * NULL), *sum = their sum. If grad != NULL, accumulates into it the gradient
 * of the summed NLL -sum_t lp[t] w.r.t. every parameter. Plans and frees its
 * own activations (a diagnostic, not a hot path). */
int ta_sequence_logprobs(const ta_model *m, const int32_t *ids, size_t n, float *lp, double *sum, ta_weights *grad,
                         ta_error *err);

/* The RoPE parameters a config implies (rope_theta, llama3 scaling). */
void ta_config_rope_params(const ta_config *cfg, ta_rope_params *p);

#endif
