#include "taskapi/lm.h"

#include <stdlib.h>
#include <string.h>

#include "core/file.h"

int ta_lm_open(ta_lm *lm, const char *dir, ta_error *err) {
    memset(lm, 0, sizeof *lm);
    int rc = ta_model_load(&lm->model, dir, err);
    if (rc) return rc;
    if ((rc = ta_tokenizer_load(&lm->tok, dir, err))) goto fail;
    if ((rc = ta_chat_format_load(&lm->fmt, dir, err))) goto fail;
    /* stop on the config's EOS ids and on the template's end-of-turn token */
    for (size_t i = 0; i < lm->model.cfg.n_eos && lm->n_stop_ids < TA_LM_MAX_STOP; i++) lm->stop_ids[lm->n_stop_ids++] = lm->model.cfg.eos_token_ids[i];
    const char *eot[] = {"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>", lm->fmt.eos_token};
    for (size_t k = 0; k < sizeof eot / sizeof eot[0]; k++) {
        if (!eot[k][0]) continue;
        int32_t id = ta_tokenizer_token_to_id(lm->tok, eot[k]);
        if (id < 0 || lm->n_stop_ids >= TA_LM_MAX_STOP) continue;
        int dup = 0;
        for (size_t i = 0; i < lm->n_stop_ids; i++) dup |= lm->stop_ids[i] == id;
        if (!dup) lm->stop_ids[lm->n_stop_ids++] = id;
    }
    if (!lm->n_stop_ids) { rc = ta_error_set(err, TA_EFORMAT, "'%s': no end-of-turn or EOS token known (config.json eos_token_id, tokenizer_config.json eos_token)", dir); goto fail; }
    lm->gen = ta_gen_params_default(&lm->model.cfg);
    lm->gen.max_tokens = 256;
    lm->gen.eos_ids = lm->stop_ids;
    lm->gen.n_eos = lm->n_stop_ids;
    return TA_OK;
fail:
    ta_lm_close(lm);
    return rc;
}

void ta_lm_close(ta_lm *lm) {
    ta_tokenizer_free(lm->tok);
    lm->tok = NULL;
    ta_model_release(&lm->model);
}

typedef struct {
    const ta_stream *stream;
    ta_detok_stream ds;
    int stopped;
} stream_ctx;

static int on_token(void *user, size_t seq, int32_t token) {
    stream_ctx *sc = user;
    if (seq != 0 || !sc->stream || !sc->stream->on_text || sc->stopped) return 0;
    const char *txt;
    size_t len;
    ta_error e;
    if (ta_detok_stream_push(&sc->ds, token, &txt, &len, &e) == TA_OK && len)
        if (sc->stream->on_text(sc->stream->user, txt, len)) {
            sc->stopped = 1;
            return -1;
        }
    return 0;
}

static char *trim_dup(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    char *o = malloc(n + 1);
    if (o) {
        memcpy(o, s, n);
        o[n] = '\0';
    }
    return o;
}

int ta_lm_respond_batch(ta_lm *lm, const ta_conversation *const *convs, size_t n, const json_t *tools,
                        const ta_stream *stream, char **replies, ta_error *err) {
    int rc = TA_OK;
    ta_ids *ids = calloc(n, sizeof *ids);
    const int32_t **prompts = calloc(n, sizeof *prompts);
    size_t *lens = calloc(n, sizeof *lens);
    ta_gen_output *outs = calloc(n, sizeof *outs);
    char **tmp = calloc(n, sizeof *tmp);
    stream_ctx sc = {.stream = stream};
    if (!ids || !prompts || !lens || !outs || !tmp) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < n; i++) {
        ta_chat_options o;
        ta_chat_options_init(&o);
        o.add_generation_prompt = 1;
        o.tools = lm->render_tools ? tools : NULL;
        ta_chat_text txt;
        if ((rc = ta_chat_render(&lm->fmt, convs[i], &o, &txt, err))) goto done;
        ta_ids_init(&ids[i]);
        rc = ta_tokenizer_encode(lm->tok, txt.text, txt.len, 0, &ids[i], NULL, err);
        ta_chat_text_release(&txt);
        if (rc) goto done;
        prompts[i] = ids[i].ids;
        lens[i] = ids[i].n;
        lm->n_prompt_tokens += ids[i].n;
    }
    ta_gen_params p = lm->gen;
    if (stream && stream->on_text) {
        ta_detok_stream_init(&sc.ds, lm->tok, 0);
        p.on_token = on_token;
        p.user = &sc;
    }
    rc = ta_generate_batch(&lm->model, prompts, lens, n, &p, outs, err);
    if (stream && stream->on_text) {
        const char *t;
        size_t l;
        ta_error e2;
        if (!rc && !sc.stopped && ta_detok_stream_flush(&sc.ds, &t, &l, &e2) == TA_OK && l) stream->on_text(stream->user, t, l);
        ta_detok_stream_release(&sc.ds);
    }
    if (rc) goto done;
    for (size_t i = 0; i < n; i++) {
        char *text;
        size_t len;
        lm->n_generated_tokens += outs[i].n_tokens;
        if ((rc = ta_tokenizer_decode(lm->tok, outs[i].tokens, outs[i].n_tokens, 0, &text, &len, err))) goto done;
        tmp[i] = trim_dup(text, len);
        free(text);
        if (!tmp[i]) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
    }
    for (size_t i = 0; i < n; i++) {
        replies[i] = tmp[i];
        tmp[i] = NULL;
    }
done:
    for (size_t i = 0; i < n && ids; i++) ta_ids_release(&ids[i]);
    for (size_t i = 0; i < n && outs; i++) ta_gen_output_release(&outs[i]);
    for (size_t i = 0; i < n && tmp; i++) free(tmp[i]);
    free(ids);
    free(prompts);
    free(lens);
    free(outs);
    free(tmp);
    return rc;
}

static int lm_respond(void *ctx, const ta_conversation *conv, const char *tools_json, const ta_stream *stream,
                      char **reply_text, ta_error *err) {
    ta_lm *lm = ctx;
    json_t *tools = NULL;
    if (lm->render_tools && tools_json) tools = json_loads(tools_json, 0, NULL);
    const ta_conversation *convs[1] = {conv};
    int rc = ta_lm_respond_batch(lm, convs, 1, tools, stream, reply_text, err);
    json_decref(tools);
    return rc;
}

ta_agent_model ta_lm_agent_model(ta_lm *lm) {
    ta_agent_model m = {.ctx = lm, .respond = lm_respond};
    return m;
}
