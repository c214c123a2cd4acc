#include "taskapi/tools.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "taskapi/dispatch.h"

/* data/tools.json and data/system_prompt.txt, turned into string literals by
 * the Makefile (EMBED_SRC). */
static const char tools_json[] =
#include "embed/tools.json.inc"
    ;
static const char system_prompt[] =
#include "embed/system_prompt.txt.inc"
    ;

const char *const ta_tool_names[TA_N_TOOLS] = {"create_task",     "update_task",    "complete_task", "delete_task",
                                               "list_tasks",      "create_reminder", "create_project", "get_calendar"};

int ta_tool_exists(const char *name) {
    if (!name) return 0;
    for (int i = 0; i < TA_N_TOOLS; i++)
        if (!strcmp(name, ta_tool_names[i])) return 1;
    return 0;
}

int ta_tool_changes_store(const char *name) {
    return name && strcmp(name, "list_tasks") != 0 && strcmp(name, "get_calendar") != 0;
}

const char *ta_tools_json_text(void) { return tools_json; }
const char *ta_system_prompt_template(void) { return system_prompt; }

int ta_tools_load(json_t **out, ta_error *err) {
    json_t *j;
    int rc = ta_json_load_buf(tools_json, strlen(tools_json), "data/tools.json", &j, err);
    if (rc) return rc;
    if (!json_is_array(j)) {
        json_decref(j);
        return ta_error_set(err, TA_EINTERNAL, "data/tools.json: not an array");
    }
    *out = j;
    return TA_OK;
}

int ta_tool_schema(const char *name, json_t **out, ta_error *err) {
    json_t *all;
    int rc = ta_tools_load(&all, err);
    if (rc) return rc;
    size_t i;
    json_t *t;
    json_array_foreach(all, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *n = json_string_value(json_object_get(fn, "name"));
        if (n && name && !strcmp(n, name)) {
            json_t *p = json_object_get(fn, "parameters");
            json_incref(p);
            json_decref(all);
            *out = p;
            return TA_OK;
        }
    }
    json_decref(all);
    return ta_error_set(err, TA_ENOTFOUND, "unknown tool '%s'", name ? name : "");
}

/* A growable string. */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
static void sb_add(sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }

/* "type" of a property schema as people read it: string, integer, YYYY-MM-DD,
 * low|medium|high, [string]. */
static void brief_type(sbuf *b, const json_t *p) {
    const json_t *en = json_object_get(p, "enum");
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *fmt = json_string_value(json_object_get(p, "format"));
    if (json_is_array(en)) {
        size_t i;
        json_t *v;
        json_array_foreach(en, i, v) {
            if (i) sb_add(b, "|");
            sb_add(b, json_string_value(v) ? json_string_value(v) : "?");
        }
    } else if (fmt && !strcmp(fmt, "date")) {
        sb_add(b, "YYYY-MM-DD");
    } else if (fmt && !strcmp(fmt, "date-time")) {
        sb_add(b, "YYYY-MM-DDTHH:MM:SS");
    } else if (type && !strcmp(type, "array")) {
        sb_add(b, "[");
        brief_type(b, json_object_get(p, "items"));
        sb_add(b, "]");
    } else {
        sb_add(b, type ? type : "any");
    }
}

/* One line per tool: "- name(arg: type, opt?: type): description". */
static void tools_brief(sbuf *b, const json_t *tools) {
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const json_t *fn = json_object_get(t, "function");
        const json_t *params = json_object_get(fn, "parameters");
        const json_t *props = json_object_get(params, "properties");
        const json_t *req = json_object_get(params, "required");
        if (i) sb_add(b, "\n");
        sb_add(b, "- ");
        sb_add(b, json_string_value(json_object_get(fn, "name")));
        sb_add(b, "(");
        const char *key;
        json_t *p;
        int first = 1;
        json_object_foreach((json_t *)props, key, p) {
            int required = 0;
            size_t k;
            json_t *r;
            json_array_foreach(req, k, r) if (json_string_value(r) && !strcmp(json_string_value(r), key)) required = 1;
            if (!first) sb_add(b, ", ");
            first = 0;
            sb_add(b, key);
            sb_add(b, required ? ": " : "?: ");
            brief_type(b, p);
        }
        sb_add(b, "): ");
        sb_add(b, json_string_value(json_object_get(fn, "description")));
    }
}

static const char *const weekdays[7] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

int ta_system_prompt_render(const char *template_text, const char *today, char **out, ta_error *err) {
    if (!template_text) template_text = system_prompt;
    int wd = ta_date_weekday(today);
    if (wd < 0) return ta_error_set(err, TA_EINVAL, "today must be a real date YYYY-MM-DD, got '%s'", today ? today : "");
    json_t *tools = NULL;
    sbuf b = {0};
    int rc = TA_OK;
    const char *p = template_text;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            sb_add(&b, p);
            break;
        }
        sb_addn(&b, p, (size_t)(open - p));
        if (!strncmp(open, "{today}", 7)) {
            sb_add(&b, today);
            p = open + 7;
        } else if (!strncmp(open, "{weekday}", 9)) {
            sb_add(&b, weekdays[wd]);
            p = open + 9;
        } else if (!strncmp(open, "{tools}", 7) || !strncmp(open, "{tools_brief}", 13)) {
            if (!tools && (rc = ta_tools_load(&tools, err))) goto done;
            if (open[6] == '}') {
                /* Qwen 2.5 style: one JSON object a line, Python json.dumps separators. */
                size_t i;
                json_t *t;
                json_array_foreach(tools, i, t) {
                    char *line = json_dumps(t, 0);
                    if (!line) {
                        b.oom = 1;
                        break;
                    }
                    if (i) sb_add(&b, "\n");
                    sb_add(&b, line);
                    free(line);
                }
                p = open + 7;
            } else {
                tools_brief(&b, tools);
                p = open + 13;
            }
        } else {
            sb_add(&b, "{"); /* any other brace is literal text (JSON examples) */
            p = open + 1;
        }
    }
    if (b.oom) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
done:
    json_decref(tools);
    if (rc) {
        free(b.s);
        return rc;
    }
    if (!b.s) {
        b.s = calloc(1, 1);
        if (!b.s) return ta_error_set(err, TA_ENOMEM, "out of memory");
    }
    /* The template file ends with a newline; the prompt itself does not. */
    while (b.n && (b.s[b.n - 1] == '\n' || b.s[b.n - 1] == ' ')) b.s[--b.n] = 0;
    *out = b.s;
    return TA_OK;
}
