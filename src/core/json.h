/* json.h: thin helpers over jansson that turn its error positions into our
 * "file:line:col: message" errors and read typed fields with named errors. */
#ifndef TA_CORE_JSON_H
#define TA_CORE_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "core/error.h"

/* Parses a whole file; on error: "'path':LINE:COL: jansson's message". */
int ta_json_load_file(const char *path, json_t **out, ta_error *err);
/* Parses a buffer; `what` names it in errors (a file name, "request body", "line 17"). */
int ta_json_load_buf(const char *buf, size_t len, const char *what, json_t **out, ta_error *err);

/* Typed field getters. `what` names the object for messages
 * ("config.json"). Missing optional fields leave *out unchanged and return TA_OK
 * when required == 0. */
int ta_json_get_int(const json_t *obj, const char *key, int required, int64_t *out, const char *what, ta_error *err);
int ta_json_get_num(const json_t *obj, const char *key, int required, double *out, const char *what, ta_error *err);
int ta_json_get_bool(const json_t *obj, const char *key, int required, int *out, const char *what, ta_error *err);
/* *out points into obj (valid while obj lives). */
int ta_json_get_str(const json_t *obj, const char *key, int required, const char **out, const char *what, ta_error *err);

/* Serialises compactly with sorted keys off, ensure_ascii off. Caller frees. */
char *ta_json_dumps(const json_t *j);

#endif
