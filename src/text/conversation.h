/* conversation.h: a chat conversation in the Hugging Face / OpenAI messages
 * format, shared by the chat renderer, the agent loop, the trainers and the
 * data generator.
 *
 *   {"role": "system"|"user"|"assistant"|"tool", "content": "...",
 *    "tool_calls": [{"type": "function", "function": {"name": "...", "arguments": {...}}}],
 *    "name": "...", "tool_call_id": "..."}
 *
 * `arguments` is kept as compact JSON text of an object; on input it may be an
 * object or a string holding JSON (OpenAI clients send a string). All strings
 * live in the conversation's arena; the conversation owns everything. */
#ifndef TA_TEXT_CONVERSATION_H
#define TA_TEXT_CONVERSATION_H

#include <jansson.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/error.h"

typedef enum { TA_ROLE_SYSTEM = 0, TA_ROLE_USER, TA_ROLE_ASSISTANT, TA_ROLE_TOOL } ta_role;

typedef struct ta_tool_call {
    const char *id;        /* may be NULL */
    const char *name;      /* function name */
    const char *arguments; /* compact JSON object text, e.g. {"title":"x"} */
} ta_tool_call;

typedef struct ta_message {
    ta_role role;
    const char *content;      /* never NULL ("" when absent) */
    ta_tool_call *tool_calls; /* assistant only; n_tool_calls entries */
    size_t n_tool_calls;
    const char *name;         /* tool messages: the tool's name (may be NULL) */
    const char *tool_call_id; /* tool messages (may be NULL) */
} ta_message;

typedef struct ta_conversation {
    ta_message *msgs;
    size_t n, cap;
    ta_arena arena;
} ta_conversation;

void ta_conv_init(ta_conversation *c);
void ta_conv_release(ta_conversation *c);
/* Drops messages from index n on (keeps the arena). */
void ta_conv_truncate(ta_conversation *c, size_t n);
/* Appends a copy of content. Returns the new message or NULL (out of memory). */
ta_message *ta_conv_add(ta_conversation *c, ta_role role, const char *content);
/* Appends a tool call to message m (copies strings; arguments must be JSON object text). */
int ta_conv_add_tool_call(ta_conversation *c, ta_message *m, const char *name, const char *arguments_json,
                          const char *id, ta_error *err);
/* Copies every message of src onto the end of dst. */
int ta_conv_append(ta_conversation *dst, const ta_conversation *src, ta_error *err);
/* Copies messages [from, to) of src (to clamped to src->n) onto the end of dst. */
int ta_conv_append_range(ta_conversation *dst, const ta_conversation *src, size_t from, size_t to, ta_error *err);

/* Parses a JSON array of messages; `what` names it for errors
 * ("data/train.jsonl:17"), messages name the element: "...: messages[2]: \"role\" must be ...". */
int ta_conv_from_json(ta_conversation *c, const json_t *messages, const char *what, ta_error *err);
/* Builds a new JSON array (caller decrefs). */
json_t *ta_conv_to_json(const ta_conversation *c);

const char *ta_role_name(ta_role r);
/* Returns 0 and sets *out for "system", "user", "assistant", "tool"; -1 otherwise. */
int ta_role_parse(const char *s, ta_role *out);

#endif
