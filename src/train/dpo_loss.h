/* dpo_loss.h: preference losses over per-sequence log-probabilities.
 *
 * Every loss here is a function of, per pair i, the policy's summed
 * completion log-probability of the chosen and of the rejected answer (and the
 * reference's, for the reference-based ones), plus the completion lengths. So
 * the loss module never sees logits: it returns dLoss/d(summed logp) per
 * sequence, and the trainer spreads that onto every completion token of the
 * sequence (d token_logprob = d summed logp, since the sum is linear).
 *
 * Definitions follow TRL (read, not copied):
 *   DPOTrainer.dpo_loss, with logits = (pc - rc) - (pr - rr):
 *     sigmoid  -(1-ls) logsig(beta*logits) - ls logsig(-beta*logits)      (cDPO when ls > 0)
 *     robust   (-(1-ls) logsig(beta*logits) + ls logsig(-beta*logits)) / (1 - 2 ls)
 *     hinge    relu(1 - beta*logits)
 *     ipo      (logits - 1/(2 beta))^2, with logps averaged over completion tokens
 *     rewards  beta * (p - r) for chosen and rejected
 *     RPO      + rpo_alpha * NLL, the token-mean cross-entropy of the chosen completions
 *   CPOTrainer loss_type="simpo" (reference-free, average logps a = p / len):
 *     logits = (ac - ar) - gamma/beta; the sigmoid loss above; rewards beta * a
 *   ORPOTrainer.odds_ratio_loss (average logps, lambda is TRL's ORPO "beta"):
 *     log_odds = (ac - ar) - (log(1 - e^ac) - log(1 - e^ar))
 *     loss = NLL(chosen) - lambda * mean(logsig(log_odds)); rewards lambda * a
 *
 * Normalisation (a choice where TRL's is per micro-batch): the pair terms are
 * divided by `norm_pairs` and the NLL term by `norm_chosen_tokens`, both
 * counted over the whole optimizer step, so the contributions of the
 * micro-batches of one step add up to exactly the loss of the full batch and
 * gradient accumulation equals the big batch. */
#ifndef TA_TRAIN_DPO_LOSS_H
#define TA_TRAIN_DPO_LOSS_H

#include <stddef.h>

#include "core/error.h"

typedef enum {
    TA_DPO_SIGMOID = 0,
    TA_DPO_IPO,
    TA_DPO_HINGE,
    TA_DPO_ROBUST,
    TA_DPO_SIMPO,
    TA_DPO_ORPO
} ta_dpo_loss_type;

typedef struct ta_dpo_params {
    ta_dpo_loss_type type;
    double beta;            /* default 0.1 (sigmoid/ipo/hinge/robust/simpo) */
    double label_smoothing; /* sigmoid (cDPO), robust, simpo; in [0, 0.5) */
    double rpo_alpha;       /* weight of the chosen NLL added (RPO); 0 = off */
    double simpo_gamma;     /* SimPO target margin, default 0.5 */
    double orpo_lambda;     /* ORPO weight of the odds-ratio term, default 0.1 */
} ta_dpo_params;

/* Defaults: sigmoid, beta 0.1, no smoothing, no RPO, gamma 0.5, lambda 0.1. */
void ta_dpo_params_default(ta_dpo_params *p);
/* "sigmoid" ... "orpo" -> type; -1 if unknown. */
int ta_dpo_loss_parse(const char *name, ta_dpo_loss_type *out);
const char *ta_dpo_loss_name(ta_dpo_loss_type t);
/* Whether the loss needs reference log-probabilities (not simpo/orpo). */
int ta_dpo_needs_reference(ta_dpo_loss_type t);
/* Checks ranges (beta > 0, 0 <= ls < 0.5, ...); names the option. */
int ta_dpo_params_validate(const ta_dpo_params *p, ta_error *err);

/* Per-sequence inputs of n pairs. ref_* may be NULL when !needs_reference. */
typedef struct ta_dpo_batch {
    size_t n;
    const double *chosen_logp;      /* (n) policy, summed over completion tokens */
    const double *rejected_logp;    /* (n) */
    const double *ref_chosen_logp;  /* (n) or NULL */
    const double *ref_rejected_logp;/* (n) or NULL */
    const size_t *chosen_len;       /* (n) completion tokens, > 0 */
    const size_t *rejected_len;     /* (n) */
} ta_dpo_batch;

/* Sums over the pairs of a micro-batch, for TRL-named metrics (divide by the
 * pair count for the means TRL logs). Accumulate over micro-batches with
 * ta_dpo_stats_add. */
typedef struct ta_dpo_stats {
    double n_pairs;
    double reward_chosen, reward_rejected; /* rewards/chosen, rewards/rejected */
    double accuracy;                       /* rewards/accuracies: chosen > rejected */
    double margin;                         /* rewards/margins */
    double logp_chosen, logp_rejected;     /* logps/chosen, logps/rejected (as the loss uses them) */
    double nll_tokens, nll_sum;            /* chosen NLL: sum of -logp and token count */
    double log_odds, log_odds_ratio;       /* ORPO: log_odds_chosen, log_odds_ratio (sums) */
} ta_dpo_stats;

void ta_dpo_stats_add(ta_dpo_stats *dst, const ta_dpo_stats *src);

/* Computes this micro-batch's share of the step loss,
 *   loss = sum_i pair_loss_i / norm_pairs + w_nll * sum_i (-chosen_logp_i) / norm_chosen_tokens
 * (w_nll = rpo_alpha, or 1 for orpo), and its derivatives with respect to each
 * summed logp: d_chosen[i] = dloss/d chosen_logp[i], d_rejected likewise (the
 * reference is constant). Adds into *stats if non-NULL. On error (a length of
 * 0, a NaN input, ORPO with an average logp >= 0) outputs are untouched. */
int ta_dpo_loss(const ta_dpo_params *p, const ta_dpo_batch *b, double norm_pairs, double norm_chosen_tokens,
                double *loss, double *d_chosen, double *d_rejected, ta_dpo_stats *stats, ta_error *err);

#endif
