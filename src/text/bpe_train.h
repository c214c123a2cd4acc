/* bpe_train.h: trains a byte-level BPE tokenizer (the Qwen2 / GPT-2 kind) and
 * writes it as a Hugging Face tokenizer.json + tokenizer_config.json.
 *
 * Pipeline: NFC, the Qwen2 Split regex (single digits), ByteLevel, BPE over the
 * 256-byte alphabet; special tokens are added tokens (never split, never
 * trained on: corpus text that spells them is cut out as the encoder does).
 * Pre-tokenization runs through the tokenizer's own encoder pipeline
 * (ta_tokenizer_pretokenize on a merge-less tokenizer of the same shape), so
 * training sees exactly the pieces encoding will.
 *
 * Training: pre-tokens are counted once (a hash map of distinct words), then
 * merges are picked greedily by pair count, with incremental updates: each
 * pair keeps the list of words it occurs in, and a merge only touches those
 * words; a max-heap with lazy invalidation yields the next best pair.
 * Ties break on the smaller (left id, right id), so a corpus always gives the
 * same merges (Hugging Face's tie-break differs; not required here).
 *
 * Ids: special tokens first (0..S-1, in the order given), then the 256 byte
 * symbols in the order of their byte-level characters, then merges in order. */
#ifndef TA_TEXT_BPE_TRAIN_H
#define TA_TEXT_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ta_bpe_train_opts {
    size_t vocab_size;            /* total, specials and bytes included */
    const char *const *specials;  /* special tokens, in id order */
    size_t n_specials;
    uint64_t min_frequency;       /* a pair must occur at least this often to be merged (default 2) */
    const char *eos_token;        /* for tokenizer_config.json; NULL: <|im_end|> if a special, else none */
    const char *pad_token;        /* NULL: <|endoftext|> if a special, else eos */
    const char *bos_token;        /* NULL: none (Qwen style) */
    int progress;                 /* print progress lines to stderr */
} ta_bpe_train_opts;

void ta_bpe_train_opts_init(ta_bpe_train_opts *o);

/* Statistics of a run (filled by ta_bpe_train). */
typedef struct ta_bpe_train_stats {
    size_t corpus_bytes;
    size_t n_words;        /* distinct pre-tokens */
    uint64_t n_pretokens;  /* pre-tokens counted */
    size_t n_merges;
    double t_pretok_s, t_merge_s, t_total_s;
    int wrote_chat_template; /* the specials had <|im_start|> and <|im_end|> */
} ta_bpe_train_stats;

/* Trains on the given files (each read whole, in order) and writes
 * out_dir/tokenizer.json and out_dir/tokenizer_config.json (created
 * atomically; out_dir is created). The config's chat_template is the
 * Qwen2.5 one (tools included) when <|im_start|> and <|im_end|> are
 * special tokens. Errors name the file. stats may be NULL. */
int ta_bpe_train(const char *const *files, size_t n_files, const ta_bpe_train_opts *o, const char *out_dir,
                 ta_bpe_train_stats *stats, ta_error *err);

/* The same on in-memory texts (tests). */
int ta_bpe_train_texts(const char *const *texts, const size_t *lens, size_t n, const ta_bpe_train_opts *o,
                       const char *out_dir, ta_bpe_train_stats *stats, ta_error *err);

#endif
