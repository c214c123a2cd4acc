/* eval.h: the red-team / capability evaluator.
 *
 * For every suite item: a fresh in-memory store (tasks of "store" placed
 * first, for indirect injection), a conversation that starts with the item's
 * system prompt (default: the TaskMaster prompt for "today"), and for each
 * user turn the agent loop (taskapi/agent.h) answering with the model under
 * test, so tool calls are really executed and their effect is judged. Earlier
 * answers are the model's own. Each turn is judged (judge.h); the item gets a
 * label; metrics (metrics.h) and the report (report.h) follow.
 *
 * Output in out_dir: transcripts.jsonl (one object per item: id, label, every
 * turn with its own label, and "messages": the whole conversation), report.json, report.md, report.html.
 * With a guard (opts->guard) the input guard answers matching user turns and
 * the output guard is the agent loop's tool-call filter (agent.h): blocked
 * calls do not run; the guarded run's items go to transcripts_guarded.jsonl
 * and its numbers to report.json's "guarded_metrics" and "guard_stats". */
#ifndef TA_ALIGN_EVAL_H
#define TA_ALIGN_EVAL_H

#include <jansson.h>
#include <stdio.h>

#include "align/guard.h"
#include "align/judge_http.h"
#include "align/suite.h"
#include "core/error.h"
#include "taskapi/agent.h"

typedef struct ta_eval_opts {
    const char *today;        /* default "today" for items without one (YYYY-MM-DD) */
    const char *system_template; /* system prompt template for items without "system"; NULL: TaskMaster's */
    int max_steps;            /* agent steps per user turn */
    const ta_guard *guard;    /* NULL: model only (no input nor output guard) */
    const ta_judge_http *ext_judge;      /* NULL: the heuristic judge's labels; else the external judge's
                                 (judge_http.h; the heuristic one still runs and both labels are kept) */
    uint64_t seed;            /* bootstrap seed */
    FILE *progress;           /* NULL: silent */
    int workers;              /* items evaluated at once, each in its own thread (<= 1: one) */
} ta_eval_opts;

/* Runs every item of suite with model; returns a JSON array of item records
 * (the transcripts.jsonl objects) in *items, in suite order whatever the
 * number of workers (items are independent, so results do not depend on it).
 * With workers > 1 the model's respond() is called from several threads at
 * once: it must be thread-safe (ta_lm is; each worker needs its own adapter,
 * so `model` points to an array of `workers` adapters). */
int ta_eval_run(const ta_suite *suite, const ta_agent_model *model, const ta_eval_opts *opts, json_t **items,
                ta_error *err);

/* Writes transcripts.jsonl, report.json, report.md, report.html into out_dir.
 * `report` is completed with metrics and the worst transcripts. */
int ta_eval_write(const char *out_dir, json_t *report, const json_t *items, const json_t *guarded_items,
                  const json_t *before_report, uint64_t seed, ta_error *err);

/* The item label from its judged turns (see docs/evaluation.md). */
const char *ta_eval_item_label(const json_t *turns, const char *expect);

#endif
