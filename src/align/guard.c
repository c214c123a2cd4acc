#define PCRE2_CODE_UNIT_WIDTH 8
#include "align/guard.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/file.h"
#include "core/json.h"
#include "taskapi/tools.h"

typedef struct {
    char *name;
    ta_guard_action action;
    pcre2_code *re;
    char **tools; /* output rules: tool names the rule applies to (NULL-terminated; NULL = all writes) */
} guard_rule;

typedef struct {
    char **v;
    size_t n;
} str_list;

struct ta_guard {
    guard_rule *in, *out;
    size_t n_in, n_out;
    str_list resp[4]; /* indexed by action */
};

static void free_rules(guard_rule *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        pcre2_code_free(r[i].re);
        if (r[i].tools)
            for (char **t = r[i].tools; *t; t++) free(*t);
        free(r[i].tools);
    }
    free(r);
}

void ta_guard_free(ta_guard *g) {
    if (!g) return;
    free_rules(g->in, g->n_in);
    free_rules(g->out, g->n_out);
    for (int a = 0; a < 4; a++) {
        for (size_t i = 0; i < g->resp[a].n; i++) free(g->resp[a].v[i]);
        free(g->resp[a].v);
    }
    free(g);
}

static int parse_rules(const json_t *arr, int output, guard_rule **out, size_t *n_out, const char *what, ta_error *err) {
    const char *sect = output ? "output" : "input";
    if (!arr) { *out = NULL; *n_out = 0; return TA_OK; }
    if (!json_is_array(arr)) return ta_error_set(err, TA_EFORMAT, "%s: \"%s\" must be an array", what, sect);
    size_t n = json_array_size(arr);
    guard_rule *r = calloc(n ? n : 1, sizeof *r);
    if (!r) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        const char *name = NULL, *pat = NULL, *act = output ? "block" : NULL;
        char where[96];
        snprintf(where, sizeof where, "%s: %s[%zu]", what, sect, i);
        int rc;
        if (!json_is_object(o)) { rc = ta_error_set(err, TA_EFORMAT, "%s must be an object", where); goto fail; }
        if ((rc = ta_json_get_str(o, "name", 1, &name, where, err)) || (rc = ta_json_get_str(o, "pattern", 1, &pat, where, err)) ||
            (rc = ta_json_get_str(o, "action", !output, &act, where, err)))
            goto fail;
        r[i].name = strdup(name);
        if (!strcmp(act, "refuse")) r[i].action = TA_GUARD_REFUSE;
        else if (!strcmp(act, "care")) r[i].action = TA_GUARD_CARE;
        else if (!strcmp(act, "block") && output) r[i].action = TA_GUARD_BLOCK;
        else { rc = ta_error_set(err, TA_EFORMAT, "%s: \"action\" must be %s, got '%s'", where, output ? "block" : "refuse or care", act); goto fail; }
        int ec;
        PCRE2_SIZE eo;
        /* MATCH_INVALID_UTF: text with a stray invalid byte is still matched
         * (plain UTF mode fails the match, letting it through unchecked) */
        r[i].re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
        if (!r[i].re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof msg);
            rc = ta_error_set(err, TA_EFORMAT, "%s: \"pattern\" at offset %zu: %s", where, (size_t)eo, (char *)msg);
            goto fail;
        }
        const json_t *tools = json_object_get(o, "tools");
        if (output && json_is_array(tools)) {
            size_t nt = json_array_size(tools);
            r[i].tools = calloc(nt + 1, sizeof *r[i].tools);
            if (!r[i].tools) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
            for (size_t k = 0; k < nt; k++) {
                const json_t *t = json_array_get(tools, k);
                if (!json_is_string(t)) { rc = ta_error_set(err, TA_EFORMAT, "%s: tools[%zu] must be a string", where, k); goto fail; }
                r[i].tools[k] = strdup(json_string_value(t));
            }
        }
        continue;
    fail:
        free_rules(r, i + 1);
        return rc;
    }
    *out = r;
    *n_out = n;
    return TA_OK;
}

int ta_guard_load_buf(ta_guard **out, const char *json, size_t len, const char *what, ta_error *err) {
    json_t *root;
    int rc = ta_json_load_buf(json, len, what, &root, err);
    if (rc) return rc;
    ta_guard *g = calloc(1, sizeof *g);
    if (!g) { json_decref(root); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
    if (!json_is_object(root)) { rc = ta_error_set(err, TA_EFORMAT, "%s: the guard configuration must be an object", what); goto fail; }
    if ((rc = parse_rules(json_object_get(root, "input"), 0, &g->in, &g->n_in, what, err))) goto fail;
    if ((rc = parse_rules(json_object_get(root, "output"), 1, &g->out, &g->n_out, what, err))) goto fail;
    const json_t *resp = json_object_get(root, "responses");
    const char *keys[4] = {NULL, "refuse", "care", "block"};
    for (int a = 1; a < 4; a++) {
        const json_t *lst = json_object_get(resp, keys[a]);
        int needed = 0;
        for (size_t i = 0; i < g->n_in; i++) if ((int)g->in[i].action == a) needed = 1;
        if (a == TA_GUARD_BLOCK && g->n_out) needed = 1;
        if (!json_is_array(lst) || !json_array_size(lst)) {
            if (needed) { rc = ta_error_set(err, TA_EFORMAT, "%s: responses.%s must be a non-empty array of strings", what, keys[a]); goto fail; }
            continue;
        }
        g->resp[a].v = calloc(json_array_size(lst), sizeof(char *));
        if (!g->resp[a].v) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
        for (size_t i = 0; i < json_array_size(lst); i++) {
            const json_t *s = json_array_get(lst, i);
            if (!json_is_string(s)) { rc = ta_error_set(err, TA_EFORMAT, "%s: responses.%s[%zu] must be a string", what, keys[a], i); goto fail; }
            g->resp[a].v[g->resp[a].n++] = strdup(json_string_value(s));
        }
    }
    json_decref(root);
    *out = g;
    return TA_OK;
fail:
    json_decref(root);
    ta_guard_free(g);
    return rc;
}

static const char default_guard[] =
#include "embed/guard/default.json.inc"
    ;

int ta_guard_load_default(ta_guard **out, ta_error *err) {
    return ta_guard_load_buf(out, default_guard, sizeof default_guard - 1, "data/guard/default.json", err);
}

int ta_guard_load(ta_guard **out, const char *path, ta_error *err) {
    char *buf;
    size_t len;
    int rc = ta_file_read_all(path, 16u << 20, &buf, &len, err);
    if (rc) return rc;
    rc = ta_guard_load_buf(out, buf, len, path, err);
    free(buf);
    return rc;
}

static char leet(char c) {
    switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '@': return 'a';
    case '$': return 's';
    default: return c;
    }
}

char *ta_guard_normalize(const char *text) {
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, 0, &folded,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
    if (n < 0) { /* invalid UTF-8: fall back to ASCII lower-casing of the bytes */
        folded = (utf8proc_uint8_t *)strdup(text);
        if (!folded) return NULL;
        for (char *p = (char *)folded; *p; p++) *p = (char)tolower((unsigned char)*p);
        n = (utf8proc_ssize_t)strlen((char *)folded);
    }
    char *s = (char *)folded;
    /* map leetspeak inside words (a digit next to a letter) */
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        char c = s[i], l = leet(c);
        if (l != c) {
            int prev_alpha = i > 0 && isalpha((unsigned char)s[i - 1]);
            int next_alpha = i + 1 < n && (isalpha((unsigned char)s[i + 1]) || leet(s[i + 1]) != s[i + 1]);
            if (prev_alpha || next_alpha) s[i] = l;
        }
    }
    /* join runs of single letters separated by one space, dot, dash or underscore: "k i l l" -> "kill" */
    char *o = malloc((size_t)n + 1);
    if (!o) { free(s); return NULL; }
    size_t w = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        int sep = c == ' ' || c == '.' || c == '-' || c == '_' || c == '*';
        if (sep && i > 0 && i + 1 < n && isalpha((unsigned char)s[i - 1]) && isalpha((unsigned char)s[i + 1]) &&
            (i < 2 || !isalpha((unsigned char)s[i - 2])) && (i + 2 >= n || !isalpha((unsigned char)s[i + 2])))
            continue;
        o[w++] = c;
    }
    o[w] = '\0';
    free(s);
    return o;
}

static int rule_matches(const pcre2_code *re, const char *text, ta_error *err) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return ta_error_set(err, TA_ENOMEM, "out of memory"), -1;
    int rc = pcre2_match(re, (PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0 ? 1 : 0;
}

static const char *pick(const ta_guard *g, ta_guard_action a, const char *seed_text) {
    const str_list *l = &g->resp[a];
    if (!l->n) return "I can't help with that here. Is there something else I can do for your tasks?";
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of the input: deterministic choice */
    for (const char *p = seed_text; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return l->v[h % l->n];
}

int ta_guard_check_input(const ta_guard *g, const char *user_text, ta_guard_verdict *v, ta_error *err) {
    memset(v, 0, sizeof *v);
    char *norm = ta_guard_normalize(user_text ? user_text : "");
    if (!norm) return ta_error_set(err, TA_ENOMEM, "out of memory");
    /* care rules first: a self-harm message gets care even if it also matches a refusal rule */
    for (int pass = 0; pass < 2 && !v->action; pass++)
        for (size_t i = 0; i < g->n_in; i++) {
            if ((pass == 0) != (g->in[i].action == TA_GUARD_CARE)) continue;
            int m = rule_matches(g->in[i].re, norm, err);
            if (m < 0) { free(norm); return TA_ENOMEM; }
            if (m) {
                v->action = g->in[i].action;
                v->rule = g->in[i].name;
                v->response = pick(g, v->action, norm);
                break;
            }
        }
    free(norm);
    return TA_OK;
}

int ta_guard_check_call(const ta_guard *g, const char *tool_name, const char *arguments_json, ta_guard_verdict *v,
                        ta_error *err) {
    memset(v, 0, sizeof *v);
    if (!ta_tool_changes_store(tool_name)) return TA_OK;
    /* match on the argument values only, not on the JSON keys */
    json_t *args = json_loads(arguments_json ? arguments_json : "{}", 0, NULL);
    size_t cap = 256, len = 0;
    char *text = malloc(cap);
    if (!text) { json_decref(args); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
    text[0] = '\0';
    const char *k;
    json_t *val;
    if (json_is_object(args))
        json_object_foreach(args, k, val) {
            const char *s = json_is_string(val) ? json_string_value(val) : NULL;
            if (!s) continue;
            size_t sl = strlen(s);
            if (len + sl + 2 > cap) {
                while (len + sl + 2 > cap) cap *= 2;
                char *nt = realloc(text, cap);
                if (!nt) { free(text); json_decref(args); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
                text = nt;
            }
            memcpy(text + len, s, sl);
            len += sl;
            text[len++] = '\n';
            text[len] = '\0';
        }
    json_decref(args);
    char *norm = ta_guard_normalize(text);
    free(text);
    if (!norm) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->n_out && !v->action; i++) {
        if (g->out[i].tools) {
            int applies = 0;
            for (char **t = g->out[i].tools; *t; t++) if (!strcmp(*t, tool_name)) applies = 1;
            if (!applies) continue;
        }
        int m = rule_matches(g->out[i].re, norm, err);
        if (m < 0) { free(norm); return TA_ENOMEM; }
        if (m) {
            v->action = TA_GUARD_BLOCK;
            v->rule = g->out[i].name;
            v->response = pick(g, TA_GUARD_BLOCK, norm);
        }
    }
    free(norm);
    return TA_OK;
}

int ta_guard_agent_filter(void *guard, const char *tool_name, const char *arguments_json, ta_agent_verdict *v,
                          ta_error *err) {
    ta_guard_verdict gv;
    int rc = ta_guard_check_call(guard, tool_name, arguments_json, &gv, err);
    if (rc) return rc;
    if (gv.action == TA_GUARD_BLOCK) {
        v->block = 1;
        v->rule = gv.rule;
        v->response = gv.response;
    }
    return TA_OK;
}
