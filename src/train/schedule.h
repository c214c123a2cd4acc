/* schedule.h: learning-rate schedules of Hugging Face transformers:
 * linear warmup from 0, then cosine decay to 0 (get_cosine_schedule_with_warmup,
 * num_cycles 0.5), linear decay to 0 (get_linear_schedule_with_warmup) or
 * constant (get_constant_schedule_with_warmup).
 *
 * `step` is the number of optimizer steps already taken (the LambdaLR's
 * last_epoch when optimizer.step() runs): the first update uses step 0, so
 * with warmup > 0 it has learning rate 0, exactly as in transformers. */
#ifndef TA_TRAIN_SCHEDULE_H
#define TA_TRAIN_SCHEDULE_H

#include <stdint.h>

#include "core/error.h"

typedef enum { TA_SCHED_CONSTANT = 0, TA_SCHED_LINEAR = 1, TA_SCHED_COSINE = 2 } ta_sched_kind;

typedef struct ta_schedule {
    ta_sched_kind kind;
    double base_lr;
    int64_t warmup_steps;
    int64_t total_steps; /* training steps (for linear / cosine) */
} ta_schedule;

/* Multiplier lambda(step) in [0, 1]. */
double ta_schedule_factor(const ta_schedule *s, int64_t step);
/* base_lr * lambda(step). */
double ta_schedule_lr(const ta_schedule *s, int64_t step);
/* "constant" | "linear" | "cosine" -> kind; TA_EINVAL naming the value otherwise. */
int ta_schedule_parse_kind(const char *name, ta_sched_kind *kind, ta_error *err);
const char *ta_schedule_kind_name(ta_sched_kind kind);

#endif
