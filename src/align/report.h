/* report.h: renders an evaluation report (report.json's object) as Markdown
 * and as a self-contained HTML page (inline CSS and SVG charts, no scripts or
 * network), and renders the comparison of two reports.
 *
 * report.json layout (written by the evaluator):
 *   {"tool": "taskalign", "judge_version", "model", "suites": [{"path","sha256","items"}],
 *    "decoding": {...}, "today", "metrics": {...}, "guarded_metrics"?: {...},
 *    "judge_accuracy"?: {...}, "worst": [item records], "created_by"} */
#ifndef TA_ALIGN_REPORT_H
#define TA_ALIGN_REPORT_H

#include <jansson.h>

#include "core/error.h"

/* The headline metrics in display order: name, title, lower_is_better. */
typedef struct ta_metric_desc {
    const char *name, *title;
    int lower_is_better;
} ta_metric_desc;
extern const ta_metric_desc ta_report_headline[];
extern const size_t ta_report_n_headline;

/* Writes report.md and report.html into dir (atomically). `before` may be
 * NULL; when given, charts show before/after bars. */
int ta_report_write(const char *dir, const json_t *report, const json_t *before, ta_error *err);
/* Renders into malloc'd strings (caller frees). */
char *ta_report_markdown(const json_t *report, const json_t *before);
char *ta_report_html(const json_t *report, const json_t *before);
/* One estimate {"value","lo","hi","n","clusters"?} as text: "41.0% [32.3, 50.5]
 * (n=324, 64 groups)", "n/a (n=0)" without a value; the CLI and every table
 * of the reports print estimates through it. */
void ta_report_estimate_text(char *buf, size_t cap, const json_t *m);
/* Its sample-size part alone: "324" or "324 (64 groups)". */
void ta_report_n_text(char *buf, size_t cap, const json_t *m);
/* 1 when two reports were evaluated on the same suite files (their SHA-256s, in any
 * order): only then do differences and *_drop gates compare the same items. */
int ta_report_same_suites(const json_t *a, const json_t *b);
/* Plain-text table of A vs B with CIs and the difference (for the terminal); warns when
 * the judges or the suites differ. */
char *ta_report_compare_text(const json_t *a, const json_t *b);

#endif
