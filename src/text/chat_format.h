/* chat_format.h: renders a conversation into the exact prompt text a model's
 * chat template produces, for the template families taskalign knows:
 *
 *   qwen2.5   ChatML; default system prompt; tools in the system prompt
 *             ("# Tools ... <tools></tools>"), calls as <tool_call>, results
 *             as <tool_response> inside a user turn (consecutive ones grouped)
 *   qwen3     as Qwen2.5 without the default system prompt, plus <think>
 *             handling for assistant turns after the last real user query
 *   smollm2   plain ChatML with SmolLM2's default system prompt; no tools
 *   llama3    Llama 3 (3.0) header ids, content trimmed; no tools
 *   llama3.1 / llama3.2
 *             system header with "Environment: ipython" (when tools),
 *             "Cutting Knowledge Date" and "Today Date"; tools in the first
 *             user message (tools_in_user_message, default) or the system
 *             message; one tool call per assistant turn as
 *             {"name": ..., "parameters": ...}; results in the ipython role
 *
 * Rather than interpret Jinja, each family is written out in C and the
 * template string is recognised by fingerprint (the exact strings shipped with
 * the models, see tests/data/chat_templates/README.md). A template that is not
 * one of those gets an error, never a guess; one that carries a family's
 * markers but differs in its bytes is named in the error (a caller may then
 * force the family explicitly, at its own risk).
 *
 * The rendering matches Python Jinja2 (what transformers uses) and the npm
 * package @huggingface/jinja byte for byte, with two documented exceptions
 * where the two references disagree (docs/chat-format.md): str.strip(chars)
 * follows Python (the npm package ignores the argument), and numbers in
 * tojson follow JavaScript (1.0 prints as 1).
 *
 * Besides the text, a render returns the byte spans that are the model's own
 * output (assistant content, tool calls and the end-of-turn token, not the
 * "<|im_start|>assistant\n" header): the assistant-token mask is computed
 * from these spans and the tokenizer's offsets (chat_mask.h). */
#ifndef TA_TEXT_CHAT_FORMAT_H
#define TA_TEXT_CHAT_FORMAT_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "text/conversation.h"

typedef enum {
    TA_CHAT_QWEN25 = 0,
    TA_CHAT_QWEN3,
    TA_CHAT_SMOLLM2,
    TA_CHAT_LLAMA3,  /* Meta-Llama-3-*-Instruct (no tools) */
    TA_CHAT_LLAMA31, /* Llama 3.1 / 3.3: fixed default date "26 Jul 2024" */
    TA_CHAT_LLAMA32, /* Llama 3.2: default date is today (strftime_now) */
    TA_CHAT_N_FAMILIES
} ta_chat_family;

typedef struct ta_chat_format {
    ta_chat_family family;
    int exact;                  /* 1: the template is byte-identical to a known one */
    int always_generation_prompt; /* the first Llama 3 template adds the header unconditionally */
    char bos_token[64];         /* "" when the config has none */
    char eos_token[64];
} ta_chat_format;

/* Short family name: "qwen2.5", "qwen3", "smollm2", "llama3", "llama3.1", "llama3.2". */
const char *ta_chat_family_name(ta_chat_family f);
/* 0 and *out for one of the names above; -1 otherwise. */
int ta_chat_family_parse(const char *name, ta_chat_family *out);

/* Recognises a chat template string. `what` names its source in errors
 * ("'m/tokenizer_config.json'"). bos/eos may be NULL. Unknown templates:
 * TA_EUNSUPPORTED with a message that says which families are known and, where
 * the template carries a family's markers, which one it resembles. */
int ta_chat_format_from_template(ta_chat_format *f, const char *tmpl, const char *bos, const char *eos,
                                 const char *what, ta_error *err);
/* Builds a format for a family without a template (bos/eos may be NULL);
 * exact = 0. For forcing a family on a template that resembles it. */
int ta_chat_format_for_family(ta_chat_format *f, ta_chat_family family, const char *bos, const char *eos,
                              ta_error *err);
/* Reads DIR/tokenizer_config.json (chat_template, bos_token, eos_token; the
 * token fields may be strings or {"content": ...} objects). */
int ta_chat_format_load(ta_chat_format *f, const char *model_dir, ta_error *err);

typedef struct ta_chat_options {
    const json_t *tools;       /* JSON array of tool schemas (OpenAI function format) or NULL (none) */
    int add_generation_prompt; /* append the assistant header */
    const char *date_string;   /* Llama 3.1/3.2 "Today Date"; NULL: the template's default
                                  ("26 Jul 2024" for 3.1; today, "%d %b %Y", for 3.2) */
    int enable_thinking;       /* Qwen3: -1 undefined (default), 0 false, 1 true */
    int tools_in_user_message; /* Llama 3.1/3.2: -1 template default (true), 0, 1 */
} ta_chat_options;

/* Defaults: no tools, no generation prompt, template defaults. */
void ta_chat_options_init(ta_chat_options *o);

/* A byte range [begin, end) of the rendered text that the model produced:
 * message `msg` of the conversation. */
typedef struct ta_chat_span {
    size_t begin, end;
    size_t msg;
} ta_chat_span;

typedef struct ta_chat_text {
    char *text; /* NUL-terminated, owned */
    size_t len;
    ta_chat_span *spans; /* owned; in text order, non-overlapping */
    size_t n_spans;
} ta_chat_text;

/* Renders c. On failure *out is untouched (nothing to release). Errors name
 * the message: "messages[3]: the llama3.1 template supports one tool call per
 * assistant turn (it raises \"This model only supports single tool-calls at
 * once!\")". An empty conversation is an error. */
int ta_chat_render(const ta_chat_format *f, const ta_conversation *c, const ta_chat_options *o, ta_chat_text *out,
                   ta_error *err);
void ta_chat_text_release(ta_chat_text *r);

/* The Qwen2.5-Instruct chat_template string, byte for byte (the BPE trainer
 * writes it into the tokenizer_config.json of the tokenizers it trains). */
const char *ta_chat_template_qwen25(void);

/* Jinja's `tojson` as chat templates use it (transformers' override of the
 * filter; @huggingface/jinja the same): keys in document order, ", " and ": "
 * separators (or "," and ": " with newlines when indent > 0), non-ASCII kept,
 * control characters as \uXXXX except \b \f \n \r \t; numbers as JavaScript
 * prints them. Returns a malloc'd string or NULL (out of memory). */
char *ta_chat_tojson(const json_t *j, int indent);

#endif
