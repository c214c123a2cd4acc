/* generate.h: token generation with a KV cache, several sequences per batch.
 *
 *   ta_gen_params p = ta_gen_params_default(&model.cfg);   // greedy, config EOS ids
 *   p.max_tokens = 64; p.sampler.temperature = 0.7f; p.sampler.top_p = 0.9f; p.seed = 1;
 *   ta_gen_output out[2];
 *   rc = ta_generate_batch(&model, prompts, prompt_lens, 2, &p, out, &err);
 *   ... out[i].tokens, out[i].n_tokens, out[i].finish ...
 *   ta_gen_output_release(&out[i]);
 *
 * How it runs: the prompts are prefilled together (all their tokens through
 * each projection as one GEMM, in chunks of at most prefill_chunk tokens so
 * long prompts do not need (T, T) attention buffers per head for the whole
 * prompt at once); then each decode step advances every unfinished sequence
 * by one token with one matrix product per projection over the batch (rows =
 * sequences) and attention per sequence over its own cache. Prompts of
 * different lengths mix freely; a finished sequence drops out of the batch.
 *
 * Results do not depend on batching: sequence i of a batch produces the same
 * tokens as the same prompt generated alone with seed (seed + i), up to
 * floating-point summation order in the GEMMs (a difference a tie in the
 * logits could expose; the tests check equality on random models).
 *
 * Threads: the model is only read. Any number of threads may call
 * ta_generate_batch on one model at once; each call owns its caches, scratch
 * and samplers. Inside, BLAS and OpenMP use the counts set by ta_threads_set. */
#ifndef TA_MODEL_GENERATE_H
#define TA_MODEL_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/model.h"
#include "model/sampler.h"

/* A stop sequence of token ids: generation of a sequence stops once its
 * generated tokens end with it (the stop tokens stay in the output). */
typedef struct ta_token_seq {
    const int32_t *ids;
    size_t n;
} ta_token_seq;

/* Called after each token is appended to sequence `seq` (generated[0..n)
 * are all its tokens so far). Return 0 to continue, > 0 to stop this sequence
 * (finish TA_FINISH_STOP), < 0 to abort the whole batch (TA_EINTERRUPTED).
 * The stop-string check: decode the text so far and look for the strings. */
typedef int (*ta_gen_stop_fn)(void *user, size_t seq, const int32_t *generated, size_t n_generated);
/* Streaming: called once per generated token (EOS ids excluded), in order.
 * Same return convention as ta_gen_stop_fn. */
typedef int (*ta_gen_token_fn)(void *user, size_t seq, int32_t token);
/* Diagnostics/tests: the raw logits (V) from which token `step` (0 = the one
 * after the prompt) of sequence `seq` is about to be sampled. Return as above. */
typedef int (*ta_gen_logits_fn)(void *user, size_t seq, size_t step, const float *logits, size_t vocab_size);

typedef struct ta_gen_params {
    size_t max_tokens;         /* new tokens per sequence (>= 1); the context window may stop it sooner */
    ta_sampler_params sampler; /* temperature <= 0: greedy */
    uint64_t seed;             /* sequence i of a batch samples with seed + i */
    const int32_t *eos_ids;    /* (n_eos) ids that end a sequence (not copied to the output) */
    size_t n_eos;
    const ta_token_seq *stop_seqs; /* (n_stop_seqs) token stop sequences; may be NULL */
    size_t n_stop_seqs;
    ta_gen_stop_fn stop;       /* may be NULL */
    ta_gen_token_fn on_token;  /* may be NULL */
    ta_gen_logits_fn on_logits; /* may be NULL */
    void *user;                /* passed to the three callbacks */
    size_t prefill_chunk;      /* most prompt tokens per prefill forward; 0: 512 */
} ta_gen_params;

/* Greedy, max_tokens 16, seed 0, EOS ids from cfg (the pointer refers into
 * *cfg, which must outlive the params). */
ta_gen_params ta_gen_params_default(const ta_config *cfg);

typedef enum {
    TA_FINISH_LENGTH = 0, /* max_tokens reached, or the context window (max_position_embeddings) is full */
    TA_FINISH_EOS = 1,    /* an EOS id was sampled */
    TA_FINISH_STOP = 2    /* a stop sequence matched, or a callback asked to stop */
} ta_finish_reason;

/* "length", "eos", "stop" */
const char *ta_finish_name(ta_finish_reason r);

typedef struct ta_gen_output {
    int32_t *tokens;  /* (n_tokens) generated ids, EOS excluded; malloc'd, owned */
    size_t n_tokens;
    ta_finish_reason finish;
} ta_gen_output;

void ta_gen_output_release(ta_gen_output *o);

/* Generates continuations of n prompts (prompts[i]: prompt_lens[i] >= 1 ids)
 * in one batch and fills outputs[0..n). Errors (bad ids, a prompt that does not
 * fit the context window, out of memory, a callback abort) leave outputs
 * untouched; tokens already streamed through on_token stay streamed. */
int ta_generate_batch(const ta_model *m, const int32_t *const *prompts, const size_t *prompt_lens, size_t n,
                      const ta_gen_params *p, ta_gen_output *outputs, ta_error *err);

#endif
