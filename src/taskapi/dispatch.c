#include "taskapi/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "taskapi/tools.h"

/* ---- dates ---- */

static int digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}
static int num(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}
static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static int month_days(int y, int m) {
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Parses the YYYY-MM-DD prefix of s; 1 when it is a real day. */
static int parse_ymd(const char *s, int *y, int *m, int *d) {
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2)) return 0;
    *y = num(s, 4), *m = num(s + 5, 2), *d = num(s + 8, 2);
    return *y >= 1000 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= month_days(*y, *m);
}

int ta_date_valid(const char *s) {
    int y, m, d;
    return s && strlen(s) == 10 && parse_ymd(s, &y, &m, &d);
}

int ta_datetime_valid(const char *s) {
    int y, m, d;
    if (!s || strlen(s) < 16 || !parse_ymd(s, &y, &m, &d)) return 0;
    const char *p = s + 10;
    if (*p++ != 'T') return 0;
    if (!digits(p, 2) || p[2] != ':' || !digits(p + 3, 2)) return 0;
    if (num(p, 2) > 23 || num(p + 3, 2) > 59) return 0;
    p += 5;
    if (*p == ':') {
        if (!digits(p + 1, 2) || num(p + 1, 2) > 59) return 0;
        p += 3;
        if (*p == '.') {
            p++;
            if (!digits(p, 1)) return 0;
            while (*p >= '0' && *p <= '9') p++;
        }
    }
    if (*p == 'Z') return p[1] == 0;
    if (*p == '+' || *p == '-') {
        if (!digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2) || p[6] != 0) return 0;
        return num(p + 1, 2) <= 23 && num(p + 4, 2) <= 59;
    }
    return *p == 0;
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
static void civil_from_days(long z, int *y, int *m, int *d) {
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int ta_date_add_days(const char *date, int days, char out[11], ta_error *err) {
    int y, m, d;
    if (!ta_date_valid(date)) return ta_error_set(err, TA_EINVAL, "'%s' is not a date YYYY-MM-DD", date ? date : "");
    civil_from_days(days_from_civil(num(date, 4), num(date + 5, 2), num(date + 8, 2)) + days, &y, &m, &d);
    if (y < 1000 || y > 9999) return ta_error_set(err, TA_ERANGE, "'%s' + %d days is out of range", date, days);
    char buf[40];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    memcpy(out, buf, 11);
    return TA_OK;
}

int ta_date_weekday(const char *date) {
    if (!ta_date_valid(date)) return -1;
    long z = days_from_civil(num(date, 4), num(date + 5, 2), num(date + 8, 2));
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    return (int)(((z % 7) + 7 + 3) % 7);
}

/* ---- validation against the schema ---- */

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Quotes a value for a message: strings as 'text' (shortened), others as JSON. */
static void describe(const json_t *v, char *out, size_t cap) {
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (n > 60) snprintf(out, cap, "'%.57s...'", s);
        else snprintf(out, cap, "'%s'", s);
        return;
    }
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (t && strlen(t) > 60) snprintf(out, cap, "%.57s...", t);
    else snprintf(out, cap, "%s", t ? t : "?");
    free(t);
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Checks one value against a property schema (the subset data/tools.json
 * uses: type string|integer|array, enum, minLength, maxLength, format
 * date|date-time, minimum, items, maxItems). `field` names it ("tags[2]"). */
static int check_value(const char *field, const json_t *v, const json_t *schema, ta_error *err) {
    char got[128];
    describe(v, got, sizeof got);
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (!type) return TA_OK;
    if (!strcmp(type, "string")) {
        if (!json_is_string(v)) return ta_error_set(err, TA_EINVAL, "%s must be a string, got %s %s", field, json_type_name(v), got);
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
            return ta_error_set(err, TA_EINVAL, "%s must not contain NUL characters", field);
        const json_t *en = json_object_get(schema, "enum");
        if (json_is_array(en)) {
            size_t i;
            json_t *e;
            char list[256] = "";
            json_array_foreach(en, i, e) {
                if (json_is_string(e) && !strcmp(json_string_value(e), s)) return TA_OK;
                size_t len = strlen(list);
                snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", json_string_value(e));
            }
            return ta_error_set(err, TA_EINVAL, "%s must be one of %s, got %s", field, list, got);
        }
        size_t chars = utf8_chars(s);
        json_int_t mn = json_integer_value(json_object_get(schema, "minLength"));
        const json_t *mx = json_object_get(schema, "maxLength");
        if ((json_int_t)chars < mn)
            return ta_error_set(err, TA_EINVAL, "%s must not be empty", field);
        if (mx && (json_int_t)chars > json_integer_value(mx))
            return ta_error_set(err, TA_EINVAL, "%s must be at most %lld characters, got %zu", field,
                                (long long)json_integer_value(mx), chars);
        const char *fmt = json_string_value(json_object_get(schema, "format"));
        if (fmt && !strcmp(fmt, "date") && !ta_date_valid(s)) {
            int shaped = strlen(s) == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4) && digits(s + 5, 2) &&
                         digits(s + 8, 2);
            if (shaped) return ta_error_set(err, TA_EINVAL, "%s %s is not a real date", field, got);
            return ta_error_set(err, TA_EINVAL, "%s must be YYYY-MM-DD, got %s", field, got);
        }
        if (fmt && !strcmp(fmt, "date-time") && !ta_datetime_valid(s))
            return ta_error_set(err, TA_EINVAL, "%s must be an ISO 8601 date-time like 2026-03-14T09:00:00, got %s", field, got);
        return TA_OK;
    }
    if (!strcmp(type, "integer")) {
        if (!json_is_integer(v))
            return ta_error_set(err, TA_EINVAL, "%s must be an integer, got %s %s", field, json_type_name(v), got);
        const json_t *mn = json_object_get(schema, "minimum");
        if (mn && json_integer_value(v) < json_integer_value(mn))
            return ta_error_set(err, TA_EINVAL, "%s must be at least %lld, got %s", field, (long long)json_integer_value(mn), got);
        return TA_OK;
    }
    if (!strcmp(type, "array")) {
        if (!json_is_array(v)) return ta_error_set(err, TA_EINVAL, "%s must be an array, got %s %s", field, json_type_name(v), got);
        const json_t *mx = json_object_get(schema, "maxItems");
        if (mx && (json_int_t)json_array_size(v) > json_integer_value(mx))
            return ta_error_set(err, TA_EINVAL, "%s must have at most %lld items, got %zu", field,
                                (long long)json_integer_value(mx), json_array_size(v));
        const json_t *items = json_object_get(schema, "items");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            char sub[96];
            snprintf(sub, sizeof sub, "%s[%zu]", field, i);
            int rc = check_value(sub, e, items, err);
            if (rc) return rc;
        }
        return TA_OK;
    }
    return TA_OK; /* types the schemas do not use */
}

/* Validates args against a tool's "parameters" schema. null values count as
 * absent. */
static int validate(const char *tool, const json_t *params, const json_t *args, ta_error *err) {
    if (!json_is_object(args)) return ta_error_set(err, TA_EINVAL, "arguments of %s must be a JSON object", tool);
    const json_t *props = json_object_get(params, "properties");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v) {
        if (!json_object_get(props, key)) {
            char allowed[256] = "";
            const char *k;
            json_t *p;
            json_object_foreach((json_t *)props, k, p) {
                size_t len = strlen(allowed);
                snprintf(allowed + len, sizeof allowed - len, "%s%s", len ? ", " : "", k);
            }
            char name[80];
            snprintf(name, sizeof name, "%s", key);
            return ta_error_set(err, TA_EINVAL, "unknown argument '%s' for %s (allowed: %s)", name, tool,
                                allowed[0] ? allowed : "none");
        }
    }
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(params, "required"), i, r) {
        const json_t *a = json_object_get(args, json_string_value(r));
        if (!a || json_is_null(a))
            return ta_error_set(err, TA_EINVAL, "%s is required for %s", json_string_value(r), tool);
    }
    json_object_foreach((json_t *)props, key, v) {
        const json_t *a = json_object_get(args, key);
        if (!a || json_is_null(a)) continue;
        int rc = check_value(key, a, v, err);
        if (rc) return rc;
    }
    return TA_OK;
}

/* Finds tool `name` in a parsed tool array and validates args against it. */
static int validate_in(const json_t *tools, const char *name, const json_t *arguments, ta_error *err) {
    if (!ta_tool_exists(name))
        return ta_error_set(err, TA_EINVAL, "unknown tool '%s'; the tools are create_task, update_task, complete_task,"
                                            " delete_task, list_tasks, create_reminder, create_project, get_calendar",
                            name ? name : "");
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const json_t *fn = json_object_get(t, "function");
        const char *n = json_string_value(json_object_get(fn, "name"));
        if (n && !strcmp(n, name)) return validate(name, json_object_get(fn, "parameters"), arguments, err);
    }
    return ta_error_set(err, TA_EINTERNAL, "tool '%s' has no schema in data/tools.json", name);
}

int ta_dispatch_validate(const char *name, const json_t *arguments, ta_error *err) {
    json_t *tools;
    int rc = ta_tools_load(&tools, err);
    if (rc) return rc;
    rc = validate_in(tools, name, arguments, err);
    json_decref(tools);
    return rc;
}

/* ---- execution ---- */

/* Optional string argument (NULL when absent or null). */
static const char *arg_str(const json_t *args, const char *key) { return json_string_value(json_object_get(args, key)); }

#define LIST_MAX 50 /* tasks returned by one list_tasks call */

/* Reads the tag list of args into a malloc'd pointer array (strings borrowed). */
static int arg_tags(const json_t *args, ta_task_fields *f, const char ***tags, ta_error *err) {
    const json_t *t = json_object_get(args, "tags");
    *tags = NULL;
    if (!t || json_is_null(t)) return TA_OK;
    size_t n = json_array_size(t);
    *tags = calloc(n ? n : 1, sizeof **tags);
    if (!*tags) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) (*tags)[i] = json_string_value(json_array_get(t, i));
    f->tags = *tags;
    f->n_tags = n;
    f->has_tags = 1;
    return TA_OK;
}

static int blank(const char *s) {
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return 0;
    return 1;
}

static int fields_from_args(const json_t *args, ta_task_fields *f, const char ***tags, ta_error *err) {
    memset(f, 0, sizeof *f);
    f->title = arg_str(args, "title");
    if (f->title && blank(f->title)) return ta_error_set(err, TA_EINVAL, "title must not be blank");
    f->description = arg_str(args, "description");
    f->status = arg_str(args, "status");
    f->priority = arg_str(args, "priority");
    f->due_date = arg_str(args, "due_date");
    f->project = arg_str(args, "project");
    const json_t *p = json_object_get(args, "parent_id");
    if (json_is_integer(p)) {
        f->parent_id = json_integer_value(p);
        f->has_parent_id = 1;
    }
    return arg_tags(args, f, tags, err);
}

static int run_tool(ta_store *s, const char *name, const json_t *args, json_t **out, ta_error *err) {
    int rc;
    int64_t task_id = json_integer_value(json_object_get(args, "task_id"));
    if (!strcmp(name, "create_task") || !strcmp(name, "update_task")) {
        ta_task_fields f;
        const char **tags = NULL;
        if ((rc = fields_from_args(args, &f, &tags, err))) return rc;
        int64_t id = task_id;
        if (name[0] == 'c') {
            rc = ta_store_task_create(s, &f, &id, err);
        } else if (json_object_size(args) < 2) {
            rc = ta_error_set(err, TA_EINVAL, "update_task needs at least one field to change besides task_id");
        } else {
            rc = ta_store_task_update(s, id, &f, err);
        }
        free(tags);
        return rc ? rc : ta_store_task_get(s, id, out, err);
    }
    if (!strcmp(name, "complete_task")) {
        ta_task_fields f = {.status = "completed"};
        if ((rc = ta_store_task_update(s, task_id, &f, err))) return rc;
        return ta_store_task_get(s, task_id, out, err);
    }
    if (!strcmp(name, "delete_task")) {
        json_t *task;
        if ((rc = ta_store_task_get(s, task_id, &task, err))) return rc;
        int64_t n = 0;
        if ((rc = ta_store_task_delete(s, task_id, &n, err))) {
            json_decref(task);
            return rc;
        }
        json_t *o = json_pack("{s:b, s:I, s:O, s:I}", "deleted", 1, "id", (json_int_t)task_id, "title",
                              json_object_get(task, "title"), "deleted_subtasks", (json_int_t)(n - 1));
        json_decref(task);
        if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
        *out = o;
        return TA_OK;
    }
    if (!strcmp(name, "list_tasks")) {
        ta_task_filter f = {.status = arg_str(args, "status"), .priority = arg_str(args, "priority"),
                            .due_before = arg_str(args, "due_before"), .tag = arg_str(args, "tag"),
                            .project = arg_str(args, "project"), .limit = LIST_MAX};
        json_t *tasks;
        int64_t total = 0;
        if ((rc = ta_store_task_count(s, &f, &total, err))) return rc;
        if ((rc = ta_store_task_list(s, &f, &tasks, err))) return rc;
        json_t *o = json_pack("{s:o, s:I}", "tasks", tasks, "count", (json_int_t)total);
        if (o && total > LIST_MAX) json_object_set_new(o, "not_shown", json_integer((json_int_t)(total - LIST_MAX)));
        if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
        *out = o;
        return TA_OK;
    }
    if (!strcmp(name, "create_reminder")) {
        const char *at = arg_str(args, "remind_at");
        int64_t id;
        if ((rc = ta_store_reminder_create(s, task_id, at, &id, err))) return rc;
        json_t *task;
        if ((rc = ta_store_task_get(s, task_id, &task, err))) return rc;
        json_t *o = json_pack("{s:I, s:I, s:s, s:O}", "id", (json_int_t)id, "task_id", (json_int_t)task_id, "remind_at",
                              at, "task_title", json_object_get(task, "title"));
        json_decref(task);
        if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
        *out = o;
        return TA_OK;
    }
    if (!strcmp(name, "create_project")) {
        const char *pname = arg_str(args, "name");
        if (blank(pname)) return ta_error_set(err, TA_EINVAL, "name must not be blank");
        int64_t id;
        if ((rc = ta_store_project_create(s, pname, &id, err))) return rc;
        json_t *o = json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", pname);
        if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
        *out = o;
        return TA_OK;
    }
    if (!strcmp(name, "get_calendar")) {
        const char *date = arg_str(args, "date");
        ta_task_filter f = {.due_on = date};
        json_t *tasks, *rem;
        if ((rc = ta_store_task_list(s, &f, &tasks, err))) return rc;
        if ((rc = ta_store_reminder_list(s, date, &rem, err))) {
            json_decref(tasks);
            return rc;
        }
        static const char *const wd[7] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
        json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "date", date, "weekday", wd[ta_date_weekday(date)], "tasks", tasks,
                              "reminders", rem);
        if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
        *out = o;
        return TA_OK;
    }
    return ta_error_set(err, TA_EINTERNAL, "tool '%s' has a schema but no implementation", name);
}

static json_t *error_object(const ta_error *e) {
    return json_pack("{s:s}", "error", e->msg[0] ? e->msg : "tool failed");
}

int ta_dispatch_json(ta_store *s, const char *name, const json_t *arguments, json_t **result, ta_error *err) {
    ta_error e = {0};
    json_t *out = NULL;
    json_t *tools = ta_store_schemas(s);
    int rc = TA_OK;
    if (!tools && !(rc = ta_tools_load(&tools, &e))) ta_store_set_schemas(s, tools);
    if (!rc) rc = validate_in(tools, name, arguments, &e);
    if (!rc) rc = ta_store_begin(s, &e);
    if (!rc) {
        rc = run_tool(s, name, arguments, &out, &e);
        if (!rc) rc = ta_store_commit(s, &e);
        if (rc) {
            ta_store_rollback(s);
            json_decref(out);
            out = NULL;
        }
    }
    if (rc) {
        out = error_object(&e);
        if (err) *err = e;
        if (!out) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
    }
    *result = out;
    return rc;
}

char *ta_dispatch_result_text(const json_t *result) { return json_dumps(result, JSON_ENCODE_ANY); }

int ta_dispatch(ta_store *s, const char *name, const char *arguments_json, char **result, ta_error *err) {
    json_error_t je;
    json_t *args = json_loads(arguments_json ? arguments_json : "{}", JSON_REJECT_DUPLICATES, &je);
    json_t *res = NULL;
    int rc;
    if (!args) {
        ta_error e;
        ta_error_set(&e, TA_EINVAL, "arguments are not valid JSON: %s", je.text);
        res = error_object(&e);
        rc = e.code;
        if (err) *err = e;
    } else {
        rc = ta_dispatch_json(s, name, args, &res, err);
        json_decref(args);
    }
    char *txt = res ? ta_dispatch_result_text(res) : NULL;
    json_decref(res);
    *result = txt;
    if (!txt) return ta_error_set(err, TA_ENOMEM, "out of memory");
    return rc;
}
