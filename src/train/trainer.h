/* trainer.h: the SFT and DPO trainers and the loop they share.
 *
 * One optimizer step = up to grad_accum micro-batches of batch_size examples
 * taken in order from the epoch's permutation (a step never crosses an epoch
 * boundary, so the last step of an epoch may be smaller, as in HF Trainer).
 * Losses are normalised over the whole step (SFT: per assistant token; DPO:
 * per pair, and per chosen token for the NLL terms), so accumulation equals
 * one big batch. Then, in this order:
 *   [LoRA: dA, dB from the full dW] -> reduce (the one place a data-parallel
 *   all-reduce goes, docs/training.md) -> clip (global norm, default 1.0) ->
 *   AdamW at the schedule's lr -> [LoRA: re-merge W_eff] -> log / eval / save.
 *
 * Determinism: the same seed, data, options and thread count give the same
 * bits; a run resumed from a checkpoint continues exactly as if never stopped
 * (the data position, AdamW state and step are restored; nothing else is
 * random). The stop flag (set by the CLI's SIGINT handler) is polled between
 * steps: the trainer saves a checkpoint and returns TA_EINTERRUPTED. */
#ifndef TA_TRAIN_TRAINER_H
#define TA_TRAIN_TRAINER_H

#include <signal.h>
#include <stdio.h>

#include "model/model.h"
#include "model/transformer.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/dpo_loss.h"
#include "train/lora.h"
#include "train/schedule.h"

typedef struct ta_train_opts {
    ta_data_kind kind;          /* SFT or DPO (preference data) */
    const char *model_dir;      /* --model (SFT: or NULL with init_config) */
    const char *init_config;    /* SFT --init CONFIG.json */
    const char *tokenizer_dir;  /* tokenizer files to copy into outputs (default: model_dir) */
    const char *data, *eval;    /* JSONL; eval may be NULL */
    const char *out_dir;
    size_t epochs;              /* default 3 */
    int64_t max_steps;          /* > 0 wins over epochs */
    size_t batch_size;          /* examples (pairs) per micro-batch, default 8 */
    size_t grad_accum;          /* default 1 */
    double lr;                  /* SFT 2e-5, DPO 1e-6 (TRL's defaults) */
    double warmup_ratio;        /* default 0 */
    ta_sched_kind schedule;     /* default linear (HF) */
    double weight_decay;        /* default 0 (HF) */
    double max_grad_norm;       /* default 1.0; 0 disables clipping */
    size_t max_length;          /* default 1024 */
    size_t max_prompt_length;   /* DPO, default 512 */
    uint64_t seed;              /* default 42 */
    int threads;                /* 0: all cores */
    size_t log_every;           /* default 1 */
    size_t eval_every;          /* 0: at the end only */
    size_t save_every;          /* 0: no periodic checkpoints (Ctrl-C still saves one) */
    size_t keep;                /* 0: keep every checkpoint */
    const char *resume;         /* NULL: fresh; "": newest checkpoint in out_dir; else a checkpoint folder */
    int strict;
    /* DPO */
    ta_dpo_params dpo;
    ta_lora_config lora;        /* lora.r == 0: full fine-tuning */
    int precompute_ref;
    const char *ref_model;      /* default: model_dir */
    /* plumbing */
    const volatile sig_atomic_t *stop; /* polled between steps; may be NULL */
    FILE *log;                  /* progress, summary (stderr); NULL: silent */
} ta_train_opts;

/* Defaults as documented above for kind. */
void ta_train_opts_default(ta_train_opts *o, ta_data_kind kind);

typedef struct ta_trainer ta_trainer;

/* Loads the model(s) and data, plans memory, and restores a checkpoint when
 * o->resume is set. enc turns text into ids (text_encoder.h for the model's
 * tokenizer and chat template). Nothing is trained yet. */
int ta_trainer_open(ta_trainer **t, const ta_train_opts *o, const ta_encoder *enc, ta_error *err);
/* Runs the steps left, writes metrics.jsonl, checkpoints and the final model
 * folder into out_dir. TA_EINTERRUPTED after a stop request (checkpoint saved). */
int ta_trainer_run(ta_trainer *t, ta_error *err);
void ta_trainer_close(ta_trainer *t);
/* One optimizer step of the loop (data, gradient, clip, AdamW) with no
 * logging or saving; its metrics (plus "step_s", "tokens") are then
 * ta_trainer_last_metrics. For benchmarks. TA_ERANGE when all steps are done. */
int ta_trainer_step(ta_trainer *t, ta_error *err);

/* For tests and the oracle: the gradient of the step made of train examples
 * idx[0..n) (split into micro-batches of batch_size), with no update. *loss
 * gets the step loss. The trainable gradient (full: model layout; LoRA: the
 * adapter slab) is then at ta_trainer_grad. */
int ta_trainer_step_grad(ta_trainer *t, const size_t *idx, size_t n, double *loss, ta_error *err);
const float *ta_trainer_grad(const ta_trainer *t, size_t *n);
/* The trainable parameters' tensor table (HF names, or PEFT names for LoRA)
 * over ta_trainer_params. */
const ta_param_info *ta_trainer_tensors(const ta_trainer *t, size_t *n);
float *ta_trainer_params(ta_trainer *t, size_t *n);
const ta_dataset *ta_trainer_dataset(const ta_trainer *t);
ta_lora *ta_trainer_lora(ta_trainer *t);
/* The last step's (or eval's) TRL-named metrics as a JSON object (borrowed). */
const json_t *ta_trainer_last_metrics(const ta_trainer *t);
/* Data-parallel workers each step runs on (1: the threads split each GEMM). */
size_t ta_trainer_workers(const ta_trainer *t);
/* Dumps the batch of examples idx[0..n) as it reaches the model (rows, for tests). */
const ta_batch *ta_trainer_fill_batch(ta_trainer *t, const size_t *idx, size_t n, ta_error *err);

#endif
