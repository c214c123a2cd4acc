/* tokenizer.h: Hugging Face tokenizer.json (byte-level BPE), encode and decode
 * exactly as the reference (`tokenizers` / `@huggingface/tokenizers`) does.
 *
 * Supported (anything else is refused at load with an error naming it):
 *   normalizer:     null, NFC, Sequence of those
 *   pre_tokenizer:  Split (regex or string pattern; behaviors Isolated, Removed,
 *                   MergedWithPrevious, MergedWithNext, Contiguous; invert),
 *                   ByteLevel (add_prefix_space, use_regex), Sequence of those
 *   model:          BPE with byte-level vocabulary; merges as "a b" or ["a","b"];
 *                   ignore_merges; unk_token (unused by byte-level models)
 *   added_tokens:   special and normal; lstrip, rstrip, single_word, normalized
 *   post_processor: null, TemplateProcessing, ByteLevel, Sequence of those
 *   decoder:        null, ByteLevel
 *
 * A loaded tokenizer is logically immutable: share it between threads freely
 * (the only thing encode writes is a word cache, behind a mutex taken with
 * trylock, so no thread ever waits). Strings it returns live as long as it does.
 *
 * Input text that is not valid UTF-8 is read as the WHATWG decoder (and so
 * Node's Buffer.toString / TextDecoder, which is how text reaches the JS
 * reference) reads it: each maximal invalid subpart becomes U+FFFD. Offsets
 * still refer to the caller's original bytes. */
#ifndef TA_TEXT_TOKENIZER_H
#define TA_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ta_tokenizer ta_tokenizer;

/* A growable array of int32 (token ids, or offset pairs). Zero-initialise or
 * ta_ids_init; ta_ids_release frees. */
typedef struct ta_ids {
    int32_t *ids;
    size_t n, cap;
} ta_ids;

void ta_ids_init(ta_ids *v);
void ta_ids_release(ta_ids *v);
/* TA_OK or TA_ENOMEM (v unchanged). */
int ta_ids_push(ta_ids *v, int32_t id);
/* Makes room for at least `extra` more elements. */
int ta_ids_reserve(ta_ids *v, size_t extra);

/* Loads `path`: a tokenizer.json file, or a folder holding tokenizer.json (and
 * optionally tokenizer_config.json, read for bos_token/eos_token/
 * add_bos_token/add_eos_token and kept for the chat template). Errors name the
 * file and the field: "'x/tokenizer.json': model.merges[17]: token 'ab' is not
 * in the vocabulary". On failure *out is untouched. */
int ta_tokenizer_load(ta_tokenizer **out, const char *path, ta_error *err);
/* The same from a buffer holding tokenizer.json text; `what` names it in
 * errors. No tokenizer_config.json. */
int ta_tokenizer_load_buf(ta_tokenizer **out, const char *json, size_t len, const char *what, ta_error *err);
void ta_tokenizer_free(ta_tokenizer *t);

/* Encodes len bytes of text, APPENDING ids to out (set out->n = 0 first for a
 * fresh result). Added-token text (special or not) inside `text` is always
 * matched, as the reference does. add_special != 0 applies the post-processor
 * template (BOS/EOS), as HF's add_special_tokens=True.
 * offsets (may be NULL) gets 2 int32 per token appended: the byte range
 * [start, end) of the token in `text` (template tokens get [0,0) like HF's
 * (0,0)); tokens that cover part of a multi-byte character get the whole
 * character's range. Text must be < 2 GiB. On failure out/offsets keep their
 * old length. */
int ta_tokenizer_encode(const ta_tokenizer *t, const char *text, size_t len, int add_special, ta_ids *out,
                        ta_ids *offsets, ta_error *err);

/* Pre-tokenization only (for the BPE trainer, which must split text exactly as
 * the encoder does): the same pipeline as ta_tokenizer_encode up to the model
 * (invalid UTF-8 repaired, added tokens split off and skipped, normalizer,
 * pre-tokenizer), each pre-token's bytes handed to word(ctx, bytes, n) in
 * order instead of being merged. A non-zero return from word stops the walk
 * and is returned as is (word sets its own error). */
typedef int (*ta_pretok_fn)(void *ctx, const char *word, size_t n);
int ta_tokenizer_pretokenize(const ta_tokenizer *t, const char *text, size_t len, ta_pretok_fn word, void *ctx,
                             ta_error *err);

/* Decodes ids into a malloc'd NUL-terminated UTF-8 string (*out, caller
 * frees; *out_len excludes the NUL). skip_special drops special tokens.
 * Byte sequences that are not valid UTF-8 become U+FFFD (like the reference).
 * An id outside the vocabulary is an error naming its position. This is the
 * tokenizer's own decode: transformers' clean_up_tokenization_spaces (which
 * rewrites " ." to "." and so breaks round trips) is never applied. */
int ta_tokenizer_decode(const ta_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out,
                        size_t *out_len, ta_error *err);

/* Streaming decode: push ids one at a time and get only complete UTF-8 text
 * back; the bytes of a character split across tokens are held until it is
 * complete (bytes that can never complete a character are emitted as U+FFFD
 * at once). Concatenating every push and the final flush equals
 * ta_tokenizer_decode of the whole sequence. */
typedef struct ta_detok_stream {
    const ta_tokenizer *tok;
    int skip_special;
    unsigned char pending[4]; /* an incomplete UTF-8 sequence */
    size_t n_pending;
    char *buf; /* owned; holds the text returned by the last push/flush */
    size_t buf_cap;
} ta_detok_stream;

void ta_detok_stream_init(ta_detok_stream *s, const ta_tokenizer *t, int skip_special);
/* *text (valid until the next call on s) gets the newly completed text,
 * *len its length (may be 0). */
int ta_detok_stream_push(ta_detok_stream *s, int32_t id, const char **text, size_t *len, ta_error *err);
/* Ends the stream: a held incomplete sequence comes out as U+FFFD. */
int ta_detok_stream_flush(ta_detok_stream *s, const char **text, size_t *len, ta_error *err);
void ta_detok_stream_release(ta_detok_stream *s);

/* Vocabulary lookups (model vocab and added tokens). Token strings are in the
 * vocabulary's own spelling (byte-level: "Ġhello"). -1 / NULL if absent. */
int32_t ta_tokenizer_token_to_id(const ta_tokenizer *t, const char *tok);
const char *ta_tokenizer_id_to_token(const ta_tokenizer *t, int32_t id);
/* One more than the largest id (model vocab and added tokens). */
size_t ta_tokenizer_vocab_size(const ta_tokenizer *t);
/* 1 if id is an added token marked special. */
int ta_tokenizer_is_special(const ta_tokenizer *t, int32_t id);
/* BOS / EOS ids from tokenizer_config.json (bos_token / eos_token), falling
 * back to the post-processor template for BOS; -1 if none. */
int32_t ta_tokenizer_bos_id(const ta_tokenizer *t);
int32_t ta_tokenizer_eos_id(const ta_tokenizer *t);
/* tokenizer_config.json's chat_template string (the default one when it is a
 * list of named templates), or NULL. */
const char *ta_tokenizer_chat_template(const ta_tokenizer *t);

#endif
