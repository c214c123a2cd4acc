#include "train/text_encoder.h"

#include <stdlib.h>
#include <string.h>

#include "text/chat_mask.h"

int ta_text_encoder_open(ta_text_encoder *e, const char *dir, ta_error *err) {
    memset(e, 0, sizeof *e);
    int rc = ta_tokenizer_load(&e->tok, dir, err);
    if (rc) return rc;
    e->eos = ta_tokenizer_eos_id(e->tok);
    ta_error fe = {0};
    if (ta_chat_format_load(&e->fmt, dir, &fe) == TA_OK) e->have_fmt = 1;
    else snprintf(e->fmt_error, sizeof e->fmt_error, "%s", fe.msg);
    return TA_OK;
}

void ta_text_encoder_release(ta_text_encoder *e) {
    ta_tokenizer_free(e->tok);
    memset(e, 0, sizeof *e);
}

static int need_fmt(const ta_text_encoder *e, ta_error *err) {
    if (e->have_fmt) return TA_OK;
    return ta_error_set(err, TA_EUNSUPPORTED, "conversational data needs a chat template the model's tokenizer_config.json "
                                              "does not give taskalign: %s", e->fmt_error);
}

/* Moves v's ids into a malloc'd array (*out, *n); v is left empty. */
static int take_ids(ta_ids *v, size_t from, size_t to, int32_t **out, size_t *n, ta_error *err) {
    size_t k = to - from;
    int32_t *a = malloc((k ? k : 1) * sizeof *a);
    if (!a) return ta_error_set(err, TA_ENOMEM, "out of memory");
    if (k) memcpy(a, v->ids + from, k * sizeof *a);
    *out = a;
    *n = k;
    return TA_OK;
}

static int enc_sft(void *ctx, const ta_conversation *c, const json_t *tools, int32_t **ids, uint8_t **mask, size_t *n,
                   ta_error *err) {
    ta_text_encoder *e = ctx;
    int rc = need_fmt(e, err);
    if (rc) return rc;
    ta_chat_options o;
    ta_chat_options_init(&o);
    o.tools = tools;
    ta_ids v;
    ta_ids_init(&v);
    uint8_t *m = NULL;
    if ((rc = ta_chat_encode_conversation(&e->fmt, e->tok, c, &o, &v, &m, err))) {
        ta_ids_release(&v);
        return rc == TA_EUNSUPPORTED ? TA_EFORMAT : rc;
    }
    rc = take_ids(&v, 0, v.n, ids, n, err);
    ta_ids_release(&v);
    if (rc) free(m);
    else *mask = m;
    return rc;
}

static int enc_pair(void *ctx, const ta_text_part *p, const ta_text_part *c, const json_t *tools, int32_t **pid,
                    size_t *np, int32_t **cid, size_t *nc, ta_error *err) {
    ta_text_encoder *e = ctx;
    ta_ids v;
    ta_ids_init(&v);
    int rc;
    if (p->text) {
        if ((rc = ta_tokenizer_encode(e->tok, p->text, strlen(p->text), 0, &v, NULL, err)) ||
            (rc = take_ids(&v, 0, v.n, pid, np, err)))
            goto done;
        v.n = 0;
        if ((rc = ta_tokenizer_encode(e->tok, c->text, strlen(c->text), 0, &v, NULL, err))) goto fail_p;
        if (e->eos >= 0 && (rc = ta_ids_push(&v, e->eos))) { rc = ta_error_set(err, rc, "out of memory"); goto fail_p; }
        if ((rc = take_ids(&v, 0, v.n, cid, nc, err))) goto fail_p;
        goto done;
    fail_p:
        free(*pid);
        *pid = NULL;
        goto done;
    }
    if ((rc = need_fmt(e, err))) goto done;
    ta_chat_options o;
    ta_chat_options_init(&o);
    o.tools = tools;
    ta_prefix_report rep;
    if ((rc = ta_chat_check_prefix(&e->fmt, e->tok, p->conv, c->conv, &o, &rep, &v, err))) {
        if (rc == TA_EUNSUPPORTED) rc = TA_EFORMAT;
        goto done;
    }
    if (!rep.ids_prefix) {
        rc = ta_error_set(err, TA_EFORMAT,
                          "the prompt rendered with the generation prompt is not a prefix of prompt + completion (%s; "
                          "ids differ at token %zu)",
                          rep.text_prefix ? "the text is, the tokens are not" : "the text differs", rep.first_diff);
        goto done;
    }
    if ((rc = take_ids(&v, 0, rep.prompt_len, pid, np, err))) goto done;
    if ((rc = take_ids(&v, rep.prompt_len, rep.full_len, cid, nc, err))) {
        free(*pid);
        *pid = NULL;
    }
done:
    ta_ids_release(&v);
    return rc;
}

ta_encoder ta_text_encoder_iface(ta_text_encoder *e) {
    ta_encoder enc = {e, enc_sft, enc_pair};
    return enc;
}
