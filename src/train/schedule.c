#include "train/schedule.h"

#include <math.h>
#include <string.h>

double ta_schedule_factor(const ta_schedule *s, int64_t step) {
    int64_t w = s->warmup_steps;
    if (step < w) return (double)step / (double)(w > 1 ? w : 1);
    int64_t rest = s->total_steps - w;
    double denom = (double)(rest > 1 ? rest : 1);
    switch (s->kind) {
    case TA_SCHED_LINEAR: {
        double f = (double)(s->total_steps - step) / denom;
        return f > 0.0 ? f : 0.0;
    }
    case TA_SCHED_COSINE: {
        double progress = (double)(step - w) / denom;
        double f = 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * progress));
        return f > 0.0 ? f : 0.0;
    }
    case TA_SCHED_CONSTANT:
    default: return 1.0;
    }
}

double ta_schedule_lr(const ta_schedule *s, int64_t step) { return s->base_lr * ta_schedule_factor(s, step); }

static const char *const kind_names[] = {"constant", "linear", "cosine"};

int ta_schedule_parse_kind(const char *name, ta_sched_kind *kind, ta_error *err) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, kind_names[i])) {
            *kind = (ta_sched_kind)i;
            return TA_OK;
        }
    return ta_error_set(err, TA_EINVAL, "unknown schedule '%s' (want constant, linear or cosine)", name);
}

const char *ta_schedule_kind_name(ta_sched_kind kind) {
    return (unsigned)kind < 3 ? kind_names[kind] : "?";
}
