/* dataset.h: SFT and preference datasets from JSONL, tokenized once, and
 * the batches the trainers feed the model.
 *
 * Formats (TRL's):
 *   SFT          {"messages": [{"role": ..., "content": ..., "tool_calls"?: [...]}, ...]}
 *   preference   {"prompt": P, "chosen": C, "rejected": R} with P, C, R strings
 *                (standard) or message lists (conversational; the prompt is
 *                rendered with the generation prompt, C and R hold the
 *                assistant turn(s)). Without "prompt", conversational chosen
 *                and rejected that share leading messages get that common
 *                prefix as the prompt (TRL's implicit prompt).
 * An optional "tools" list (OpenAI function schemas, as TRL's "tools" column)
 * is handed to the chat template. Other fields (category, attack, id, ...)
 * are ignored.
 *
 * Bad lines are reported as "FILE:LINE: what" (malformed JSON, a missing or
 * mistyped field, an empty completion, chosen identical to rejected, roles
 * that do not alternate, a prompt that is not a prefix of prompt+completion).
 * With strict set the first one fails the load; otherwise they are skipped and
 * counted. A dataset with no usable example is an error.
 *
 * Tokens: text becomes ids through a ta_encoder (the trainer wires the
 * tokenizer and chat format in; tests pass their own), so this module knows
 * JSONL and bookkeeping, not tokenization.
 *
 * Truncation (reported in the stats): SFT keeps the first max_length tokens;
 * preference pairs keep the last max_prompt_length prompt tokens (TRL's
 * keep_end for prompts), then cut each completion so prompt + completion <=
 * max_length. A pair whose completion would be cut to nothing is skipped and
 * counted, as is an SFT example left with no assistant token. */
#ifndef TA_TRAIN_DATASET_H
#define TA_TRAIN_DATASET_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"
#include "text/conversation.h"

/* One side of a preference field: exactly one of text / conv is set. */
typedef struct ta_text_part {
    const char *text;
    const ta_conversation *conv;
} ta_text_part;

/* Turns text into token ids. Arrays returned are malloc'd, owned by the caller.
 * A failure's message is prefixed with FILE:LINE by the dataset. */
typedef struct ta_encoder {
    void *ctx;
    /* SFT: the rendered conversation's ids and, per token, 1 if the model is
     * trained to produce it (assistant content, tool calls, end of turn). */
    int (*sft)(void *ctx, const ta_conversation *c, const json_t *tools, int32_t **ids, uint8_t **mask, size_t *n,
               ta_error *err);
    /* Preference: the prompt's ids and the completion's ids, such that the
     * model sees prompt ids followed by completion ids. Conversational: the
     * prompt rendered with the generation prompt must be a prefix of the
     * rendered prompt + completion (TA_EFORMAT otherwise). */
    int (*pair)(void *ctx, const ta_text_part *prompt, const ta_text_part *completion, const json_t *tools,
                int32_t **prompt_ids, size_t *n_prompt, int32_t **completion_ids, size_t *n_completion, ta_error *err);
} ta_encoder;

typedef enum { TA_DATA_SFT = 0, TA_DATA_PREF = 1 } ta_data_kind;

typedef struct ta_dataset_opts {
    ta_data_kind kind;
    size_t max_length;        /* 0: no limit */
    size_t max_prompt_length; /* preference only; 0: no limit */
    int strict;               /* fail on the first bad line */
    size_t max_examples;      /* 0: all (for tests and quick runs) */
} ta_dataset_opts;

#define TA_DATASET_MAX_REPORTS 16

typedef struct ta_dataset_stats {
    size_t lines;              /* non-blank lines read */
    size_t bad;                /* skipped as bad data */
    size_t truncated;          /* examples with at least one token cut */
    size_t tokens_lost;        /* tokens cut by truncation */
    size_t skipped_truncated;  /* dropped because truncation left nothing to train on */
    size_t n_reports;          /* first TA_DATASET_MAX_REPORTS messages, for the summary */
    char reports[TA_DATASET_MAX_REPORTS][256];
} ta_dataset_stats;

/* One example. SFT: tokens[off .. off+len_a), mask alongside. Preference:
 * prompt tokens[off .. off+prompt_len), then the chosen completion (len_a),
 * then the rejected one (len_b). */
typedef struct ta_example {
    size_t line; /* 1-based line in the file */
    size_t off;
    size_t prompt_len;
    size_t len_a, len_b;
} ta_example;

typedef struct ta_dataset {
    ta_data_kind kind;
    char path[4096];
    ta_example *ex;  /* (n) */
    size_t n;
    int32_t *tokens; /* (n_tokens) */
    uint8_t *mask;   /* (n_tokens), SFT only (NULL for preference) */
    size_t n_tokens;
    size_t max_row;  /* longest row a batch can hold (SFT len, or prompt + completion) */
    ta_dataset_stats stats;
} ta_dataset;

/* Loads and tokenizes a JSONL file. On failure *ds is left empty (released). */
int ta_dataset_load(ta_dataset *ds, const char *path, const ta_dataset_opts *opts, const ta_encoder *enc,
                    ta_error *err);
/* The same over a buffer holding JSONL text; `what` names it in messages
 * (used by the fuzz target). */
int ta_dataset_parse(ta_dataset *ds, const char *buf, size_t len, const char *what, const ta_dataset_opts *opts,
                     const ta_encoder *enc, ta_error *err);
void ta_dataset_release(ta_dataset *ds);

/* Rows are (prompt +) completion token sequences, right-padded to T.
 * targets[b*T + t] is the token predicted at position t (tokens[t+1]) when it
 * counts in the loss, else -1. DPO batches hold n_examples chosen rows, then
 * the n_examples rejected rows in the same order (TRL's concatenation). */
typedef struct ta_batch {
    size_t cap_rows, cap_T;   /* allocated */
    size_t B, T;              /* rows in use; T = cap_T (the planned shape) */
    size_t n_examples;
    int32_t *tokens;          /* (cap_rows, cap_T) */
    int32_t *targets;         /* (cap_rows, cap_T) */
    size_t *lengths;          /* (cap_rows) tokens in each row */
    size_t *n_target;         /* (cap_rows) targets != -1 in each row */
    size_t n_target_total;
    size_t n_tokens_total;    /* sum of lengths */
} ta_batch;

/* Allocates a batch for up to cap_rows rows of cap_T tokens. */
int ta_batch_init(ta_batch *b, size_t cap_rows, size_t cap_T, ta_error *err);
void ta_batch_release(ta_batch *b);
/* Fills b with the examples idx[0..n): SFT gives n rows, preference 2n.
 * Every row must fit cap_T (the dataset's max_row does). */
int ta_batch_fill(ta_batch *b, const ta_dataset *ds, const size_t *idx, size_t n, int32_t pad_id, ta_error *err);

/* The order examples are visited in: a fresh permutation of 0..n-1 per epoch,
 * drawn from (seed, epoch) alone, so a position (epoch, pos) is all a
 * checkpoint needs to resume the exact sequence. */
typedef struct ta_data_order {
    uint64_t seed;
    size_t n;
    size_t epoch; /* 0-based */
    size_t pos;   /* next index into perm */
    size_t *perm; /* (n) for `epoch` */
    int shuffle;
} ta_data_order;

int ta_order_init(ta_data_order *o, size_t n, uint64_t seed, int shuffle, ta_error *err);
/* Moves to (epoch, pos), recomputing that epoch's permutation. */
void ta_order_seek(ta_data_order *o, size_t epoch, size_t pos);
/* Takes up to k indices from the current epoch (fewer at its end; 0 when the
 * epoch is exhausted: call ta_order_next_epoch). */
size_t ta_order_take(ta_data_order *o, size_t k, size_t *out);
void ta_order_next_epoch(ta_data_order *o);
void ta_order_release(ta_data_order *o);

#endif
