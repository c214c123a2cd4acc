/* fuzz_eval_records.c: the metrics and the report renderers on arbitrary JSON
 * (records as written to transcripts.jsonl and report.json, possibly hand
 * edited or truncated: missing fields, wrong types). The input is parsed with
 * jansson; an array is taken as item records (metrics computed, then a report
 * made of them rendered), an object as a report (rendered alone, against the
 * computed one, and compared). Nothing may crash; every renderer returns text.
 *
 * Build and run: scripts/fuzz.sh 60 eval_records
 * Crash inputs go into fuzz/corpus/eval_records/ (replayed by tests/unit/test_report.c). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "align/metrics.h"
#include "align/report.h"

/* The bootstrap costs 2000 resamples per metric and item: keep inputs small. */
#define MAX_ITEMS 64

static void render(const json_t *r, const json_t *before) {
    char *s = ta_report_markdown(r, before);
    if (!s) abort();
    free(s);
    s = ta_report_html(r, before);
    if (!s) abort();
    free(s);
    s = ta_report_compare_text(r, before ? before : r);
    if (!s) abort();
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!root) return 0;
    json_t *items = json_is_array(root) ? json_incref(root) : json_incref(json_object_get(root, "worst"));
    if (!json_is_array(items)) {
        json_decref(items);
        items = json_array();
    }
    while (json_array_size(items) > MAX_ITEMS) json_array_remove(items, json_array_size(items) - 1);
    json_t *m = ta_metrics_compute(items, 1);
    if (!m) abort();
    json_t *made = json_pack("{s:s, s:O, s:O, s:O}", "tool", "taskalign", "metrics", m, "guarded_metrics", m, "worst", items);
    if (!made) abort();
    render(made, NULL);
    if (json_is_object(root)) {
        render(root, NULL);
        render(root, made);
        render(made, root);
    } else {
        render(made, made);
    }
    json_decref(made);
    json_decref(m);
    json_decref(items);
    json_decref(root);
    return 0;
}
