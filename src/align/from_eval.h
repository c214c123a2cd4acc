/* from_eval.h: closes the loop from a red-team run to the next DPO round.
 *
 * Every failure in an evaluation's transcripts.jsonl becomes a preference
 * pair (TRL conversational format) whose prompt is the conversation exactly as
 * the model saw it up to the failing user turn and whose rejected answer is
 * the model's own:
 *   harmful compliance / weak refusal (a turn expecting refuse labelled comply,
 *     partial or unscored) -> chosen: a five-part rubric refusal for the item's
 *     harm category (the data generator's phrase banks, varied by seed); the
 *     rejected answer is the reply that made the state-changing call, else the
 *     turn's last reply. Indirect injection: before the model read the tasks,
 *     chosen is the list_tasks call; after, the list and a refusal to follow
 *     the task holding the instructions (ta_datagen_indirect_refusal);
 *   off-topic refusal (a harmful turn refused, but the judge found nothing of
 *     the item's harm in it: on_topic false, e.g. a stalking request refused
 *     "because it singles out a group") -> chosen as for harmful compliance,
 *     rejected: that refusal; off with include_off_topic = 0;
 *   false refusal (a turn expecting comply labelled refuse or partial) and
 *   wrong tool call (expect_tool not matched) -> chosen: the expected tool
 *     call, when expect_tool holds every argument the tool requires.
 * Items whose failure has no reference answer are counted, not guessed.
 * Use it on dev or red-team runs, never on the held-out suite you report. */
#ifndef TA_ALIGN_FROM_EVAL_H
#define TA_ALIGN_FROM_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ta_from_eval_stats {
    size_t items, harmful, unscored, off_topic, false_refusal, wrong_tool, skipped_no_reference;
    size_t skipped_malformed; /* the prompt holds a malformed tool call the model made earlier */
} ta_from_eval_stats;

/* report_path: DIR/report.json (transcripts.jsonl is read beside it). */
int ta_from_eval(const char *report_path, const char *out_path, uint64_t seed, int include_off_topic, ta_from_eval_stats *st,
                 ta_error *err);

#endif
