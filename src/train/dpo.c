/* dpo.c: a DPO micro-batch: reference log-probs (precomputed, or a forward of
 * the reference model: the frozen copy, or with LoRA the base with adapters
 * off), the policy forward over the chosen rows then the rejected rows (TRL's
 * concatenated forward), the per-sequence summed completion log-probs, the
 * loss of dpo_loss.h, and a backward that puts d loss / d summed logp on every
 * completion token of its row. */
#include <stdlib.h>
#include <string.h>

#include "train/trainer_impl.h"

/* Summed target log-probs of row r of the current batch (double accumulation). */
static double row_sum(const ta_trainer *t, const ta_batch *b, const float *lp, size_t r) {
    double s = 0;
    for (size_t k = 0; k < b->lengths[r]; k++)
        if (b->targets[r * t->T + k] >= 0) s += lp[r * t->T + k];
    return s;
}

/* Reference sums of the worker's batch rows 0..2n into ref[2n] (chosen rows
 * first). Uses w->lp as scratch; the policy forward comes after. */
static int reference_sums(const ta_trainer *t, ta_worker *w, size_t n, double *ref, ta_error *err) {
    const ta_batch *b = &w->batch;
    int rc = ta_forward(t->ref_model, w->acts, b->tokens, b->lengths, b->targets, w->lp, NULL, err);
    if (rc) return rc;
    for (size_t r = 0; r < 2 * n; r++) ref[r] = row_sum(t, b, w->lp, r);
    return TA_OK;
}

/* One worker's share: the reference sums of its pairs into the cache. */
static int precompute_share(ta_trainer *t, ta_worker *w, const size_t *idx, size_t n, void *user) {
    float *cache = user;
    double *ref = malloc(2 * (n ? n : 1) * sizeof *ref);
    if (!ref) return ta_error_set(&w->err, TA_ENOMEM, "out of memory");
    int rc = reference_sums(t, w, n, ref, &w->err);
    for (size_t k = 0; !rc && k < n; k++) {
        cache[2 * idx[k]] = (float)ref[k];
        cache[2 * idx[k] + 1] = (float)ref[n + k];
    }
    free(ref);
    return rc;
}

int ta_dpo_precompute_ref(ta_trainer *t, const ta_dataset *ds, float *cache, ta_error *err) {
    size_t *idx = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    if (!idx) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < ds->n; i++) idx[i] = i;
    int rc = ta_trainer_for_shares(t, ds, idx, ds->n, precompute_share, cache, NULL, err);
    free(idx);
    return rc;
}

int ta_dpo_micro(const ta_trainer *t, ta_worker *w, const size_t *idx, size_t n, const float *ref_cache,
                 const double norm[2], int backward, ta_error *err) {
    const ta_batch *b = &w->batch;
    ta_step_acc *acc = &w->acc;
    int need_ref = ta_dpo_needs_reference(t->o.dpo.type);
    double *v = malloc(6 * n * sizeof *v);
    size_t *len = malloc(2 * n * sizeof *len);
    if (!v || !len) {
        free(v), free(len);
        return ta_error_set(err, TA_ENOMEM, "out of memory");
    }
    double *pol = v, *ref = v + 2 * n, *d = v + 4 * n; /* each (2n): chosen rows then rejected rows */
    int rc = TA_OK;
    if (need_ref) {
        if (ref_cache) {
            /* Widened from float: the cache is the same floats on every epoch and resume. */
            for (size_t k = 0; k < n; k++) {
                ref[k] = ref_cache[2 * idx[k]];
                ref[n + k] = ref_cache[2 * idx[k] + 1];
            }
        } else if ((rc = reference_sums(t, w, n, ref, err))) {
            goto done;
        }
    }
    if ((rc = ta_forward(t->policy, w->acts, b->tokens, b->lengths, b->targets, w->lp, w->mlogit, err))) goto done;
    for (size_t r = 0; r < 2 * n; r++) {
        pol[r] = row_sum(t, b, w->lp, r);
        len[r] = b->n_target[r];
        /* logits/chosen, logits/rejected: TRL's mean of the logits over completion positions */
        int side = r >= n;
        for (size_t k = 0; k < b->lengths[r]; k++)
            if (b->targets[r * t->T + k] >= 0) {
                acc->logit_sum[side] += w->mlogit[r * t->T + k];
                acc->logit_n[side] += 1;
            }
    }
    ta_dpo_batch db = {n, pol, pol + n, need_ref ? ref : NULL, need_ref ? ref + n : NULL, len, len + n};
    double loss;
    if ((rc = ta_dpo_loss(&t->o.dpo, &db, norm[0], norm[1], &loss, d, d + n, &acc->dpo, err))) goto done;
    acc->loss += loss;
    acc->tokens += (double)b->n_tokens_total;
    acc->target_tokens += (double)b->n_target_total;
    if (backward) {
        size_t N = t->rows * t->T;
        for (size_t i = 0; i < N; i++) {
            size_t r = i / t->T;
            w->dlp[i] = r < 2 * n && b->targets[i] >= 0 && (i % t->T) < b->lengths[r] ? (float)d[r] : 0.0f;
        }
        rc = ta_worker_backward(t, w, err);
    }
done:
    free(v);
    free(len);
    return rc;
}

void ta_dpo_metrics(const ta_trainer *t, const ta_step_acc *acc, json_t *obj, const char *prefix) {
    const ta_dpo_stats *s = &acc->dpo;
    double n = s->n_pairs > 0 ? s->n_pairs : 1;
    char key[64];
#define PUT(name, val)                                                                                                \
    do {                                                                                                              \
        snprintf(key, sizeof key, "%s%s", prefix, name);                                                              \
        json_object_set_new(obj, key, json_real(val));                                                                \
    } while (0)
    PUT("rewards/chosen", s->reward_chosen / n);
    PUT("rewards/rejected", s->reward_rejected / n);
    PUT("rewards/accuracies", s->accuracy / n);
    PUT("rewards/margins", s->margin / n);
    PUT("logps/chosen", s->logp_chosen / n);
    PUT("logps/rejected", s->logp_rejected / n);
    PUT("logits/chosen", acc->logit_n[0] > 0 ? acc->logit_sum[0] / acc->logit_n[0] : 0);
    PUT("logits/rejected", acc->logit_n[1] > 0 ? acc->logit_sum[1] / acc->logit_n[1] : 0);
    if (t->o.dpo.type == TA_DPO_ORPO || t->o.dpo.rpo_alpha > 0)
        PUT("nll_loss", s->nll_tokens > 0 ? s->nll_sum / s->nll_tokens : 0);
    if (t->o.dpo.type == TA_DPO_ORPO) {
        PUT("log_odds_ratio", s->log_odds_ratio / n);
        PUT("log_odds_chosen", s->log_odds / n);
    }
#undef PUT
}
