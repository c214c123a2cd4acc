/* tokenizer.c: placeholder while the implementation lands; every entry point
 * links and fails cleanly with TA_EUNSUPPORTED. */
#include "text/tokenizer.h"

#include <stdlib.h>

void ta_ids_init(ta_ids *v) { v->ids = NULL; v->n = v->cap = 0; }
void ta_ids_release(ta_ids *v) { free(v->ids); ta_ids_init(v); }
int ta_ids_reserve(ta_ids *v, size_t extra) {
    if (v->cap - v->n >= extra) return TA_OK;
    size_t cap = v->cap ? v->cap : 16;
    while (cap - v->n < extra) cap *= 2;
    int32_t *p = realloc(v->ids, cap * sizeof *p);
    if (!p) return TA_ENOMEM;
    v->ids = p;
    v->cap = cap;
    return TA_OK;
}
int ta_ids_push(ta_ids *v, int32_t id) {
    if (v->n == v->cap && ta_ids_reserve(v, 1)) return TA_ENOMEM;
    v->ids[v->n++] = id;
    return TA_OK;
}
int ta_tokenizer_load(ta_tokenizer **out, const char *path, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "'%s': tokenizer not implemented yet", path);
}
int ta_tokenizer_load_buf(ta_tokenizer **out, const char *json, size_t len, const char *what, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "'%s': tokenizer not implemented yet", what);
}
void ta_tokenizer_free(ta_tokenizer *t) {}
int ta_tokenizer_encode(const ta_tokenizer *t, const char *text, size_t len, int add_special, ta_ids *out,
                        ta_ids *offsets, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "tokenizer not implemented yet");
}
int ta_tokenizer_decode(const ta_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out,
                        size_t *out_len, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "tokenizer not implemented yet");
}
void ta_detok_stream_init(ta_detok_stream *s, const ta_tokenizer *t, int skip_special) {
    s->tok = t; s->skip_special = skip_special; s->n_pending = 0; s->buf = NULL; s->buf_cap = 0;
}
int ta_detok_stream_push(ta_detok_stream *s, int32_t id, const char **text, size_t *len, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "tokenizer not implemented yet");
}
int ta_detok_stream_flush(ta_detok_stream *s, const char **text, size_t *len, ta_error *err) {
    return ta_error_set(err, TA_EUNSUPPORTED, "tokenizer not implemented yet");
}
void ta_detok_stream_release(ta_detok_stream *s) { free(s->buf); s->buf = NULL; s->buf_cap = 0; }
int32_t ta_tokenizer_token_to_id(const ta_tokenizer *t, const char *tok) { return -1; }
const char *ta_tokenizer_id_to_token(const ta_tokenizer *t, int32_t id) { return NULL; }
size_t ta_tokenizer_vocab_size(const ta_tokenizer *t) { return 0; }
int ta_tokenizer_is_special(const ta_tokenizer *t, int32_t id) { return 0; }
int32_t ta_tokenizer_bos_id(const ta_tokenizer *t) { return -1; }
int32_t ta_tokenizer_eos_id(const ta_tokenizer *t) { return -1; }
const char *ta_tokenizer_chat_template(const ta_tokenizer *t) { return NULL; }
