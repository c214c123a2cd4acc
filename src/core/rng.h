/* rng.h: a small, seedable, serialisable PRNG (xoshiro256** seeded through
 * splitmix64). The state is four words, so checkpoints can save and restore it
 * bit for bit. Not cryptographic. */
#ifndef TA_CORE_RNG_H
#define TA_CORE_RNG_H

#include <stdint.h>

typedef struct ta_rng {
    uint64_t s[4];
} ta_rng;

void ta_rng_seed(ta_rng *r, uint64_t seed);
uint64_t ta_rng_u64(ta_rng *r);
/* Uniform in [0, 1) with 24 bits (float) or 53 bits (double). */
float ta_rng_float(ta_rng *r);
double ta_rng_double(ta_rng *r);
/* Uniform integer in [0, n); n > 0. Unbiased (rejection). */
uint64_t ta_rng_below(ta_rng *r, uint64_t n);
/* Standard normal (Box-Muller, one value per call). */
double ta_rng_normal(ta_rng *r);

#endif
