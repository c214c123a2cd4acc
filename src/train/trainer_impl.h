/* trainer_impl.h: the trainer's state, shared by trainer.c (the loop),
 * sft.c and dpo.c (their micro-batch and loss). Not a public header. */
#ifndef TA_TRAIN_TRAINER_IMPL_H
#define TA_TRAIN_TRAINER_IMPL_H

#include <jansson.h>

#include "train/trainer.h"

/* Sums over the micro-batches of one step (or one eval pass). */
typedef struct ta_step_acc {
    double loss;
    double tokens;                /* tokens the policy forwarded */
    double target_tokens;         /* tokens in the loss */
    ta_dpo_stats dpo;
    double logit_sum[2], logit_n[2]; /* logits/chosen, logits/rejected (sum of per-position vocab means) */
} ta_step_acc;

/* One data-parallel worker: its share of each micro-batch, run on its own
 * thread with its own activations and (workers > 0) its own gradient slab;
 * the trainer sums the slabs into worker 0's (the trainer's) after the step. */
typedef struct ta_worker {
    ta_acts *acts;           /* planned for (rows, T) */
    ta_batch batch;
    float *lp, *dlp, *mlogit; /* (rows, T) */
    ta_model grad;           /* workers > 0: own full-layout gradient slab */
    ta_weights *gw;          /* where backward writes: &t->grad.w or &grad.w, or (LoRA) &frozen */
    ta_weights frozen;       /* LoRA: a view of that slab with the unadapted tensors NULL (not computed) */
    int grad_fresh;          /* 1 until this step's first backward overwrites *gw */
    ta_step_acc acc;         /* this round's sums */
    ta_error err;
    int rc;
} ta_worker;

struct ta_trainer {
    ta_train_opts o;
    char out_dir[4096], model_dir[4096], tok_dir[4096], data_path[4096], eval_path[4096], ref_dir[4096];
    ta_encoder enc;
    ta_model model;          /* the policy (full) or the frozen base (LoRA) */
    ta_model ref;            /* frozen reference copy (full DPO, reference on the fly) */
    int have_ref;            /* ref holds a model */
    ta_lora lora;
    int use_lora;
    const ta_model *policy;  /* &model or &lora.policy */
    const ta_model *ref_model; /* where reference log-probs come from, NULL if none needed */
    ta_model grad;           /* full-layout gradient slab */
    float *params, *grads;   /* trainable (model slab / lora slab) and their gradient */
    size_t n_train;
    float *lora_grad;        /* (n_train) LoRA only */
    ta_param_info *tensors;  /* trainable tensor table (borrowed from model.w, or owned for LoRA) */
    size_t n_tensors;
    int own_tensors;
    ta_adamw opt;
    ta_schedule sched;
    ta_worker *wk;           /* (n_workers) */
    size_t n_workers;        /* data-parallel threads (1: the threads split each GEMM instead) */
    size_t per;              /* examples per worker per round: ceil(batch_size / n_workers) */
    size_t rows, T;          /* planned shape of one worker: per (SFT) or 2 per (DPO) rows */
    ta_batch batch;          /* a whole micro-batch, for ta_trainer_fill_batch (inspection) only */
    ta_dataset train, eval;
    int have_eval;
    size_t *n_target;        /* (train.n) SFT: trained tokens per example */
    size_t *eval_n_target;
    ta_data_order order;
    size_t *idx;             /* (batch_size * grad_accum) the step's examples */
    ta_train_state st;
    float *ref_cache, *eval_ref_cache; /* (2 n): chosen, rejected per pair; precompute-ref */
    json_t *last;
    FILE *metrics;
    int64_t total_steps;
    size_t steps_per_epoch;
};

/* Runs one worker's batch (already in w->batch, examples idx[0..n) of ds)
 * forward and, if backward, backward into w->gw; adds loss and metrics into
 * w->acc. Safe to call for different workers concurrently.
 * norm[0], norm[1]: the step's normalisers (SFT: trained tokens; DPO: pairs,
 * chosen tokens). ref_cache: precomputed reference log-probs of ds or NULL. */
int ta_sft_micro(const ta_trainer *t, ta_worker *w, const double norm[2], int backward, ta_error *err);
int ta_dpo_micro(const ta_trainer *t, ta_worker *w, const size_t *idx, size_t n, const float *ref_cache,
                 const double norm[2], int backward, ta_error *err);
/* Backward of w's last forward (d log-probs in w->dlp) into w->gw: the
 * worker's first backward of a step overwrites the slab (so no pass zeroes
 * it), later ones (more rounds, gradient accumulation) add to it. */
int ta_worker_backward(const ta_trainer *t, ta_worker *w, ta_error *err);
/* Reference log-probs (summed over completion tokens) of every pair of ds into cache (2 ds->n). */
int ta_dpo_precompute_ref(ta_trainer *t, const ta_dataset *ds, float *cache, ta_error *err);
/* Adds a step's metrics under TRL's names to obj (prefix "" or "eval_"). */
void ta_dpo_metrics(const ta_trainer *t, const ta_step_acc *acc, json_t *obj, const char *prefix);
/* One worker's share of examples idx[0..n), already in w->batch. */
typedef int (*ta_share_fn)(ta_trainer *t, ta_worker *w, const size_t *idx, size_t n, void *user);
/* Runs fn over idx[0..n) of ds in rounds of n_workers shares of `per`
 * examples, the workers in parallel; after each round adds the workers'
 * w->acc into acc (if not NULL) in worker order. The first failing worker's
 * error is returned. */
int ta_trainer_for_shares(ta_trainer *t, const ta_dataset *ds, const size_t *idx, size_t n, ta_share_fn fn, void *user,
                          ta_step_acc *acc, ta_error *err);
/* Rows of b with index >= b->B get length 0 (the plan is fixed). */
void ta_trainer_pad_rows(ta_batch *b);

#endif
