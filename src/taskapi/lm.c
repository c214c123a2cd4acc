#include "taskapi/lm.h"

#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/progress.h"

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
    const ta_lm *lm;
    const ta_lm_request *req;
    size_t stop_window; /* tokens on_check decodes: the longest stop string + 4 */
} stream_ctx;


/* Stop strings and the deadline. Called after every token, so a stop string
 * can only newly appear at the end: decode just the last few tokens (every
 * token decodes to at least one byte, a few more cover a split UTF-8
 * character), not the whole generation each time. */
static int on_check(void *user, size_t seq, const int32_t *gen, size_t n) {
    stream_ctx *sc = user;
    (void)seq;
    if (sc->req->deadline > 0 && ta_now() > sc->req->deadline) return 1;
    if (!sc->req->n_stop) return 0;
    size_t w = sc->stop_window < n ? sc->stop_window : n;
    char *text;
    size_t len;
    ta_error e;
    if (ta_tokenizer_decode(sc->lm->tok, gen + (n - w), w, 0, &text, &len, &e)) return 0;
    int hit = 0;
    for (size_t k = 0; k < sc->req->n_stop && !hit; k++)
        if (sc->req->stop[k][0] && strstr(text, sc->req->stop[k])) hit = 1;
    free(text);
    return hit;
}

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

int ta_lm_respond_batch(const ta_lm *lm, const ta_conversation *const *convs, size_t n, const ta_lm_request *req,
                        char **replies, ta_lm_usage *usage, ta_error *err) {
    static const ta_lm_request none = {0};
    if (!req) req = &none;
    const ta_stream *stream = req->stream;
    int rc = TA_OK;
    ta_ids *ids = calloc(n, sizeof *ids);
    const int32_t **prompts = calloc(n, sizeof *prompts);
    size_t *lens = calloc(n, sizeof *lens);
    ta_gen_output *outs = calloc(n, sizeof *outs);
    char **tmp = calloc(n, sizeof *tmp);
    stream_ctx sc = {.stream = stream, .lm = lm, .req = req};
    if (!ids || !prompts || !lens || !outs || !tmp) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < n; i++) {
        ta_chat_options o;
        ta_chat_options_init(&o);
        o.add_generation_prompt = 1;
        o.tools = lm->render_tools ? req->tools : NULL;
        ta_chat_text txt;
        if ((rc = ta_chat_render(&lm->fmt, convs[i], &o, &txt, err))) goto done;
        ta_ids_init(&ids[i]);
        rc = ta_tokenizer_encode(lm->tok, txt.text, txt.len, 0, &ids[i], NULL, err);
        ta_chat_text_release(&txt);
        if (rc) goto done;
        prompts[i] = ids[i].ids;
        lens[i] = ids[i].n;
    }
    ta_gen_params p = req->params ? *req->params : lm->gen;
    p.eos_ids = lm->stop_ids;
    p.n_eos = lm->n_stop_ids;
    p.user = &sc;
    for (size_t k = 0; k < req->n_stop; k++) {
        size_t l = strlen(req->stop[k]) + 4;
        sc.stop_window = l > sc.stop_window ? l : sc.stop_window;
    }
    if (req->n_stop || req->deadline > 0) p.stop = on_check;
    if (stream && stream->on_text) {
        ta_detok_stream_init(&sc.ds, lm->tok, 0);
        p.on_token = on_token;
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
        if (usage) usage[i] = (ta_lm_usage){ids[i].n, outs[i].n_tokens, outs[i].finish};
        if ((rc = ta_tokenizer_decode(lm->tok, outs[i].tokens, outs[i].n_tokens, 0, &text, &len, err))) goto done;
        for (size_t k = 0; k < req->n_stop; k++) { /* cut at the first stop string (OpenAI excludes it) */
            char *hit = req->stop[k][0] ? strstr(text, req->stop[k]) : NULL;
            if (hit && (size_t)(hit - text) < len) len = (size_t)(hit - text);
        }
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
    ta_lm_agent *a = ctx;
    json_t *tools = NULL;
    if (a->lm->render_tools && tools_json) tools = json_loads(tools_json, 0, NULL);
    const ta_conversation *convs[1] = {conv};
    ta_lm_usage u = {0};
    ta_lm_request req = {.params = &a->params, .tools = tools, .stream = stream};
    int rc = ta_lm_respond_batch(a->lm, convs, 1, &req, reply_text, &u, err);
    json_decref(tools);
    a->prompt_tokens += u.prompt_tokens;
    a->completion_tokens += u.completion_tokens;
    return rc;
}

void ta_lm_agent_init(ta_lm_agent *a, const ta_lm *lm) {
    memset(a, 0, sizeof *a);
    a->lm = lm;
    a->params = lm->gen;
}

ta_agent_model ta_lm_agent_model(ta_lm_agent *a) {
    ta_agent_model m = {.ctx = a, .respond = lm_respond};
    return m;
}
