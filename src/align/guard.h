/* guard.h: optional guardrails around the model (defense in depth), configured
 * from a JSON file (data/guard/default.json is the shipped one):
 *
 *   {"version": 1,
 *    "input":  [{"name": "override", "action": "refuse"|"care", "pattern": "<PCRE2>"}, ...],
 *    "output": [{"name": "surveillance", "tools": ["create_task", ...], "pattern": "<PCRE2>"}, ...],
 *    "responses": {"refuse": ["...", ...], "care": ["...", ...], "block": ["...", ...]}}
 *
 * The input guard runs on each user message before the model sees it; a match
 * answers with a response of the rule's action (self-harm routes to a caring
 * answer with crisis resources) and the model is not called. The output guard
 * runs on each tool call the model tries to make; a match blocks the call (it
 * is not executed) and the turn is answered with a "block" response.
 * Patterns are matched caseless, in UTF mode with Unicode properties, on the
 * text after a light de-obfuscation (NFKC + case fold, leetspeak digits mapped
 * to letters, letters separated by single spaces or dots joined), so "k 1 l l"
 * and "ＫＩＬＬ" are seen as "kill". Responses are picked deterministically
 * from the list by a hash of the input, so runs are reproducible. */
#ifndef TA_ALIGN_GUARD_H
#define TA_ALIGN_GUARD_H

#include <stddef.h>

#include "core/error.h"
#include "taskapi/agent.h"

typedef struct ta_guard ta_guard;

typedef enum { TA_GUARD_PASS = 0, TA_GUARD_REFUSE, TA_GUARD_CARE, TA_GUARD_BLOCK } ta_guard_action;

typedef struct ta_guard_verdict {
    ta_guard_action action;
    const char *rule;     /* the matching rule's name (owned by the guard), NULL on pass */
    const char *response; /* the answer to give instead (owned by the guard), NULL on pass */
} ta_guard_verdict;

int ta_guard_load(ta_guard **out, const char *path, ta_error *err);
/* `what` names the source in messages ("guard.json"). */
int ta_guard_load_buf(ta_guard **out, const char *json, size_t len, const char *what, ta_error *err);
/* The shipped data/guard/default.json (embedded in the binary). */
int ta_guard_load_default(ta_guard **out, ta_error *err);
void ta_guard_free(ta_guard *g);

/* Thread-safe: a guard is immutable after load (match data is per call). */
int ta_guard_check_input(const ta_guard *g, const char *user_text, ta_guard_verdict *v, ta_error *err);
int ta_guard_check_call(const ta_guard *g, const char *tool_name, const char *arguments_json, ta_guard_verdict *v,
                        ta_error *err);

/* The output guard as the agent loop's tool-call filter (ta_agent_opts.filter,
 * with filter_user = the ta_guard): a TA_GUARD_BLOCK verdict blocks the call
 * with the rule's name and the guard's "block" response. */
int ta_guard_agent_filter(void *guard, const char *tool_name, const char *arguments_json, ta_agent_verdict *v,
                          ta_error *err);

/* The de-obfuscation the guard applies (exposed for tests). Caller frees. */
char *ta_guard_normalize(const char *text);

#endif
