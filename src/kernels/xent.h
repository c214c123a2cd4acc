/* xent.h: log-softmax over the vocabulary fused with the gather of one target
 * per row (the token log-probability), its backward, and the masked mean NLL.
 * OpenMP over rows. */
#ifndef TA_KERNELS_XENT_H
#define TA_KERNELS_XENT_H

#include <stddef.h>
#include <stdint.h>

/* For each row n of logits (N, V): lse[n] = logsumexp(row) and
 * lp[n] = row[target[n]] - lse[n] (0 when target[n] < 0; the caller checks
 * target < V). mean_logit (N; NULL to skip) = mean of the row. lse is kept
 * for the backward. */
void ta_logsoftmax_gather_forward(float *lp, float *lse, float *mean_logit, const float *logits,
                                  const int32_t *target, size_t N, size_t V);

/* dlogits (N, V) = dlp[n] * (onehot(target[n]) - softmax(row)), overwritten;
 * rows with target < 0 or dlp == 0 get zeros. dlogits may alias logits. */
void ta_logsoftmax_gather_backward(float *dlogits, const float *logits, const float *lse, const int32_t *target,
                                   const float *dlp, size_t N, size_t V);

/* Cross-entropy with a per-token loss mask over n token log-probabilities:
 * returns -sum(mask*lp) / sum(mask) (accumulated in double) and, when dlp is
 * non-NULL, writes its gradient dlp = -mask / sum(mask). A mask summing to 0
 * gives loss 0 and zero gradients. */
double ta_masked_nll(const float *token_logprob, const float *mask, size_t n, float *dlp);

#endif
