#include "core/json.h"

#include <stdlib.h>
#include <string.h>

int ta_json_load_file(const char *path, json_t **out, ta_error *err) {
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j) {
        if (je.line < 1) return ta_error_set(err, TA_EIO, "'%s': %s", path, je.text);
        return ta_error_set(err, TA_EFORMAT, "'%s':%d:%d: %s", path, je.line, je.column, je.text);
    }
    *out = j;
    return TA_OK;
}

int ta_json_load_buf(const char *buf, size_t len, const char *what, json_t **out, ta_error *err) {
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j) return ta_error_set(err, TA_EFORMAT, "%s:%d:%d: %s", what, je.line, je.column, je.text);
    *out = j;
    return TA_OK;
}

static int missing(const char *key, int required, const char *what, ta_error *err) {
    if (required) return ta_error_set(err, TA_EFORMAT, "%s: required field \"%s\" is missing", what, key);
    return TA_OK;
}

int ta_json_get_int(const json_t *obj, const char *key, int required, int64_t *out, const char *what, ta_error *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return missing(key, required, what, err);
    if (json_is_integer(v)) { *out = (int64_t)json_integer_value(v); return TA_OK; }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* range check first: casting an out-of-range double is undefined (fuzz find) */
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) { *out = (int64_t)d; return TA_OK; }
    }
    return ta_error_set(err, TA_EFORMAT, "%s: field \"%s\" must be an integer", what, key);
}

int ta_json_get_num(const json_t *obj, const char *key, int required, double *out, const char *what, ta_error *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return missing(key, required, what, err);
    if (!json_is_number(v)) return ta_error_set(err, TA_EFORMAT, "%s: field \"%s\" must be a number", what, key);
    *out = json_number_value(v);
    return TA_OK;
}

int ta_json_get_bool(const json_t *obj, const char *key, int required, int *out, const char *what, ta_error *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return missing(key, required, what, err);
    if (!json_is_boolean(v)) return ta_error_set(err, TA_EFORMAT, "%s: field \"%s\" must be true or false", what, key);
    *out = json_is_true(v);
    return TA_OK;
}

int ta_json_get_str(const json_t *obj, const char *key, int required, const char **out, const char *what, ta_error *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return missing(key, required, what, err);
    if (!json_is_string(v)) return ta_error_set(err, TA_EFORMAT, "%s: field \"%s\" must be a string", what, key);
    *out = json_string_value(v);
    return TA_OK;
}

char *ta_json_dumps(const json_t *j) { return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY); }
