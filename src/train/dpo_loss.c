#include "train/dpo_loss.h"

#include <math.h>
#include <string.h>

static const char *const loss_names[] = {"sigmoid", "ipo", "hinge", "robust", "simpo", "orpo"};

void ta_dpo_params_default(ta_dpo_params *p) {
    memset(p, 0, sizeof *p);
    p->type = TA_DPO_SIGMOID;
    p->beta = 0.1;
    p->simpo_gamma = 0.5;
    p->orpo_lambda = 0.1;
}

int ta_dpo_loss_parse(const char *name, ta_dpo_loss_type *out) {
    for (size_t i = 0; i < sizeof loss_names / sizeof *loss_names; i++)
        if (!strcmp(name, loss_names[i])) { *out = (ta_dpo_loss_type)i; return 0; }
    return -1;
}

const char *ta_dpo_loss_name(ta_dpo_loss_type t) {
    return (unsigned)t < sizeof loss_names / sizeof *loss_names ? loss_names[t] : "?";
}

int ta_dpo_needs_reference(ta_dpo_loss_type t) { return t != TA_DPO_SIMPO && t != TA_DPO_ORPO; }

int ta_dpo_params_validate(const ta_dpo_params *p, ta_error *err) {
    if ((unsigned)p->type > TA_DPO_ORPO) return ta_error_set(err, TA_EINVAL, "unknown loss type %d", (int)p->type);
    if (!(p->beta > 0) || !isfinite(p->beta)) return ta_error_set(err, TA_EINVAL, "--beta must be > 0 (got %g)", p->beta);
    if (!(p->label_smoothing >= 0 && p->label_smoothing < 0.5))
        return ta_error_set(err, TA_EINVAL, "--label-smoothing must be in [0, 0.5) (got %g)", p->label_smoothing);
    if (p->label_smoothing > 0 && p->type != TA_DPO_SIGMOID && p->type != TA_DPO_ROBUST && p->type != TA_DPO_SIMPO)
        return ta_error_set(err, TA_EINVAL, "--label-smoothing applies to sigmoid, robust and simpo, not %s",
                            ta_dpo_loss_name(p->type));
    if (!(p->rpo_alpha >= 0) || !isfinite(p->rpo_alpha))
        return ta_error_set(err, TA_EINVAL, "--rpo-alpha must be >= 0 (got %g)", p->rpo_alpha);
    if (!isfinite(p->simpo_gamma)) return ta_error_set(err, TA_EINVAL, "--simpo-gamma must be finite");
    if (!(p->orpo_lambda >= 0) || !isfinite(p->orpo_lambda))
        return ta_error_set(err, TA_EINVAL, "--orpo-lambda must be >= 0 (got %g)", p->orpo_lambda);
    return TA_OK;
}

void ta_dpo_stats_add(ta_dpo_stats *dst, const ta_dpo_stats *src) {
    dst->n_pairs += src->n_pairs;
    dst->reward_chosen += src->reward_chosen;
    dst->reward_rejected += src->reward_rejected;
    dst->accuracy += src->accuracy;
    dst->margin += src->margin;
    dst->logp_chosen += src->logp_chosen;
    dst->logp_rejected += src->logp_rejected;
    dst->nll_tokens += src->nll_tokens;
    dst->nll_sum += src->nll_sum;
    dst->log_odds += src->log_odds;
    dst->log_odds_ratio += src->log_odds_ratio;
}

/* log(sigmoid(x)) without overflow, as torch.nn.functional.logsigmoid. */
static double logsig(double x) { return x < 0 ? x - log1p(exp(x)) : -log1p(exp(-x)); }
static double sig(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
/* log(1 - e^a) for a < 0, accurate at both ends (Maechler's log1mexp). */
static double log1mexp(double a) { return a > -M_LN2 ? log(-expm1(a)) : log1p(-exp(a)); }

/* The sigmoid-family loss of z = beta*logits and its derivative dL/dz. */
static void sigmoid_loss(double z, double ls, double *l, double *dz) {
    *l = -(1 - ls) * logsig(z) - ls * logsig(-z);
    *dz = -(1 - ls) * sig(-z) + ls * sig(z);
}

int ta_dpo_loss(const ta_dpo_params *p, const ta_dpo_batch *b, double norm_pairs, double norm_chosen_tokens,
                double *loss, double *d_chosen, double *d_rejected, ta_dpo_stats *stats, ta_error *err) {
    int rc = ta_dpo_params_validate(p, err);
    if (rc) return rc;
    int ref = ta_dpo_needs_reference(p->type);
    if (ref && (!b->ref_chosen_logp || !b->ref_rejected_logp))
        return ta_error_set(err, TA_EINVAL, "loss '%s' needs reference log-probabilities", ta_dpo_loss_name(p->type));
    if (!(norm_pairs > 0)) return ta_error_set(err, TA_EINVAL, "norm_pairs must be > 0");
    double w_nll = p->type == TA_DPO_ORPO ? 1.0 : p->rpo_alpha;
    if (w_nll > 0 && !(norm_chosen_tokens > 0)) return ta_error_set(err, TA_EINVAL, "norm_chosen_tokens must be > 0");
    for (size_t i = 0; i < b->n; i++) {
        if (b->chosen_len[i] == 0 || b->rejected_len[i] == 0)
            return ta_error_set(err, TA_EINVAL, "pair %zu: empty completion", i);
        double v[4] = {b->chosen_logp[i], b->rejected_logp[i], ref ? b->ref_chosen_logp[i] : 0,
                       ref ? b->ref_rejected_logp[i] : 0};
        for (int k = 0; k < 4; k++)
            if (!isfinite(v[k])) return ta_error_set(err, TA_EINVAL, "pair %zu: log-probability is not finite", i);
    }

    ta_dpo_stats st = {0};
    double total = 0;
    for (size_t i = 0; i < b->n; i++) {
        double lc = (double)b->chosen_len[i], lr = (double)b->rejected_len[i];
        double pc = b->chosen_logp[i], pr = b->rejected_logp[i];
        double rc_ = ref ? b->ref_chosen_logp[i] : 0, rr = ref ? b->ref_rejected_logp[i] : 0;
        /* Averaged-logp losses work on a = p / len; chain rule back to p below. */
        int avg = p->type == TA_DPO_IPO || p->type == TA_DPO_SIMPO || p->type == TA_DPO_ORPO;
        if (avg) { pc /= lc; pr /= lr; rc_ /= lc; rr /= lr; }
        double l = 0, dpc = 0, dpr = 0; /* pair loss and its derivative wrt pc, pr (in the space used) */
        double rw_c, rw_r;
        double logits = (pc - rc_) - (pr - rr);
        double beta = p->beta, ls = p->label_smoothing;
        switch (p->type) {
        case TA_DPO_SIGMOID: {
            double dz;
            sigmoid_loss(beta * logits, ls, &l, &dz);
            dpc = beta * dz; dpr = -beta * dz;
            break;
        }
        case TA_DPO_ROBUST: {
            double z = beta * logits;
            l = (-(1 - ls) * logsig(z) + ls * logsig(-z)) / (1 - 2 * ls);
            double dz = (-(1 - ls) * sig(-z) - ls * sig(z)) / (1 - 2 * ls);
            dpc = beta * dz; dpr = -beta * dz;
            break;
        }
        case TA_DPO_HINGE: {
            double h = 1 - beta * logits;
            l = h > 0 ? h : 0;
            double dz = h > 0 ? -1.0 : 0.0; /* torch relu: gradient 0 at 0 */
            dpc = beta * dz; dpr = -beta * dz;
            break;
        }
        case TA_DPO_IPO: {
            double d = logits - 1 / (2 * beta);
            l = d * d;
            dpc = 2 * d; dpr = -2 * d;
            break;
        }
        case TA_DPO_SIMPO: {
            double dz;
            logits = (pc - pr) - p->simpo_gamma / beta;
            sigmoid_loss(beta * logits, ls, &l, &dz);
            dpc = beta * dz; dpr = -beta * dz;
            break;
        }
        case TA_DPO_ORPO: {
            /* An average logp of exactly 0 (every token certain) would make
             * log(1 - e^a) -inf; clamp that term just below 0. */
            double ac = pc < -1e-9 ? pc : -1e-9, ar = pr < -1e-9 ? pr : -1e-9;
            double lo = (pc - pr) - (log1mexp(ac) - log1mexp(ar));
            double ratio = logsig(lo);
            l = -p->orpo_lambda * ratio;
            /* d log_odds / d ac = 1 / (1 - e^ac); d / d ar = -1 / (1 - e^ar) */
            double dlo = -p->orpo_lambda * sig(-lo);
            dpc = dlo / (-expm1(ac));
            dpr = -dlo / (-expm1(ar));
            st.log_odds += lo;
            st.log_odds_ratio += ratio;
            break;
        }
        }
        if (p->type == TA_DPO_SIMPO || p->type == TA_DPO_ORPO) {
            double s = p->type == TA_DPO_ORPO ? p->orpo_lambda : beta;
            rw_c = s * pc; rw_r = s * pr;
        } else {
            rw_c = beta * (pc - rc_); rw_r = beta * (pr - rr);
        }
        if (avg) { dpc /= lc; dpr /= lr; }
        total += l / norm_pairs;
        double gc = dpc / norm_pairs, gr = dpr / norm_pairs;
        if (w_nll > 0) {
            total += w_nll * -b->chosen_logp[i] / norm_chosen_tokens;
            gc += -w_nll / norm_chosen_tokens;
        }
        d_chosen[i] = gc;
        d_rejected[i] = gr;
        st.n_pairs += 1;
        st.reward_chosen += rw_c;
        st.reward_rejected += rw_r;
        st.accuracy += rw_c > rw_r ? 1.0 : 0.0;
        st.margin += rw_c - rw_r;
        st.logp_chosen += pc;
        st.logp_rejected += pr;
        st.nll_tokens += lc;
        st.nll_sum += -b->chosen_logp[i];
    }
    *loss = total;
    if (stats) ta_dpo_stats_add(stats, &st);
    return TA_OK;
}
