/* sft.c: supervised fine-tuning's loss: the mean negative log-likelihood of
 * the assistant tokens (the chat format's mask: content, tool calls and the
 * end-of-turn token), averaged over every such token of the optimizer step
 * (as transformers' Trainer does with num_items_in_batch), so gradient
 * accumulation equals one big batch. */
#include "train/trainer_impl.h"

int ta_sft_micro(const ta_trainer *t, ta_worker *w, const double norm[2], int backward, ta_error *err) {
    const ta_batch *b = &w->batch;
    size_t N = t->rows * t->T;
    int rc = ta_forward(t->policy, w->acts, b->tokens, b->lengths, b->targets, w->lp, NULL, err);
    if (rc) return rc;
    double nll = 0, inv = norm[0] > 0 ? 1.0 / norm[0] : 0;
    for (size_t i = 0; i < N; i++) {
        int on = b->targets[i] >= 0 && (i % t->T) < b->lengths[i / t->T];
        if (on) nll -= w->lp[i];
        w->dlp[i] = on ? (float)-inv : 0.0f;
    }
    w->acc.loss += nll * inv;
    w->acc.tokens += (double)b->n_tokens_total;
    w->acc.target_tokens += (double)b->n_target_total;
    if (backward) rc = ta_worker_backward(t, w, err);
    return rc;
}
