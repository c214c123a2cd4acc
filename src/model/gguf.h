/* gguf.h: export a model folder as GGUF v3 for llama.cpp (and Ollama).
 *
 * Writes the llama.cpp metadata for the architecture ("llama" for
 * Llama/Mistral, "qwen2" for Qwen2), the tensors under llama.cpp's names
 * (token_embd, blk.N.attn_q, ..., output_norm, output), and the tokenizer
 * (tokenizer.ggml.model "gpt2" with tokens, token types, merges, special ids,
 * the pre-tokenizer name) and chat template from the folder's tokenizer files.
 *
 * Layout facts this relies on (llama.cpp's convert_hf_to_gguf.py does the same):
 *  - a HF weight (out, in) row-major is GGML ne = [in, out]: same bytes;
 *  - the "llama" architecture uses GGML's interleaved RoPE, so the rows of
 *    q_proj and k_proj are permuted from HF's rotate_half layout: per head,
 *    row (i) of the first half and row (i) of the second half become rows 2i
 *    and 2i+1; "qwen2" uses the NEOX (rotate_half) mode and is written as is;
 *  - Llama 3 rope scaling becomes a rope_freqs tensor of per-pair factors.
 * Types: f32, f16 (2-D weights; norms and biases stay f32), q8_0 (blocks of 32
 * weights with an f16 scale; 2-D weights whose rows are a multiple of 32). */
#ifndef TA_MODEL_GGUF_H
#define TA_MODEL_GGUF_H

#include "core/error.h"
#include "model/model.h"

typedef enum { TA_GGUF_F32 = 0, TA_GGUF_F16 = 1, TA_GGUF_Q8_0 = 8 } ta_gguf_type;

/* model: loaded from model_dir; the tokenizer files are read from model_dir. */
int ta_gguf_export(const ta_model *m, const char *model_dir, const char *out_path, ta_gguf_type type, ta_error *err);

#endif
