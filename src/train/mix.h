/* mix.h: a training file mixed from several JSONL files (`taskalign data mix`).
 *
 * Each source gives all its lines or a random sample of `take` of them
 * (without replacement); the union is shuffled and written atomically. The
 * on-policy DPO round uses it: the pairs `data from-eval` made from the
 * model's own failures plus a replayed sample of the first round's pairs, so
 * the second round does not forget what the first taught. Deterministic for a
 * seed. Every line must be a JSON object (FILE:LINE: what is wrong otherwise);
 * blank lines are dropped. */
#ifndef TA_TRAIN_MIX_H
#define TA_TRAIN_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ta_mix_source {
    char path[4096];
    long take;    /* lines to sample; -1: all of them */
    size_t lines; /* set by ta_mix: the file's non-blank lines */
} ta_mix_source;

/* "FILE" (all lines) or "FILE:N" (N random lines; N >= 0). */
int ta_mix_source_parse(const char *arg, ta_mix_source *out, ta_error *err);

/* Writes the mix to out_path; *total: lines written. Asking for more lines
 * than a file has is an error naming the file. */
int ta_mix(ta_mix_source *src, size_t n, uint64_t seed, const char *out_path, size_t *total, ta_error *err);

#endif
