/* sft.c: supervised fine-tuning's loss: the mean negative log-likelihood of
 * the assistant tokens (the chat format's mask: content, tool calls and the
 * end-of-turn token), averaged over every such token of the optimizer step
 * (as transformers' Trainer does with num_items_in_batch), so gradient
 * accumulation equals one big batch. */
#include "train/trainer_impl.h"

int ta_sft_micro(ta_trainer *t, const double norm[2], int backward, ta_step_acc *acc, ta_error *err) {
    const ta_batch *b = &t->batch;
    size_t N = t->rows * t->T;
    int rc = ta_forward(t->policy, t->acts, b->tokens, b->lengths, b->targets, t->lp, NULL, err);
    if (rc) return rc;
    double nll = 0, inv = norm[0] > 0 ? 1.0 / norm[0] : 0;
    for (size_t i = 0; i < N; i++) {
        int on = b->targets[i] >= 0 && (i % t->T) < b->lengths[i / t->T];
        if (on) nll -= t->lp[i];
        t->dlp[i] = on ? (float)-inv : 0.0f;
    }
    acc->loss += nll * inv;
    acc->tokens += (double)b->n_tokens_total;
    acc->target_tokens += (double)b->n_target_total;
    if (backward) rc = ta_backward(t->policy, t->acts, t->dlp, &t->grad.w, err);
    return rc;
}
