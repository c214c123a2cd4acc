/* toolcall.h: finds the tool calls in a model's raw reply text.
 *
 * Convention (Hermes / Qwen 2.5): zero or more blocks
 *   <tool_call>
 *   {"name": "create_task", "arguments": {"title": "Buy milk"}}
 *   </tool_call>
 * anywhere in the reply, whitespace and newlines allowed around the JSON.
 * Everything outside the blocks is the reply's free text.
 *
 * A block is judged on its own and gets a status:
 *   OK            JSON object with a string "name" of a known tool and an
 *                 object "arguments" (a missing "arguments" counts as {})
 *   BAD_JSON      the text between the tags is not one JSON value
 *   NOT_OBJECT    valid JSON but not an object
 *   NO_NAME       "name" missing, not a string, or empty
 *   BAD_ARGS      "arguments" present but not an object (a string holding
 *                 JSON is NOT accepted: the convention is an object)
 *   UNKNOWN_TOOL  well-formed, but "name" is not one of tools.h's tools
 *   UNCLOSED      "<tool_call>" with no "</tool_call>" after it (the rest of
 *                 the reply is the block's raw text)
 * A stray "</tool_call>" without an opening tag stays in the free text. */
#ifndef TA_TASKAPI_TOOLCALL_H
#define TA_TASKAPI_TOOLCALL_H

#include <stddef.h>

#include "core/error.h"

typedef enum {
    TA_TC_OK = 0,
    TA_TC_BAD_JSON,
    TA_TC_NOT_OBJECT,
    TA_TC_NO_NAME,
    TA_TC_BAD_ARGS,
    TA_TC_UNKNOWN_TOOL,
    TA_TC_UNCLOSED
} ta_tc_status;

/* Short name of a status: "ok", "bad_json", "not_object", "no_name",
 * "bad_args", "unknown_tool", "unclosed". */
const char *ta_tc_status_name(ta_tc_status st);

typedef struct ta_parsed_call {
    ta_tc_status status;
    char *name;      /* OK / UNKNOWN_TOOL: the name; else NULL */
    char *arguments; /* OK / UNKNOWN_TOOL: compact JSON object text; else NULL */
    char *raw;       /* the text between the tags, verbatim */
    char message[256]; /* why it is not OK ("" when OK), readable by the model */
    size_t start, end; /* byte range of the whole block (tags included) in the reply */
} ta_parsed_call;

typedef struct ta_parsed_reply {
    char *text;            /* free text outside the blocks, joined, trimmed; never NULL */
    ta_parsed_call *calls; /* n_calls entries, in order of appearance */
    size_t n_calls;
    size_t n_invalid;      /* calls whose status is not OK */
} ta_parsed_reply;

/* Parses reply[0..len) (need not be NUL-terminated; NULs are allowed and
 * make a block BAD_JSON). Fails only when out of memory; on failure *out is
 * left empty. Release with ta_parsed_reply_release. */
int ta_toolcall_parse(const char *reply, size_t len, ta_parsed_reply *out, ta_error *err);
void ta_parsed_reply_release(ta_parsed_reply *r);

/* Formats calls back into the convention (for rendering assistant messages
 * in training data): "<tool_call>\n{\"name\": ..., \"arguments\": ...}\n</tool_call>".
 * arguments_json must be an object text. *out is malloc'd. */
int ta_toolcall_format(const char *name, const char *arguments_json, char **out, ta_error *err);

/* A display filter for streamed replies: forwards the text a person should
 * see to emit() and swallows <tool_call> ... </tool_call> blocks, holding back
 * a piece that may be the start of a tag until it is decided. For a chat UI
 * that streams the model's words but shows tool calls its own way. */
typedef struct ta_tc_filter {
    int (*emit)(void *user, const char *text, size_t len);
    void *user;
    int in_call;   /* inside a block: text is swallowed */
    char hold[16]; /* a possible partial tag, not yet emitted */
    size_t n_hold;
} ta_tc_filter;

void ta_tc_filter_init(ta_tc_filter *f, int (*emit)(void *user, const char *text, size_t len), void *user);
/* Feeds a piece; returns emit's first non-zero return (the caller may stop). */
int ta_tc_filter_feed(ta_tc_filter *f, const char *piece, size_t len);
/* End of the reply: emits held text that turned out not to be a tag. */
int ta_tc_filter_finish(ta_tc_filter *f);

#endif
