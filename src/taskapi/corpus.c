#include "taskapi/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "taskapi/toolcall.h"

static int emit(FILE *mem, const char *s, ta_corpus_stats *st) {
    if (!s || !*s) return 0;
    fputs(s, mem);
    fputs("\n\n", mem);
    st->texts++;
    return 0;
}

static int emit_messages(FILE *mem, const json_t *v, ta_corpus_stats *st, ta_error *err) {
    if (json_is_string(v)) return emit(mem, json_string_value(v), st);
    if (!json_is_array(v)) return 0;
    size_t i;
    const json_t *m;
    json_array_foreach(v, i, m) {
        emit(mem, json_string_value(json_object_get(m, "content")), st);
        size_t k;
        const json_t *tc;
        json_array_foreach(json_object_get(m, "tool_calls"), k, tc) {
            const json_t *fn = json_object_get(tc, "function");
            if (!fn) fn = tc;
            const json_t *args = json_object_get(fn, "arguments");
            char *a = json_is_string(args) ? strdup(json_string_value(args)) : ta_json_dumps(args ? args : json_object());
            char *txt = NULL;
            int rc = a ? ta_toolcall_format(json_string_value(json_object_get(fn, "name")), a, &txt, err) : ta_error_set(err, TA_ENOMEM, "out of memory");
            free(a);
            if (rc) return rc;
            emit(mem, txt, st);
            free(txt);
        }
    }
    return 0;
}

int ta_corpus_write(const char *const *inputs, size_t n_inputs, const char *out_path, ta_corpus_stats *st,
                    ta_error *err) {
    memset(st, 0, sizeof *st);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int rc = TA_OK;
    for (size_t f = 0; f < n_inputs && !rc; f++) {
        FILE *fp = fopen(inputs[f], "r");
        if (!fp) { rc = ta_error_set(err, TA_EIO, "cannot open '%s'", inputs[f]); break; }
        char *line = NULL;
        size_t cap = 0, lineno = 0;
        ssize_t n;
        while (!rc && (n = getline(&line, &cap, fp)) >= 0) {
            lineno++;
            if (n <= 1) continue;
            char where[4200];
            snprintf(where, sizeof where, "%s:%zu", inputs[f], lineno);
            json_t *o;
            if ((rc = ta_json_load_buf(line, (size_t)n, where, &o, err))) break;
            st->lines++;
            const char *keys[] = {"messages", "prompt", "chosen", "rejected"};
            for (size_t k = 0; k < 4 && !rc; k++) rc = emit_messages(mem, json_object_get(o, keys[k]), st, err);
            json_decref(o);
        }
        free(line);
        fclose(fp);
    }
    fclose(mem);
    if (!rc && st->texts == 0) rc = ta_error_set(err, TA_EFORMAT, "no text found in the input files");
    if (!rc) rc = ta_file_write_atomic(out_path, buf, len, err);
    st->bytes = len;
    free(buf);
    return rc;
}
