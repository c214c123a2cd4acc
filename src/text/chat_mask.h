/* chat_mask.h: token ids and the assistant-token mask of a rendered
 * conversation, and the prompt/completion prefix check DPO relies on.
 *
 * The mask comes from the same rendering as the ids: a token is the model's
 * own (mask 1) when its byte range in the rendered text overlaps one of the
 * render's assistant spans (chat_format.h) — assistant content, tool calls
 * and the end-of-turn token, not the role header. A token that straddles a
 * span boundary counts as the model's, which is what transformers'
 * return_assistant_tokens_mask does (it marks every token holding a character
 * of a generation span). The rendered text already holds BOS where the
 * template writes it, so encoding adds no special tokens. */
#ifndef TA_TEXT_CHAT_MASK_H
#define TA_TEXT_CHAT_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "text/chat_format.h"
#include "text/conversation.h"
#include "text/tokenizer.h"

/* Encodes r->text into ids (appended to *ids after clearing it) and, when mask
 * is non-NULL, a malloc'd array of ids->n bytes (0/1) into *mask (caller
 * frees). On failure ids is empty and *mask untouched. */
int ta_chat_encode(const ta_tokenizer *t, const ta_chat_text *r, ta_ids *ids, uint8_t **mask, ta_error *err);

/* Renders and encodes in one go (o may be NULL for defaults). */
int ta_chat_encode_conversation(const ta_chat_format *f, const ta_tokenizer *t, const ta_conversation *c,
                                const ta_chat_options *o, ta_ids *ids, uint8_t **mask, ta_error *err);

/* The TRL-style split of a preference pair or an SFT example into prompt and
 * completion: the prompt is rendered with the generation prompt, prompt plus
 * completion without it, and ids(prompt) must be a prefix of
 * ids(prompt + completion) for the completion ids to be the tail. */
typedef struct ta_prefix_report {
    int text_prefix;    /* the prompt's text is a prefix of the full text */
    int ids_prefix;     /* the prompt's ids are a prefix of the full ids */
    size_t prompt_len;  /* ids in the prompt */
    size_t full_len;    /* ids in prompt + completion */
    size_t first_diff;  /* first index where they differ (prompt_len when ids_prefix) */
} ta_prefix_report;

/* Fills *rep for prompt + completion (completion: the messages after the
 * prompt, usually one assistant message). full_ids (may be NULL) gets the ids
 * of prompt + completion. o's add_generation_prompt is ignored. A pair that is
 * not a prefix is not an error: the report says so. */
int ta_chat_check_prefix(const ta_chat_format *f, const ta_tokenizer *t, const ta_conversation *prompt,
                         const ta_conversation *completion, const ta_chat_options *o, ta_prefix_report *rep,
                         ta_ids *full_ids, ta_error *err);

#endif
