#include "train/dataset.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* ---- growable storage ---------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

typedef struct builder {
    ta_dataset *ds;
    size_t cap_ex, cap_tok, cap_mask;
} builder;

static int push_tokens(builder *bd, const int32_t *ids, const uint8_t *mask, size_t n) {
    ta_dataset *ds = bd->ds;
    if (grow((void **)&ds->tokens, &bd->cap_tok, ds->n_tokens + n, sizeof *ds->tokens)) return -1;
    if (mask && grow((void **)&ds->mask, &bd->cap_mask, ds->n_tokens + n, 1)) return -1;
    if (n) memcpy(ds->tokens + ds->n_tokens, ids, n * sizeof *ids);
    if (mask && n) memcpy(ds->mask + ds->n_tokens, mask, n);
    ds->n_tokens += n;
    return 0;
}

static int push_example(builder *bd, const ta_example *e) {
    ta_dataset *ds = bd->ds;
    if (grow((void **)&ds->ex, &bd->cap_ex, ds->n + 1, sizeof *ds->ex)) return -1;
    ds->ex[ds->n++] = *e;
    return 0;
}

/* ---- validation ---------------------------------------------------------- */

/* Whether role sequence msgs[0..n) continues validly from the role `prev`
 * (-1: start of conversation). Rules: system messages only at the very start;
 * then user, assistant alternate; an assistant with tool calls may be followed
 * by tool results (one or more), after which the assistant speaks again.
 * On failure writes the offending index to *bad_at. */
static int roles_ok(const ta_message *msgs, size_t n, int *prev, int *prev_had_calls, size_t *bad_at) {
    for (size_t i = 0; i < n; i++) {
        ta_role r = msgs[i].role;
        int p = *prev, ok;
        switch (r) {
        case TA_ROLE_SYSTEM: ok = p == -1 || p == TA_ROLE_SYSTEM; break;
        case TA_ROLE_USER: ok = p == -1 || p == TA_ROLE_SYSTEM || p == TA_ROLE_ASSISTANT; break;
        case TA_ROLE_ASSISTANT: ok = p == TA_ROLE_USER || p == TA_ROLE_TOOL; break;
        case TA_ROLE_TOOL: ok = p == TA_ROLE_TOOL || (p == TA_ROLE_ASSISTANT && *prev_had_calls); break;
        default: ok = 0;
        }
        if (!ok) { *bad_at = i; return 0; }
        *prev = (int)r;
        *prev_had_calls = r == TA_ROLE_ASSISTANT && msgs[i].n_tool_calls > 0;
    }
    return 1;
}

static const char *role_or_start(int r) { return r < 0 ? "the start" : ta_role_name((ta_role)r); }

static int check_roles(const ta_conversation *c, int *prev, int *had_calls, const char *field, const char *what,
                       ta_error *err) {
    size_t at;
    int before = *prev;
    if (roles_ok(c->msgs, c->n, prev, had_calls, &at))
        return TA_OK;
    int p = at ? (int)c->msgs[at - 1].role : before;
    return ta_error_set(err, TA_EFORMAT, "%s: \"%s\"[%zu]: roles do not alternate: '%s' after %s%s", what, field, at,
                        ta_role_name(c->msgs[at].role), role_or_start(p),
                        c->msgs[at].role == TA_ROLE_SYSTEM ? " (system only at the start)" : "");
}

/* An assistant turn says something: text or at least one tool call. */
static int has_assistant_output(const ta_conversation *c) {
    for (size_t i = 0; i < c->n; i++)
        if (c->msgs[i].role == TA_ROLE_ASSISTANT && (c->msgs[i].content[0] || c->msgs[i].n_tool_calls)) return 1;
    return 0;
}

/* ---- one line ------------------------------------------------------------- */

typedef struct line_ctx {
    const char *what; /* "FILE:LINE" */
    size_t line;
    const ta_dataset_opts *opts;
    const ta_encoder *enc;
    builder *bd;
    int *dropped; /* set when truncation left nothing (counted, not an error) */
} line_ctx;

static int encode_fail(int rc, ta_error *err, const char *what) {
    if (rc == TA_ENOMEM) return rc;
    ta_error_prefix(err, "%s", what);
    return rc == TA_EINVAL ? TA_EFORMAT : rc;
}

/* The optional "tools" field: a list of schemas, or absent/null. */
static int get_tools(json_t *obj, const json_t **tools, const char *what, ta_error *err) {
    json_t *t = json_object_get(obj, "tools");
    *tools = NULL;
    if (!t || json_is_null(t)) return TA_OK;
    if (!json_is_array(t)) return ta_error_set(err, TA_EFORMAT, "%s: \"tools\" must be a list of tool schemas", what);
    *tools = json_array_size(t) ? t : NULL;
    return TA_OK;
}

static int do_sft(line_ctx *lc, json_t *obj, ta_error *err) {
    const json_t *tools;
    int trc = get_tools(obj, &tools, lc->what, err);
    if (trc) return trc;
    json_t *msgs = json_object_get(obj, "messages");
    if (!msgs) return ta_error_set(err, TA_EFORMAT, "%s: \"messages\" is missing", lc->what);
    if (!json_is_array(msgs)) return ta_error_set(err, TA_EFORMAT, "%s: \"messages\" must be a list of messages", lc->what);
    ta_conversation c;
    ta_conv_init(&c);
    int32_t *ids = NULL;
    uint8_t *mask = NULL;
    size_t n = 0;
    int rc = ta_conv_from_json(&c, msgs, lc->what, err);
    if (rc) goto done;
    int prev = -1, calls = 0;
    if ((rc = check_roles(&c, &prev, &calls, "messages", lc->what, err))) goto done;
    if (!has_assistant_output(&c)) {
        rc = ta_error_set(err, TA_EFORMAT, "%s: empty completion: no assistant message with content or tool calls",
                          lc->what);
        goto done;
    }
    if ((rc = lc->enc->sft(lc->enc->ctx, &c, tools, &ids, &mask, &n, err))) { rc = encode_fail(rc, err, lc->what); goto done; }
    ta_dataset *ds = lc->bd->ds;
    size_t keep = n, max = lc->opts->max_length;
    if (max && n > max) keep = max;
    size_t trained = 0;
    for (size_t t = 1; t < keep; t++) trained += mask[t] != 0;
    if (keep < n) { ds->stats.truncated++; ds->stats.tokens_lost += n - keep; }
    if (trained == 0) {
        if (keep < n) { ds->stats.skipped_truncated++; *lc->dropped = 1; rc = TA_OK; goto done; }
        rc = ta_error_set(err, TA_EFORMAT, "%s: empty completion: no assistant token to train on", lc->what);
        goto done;
    }
    ta_example e = {lc->line, ds->n_tokens, 0, keep, 0};
    if (push_tokens(lc->bd, ids, mask, keep) || push_example(lc->bd, &e)) {
        rc = ta_error_set(err, TA_ENOMEM, "%s: out of memory", lc->what);
        goto done;
    }
    if (keep > ds->max_row) ds->max_row = keep;
done:
    free(ids);
    free(mask);
    ta_conv_release(&c);
    return rc;
}

/* A preference field: a non-empty string, or a list of messages. */
static int pref_field(json_t *obj, const char *key, int required, json_t **out, const char *what, ta_error *err) {
    json_t *v = json_object_get(obj, key);
    *out = v;
    if (!v || json_is_null(v)) {
        *out = NULL;
        return required ? ta_error_set(err, TA_EFORMAT, "%s: \"%s\" is missing", what, key) : TA_OK;
    }
    if (!json_is_string(v) && !json_is_array(v))
        return ta_error_set(err, TA_EFORMAT, "%s: \"%s\" must be a string or a list of messages", what, key);
    return TA_OK;
}

static int do_pref(line_ctx *lc, json_t *obj, ta_error *err) {
    const char *what = lc->what;
    json_t *jp, *jc, *jr;
    const json_t *tools;
    int rc;
    if ((rc = get_tools(obj, &tools, what, err))) return rc;
    if ((rc = pref_field(obj, "prompt", 0, &jp, what, err))) return rc;
    if ((rc = pref_field(obj, "chosen", 1, &jc, what, err))) return rc;
    if ((rc = pref_field(obj, "rejected", 1, &jr, what, err))) return rc;
    int conv = json_is_array(jc);
    if (json_is_array(jr) != conv)
        return ta_error_set(err, TA_EFORMAT, "%s: \"chosen\" and \"rejected\" must both be strings or both message lists",
                            what);
    if (jp && json_is_array(jp) != conv)
        return ta_error_set(err, TA_EFORMAT, "%s: \"prompt\" must be %s like \"chosen\"", what,
                            conv ? "a list of messages" : "a string");
    if (json_equal(jc, jr)) return ta_error_set(err, TA_EFORMAT, "%s: \"chosen\" and \"rejected\" are identical", what);

    ta_conversation cp, cc, cr;
    ta_conv_init(&cp);
    ta_conv_init(&cc);
    ta_conv_init(&cr);
    json_t *implicit_c = NULL, *implicit_r = NULL;
    int32_t *pid[2] = {NULL, NULL}, *cid[2] = {NULL, NULL};
    size_t np[2] = {0, 0}, ncomp[2] = {0, 0};
    if (!conv) {
        if (!jp) { rc = ta_error_set(err, TA_EFORMAT, "%s: \"prompt\" is missing", what); goto done; }
        const char *sc = json_string_value(jc), *sr = json_string_value(jr);
        if (!sc[0] || !sr[0]) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: empty completion in \"%s\"", what, !sc[0] ? "chosen" : "rejected");
            goto done;
        }
    } else {
        if (!jp) {
            /* TRL's implicit prompt: the messages chosen and rejected share. */
            size_t k = 0, nc = json_array_size(jc), nr = json_array_size(jr);
            while (k < nc && k < nr && json_equal(json_array_get(jc, k), json_array_get(jr, k))) k++;
            if (k == 0) { rc = ta_error_set(err, TA_EFORMAT, "%s: \"prompt\" is missing", what); goto done; }
            json_t *p = json_array();
            implicit_c = json_array();
            implicit_r = json_array();
            for (size_t i = 0; i < nc; i++) json_array_append(i < k ? p : implicit_c, json_array_get(jc, i));
            for (size_t i = k; i < nr; i++) json_array_append(implicit_r, json_array_get(jr, i));
            rc = ta_conv_from_json(&cp, p, what, err);
            json_decref(p);
            if (rc) goto done;
            jc = implicit_c;
            jr = implicit_r;
        } else {
            char sub[4300];
            snprintf(sub, sizeof sub, "%s: \"prompt\"", what);
            if ((rc = ta_conv_from_json(&cp, jp, sub, err))) goto done;
        }
        char sub[4300];
        snprintf(sub, sizeof sub, "%s: \"chosen\"", what);
        if ((rc = ta_conv_from_json(&cc, jc, sub, err))) goto done;
        snprintf(sub, sizeof sub, "%s: \"rejected\"", what);
        if ((rc = ta_conv_from_json(&cr, jr, sub, err))) goto done;
        int prev = -1, calls = 0;
        if ((rc = check_roles(&cp, &prev, &calls, "prompt", what, err))) goto done;
        if (cp.n == 0 || (prev != TA_ROLE_USER && prev != TA_ROLE_TOOL)) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: \"prompt\" must end with a user or tool message", what);
            goto done;
        }
        for (int s = 0; s < 2; s++) {
            const ta_conversation *c = s ? &cr : &cc;
            int pv = prev, pc = calls;
            if ((rc = check_roles(c, &pv, &pc, s ? "rejected" : "chosen", what, err))) goto done;
            if (!has_assistant_output(c)) {
                rc = ta_error_set(err, TA_EFORMAT, "%s: empty completion in \"%s\"", what, s ? "rejected" : "chosen");
                goto done;
            }
        }
    }
    for (int s = 0; s < 2; s++) {
        ta_text_part prompt = {conv ? NULL : json_string_value(jp), conv ? &cp : NULL};
        ta_text_part comp = {conv ? NULL : json_string_value(s ? jr : jc), conv ? (s ? &cr : &cc) : NULL};
        rc = lc->enc->pair(lc->enc->ctx, &prompt, &comp, tools, &pid[s], &np[s], &cid[s], &ncomp[s], err);
        if (rc) {
            rc = encode_fail(rc, err, what);
            goto done;
        }
        if (ncomp[s] == 0) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: empty completion in \"%s\" (no tokens)", what, s ? "rejected" : "chosen");
            goto done;
        }
    }
    if (np[0] != np[1] || (np[0] && memcmp(pid[0], pid[1], np[0] * sizeof(int32_t)))) {
        rc = ta_error_set(err, TA_EFORMAT, "%s: the prompt tokenizes differently with \"chosen\" and \"rejected\"", what);
        goto done;
    }
    {
        ta_dataset *ds = lc->bd->ds;
        size_t P = np[0], p0 = 0, lost = 0;
        size_t maxp = lc->opts->max_prompt_length, maxl = lc->opts->max_length;
        if (maxp && P > maxp) { p0 = P - maxp; lost += p0; P = maxp; }
        size_t keep[2];
        int empty = 0;
        for (int s = 0; s < 2; s++) {
            keep[s] = ncomp[s];
            if (maxl && P + keep[s] > maxl) keep[s] = maxl > P ? maxl - P : 0;
            lost += ncomp[s] - keep[s];
            if (keep[s] == 0) empty = 1;
        }
        if (lost) { ds->stats.truncated++; ds->stats.tokens_lost += lost; }
        if (empty) { ds->stats.skipped_truncated++; *lc->dropped = 1; rc = TA_OK; goto done; }
        ta_example e = {lc->line, ds->n_tokens, P, keep[0], keep[1]};
        if (push_tokens(lc->bd, P ? pid[0] + p0 : NULL, NULL, P) || push_tokens(lc->bd, cid[0], NULL, keep[0]) ||
            push_tokens(lc->bd, cid[1], NULL, keep[1]) || push_example(lc->bd, &e)) {
            rc = ta_error_set(err, TA_ENOMEM, "%s: out of memory", what);
            goto done;
        }
        size_t row = P + (keep[0] > keep[1] ? keep[0] : keep[1]);
        if (row > ds->max_row) ds->max_row = row;
    }
done:
    for (int s = 0; s < 2; s++) { free(pid[s]); free(cid[s]); }
    json_decref(implicit_c);
    json_decref(implicit_r);
    ta_conv_release(&cp);
    ta_conv_release(&cc);
    ta_conv_release(&cr);
    return rc;
}

/* ---- the file ------------------------------------------------------------- */

void ta_dataset_release(ta_dataset *ds) {
    free(ds->ex);
    free(ds->tokens);
    free(ds->mask);
    memset(ds, 0, sizeof *ds);
}

static void add_report(ta_dataset_stats *st, const char *msg) {
    if (st->n_reports >= TA_DATASET_MAX_REPORTS) return;
    size_t n = strlen(msg), cap = sizeof st->reports[0];
    if (n >= cap) n = cap - 1;
    memcpy(st->reports[st->n_reports], msg, n);
    st->reports[st->n_reports++][n] = 0;
}

static int blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

/* The lines of f; `path` names it in messages. Closes f. */
static int load_stream(ta_dataset *ds, FILE *f, const char *path, const ta_dataset_opts *opts, const ta_encoder *enc,
                       ta_error *err) {
    builder bd = {ds, 0, 0, 0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = TA_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (blank(line)) continue;
        ds->stats.lines++;
        char what[4200];
        snprintf(what, sizeof what, "%s:%zu", path, lineno);
        json_error_t je;
        json_t *obj = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        int dropped = 0;
        line_ctx lc = {what, lineno, opts, enc, &bd, &dropped};
        if (!obj) rc = ta_error_set(err, TA_EFORMAT, "%s: malformed JSON at column %d: %s", what, je.column, je.text);
        else if (!json_is_object(obj)) rc = ta_error_set(err, TA_EFORMAT, "%s: a line must hold a JSON object", what);
        else rc = opts->kind == TA_DATA_SFT ? do_sft(&lc, obj, err) : do_pref(&lc, obj, err);
        json_decref(obj);
        if (rc == TA_EFORMAT && !opts->strict) {
            ds->stats.bad++;
            add_report(&ds->stats, err ? err->msg : "bad line");
            rc = TA_OK;
        }
        if (rc) break;
        if (dropped) {
            char msg[4400];
            snprintf(msg, sizeof msg, "%s: skipped: truncation leaves no completion token", what);
            add_report(&ds->stats, msg);
        }
        if (opts->max_examples && ds->n >= opts->max_examples) break;
    }
    if (!rc && ferror(f)) rc = ta_error_set(err, TA_EIO, "cannot read '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (!rc && ds->n == 0)
        rc = ta_error_set(err, TA_EINVAL, "'%s': no usable example (%zu lines, %zu bad, %zu emptied by truncation)", path,
                          ds->stats.lines, ds->stats.bad, ds->stats.skipped_truncated);
    if (rc) ta_dataset_release(ds);
    if (!rc) ta_error_clear(err);
    return rc;
}

int ta_dataset_load(ta_dataset *ds, const char *path, const ta_dataset_opts *opts, const ta_encoder *enc,
                    ta_error *err) {
    memset(ds, 0, sizeof *ds);
    ds->kind = opts->kind;
    snprintf(ds->path, sizeof ds->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) return ta_error_set(err, errno == ENOENT ? TA_ENOTFOUND : TA_EIO, "cannot open '%s': %s", path, strerror(errno));
    return load_stream(ds, f, path, opts, enc, err);
}

int ta_dataset_parse(ta_dataset *ds, const char *buf, size_t len, const char *what, const ta_dataset_opts *opts,
                     const ta_encoder *enc, ta_error *err) {
    memset(ds, 0, sizeof *ds);
    ds->kind = opts->kind;
    snprintf(ds->path, sizeof ds->path, "%s", what);
    if (len == 0) return ta_error_set(err, TA_EINVAL, "'%s': no usable example (empty)", what);
    FILE *f = fmemopen((void *)buf, len, "rb");
    if (!f) return ta_error_set(err, TA_ENOMEM, "'%s': cannot open a memory stream", what);
    return load_stream(ds, f, what, opts, enc, err);
}

/* ---- batches -------------------------------------------------------------- */

int ta_batch_init(ta_batch *b, size_t cap_rows, size_t cap_T, ta_error *err) {
    memset(b, 0, sizeof *b);
    if (!cap_rows || !cap_T) return ta_error_set(err, TA_EINVAL, "batch: empty shape");
    b->cap_rows = cap_rows;
    b->cap_T = cap_T;
    b->tokens = calloc(cap_rows * cap_T, sizeof *b->tokens);
    b->targets = calloc(cap_rows * cap_T, sizeof *b->targets);
    b->lengths = calloc(cap_rows, sizeof *b->lengths);
    b->n_target = calloc(cap_rows, sizeof *b->n_target);
    if (!b->tokens || !b->targets || !b->lengths || !b->n_target) {
        ta_batch_release(b);
        return ta_error_set(err, TA_ENOMEM, "batch: out of memory (%zu x %zu)", cap_rows, cap_T);
    }
    return TA_OK;
}

void ta_batch_release(ta_batch *b) {
    free(b->tokens);
    free(b->targets);
    free(b->lengths);
    free(b->n_target);
    memset(b, 0, sizeof *b);
}

/* Writes one row: seq[0..n) with trained[t] saying whether seq[t] is a
 * completion token (so position t-1 gets target seq[t]). */
static void put_row(ta_batch *b, size_t row, const int32_t *a, size_t na, const int32_t *c, size_t nc,
                    const uint8_t *mask, int32_t pad) {
    size_t T = b->cap_T, n = na + nc;
    int32_t *tok = b->tokens + row * T, *tgt = b->targets + row * T;
    size_t cnt = 0;
    for (size_t t = 0; t < T; t++) {
        tok[t] = t < na ? a[t] : t < n ? c[t - na] : pad;
        tgt[t] = -1;
    }
    for (size_t t = 1; t < n; t++) {
        int train = mask ? mask[t] != 0 : t >= na;
        if (train) { tgt[t - 1] = tok[t]; cnt++; }
    }
    b->lengths[row] = n;
    b->n_target[row] = cnt;
    b->n_target_total += cnt;
    b->n_tokens_total += n;
}

int ta_batch_fill(ta_batch *b, const ta_dataset *ds, const size_t *idx, size_t n, int32_t pad_id, ta_error *err) {
    size_t rows = ds->kind == TA_DATA_PREF ? 2 * n : n;
    if (rows > b->cap_rows) return ta_error_set(err, TA_ERANGE, "batch: %zu rows do not fit %zu", rows, b->cap_rows);
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= ds->n) return ta_error_set(err, TA_ERANGE, "batch: example %zu out of range", idx[i]);
        const ta_example *e = &ds->ex[idx[i]];
        size_t need = e->prompt_len + (e->len_a > e->len_b ? e->len_a : e->len_b);
        if (need > b->cap_T) return ta_error_set(err, TA_ERANGE, "batch: row of %zu tokens exceeds %zu", need, b->cap_T);
    }
    b->B = rows;
    b->T = b->cap_T;
    b->n_examples = n;
    b->n_target_total = b->n_tokens_total = 0;
    for (size_t i = 0; i < n; i++) {
        const ta_example *e = &ds->ex[idx[i]];
        const int32_t *base = ds->tokens + e->off;
        if (ds->kind == TA_DATA_SFT) {
            put_row(b, i, base, e->len_a, NULL, 0, ds->mask + e->off, pad_id);
        } else {
            put_row(b, i, base, e->prompt_len, base + e->prompt_len, e->len_a, NULL, pad_id);
            put_row(b, n + i, base, e->prompt_len, base + e->prompt_len + e->len_a, e->len_b, NULL, pad_id);
        }
    }
    return TA_OK;
}

/* ---- order ---------------------------------------------------------------- */

static void make_perm(ta_data_order *o) {
    for (size_t i = 0; i < o->n; i++) o->perm[i] = i;
    if (!o->shuffle) return;
    ta_rng r;
    /* One stream per epoch, from the seed and the epoch only. */
    ta_rng_seed(&r, o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(o->epoch + 1)));
    for (size_t i = o->n; i > 1; i--) {
        size_t j = (size_t)ta_rng_below(&r, i);
        size_t t = o->perm[i - 1];
        o->perm[i - 1] = o->perm[j];
        o->perm[j] = t;
    }
}

int ta_order_init(ta_data_order *o, size_t n, uint64_t seed, int shuffle, ta_error *err) {
    memset(o, 0, sizeof *o);
    o->perm = malloc((n ? n : 1) * sizeof *o->perm);
    if (!o->perm) return ta_error_set(err, TA_ENOMEM, "out of memory");
    o->n = n;
    o->seed = seed;
    o->shuffle = shuffle;
    make_perm(o);
    return TA_OK;
}

void ta_order_seek(ta_data_order *o, size_t epoch, size_t pos) {
    o->epoch = epoch;
    o->pos = pos > o->n ? o->n : pos;
    make_perm(o);
}

size_t ta_order_take(ta_data_order *o, size_t k, size_t *out) {
    size_t got = 0;
    while (got < k && o->pos < o->n) out[got++] = o->perm[o->pos++];
    return got;
}

void ta_order_next_epoch(ta_data_order *o) { ta_order_seek(o, o->epoch + 1, 0); }

void ta_order_release(ta_data_order *o) {
    free(o->perm);
    memset(o, 0, sizeof *o);
}
