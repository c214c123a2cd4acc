/* judge_accuracy.c: see judge_accuracy.h. */
#include "align/judge_accuracy.h"

#include <stdlib.h>
#include <string.h>

#include "align/judge.h"
#include "core/json.h"

/* One record's judge input (the calls borrow from j). */
static int record_input(const json_t *j, const char *what, size_t line, ta_judge_input *in, ta_judge_call **calls,
                        ta_error *err) {
    const json_t *a = json_object_get(j, "assistant"), *h = json_object_get(j, "harmful");
    const json_t *tc = json_object_get(j, "tool_calls"), *inv = json_object_get(j, "invalid_tool_json");
    if (!json_is_string(a)) return ta_error_set(err, TA_EFORMAT, "%s:%zu: field 'assistant' must be a string", what, line);
    if (!json_is_boolean(h)) return ta_error_set(err, TA_EFORMAT, "%s:%zu: field 'harmful' must be true or false", what, line);
    if (tc && !json_is_array(tc)) return ta_error_set(err, TA_EFORMAT, "%s:%zu: field 'tool_calls' must be an array", what, line);
    if (inv && !json_is_boolean(inv))
        return ta_error_set(err, TA_EFORMAT, "%s:%zu: field 'invalid_tool_json' must be true or false", what, line);
    size_t n = json_array_size(tc);
    *calls = calloc(n ? n : 1, sizeof **calls);
    if (!*calls) return ta_error_set(err, TA_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(tc, i);
        const json_t *st = json_object_get(c, "status"), *nm = json_object_get(c, "name");
        if (!json_is_object(c) || (st && !json_is_string(st)))
            return ta_error_set(err, TA_EFORMAT, "%s:%zu: tool_calls[%zu] must be an object with a string 'status'", what, line, i);
        if (st && strcmp(json_string_value(st), "ok")) continue; /* malformed: never ran */
        if (!json_is_string(nm))
            return ta_error_set(err, TA_EFORMAT, "%s:%zu: tool_calls[%zu].name must be a string", what, line, i);
        const json_t *args = json_object_get(c, "arguments");
        (*calls)[k++] = (ta_judge_call){json_string_value(nm), json_is_object(args) ? args : NULL, json_is_true(json_object_get(c, "ok"))};
    }
    *in = (ta_judge_input){json_string_value(a), *calls, k, json_is_true(inv), json_is_true(h),
                           json_string_value(json_object_get(j, "category")), json_string_value(json_object_get(j, "attack"))};
    return TA_OK;
}

static json_t *per_label(const size_t conf[TA_LABEL_COUNT][TA_LABEL_COUNT], ta_label l) {
    size_t support = 0, predicted = 0;
    for (int k = 0; k < TA_LABEL_COUNT; k++) support += conf[l][k], predicted += conf[k][l];
    json_t *o = json_object();
    json_object_set_new(o, "precision", json_real(predicted ? (double)conf[l][l] / (double)predicted : 1.0));
    json_object_set_new(o, "recall", json_real(support ? (double)conf[l][l] / (double)support : 1.0));
    json_object_set_new(o, "support", json_integer((json_int_t)support));
    json_object_set_new(o, "predicted", json_integer((json_int_t)predicted));
    return o;
}

int ta_judge_accuracy(const char *buf, size_t len, const char *what, json_t **out, ta_error *err) {
    size_t conf[TA_LABEL_COUNT][TA_LABEL_COUNT]; /* [human][judge] */
    memset(conf, 0, sizeof conf);
    json_t *dis = json_array();
    size_t n = 0, line = 0;
    int rc = TA_OK;
    for (size_t p = 0; p < len && !rc;) {
        const char *nl = memchr(buf + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - buf) : len;
        line++;
        size_t s = p;
        p = e + 1;
        while (s < e && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\r')) s++;
        if (s == e) continue;
        json_error_t je;
        json_t *j = json_loadb(buf + s, e - s, 0, &je);
        if (!j || !json_is_object(j)) {
            rc = ta_error_set(err, TA_EFORMAT, "%s:%zu:%d: %s", what, line, j ? 1 : je.column, j ? "a record must be a JSON object" : je.text);
            json_decref(j);
            break;
        }
        const char *ls = json_string_value(json_object_get(j, "label"));
        ta_label human;
        if (!ls || ta_label_parse(ls, &human)) {
            rc = ta_error_set(err, TA_EFORMAT, "%s:%zu: field 'label' must be one of comply, refuse, partial, clarify, unscored%s%s%s",
                              what, line, ls ? " (got '" : "", ls ? ls : "", ls ? "')" : "");
            json_decref(j);
            break;
        }
        ta_judge_input in;
        ta_judge_call *calls = NULL;
        rc = record_input(j, what, line, &in, &calls, err);
        if (!rc) {
            ta_judge_result r;
            ta_judge_turn(&in, &r);
            conf[human][r.label]++;
            n++;
            if (r.label != human) {
                json_t *d = json_object();
                const json_t *id = json_object_get(j, "id");
                json_object_set_new(d, "id", json_is_string(id) ? json_copy((json_t *)id) : json_integer((json_int_t)line));
                json_object_set_new(d, "human", json_string(ta_label_name(human)));
                json_object_set_new(d, "judge", json_string(ta_label_name(r.label)));
                json_object_set_new(d, "reason", json_string(r.reason));
                json_array_append_new(dis, d);
            }
        }
        free(calls);
        json_decref(j);
    }
    if (!rc && n == 0) rc = ta_error_set(err, TA_EFORMAT, "%s: no labelled records", what);
    if (rc) {
        json_decref(dis);
        return rc;
    }
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)n));
    json_object_set_new(o, "set", json_string(what));
    json_object_set_new(o, "judge_version", json_string(TA_JUDGE_VERSION));
    size_t agree = 0;
    for (int k = 0; k < TA_LABEL_COUNT; k++) agree += conf[k][k];
    json_object_set_new(o, "agreement", json_real((double)agree / (double)n));
    for (int l = 0; l < TA_LABEL_COUNT; l++) json_object_set_new(o, ta_label_name((ta_label)l), per_label(conf, (ta_label)l));
    json_t *cm = json_object();
    for (int h = 0; h < TA_LABEL_COUNT; h++) {
        json_t *row = json_object();
        for (int k = 0; k < TA_LABEL_COUNT; k++) json_object_set_new(row, ta_label_name((ta_label)k), json_integer((json_int_t)conf[h][k]));
        json_object_set_new(cm, ta_label_name((ta_label)h), row);
    }
    json_object_set_new(o, "confusion", cm);
    json_object_set_new(o, "disagreements", dis);
    *out = o;
    return TA_OK;
}

static const char EMBEDDED[] =
#include "embed/judge/labelled.jsonl.inc"
    ;

int ta_judge_accuracy_embedded(json_t **out, ta_error *err) {
    return ta_judge_accuracy(EMBEDDED, sizeof EMBEDDED - 1, "data/judge/labelled.jsonl", out, err);
}
