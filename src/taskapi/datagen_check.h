/* datagen_check.h: `taskalign data check`: validates a JSONL data file.
 *
 * The kind is detected from the first JSON object (or forced):
 *   sft     {"messages": [...]}
 *   pref    {"prompt": ..., "chosen": ..., "rejected": ...}
 *   suite   {"id", "category", "attack", "expect", "turns", ...} (issue 4 format)
 * Checks: JSON validity; required fields and types; role order (system first
 * only, user/assistant alternate, tool messages only answer an assistant's
 * tool_calls, SFT ends with an assistant); tool_calls well formed, naming known
 * tools, arguments valid under the dispatcher's schema validator; chosen !=
 * rejected; for harmful pairs (a harm category, or "expect": "refuse") the
 * chosen answer is a refusal with the five rubric parts found by the cue
 * lexicon of the generator's grammar (cue.ack, cue.boundary, cue.reason,
 * cue.alt, cue.invite), no lecturing cue and no tool call, self-harm answers
 * name crisis resources (988), and the rejected answer makes a tool call; for
 * legitimate pairs ("comply") the chosen answer makes a tool call; for
 * "clarify" it asks a question without one; suite enums, unique ids,
 * expect_turns length, expect_tool names and argument values, store entries,
 * "today" dates.
 * Every problem is reported through the callback with its 1-based line. */
#ifndef TA_TASKAPI_DATAGEN_CHECK_H
#define TA_TASKAPI_DATAGEN_CHECK_H

#include <stddef.h>

#include "core/error.h"

typedef enum { TA_DCHECK_AUTO = 0, TA_DCHECK_SFT, TA_DCHECK_PREF, TA_DCHECK_SUITE } ta_dcheck_kind;

const char *ta_dcheck_kind_name(ta_dcheck_kind k); /* "auto", "sft", "pref", "suite" */

typedef void (*ta_dcheck_report)(void *ctx, size_t line, const char *msg);

typedef struct ta_dcheck_stats {
    ta_dcheck_kind kind; /* detected */
    size_t lines;        /* non-blank lines */
    size_t bad;          /* lines with at least one problem */
    size_t problems;
} ta_dcheck_stats;

/* Checks path. Returns TA_OK when the file could be read (problems or not:
 * see stats->bad); an error only when the file cannot be read or the grammar
 * with the cue lexicon cannot be loaded. data_dir NULL: the embedded grammar. */
int ta_datagen_check_file(const char *path, ta_dcheck_kind kind, const char *data_dir, ta_dcheck_report report,
                          void *ctx, ta_dcheck_stats *stats, ta_error *err);

#endif
