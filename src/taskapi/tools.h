/* tools.h: the TaskMaster tool set (DOMAIN.md) and its system prompt.
 *
 * The tool schemas are data: data/tools.json, an array in OpenAI function
 * format
 *   [{"type": "function", "function": {"name": "create_task",
 *     "description": "...", "parameters": {JSON Schema}}}, ...]
 * embedded into the library at build time (the Makefile turns it into a C
 * string), so no run-time path lookup is needed. The dispatcher validates
 * arguments against these same schemas, so the schema the model is shown is
 * the schema it is held to.
 *
 * The system prompt is data/system_prompt.txt, embedded the same way; it has
 * the placeholders {today} (YYYY-MM-DD), {weekday} (e.g. "Saturday"),
 * {tools_brief} (one line a tool: "- create_task(title: string, due_date?:
 * YYYY-MM-DD, ...): description", generated from the schemas; what the
 * default prompt uses, short enough for a small model's context) and {tools}
 * (the full schemas, one JSON object a line, as Qwen 2.5's template lists
 * them). Other braces are literal text. */
#ifndef TA_TASKAPI_TOOLS_H
#define TA_TASKAPI_TOOLS_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"

/* The tool names, in schema order. */
#define TA_N_TOOLS 8
extern const char *const ta_tool_names[TA_N_TOOLS];

/* 1 if name is one of the tools, else 0. */
int ta_tool_exists(const char *name);

/* 1 if the tool changes the store (every tool but list_tasks and get_calendar,
 * which only read), else 0; NULL is 0. */
int ta_tool_changes_store(const char *name);

/* The embedded data/tools.json text (static, never freed). */
const char *ta_tools_json_text(void);

/* A new JSON array of the tool schemas in OpenAI function format (caller
 * decrefs). Fails only when out of memory. */
int ta_tools_load(json_t **out, ta_error *err);

/* The "parameters" schema of one tool as a new reference (caller decrefs),
 * or TA_ENOTFOUND "unknown tool 'x'". */
int ta_tool_schema(const char *name, json_t **out, ta_error *err);

/* The embedded data/system_prompt.txt template (static). */
const char *ta_system_prompt_template(void);

/* Renders a system prompt template for the day `today` (YYYY-MM-DD, must be
 * a real date): replaces {today}, {weekday}, {tools_brief} and {tools}. template NULL uses
 * the embedded TaskMaster prompt. *out is malloc'd (caller frees). */
int ta_system_prompt_render(const char *template_text, const char *today, char **out, ta_error *err);

#endif
