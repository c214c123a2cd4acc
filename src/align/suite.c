#include "align/suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"

void ta_suite_init(ta_suite *s) { memset(s, 0, sizeof *s); }

static void item_release(ta_suite_item *it) {
    free(it->id);
    free(it->category);
    free(it->attack);
    free(it->expect);
    for (size_t i = 0; i < it->n_turns; i++) {
        free(it->turns[i]);
        if (it->expect_turns) free(it->expect_turns[i]);
    }
    free(it->turns);
    free(it->expect_turns);
    json_decref(it->expect_tool);
    json_decref(it->reference_call);
    free(it->system);
    json_decref(it->store);
    free(it->today);
    free(it->group);
    memset(it, 0, sizeof *it);
}

void ta_suite_release(ta_suite *s) {
    for (size_t i = 0; i < s->n; i++) item_release(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static const char *const attacks[] = {"direct", "reframe", "roleplay", "override", "social", "escalation",
                                      "obfuscation", "indirect", "none", NULL};
static const char *const expects[] = {"refuse", "comply", "clarify", NULL};

static int in_list(const char *s, const char *const *l) {
    for (; *l; l++)
        if (!strcmp(s, *l)) return 1;
    return 0;
}

static int valid_date(const char *s) {
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' || s[7] != '-') return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static int parse_item(const json_t *o, const char *where, ta_suite_item *it, ta_error *err) {
    memset(it, 0, sizeof *it);
    if (!json_is_object(o)) return ta_error_set(err, TA_EFORMAT, "%s: a suite line must be a JSON object", where);
    const char *id, *cat = "", *att = "none", *exp;
    int rc;
    if ((rc = ta_json_get_str(o, "id", 1, &id, where, err)) || (rc = ta_json_get_str(o, "category", 0, &cat, where, err)) ||
        (rc = ta_json_get_str(o, "attack", 0, &att, where, err)) || (rc = ta_json_get_str(o, "expect", 1, &exp, where, err)))
        return rc;
    if (!id[0]) return ta_error_set(err, TA_EFORMAT, "%s: \"id\" is empty", where);
    if (!in_list(att, attacks)) return ta_error_set(err, TA_EFORMAT, "%s: \"attack\" must be one of direct, reframe, roleplay, override, social, escalation, obfuscation, indirect, none; got '%s'", where, att);
    if (!in_list(exp, expects)) return ta_error_set(err, TA_EFORMAT, "%s: \"expect\" must be refuse, comply or clarify; got '%s'", where, exp);
    const json_t *turns = json_object_get(o, "turns");
    if (!json_is_array(turns) || !json_array_size(turns)) return ta_error_set(err, TA_EFORMAT, "%s: \"turns\" must be a non-empty array of strings", where);
    size_t nt = json_array_size(turns);
    const json_t *et = json_object_get(o, "expect_turns");
    if (et && !json_is_null(et) && (!json_is_array(et) || json_array_size(et) != nt))
        return ta_error_set(err, TA_EFORMAT, "%s: \"expect_turns\" must be an array with one entry per turn (%zu)", where, nt);
    for (size_t i = 0; i < nt; i++) {
        if (!json_is_string(json_array_get(turns, i))) return ta_error_set(err, TA_EFORMAT, "%s: turns[%zu] must be a string", where, i);
        if (json_is_array(et)) {
            const json_t *e = json_array_get(et, i);
            if (!json_is_string(e) || !in_list(json_string_value(e), expects))
                return ta_error_set(err, TA_EFORMAT, "%s: expect_turns[%zu] must be refuse, comply or clarify", where, i);
        }
    }
    const json_t *tool = json_object_get(o, "expect_tool");
    if (tool && !json_is_null(tool)) {
        if (!json_is_object(tool) || !json_is_string(json_object_get(tool, "name")))
            return ta_error_set(err, TA_EFORMAT, "%s: \"expect_tool\" must be an object with a string \"name\"", where);
        const json_t *a = json_object_get(tool, "arguments");
        if (a && !json_is_object(a)) return ta_error_set(err, TA_EFORMAT, "%s: expect_tool.arguments must be an object", where);
    }
    const json_t *ref = json_object_get(o, "reference_call");
    if (ref && !json_is_null(ref)) {
        if (!json_is_object(ref) || !json_is_string(json_object_get(ref, "name")) || !json_is_object(json_object_get(ref, "arguments")))
            return ta_error_set(err, TA_EFORMAT, "%s: \"reference_call\" must be an object with a string \"name\" and an \"arguments\" object", where);
    }
    const json_t *store = json_object_get(o, "store");
    if (store && !json_is_null(store)) {
        if (!json_is_array(store)) return ta_error_set(err, TA_EFORMAT, "%s: \"store\" must be an array of task objects", where);
        for (size_t i = 0; i < json_array_size(store); i++)
            if (!json_is_object(json_array_get(store, i)) || !json_is_string(json_object_get(json_array_get(store, i), "title")))
                return ta_error_set(err, TA_EFORMAT, "%s: store[%zu] must be an object with a string \"title\"", where, i);
    }
    const char *sys = NULL, *today = NULL, *group = NULL;
    if ((rc = ta_json_get_str(o, "system", 0, &sys, where, err)) || (rc = ta_json_get_str(o, "today", 0, &today, where, err)) ||
        (rc = ta_json_get_str(o, "group", 0, &group, where, err)))
        return rc;
    if (group && !group[0]) return ta_error_set(err, TA_EFORMAT, "%s: \"group\" is empty (leave it out for an independent item)", where);
    if (today && !valid_date(today)) return ta_error_set(err, TA_EFORMAT, "%s: \"today\" must be a real YYYY-MM-DD date, got '%s'", where, today);

    it->id = strdup(id);
    it->category = strdup(cat);
    it->attack = strdup(att);
    it->expect = strdup(exp);
    it->turns = calloc(nt, sizeof *it->turns);
    it->expect_turns = json_is_array(et) ? calloc(nt, sizeof *it->expect_turns) : NULL;
    if (!it->id || !it->category || !it->attack || !it->expect || !it->turns || (json_is_array(et) && !it->expect_turns)) goto oom;
    it->n_turns = nt;
    for (size_t i = 0; i < nt; i++) {
        if (!(it->turns[i] = strdup(json_string_value(json_array_get(turns, i))))) goto oom;
        if (it->expect_turns && !(it->expect_turns[i] = strdup(json_string_value(json_array_get(et, i))))) goto oom;
    }
    if (tool && json_is_object(tool)) it->expect_tool = json_deep_copy(tool);
    if (store && json_is_array(store)) it->store = json_deep_copy(store);
    if (ref && json_is_object(ref)) it->reference_call = json_deep_copy(ref);
    if (sys && !(it->system = strdup(sys))) goto oom;
    if (today && !(it->today = strdup(today))) goto oom;
    if (group && !(it->group = strdup(group))) goto oom;
    return TA_OK;
oom:
    item_release(it);
    return ta_error_set(err, TA_ENOMEM, "out of memory");
}

int ta_suite_load_buf(ta_suite *s, const char *buf, size_t len, const char *what, ta_error *err) {
    const char *base = strrchr(what, '/') ? strrchr(what, '/') + 1 : what;
    size_t n0 = s->n, lineno = 0, pos = 0;
    int rc = TA_OK;
    while (pos < len) {
        lineno++;
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - line) : len - pos;
        pos += l + (nl ? 1 : 0);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ')) l--;
        if (!l) continue;
        char where[600];
        snprintf(where, sizeof where, "%s:%zu", what, lineno);
        json_t *o;
        if ((rc = ta_json_load_buf(line, l, where, &o, err))) break;
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 64;
            ta_suite_item *ni = realloc(s->items, nc * sizeof *ni);
            if (!ni) { json_decref(o); rc = ta_error_set(err, TA_ENOMEM, "out of memory"); break; }
            s->items = ni;
            s->cap = nc;
        }
        char shortwhere[64];
        snprintf(shortwhere, sizeof shortwhere, "%.50s:%zu", base, lineno);
        rc = parse_item(o, where, &s->items[s->n], err);
        json_decref(o);
        if (rc) break;
        snprintf(s->items[s->n].source, sizeof s->items[s->n].source, "%s", shortwhere);
        for (size_t i = 0; i < s->n; i++)
            if (!strcmp(s->items[i].id, s->items[s->n].id)) {
                rc = ta_error_set(err, TA_EFORMAT, "%s: duplicate id '%s' (first at %s)", where, s->items[i].id, s->items[i].source);
                item_release(&s->items[s->n]);
                break;
            }
        if (rc) break;
        s->n++;
    }
    if (rc) {
        for (size_t i = n0; i < s->n; i++) item_release(&s->items[i]);
        s->n = n0;
    } else if (s->n == n0) {
        rc = ta_error_set(err, TA_EFORMAT, "suite '%s' has no items", what);
    }
    return rc;
}

int ta_suite_load(ta_suite *s, const char *path, ta_error *err) {
    char *buf;
    size_t len;
    int rc = ta_file_read_all(path, (size_t)1 << 30, &buf, &len, err);
    if (rc) {
        ta_error_prefix(err, "suite");
        return rc;
    }
    rc = ta_suite_load_buf(s, buf, len, path, err);
    free(buf);
    return rc;
}

const char *ta_suite_turn_expect(const ta_suite_item *it, size_t i) {
    if (it->expect_turns) return it->expect_turns[i];
    return i + 1 == it->n_turns ? it->expect : NULL;
}
