/* corpus.h: plain text for tokenizer training from messages-format data.
 *
 * Reads SFT ({"messages": [...]}) and preference ({"prompt", "chosen",
 * "rejected"} as strings or message lists) JSONL files and writes every
 * message's content, and every assistant tool call as the model will write it
 * (<tool_call>{"name": ..., "arguments": ...}</tool_call>, toolcall.h), each
 * followed by a blank line, so a BPE trained on it sees the text the chat
 * renderer produces rather than JSON escapes. */
#ifndef TA_TASKAPI_CORPUS_H
#define TA_TASKAPI_CORPUS_H

#include <stddef.h>

#include "core/error.h"

typedef struct ta_corpus_stats {
    size_t lines, texts, bytes;
} ta_corpus_stats;

/* Errors name the file and line of malformed input. Output is written atomically. */
int ta_corpus_write(const char *const *inputs, size_t n_inputs, const char *out_path, ta_corpus_stats *st,
                    ta_error *err);

#endif
