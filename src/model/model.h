/* model.h: a model folder in memory: config + F32 weights slab.
 *
 * A model folder is a Hugging Face folder: config.json, model.safetensors (or
 * model.safetensors.index.json + shards), and the tokenizer files, which are
 * carried along untouched (copied on save when a source folder is known).
 * Weights are converted to F32 on load (compute is F32). */
#ifndef TA_MODEL_MODEL_H
#define TA_MODEL_MODEL_H

#include "core/error.h"
#include "model/config.h"
#include "model/weights.h"

typedef enum { TA_DTYPE_F32 = 0, TA_DTYPE_BF16 = 1, TA_DTYPE_F16 = 2 } ta_dtype;

typedef struct ta_model {
    ta_config cfg;
    ta_weights w;     /* bound over `slab` */
    float *slab;      /* owned: ta_weights_numel(&cfg) floats, 64-byte aligned */
    char dir[4096];   /* folder it was loaded from ("" if created in memory) */
} ta_model;

/* Allocates a zeroed model for cfg (validated first). */
int ta_model_create(ta_model *m, const ta_config *cfg, ta_error *err);
/* Random init as in HF's LlamaPreTrainedModel._init_weights: Linear and
 * Embedding weights ~ N(0, std^2) (std 0.02 = initializer_range), biases 0,
 * RMSNorm weights 1. Deterministic for a seed. */
void ta_model_init_random(ta_model *m, uint64_t seed, float std);
/* Loads config.json + safetensors (single or sharded) from dir. Every tensor
 * the config needs must be present with the right shape; extra tensors are an
 * error unless they are known-harmless (rotary inv_freq buffers). */
int ta_model_load(ta_model *m, const char *dir, ta_error *err);
/* Writes config.json + model.safetensors (dtype F32 or BF16) into dir (created
 * if needed), atomically per file. If copy_tokenizer_from is non-NULL, copies
 * tokenizer.json, tokenizer_config.json, special_tokens_map.json and
 * generation_config.json from there when present. */
int ta_model_save(const ta_model *m, const char *dir, ta_dtype dtype, const char *copy_tokenizer_from, ta_error *err);
void ta_model_release(ta_model *m);

#endif
