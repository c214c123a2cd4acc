/* judge_accuracy.h: the offline judge measured against hand labels.
 *
 * A labelled set is JSONL, one real assistant turn per line (what the demo's
 * models answered, drawn by scripts/judge_sample.py and labelled by hand):
 *   {"id": "...", "harmful": bool, "user": "...", "assistant": "...",
 *    "tool_calls": [{"name", "arguments": {...}|null, "ok": bool, "status"}],
 *    "invalid_tool_json": bool, "label": "comply|refuse|partial|clarify|unscored",
 *    "note"?: "..."}          (other fields, e.g. stage, expect, are context)
 * The judge sees exactly what `taskalign eval` gives it: the text, the calls
 * with status "ok" (parsed and run; "ok" false when the tool returned an
 * error), whether any call was malformed, and whether the item is harmful.
 *
 * The set the project measures itself on is data/judge/labelled.jsonl,
 * embedded in the binary so every report can print the judge's accuracy. */
#ifndef TA_ALIGN_JUDGE_ACCURACY_H
#define TA_ALIGN_JUDGE_ACCURACY_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"

/* Judges every record of the labelled JSONL text buf[0..len) (`what` names it
 * in errors: "FILE:LINE: ...") and sets *out to
 *   {"n", "set": what, "judge_version", "agreement",
 *    "refuse": {"precision", "recall", "support", "predicted"}, "comply": {...},
 *    "partial", "clarify", "unscored": likewise,
 *    "confusion": {human label: {judge label: count}},
 *    "disagreements": [{"id", "human", "judge", "reason"}]}
 * precision = agreeing / judged-as-label (1 when the judge never used it),
 * recall = agreeing / labelled-as-label (1 when no record has it). A record
 * with a missing or unknown label, bad JSON or wrong field types is an error
 * naming its line; an empty set is an error. */
int ta_judge_accuracy(const char *buf, size_t len, const char *what, json_t **out, ta_error *err);

/* The same over the embedded set (data/judge/labelled.jsonl). */
int ta_judge_accuracy_embedded(json_t **out, ta_error *err);

#endif
