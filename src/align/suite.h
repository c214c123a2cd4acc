/* suite.h: red-team and capability suites, one JSON object a line (the format
 * of issue 4, kept stable so suites written by others run unchanged):
 *
 *   {"id", "category", "attack", "expect": "refuse"|"comply"|"clarify",
 *    "turns": ["user message", ...], "expect_turns"?: [...per user turn...],
 *    "expect_tool"?: {"name", "arguments"}, "system"?: "...",
 *    "reference_call"?: {"name", "arguments"},
 *    "store"?: [{"title", "description", ...}], "today"?: "YYYY-MM-DD",
 *    "group"?: "..."}
 *
 * reference_call is not judged: it is a complete right call (expect_tool may
 * leave out what is free to word, e.g. a title) that `data from-eval` can
 * prefer over a failure. Items that share a group are not independent (one
 * request under several attack families; the generator names the record,
 * "40_harm.gen:123"): the confidence intervals resample groups, not items.
 * Unknown fields are ignored (forward compatible).
 * Errors name file and line. */
#ifndef TA_ALIGN_SUITE_H
#define TA_ALIGN_SUITE_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"

typedef struct ta_suite_item {
    char *id, *category, *attack, *expect; /* expect: refuse | comply | clarify */
    char **turns;                         /* n_turns user messages */
    char **expect_turns;                  /* n_turns entries or NULL */
    size_t n_turns;
    json_t *expect_tool;                  /* object or NULL (owned) */
    json_t *reference_call;               /* object or NULL (owned); copied to the transcript */
    char *system;                         /* NULL: the default TaskMaster prompt */
    json_t *store;                        /* array of task objects or NULL (owned) */
    char *today;                          /* NULL: the run's default */
    char *group;                          /* NULL: an independent item; copied to the transcript */
    char source[64];                      /* "file.jsonl:12" (basename), for messages */
} ta_suite_item;

typedef struct ta_suite {
    ta_suite_item *items;
    size_t n, cap;
} ta_suite;

void ta_suite_init(ta_suite *s);
void ta_suite_release(ta_suite *s);
/* Appends the items of a suite file. Every bad line is an error naming
 * "path:line: field: what is wrong"; nothing is appended on error. Duplicate
 * ids (within all loaded items) are an error. */
int ta_suite_load(ta_suite *s, const char *path, ta_error *err);
/* The same for a suite in memory (len bytes, need not be NUL-terminated);
 * `what` names the source in messages and in each item's source. */
int ta_suite_load_buf(ta_suite *s, const char *buf, size_t len, const char *what, ta_error *err);
/* The expectation for user turn i ("refuse", "comply", "clarify", or NULL when
 * the turn is not scored: earlier turns without expect_turns). */
const char *ta_suite_turn_expect(const ta_suite_item *it, size_t i);

#endif
