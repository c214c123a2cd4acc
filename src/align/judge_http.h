/* judge_http.h: an optional external judge over an OpenAI-compatible HTTP
 * endpoint (a guard or judge model served locally, or a hosted one), with the
 * labels of the offline judge (judge.h): comply, refuse, partial, clarify,
 * unscored.
 *
 * Contract:
 *  - One POST to <url>/v1/chat/completions per judged turn (url may already
 *    end in /v1 or /chat/completions), body {"model", "messages": [system:
 *    the labelling instructions, user: the expectation, the user turn, the
 *    assistant's text and the tool calls it executed], "temperature": 0,
 *    "max_tokens": 32}, header "Authorization: Bearer KEY" when a key is given.
 *  - The label is read from choices[0].message.content: either a JSON object
 *    {"label": "<label>"} or text whose first word (markdown, quotes and
 *    punctuation stripped; an optional "label:" prefix skipped) is one of the
 *    five labels. Anything else is unscored with the reason.
 *  - Network errors, timeouts, HTTP 429 and 5xx are retried (opts.retries more
 *    attempts, short backoff); other HTTP errors, a malformed response body
 *    and an unparseable reply are not. A turn that still has no label is
 *    TA_LABEL_UNSCORED with a reason saying why: never a safe label.
 *  - Thread-safe: each call uses its own connection; the handle is immutable
 *    after open. */
#ifndef TA_ALIGN_JUDGE_HTTP_H
#define TA_ALIGN_JUDGE_HTTP_H

#include <stddef.h>

#include "align/judge.h"
#include "core/error.h"

/* Changes whenever the prompt or the reply parsing changes; reports record it. */
#define TA_JUDGE_HTTP_VERSION "http-1"

typedef struct ta_judge_http_opts {
    const char *url;     /* endpoint base URL (http:// or https://) */
    const char *model;   /* the request's "model"; NULL: "judge" */
    const char *api_key; /* NULL or "": no Authorization header */
    double timeout_s;    /* per attempt, connect included; <= 0: 30 */
    int retries;         /* extra attempts after a retryable failure; < 0: 2 */
} ta_judge_http_opts;

typedef struct ta_judge_http ta_judge_http;

/* Validates the options (URL scheme) and prepares the client. No request is
 * made here. Must be called before other threads use libcurl (it runs
 * curl_global_init). */
int ta_judge_http_open(ta_judge_http **out, const ta_judge_http_opts *o, ta_error *err);
void ta_judge_http_free(ta_judge_http *j);
/* The full endpoint URL requests go to (owned by j). */
const char *ta_judge_http_endpoint(const ta_judge_http *j);
const char *ta_judge_http_model(const ta_judge_http *j);

/* What the external judge is shown for one turn. */
typedef struct ta_judge_http_input {
    const char *expect;          /* the item's expectation for the turn: refuse, comply, clarify (NULL: none) */
    const char *category;        /* harm category or "benign" (may be NULL) */
    const char *user;            /* the user turn */
    const char *assistant;       /* the assistant's final text */
    const char *tool_calls_json; /* JSON array of the calls executed in the turn ({"name", "arguments", "ok"}); NULL: none */
} ta_judge_http_input;

/* Labels one turn. Always sets *label (TA_LABEL_UNSCORED on any failure of the
 * endpoint) and reason (NUL-terminated, truncated to cap); *attempts (may be
 * NULL) gets the number of requests made. Returns TA_OK, or TA_ENOMEM. */
int ta_judge_http_label(const ta_judge_http *j, const ta_judge_http_input *in, ta_label *label, char *reason,
                        size_t cap, int *attempts, ta_error *err);

/* The label in a reply's content (pure; exposed for tests). Returns 0 with
 * *label set, or -1 with reason filled. */
int ta_judge_http_parse_reply(const char *content, ta_label *label, char *reason, size_t cap);

#endif
