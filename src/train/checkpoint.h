/* checkpoint.h: training checkpoints that resume bit for bit.
 *
 * A checkpoint is a folder OUT/checkpoint-<step>/ holding
 *   the trainable weights, written by the trainer as a loadable folder
 *     (config.json + model.safetensors, or adapter_config.json +
 *     adapter_model.safetensors for LoRA), F32 so nothing is rounded;
 *   optimizer.safetensors  AdamW's exp_avg.<name> and exp_avg_sq.<name> (F32);
 *   trainer_state.json     step, data position, RNG state, AdamW step and the
 *                          run's shape (checked on resume).
 * It is built in "checkpoint-<step>.tmp" (every file written tmp + fsync +
 * rename) and the folder is renamed into place last, so a crash leaves either
 * the previous checkpoint set or the new one, never half of one. */
#ifndef TA_TRAIN_CHECKPOINT_H
#define TA_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/weights.h"

typedef struct ta_train_state {
    int64_t step;         /* optimizer steps taken */
    int64_t adam_step;    /* AdamW's own counter */
    size_t epoch, pos;    /* next micro-batch: position pos of epoch's permutation */
    ta_rng rng;
    double tokens_seen;   /* tokens forwarded (for tokens/s across resumes) */
    double elapsed_s;     /* training seconds before this run */
    /* the run's shape: a resume with different values is refused */
    char kind[8];         /* "sft" | "dpo" */
    uint64_t seed;
    size_t batch_size, grad_accum, n_examples;
    int64_t total_steps;
} ta_train_state;

/* Creates (emptied) the staging folder for checkpoint-<step> under out_dir
 * and writes its path to tmp_dir (cap bytes). */
int ta_checkpoint_begin(const char *out_dir, int64_t step, char *tmp_dir, size_t cap, ta_error *err);
/* Writes trainer_state.json and optimizer.safetensors (m, v over the tensor
 * table t[0..nt), offsets into m and v) into tmp_dir. */
int ta_checkpoint_write_state(const char *tmp_dir, const ta_train_state *st, const ta_param_info *t, size_t nt,
                              const float *m, const float *v, ta_error *err);
/* Renames tmp_dir to out_dir/checkpoint-<step> (replacing one that exists) and
 * fsyncs out_dir. Then, if keep > 0, deletes all but the newest keep
 * checkpoints. final_dir (may be NULL) gets the checkpoint's path. */
int ta_checkpoint_commit(const char *out_dir, const char *tmp_dir, int64_t step, size_t keep, char *final_dir,
                         size_t cap, ta_error *err);
/* Reads trainer_state.json and optimizer.safetensors of a checkpoint folder. */
int ta_checkpoint_read_state(const char *dir, ta_train_state *st, const ta_param_info *t, size_t nt, float *m, float *v,
                             ta_error *err);
/* The newest out_dir/checkpoint-<step> (TA_ENOTFOUND if none). */
int ta_checkpoint_latest(const char *out_dir, char *dir, size_t cap, ta_error *err);
/* Checks that a resumed run has the saved run's shape; names the first difference. */
int ta_checkpoint_check_compatible(const ta_train_state *saved, const ta_train_state *now, ta_error *err);
/* rm -r (used for pruning and staging). */
int ta_remove_tree(const char *path, ta_error *err);

#endif
