/* sampler.h: picks the next token from a row of logits.
 *
 * The pipeline follows Hugging Face generate()'s logits processors, in its
 * order: repetition penalty (RepetitionPenaltyLogitsProcessor), temperature
 * (TemperatureLogitsWarper), top-k (TopKLogitsWarper: keeps every token whose
 * logit is >= the k-th largest, so ties at the boundary are kept), top-p
 * (TopPLogitsWarper: the smallest set of most probable tokens whose cumulative
 * probability is >= p, never fewer than one), then a draw from the remaining
 * distribution. temperature <= 0 (or top_k == 1) is greedy: the argmax, ties
 * going to the lowest id as torch.argmax does.
 *
 * A sampler owns its RNG (core/rng.h) and scratch for one vocabulary, so one
 * sequence's draws are a pure function of (seed, logits seen): deterministic
 * and reproducible. No allocation after init. Not thread-safe; give each
 * sequence its own. */
#ifndef TA_MODEL_SAMPLER_H
#define TA_MODEL_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

typedef struct ta_sampler_params {
    float temperature;        /* <= 0: greedy */
    size_t top_k;             /* 0: off */
    float top_p;              /* >= 1: off; 0: only the most probable token */
    float repetition_penalty; /* 1 (or <= 0): off; HF semantics, applied to ids in `history` */
} ta_sampler_params;

/* temperature 1, top_k 0, top_p 1, repetition_penalty 1: plain sampling. */
ta_sampler_params ta_sampler_params_default(void);

typedef struct ta_sampler_cand {
    float p;    /* probability (unnormalised while filtering) */
    int32_t id; /* token id */
} ta_sampler_cand;

typedef struct ta_sampler {
    ta_sampler_params p;
    ta_rng rng;
    size_t vocab_size;  /* V */
    ta_sampler_cand *cand; /* (V) scratch: the surviving tokens, owned */
    float *heap;           /* (V) scratch for top-k selection, owned */
    uint8_t *seen;         /* (V) scratch for the repetition penalty, owned */
} ta_sampler;

/* Validates params (temperature finite, top_p in range, penalty >= 0) and
 * allocates scratch for vocab_size. */
int ta_sampler_init(ta_sampler *s, const ta_sampler_params *p, size_t vocab_size, uint64_t seed, ta_error *err);
void ta_sampler_release(ta_sampler *s);

/* Returns the next token for `logits` (V floats, modified in place by the
 * penalty and temperature). history/n_history: the ids so far (prompt and
 * generated) for the repetition penalty; may be NULL/0. */
int32_t ta_sampler_sample(ta_sampler *s, float *logits, const int32_t *history, size_t n_history);

/* Writes to probs (V) the distribution ta_sampler_sample draws from (zeros for
 * filtered tokens; for greedy a one-hot at the argmax). For tests and for
 * callers that want the probabilities. Does not touch the RNG. Modifies
 * logits like ta_sampler_sample. */
void ta_sampler_distribution(ta_sampler *s, float *logits, const int32_t *history, size_t n_history, float *probs);

/* Index of the largest of n values (lowest index on ties); n > 0. */
size_t ta_argmax(const float *x, size_t n);

#endif
