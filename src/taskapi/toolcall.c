#include "taskapi/toolcall.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "taskapi/tools.h"

static const char OPEN[] = "<tool_call>";
static const char CLOSE[] = "</tool_call>";
#define OPEN_LEN (sizeof OPEN - 1)
#define CLOSE_LEN (sizeof CLOSE - 1)

const char *ta_tc_status_name(ta_tc_status st) {
    switch (st) {
    case TA_TC_OK: return "ok";
    case TA_TC_BAD_JSON: return "bad_json";
    case TA_TC_NOT_OBJECT: return "not_object";
    case TA_TC_NO_NAME: return "no_name";
    case TA_TC_BAD_ARGS: return "bad_args";
    case TA_TC_UNKNOWN_TOOL: return "unknown_tool";
    case TA_TC_UNCLOSED: return "unclosed";
    }
    return "?";
}

/* memmem over [p, end). */
static const char *find(const char *p, const char *end, const char *needle, size_t n) {
    if ((size_t)(end - p) < n) return NULL;
    return memmem(p, (size_t)(end - p), needle, n);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* If [p, end) starts (after whitespace) with a balanced JSON object, returns
 * the position just after its closing brace; strings and escapes are skipped
 * so a "</tool_call>" inside a title does not end the block. NULL otherwise. */
static const char *json_object_end(const char *p, const char *end) {
    while (p < end && is_space(*p)) p++;
    if (p == end || *p != '{') return NULL;
    size_t depth = 0;
    int in_str = 0;
    for (; p < end; p++) {
        char c = *p;
        if (in_str) {
            if (c == '\\' && p + 1 < end) p++;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') in_str = 1;
        else if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') {
            if (--depth == 0) return p + 1;
        }
    }
    return NULL;
}

/* Appends [p, p+n) trimmed to the free text, separating pieces with "\n". */
static int text_add(char **buf, size_t *len, const char *p, size_t n) {
    while (n && is_space(*p)) p++, n--;
    while (n && is_space(p[n - 1])) n--;
    if (!n) return 0;
    char *nb = realloc(*buf, *len + n + 2);
    if (!nb) return -1;
    *buf = nb;
    if (*len) nb[(*len)++] = '\n';
    memcpy(nb + *len, p, n);
    *len += n;
    nb[*len] = 0;
    return 0;
}

static char *dupn(const char *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Judges the text between the tags. Returns -1 on out of memory. */
static int judge_block(ta_parsed_call *c, const char *p, size_t n) {
    json_error_t je;
    json_t *j = json_loadb(p, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        c->status = TA_TC_BAD_JSON;
        snprintf(c->message, sizeof c->message, "tool call is not valid JSON: %s (column %d)", je.text, je.column);
        return 0;
    }
    int rc = 0;
    if (!json_is_object(j)) {
        c->status = TA_TC_NOT_OBJECT;
        snprintf(c->message, sizeof c->message, "tool call must be a JSON object {\"name\": ..., \"arguments\": {...}}");
        goto done;
    }
    const json_t *name = json_object_get(j, "name");
    if (!json_is_string(name) || !json_string_length(name) || strlen(json_string_value(name)) != json_string_length(name)) {
        c->status = TA_TC_NO_NAME;
        snprintf(c->message, sizeof c->message, "tool call needs a \"name\" string");
        goto done;
    }
    const json_t *args = json_object_get(j, "arguments");
    if (args && !json_is_object(args)) {
        c->status = TA_TC_BAD_ARGS;
        snprintf(c->message, sizeof c->message, "\"arguments\" of %.64s must be a JSON object", json_string_value(name));
        goto done;
    }
    c->name = strdup(json_string_value(name));
    c->arguments = args ? ta_json_dumps(args) : strdup("{}");
    if (!c->name || !c->arguments) {
        rc = -1;
        goto done;
    }
    if (!ta_tool_exists(c->name)) {
        c->status = TA_TC_UNKNOWN_TOOL;
        snprintf(c->message, sizeof c->message, "unknown tool '%.64s'", c->name);
    } else {
        c->status = TA_TC_OK;
    }
done:
    json_decref(j);
    return rc;
}

void ta_parsed_reply_release(ta_parsed_reply *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_calls; i++) {
        free(r->calls[i].name);
        free(r->calls[i].arguments);
        free(r->calls[i].raw);
    }
    free(r->calls);
    free(r->text);
    memset(r, 0, sizeof *r);
}

int ta_toolcall_parse(const char *reply, size_t len, ta_parsed_reply *out, ta_error *err) {
    ta_parsed_reply r = {0};
    size_t text_len = 0, cap = 0;
    const char *p = reply ? reply : "", *end = p + (reply ? len : 0);
    for (;;) {
        const char *open = find(p, end, OPEN, OPEN_LEN);
        if (text_add(&r.text, &text_len, p, (size_t)((open ? open : end) - p))) goto oom;
        if (!open) break;
        if (r.n_calls == cap) {
            cap = cap ? cap * 2 : 4;
            ta_parsed_call *nc = realloc(r.calls, cap * sizeof *nc);
            if (!nc) goto oom;
            r.calls = nc;
        }
        ta_parsed_call *c = &r.calls[r.n_calls++];
        memset(c, 0, sizeof *c);
        const char *body = open + OPEN_LEN;
        const char *next_open = find(body, end, OPEN, OPEN_LEN);
        /* The close tag right after a balanced JSON object wins (tags quoted
         * inside strings do not count); else the first close tag, unless
         * another block opens before it. */
        const char *close = NULL;
        const char *jend = json_object_end(body, end);
        if (jend) {
            const char *q = jend;
            while (q < end && is_space(*q)) q++;
            if ((size_t)(end - q) >= CLOSE_LEN && !memcmp(q, CLOSE, CLOSE_LEN)) close = q;
        }
        if (!close) {
            const char *naive = find(body, end, CLOSE, CLOSE_LEN);
            if (naive && !(next_open && next_open < naive)) close = naive;
        }
        if (!close) {
            const char *stop = next_open ? next_open : end;
            c->status = TA_TC_UNCLOSED;
            snprintf(c->message, sizeof c->message, "<tool_call> is not closed with </tool_call>");
            c->raw = dupn(body, (size_t)(stop - body));
            if (!c->raw) goto oom;
            c->start = (size_t)(open - reply);
            c->end = (size_t)(stop - reply);
            r.n_invalid++;
            p = stop;
            continue;
        }
        c->raw = dupn(body, (size_t)(close - body));
        if (!c->raw) goto oom;
        c->start = (size_t)(open - reply);
        c->end = (size_t)(close + CLOSE_LEN - reply);
        if (judge_block(c, body, (size_t)(close - body))) goto oom;
        if (c->status != TA_TC_OK) r.n_invalid++;
        p = close + CLOSE_LEN;
    }
    if (!r.text) {
        r.text = calloc(1, 1);
        if (!r.text) goto oom;
    }
    *out = r;
    return TA_OK;
oom:
    ta_parsed_reply_release(&r);
    memset(out, 0, sizeof *out);
    return ta_error_set(err, TA_ENOMEM, "out of memory");
}

int ta_toolcall_format(const char *name, const char *arguments_json, char **out, ta_error *err) {
    json_t *args = json_loads(arguments_json ? arguments_json : "{}", 0, NULL);
    if (!json_is_object(args)) {
        json_decref(args);
        return ta_error_set(err, TA_EINVAL, "arguments of %s are not a JSON object", name ? name : "?");
    }
    json_t *call = json_pack("{s:s, s:o}", "name", name ? name : "", "arguments", args);
    char *body = call ? json_dumps(call, 0) : NULL; /* Python json.dumps spacing, as Qwen's template writes it */
    json_decref(call);
    if (!body) return ta_error_set(err, TA_ENOMEM, "out of memory");
    size_t n = strlen(body) + OPEN_LEN + CLOSE_LEN + 3;
    char *s = malloc(n);
    if (!s) {
        free(body);
        return ta_error_set(err, TA_ENOMEM, "out of memory");
    }
    snprintf(s, n, "%s\n%s\n%s", OPEN, body, CLOSE);
    free(body);
    *out = s;
    return TA_OK;
}

/* ---- streaming display filter ---- */

void ta_tc_filter_init(ta_tc_filter *f, int (*emit)(void *user, const char *text, size_t len), void *user) {
    memset(f, 0, sizeof *f);
    f->emit = emit;
    f->user = user;
}

int ta_tc_filter_feed(ta_tc_filter *f, const char *piece, size_t len) {
    char out[256];
    size_t n_out = 0;
    int rc = 0;
    for (size_t i = 0; i < len; i++) {
        f->hold[f->n_hold++] = piece[i];
        for (;;) {
            const char *tag = f->in_call ? CLOSE : OPEN;
            size_t tag_len = f->in_call ? CLOSE_LEN : OPEN_LEN;
            if (f->n_hold <= tag_len && !memcmp(f->hold, tag, f->n_hold)) {
                if (f->n_hold == tag_len) { /* a whole tag: switch sides, drop it */
                    f->in_call = !f->in_call;
                    f->n_hold = 0;
                }
                break;
            }
            /* hold[0] cannot start the tag: it is text (shown outside a block) */
            if (!f->in_call) {
                out[n_out++] = f->hold[0];
                if (n_out == sizeof out) {
                    if (!rc && f->emit) rc = f->emit(f->user, out, n_out);
                    n_out = 0;
                }
            }
            memmove(f->hold, f->hold + 1, --f->n_hold);
            if (!f->n_hold) break;
        }
    }
    if (n_out && !rc && f->emit) rc = f->emit(f->user, out, n_out);
    return rc;
}

int ta_tc_filter_finish(ta_tc_filter *f) {
    int rc = 0;
    if (!f->in_call && f->n_hold && f->emit) rc = f->emit(f->user, f->hold, f->n_hold);
    f->n_hold = 0;
    f->in_call = 0;
    return rc;
}
