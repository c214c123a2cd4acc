/* config.h: the model hyper-parameters, read from a Hugging Face config.json.
 *
 * Supported: LlamaForCausalLM, MistralForCausalLM (same math; sliding_window
 * must be null or >= the sequence lengths used), Qwen2ForCausalLM (q/k/v
 * biases). Unknown architectures and unsupported values get an error naming the
 * field. */
#ifndef TA_MODEL_CONFIG_H
#define TA_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { TA_ARCH_LLAMA = 0, TA_ARCH_MISTRAL = 1, TA_ARCH_QWEN2 = 2 } ta_arch;
typedef enum { TA_ROPE_DEFAULT = 0, TA_ROPE_LLAMA3 = 1 } ta_rope_kind;

#define TA_MAX_EOS 8

typedef struct ta_config {
    ta_arch arch;
    char arch_name[64];        /* "LlamaForCausalLM", ... as in the file */
    size_t vocab_size;         /* V */
    size_t hidden_size;        /* C */
    size_t intermediate_size;  /* F */
    size_t n_layers;           /* L */
    size_t n_heads;            /* NH */
    size_t n_kv_heads;         /* NKV (GQA: NH % NKV == 0) */
    size_t head_dim;           /* HD (default C / NH) */
    size_t max_position_embeddings;
    float rms_norm_eps;
    double rope_theta;
    ta_rope_kind rope_kind;
    /* rope_scaling {"rope_type": "llama3", ...} */
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    size_t rope_original_max_pos;
    int tie_word_embeddings;
    int attn_bias;             /* q/k/v projections have biases (Qwen2) */
    int32_t bos_token_id;      /* -1 if absent */
    int32_t eos_token_ids[TA_MAX_EOS];
    size_t n_eos;
    int32_t pad_token_id;      /* -1 if absent */
    char torch_dtype[16];      /* "float32", "bfloat16", ... ("" if absent) */
    size_t sliding_window;     /* Mistral attention window; 0 = none. Accepted,
                                  not implemented: sequences must stay within it
                                  (see ta_config_max_context) */
} ta_config;

/* Parses and validates a config.json file. */
int ta_config_load(ta_config *cfg, const char *path, ta_error *err);
/* Parses a config from a JSON text; `what` names it in messages. */
int ta_config_parse(ta_config *cfg, const char *json_text, size_t len, const char *what, ta_error *err);
/* Writes a config.json that Hugging Face transformers reads (atomic write). */
int ta_config_save(const ta_config *cfg, const char *path, ta_error *err);
/* Checks internal consistency (divisibility, positivity); `what` names the source. */
int ta_config_validate(const ta_config *cfg, const char *what, ta_error *err);
/* "llama", "mistral" or "qwen2" (config.json's model_type). */
const char *ta_config_model_type(const ta_config *cfg);
/* Longest sequence the engine may process with exact results:
 * max_position_embeddings, or the sliding window when that is smaller. */
size_t ta_config_max_context(const ta_config *cfg);

#endif
