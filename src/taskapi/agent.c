#include "taskapi/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskapi/dispatch.h"
#include "taskapi/tools.h"

void ta_agent_result_init(ta_agent_result *r) { memset(r, 0, sizeof *r); }

void ta_agent_result_release(ta_agent_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_calls; i++) {
        ta_agent_call *c = &r->calls[i];
        free(c->name);
        free(c->arguments);
        free(c->raw);
        free(c->id);
        free(c->result);
        free(c->block_rule);
    }
    free(r->calls);
    free(r->final_text);
    free(r->block_rule);
    memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* The largest N of the "call_N" ids already in conv, so ids stay unique when
 * the loop runs again on a longer conversation. */
static long max_call_id(const ta_conversation *conv) {
    long mx = 0;
    for (size_t i = 0; i < conv->n; i++)
        for (size_t k = 0; k < conv->msgs[i].n_tool_calls; k++) {
            const char *id = conv->msgs[i].tool_calls[k].id;
            if (id && !strncmp(id, "call_", 5)) {
                long v = strtol(id + 5, NULL, 10);
                if (v > mx) mx = v;
            }
        }
    return mx;
}

/* Executed calls keep their block out of the message content (they live in
 * tool_calls); blocks that could not be parsed stay verbatim so the turn
 * re-renders as the model wrote it. Returns a malloc'd, trimmed string. */
static char *assistant_content(const char *reply, size_t len, const ta_parsed_reply *pr) {
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t n = 0, pos = 0;
    for (size_t i = 0; i < pr->n_calls; i++) {
        const ta_parsed_call *c = &pr->calls[i];
        int structured = c->status == TA_TC_OK || c->status == TA_TC_UNKNOWN_TOOL;
        size_t keep_to = structured ? c->start : c->end;
        if (keep_to > pos) {
            memcpy(out + n, reply + pos, keep_to - pos);
            n += keep_to - pos;
        }
        pos = c->end > pos ? c->end : pos;
    }
    if (len > pos) {
        memcpy(out + n, reply + pos, len - pos);
        n += len - pos;
    }
    out[n] = 0;
    /* NULs from the model would cut the text short anyway; trim whitespace. */
    n = strlen(out);
    size_t a = 0;
    while (a < n && (out[a] == ' ' || out[a] == '\n' || out[a] == '\t' || out[a] == '\r')) a++;
    while (n > a && (out[n - 1] == ' ' || out[n - 1] == '\n' || out[n - 1] == '\t' || out[n - 1] == '\r')) n--;
    memmove(out, out + a, n - a);
    out[n - a] = 0;
    return out;
}

static int record_call(ta_agent_result *r, const ta_agent_call *c) {
    ta_agent_call *nc = realloc(r->calls, (r->n_calls + 1) * sizeof *nc);
    if (!nc) return -1;
    r->calls = nc;
    r->calls[r->n_calls++] = *c;
    return 0;
}

static char *invalid_result(const ta_parsed_call *c) {
    char msg[512];
    snprintf(msg, sizeof msg, "invalid tool call: %s. Write <tool_call>{\"name\": \"<tool>\", \"arguments\": {...}}</tool_call>",
             c->message);
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = o ? ta_dispatch_result_text(o) : NULL;
    json_decref(o);
    return s;
}

static const char default_block_response[] = "I can't do that. Is there something else I can help you with?";

static int dispatched(ta_tc_status st) { return st == TA_TC_OK || st == TA_TC_UNKNOWN_TOOL; }

/* Asks the filter about every call of the reply. Returns 1 when one was
 * blocked (the reply is then recorded, not run, and answered with the
 * filter's response), 0 when all pass, < 0 on failure (rc in *rc). */
static int filter_reply(ta_conversation *conv, const ta_parsed_reply *pr, int step, const ta_agent_opts *opts,
                        ta_agent_result *out, int *rc, ta_error *err) {
    *rc = TA_OK;
    if (!opts || !opts->filter) return 0;
    ta_agent_call_guard *g = calloc(pr->n_calls ? pr->n_calls : 1, sizeof *g);
    char **rules = calloc(pr->n_calls ? pr->n_calls : 1, sizeof *rules);
    const char *response = NULL, *first_rule = NULL;
    int blocked = 0;
    if (!g || !rules) goto oom;
    for (size_t i = 0; i < pr->n_calls; i++) {
        const ta_parsed_call *pc = &pr->calls[i];
        if (!dispatched(pc->status)) continue;
        ta_agent_verdict v = {0};
        ta_error ferr = {0};
        int frc = opts->filter(opts->filter_user, pc->name, pc->arguments, &v, &ferr);
        if (frc) {
            *err = ferr;
            ta_error_prefix(err, "tool-call filter (step %d, %s)", step, pc->name ? pc->name : "?");
            *rc = frc;
            free(g);
            free(rules);
            return -1;
        }
        if (!v.block) continue;
        g[i] = TA_AGENT_CALL_BLOCKED;
        if (v.rule && !(rules[i] = strdup(v.rule))) goto oom;
        if (!blocked) {
            response = v.response;
            first_rule = rules[i];
        }
        blocked = 1;
    }
    if (!blocked) {
        free(g);
        free(rules);
        return 0;
    }
    free(out->final_text);
    out->final_text = strdup(response ? response : default_block_response);
    if (!out->final_text || !ta_conv_add(conv, TA_ROLE_ASSISTANT, out->final_text)) goto oom;
    out->blocked = 1;
    if (first_rule && !out->block_rule && !(out->block_rule = strdup(first_rule))) goto oom;
    for (size_t i = 0; i < pr->n_calls; i++) {
        const ta_parsed_call *pc = &pr->calls[i];
        ta_agent_call c = {.step = step, .status = pc->status, .tool_status = TA_EINVAL};
        c.guard = g[i] == TA_AGENT_CALL_BLOCKED ? TA_AGENT_CALL_BLOCKED : dispatched(pc->status) ? TA_AGENT_CALL_WITHHELD : TA_AGENT_CALL_RUN;
        c.block_rule = rules[i];
        rules[i] = NULL;
        c.name = dup_or_null(pc->name);
        c.arguments = dup_or_null(pc->arguments);
        c.raw = dup_or_null(pc->raw);
        if ((pc->name && !c.name) || (pc->arguments && !c.arguments) || (pc->raw && !c.raw) || record_call(out, &c)) {
            free(c.name), free(c.arguments), free(c.raw), free(c.block_rule);
            goto oom;
        }
        if (pc->status != TA_TC_OK) out->n_invalid++;
        if (c.guard == TA_AGENT_CALL_BLOCKED) out->n_blocked++;
        if (opts->on_call) opts->on_call(opts->on_call_user, &out->calls[out->n_calls - 1]);
    }
    free(g);
    free(rules);
    return 1;
oom:
    if (rules)
        for (size_t i = 0; i < pr->n_calls; i++) free(rules[i]);
    free(g);
    free(rules);
    *rc = ta_error_set(err, TA_ENOMEM, "out of memory");
    return -1;
}

/* One model reply with tool-call blocks: appends the assistant message and a
 * tool message per block, executing the valid ones. */
static int run_calls(ta_store *store, ta_conversation *conv, const char *reply, size_t len, const ta_parsed_reply *pr,
                     int step, long *next_id, const ta_agent_opts *opts, ta_agent_result *out, ta_error *err) {
    int frc;
    int f = filter_reply(conv, pr, step, opts, out, &frc, err);
    if (f < 0) return frc;
    if (f > 0) return TA_OK;
    char *content = assistant_content(reply, len, pr);
    if (!content) return ta_error_set(err, TA_ENOMEM, "out of memory");
    ta_message *m = ta_conv_add(conv, TA_ROLE_ASSISTANT, content);
    free(content);
    if (!m) return ta_error_set(err, TA_ENOMEM, "out of memory");
    size_t first = out->n_calls;
    for (size_t i = 0; i < pr->n_calls; i++) {
        const ta_parsed_call *pc = &pr->calls[i];
        ta_agent_call c = {.step = step, .status = pc->status};
        c.name = dup_or_null(pc->name);
        c.arguments = dup_or_null(pc->arguments);
        c.raw = dup_or_null(pc->raw);
        if (pc->status == TA_TC_OK || pc->status == TA_TC_UNKNOWN_TOOL) {
            char id[32];
            snprintf(id, sizeof id, "call_%ld", (*next_id)++);
            c.id = strdup(id);
            int rc = ta_conv_add_tool_call(conv, m, pc->name, pc->arguments, id, err);
            if (rc) {
                free(c.name), free(c.arguments), free(c.raw), free(c.id);
                return rc;
            }
        }
        if ((pc->name && !c.name) || (pc->arguments && !c.arguments) || (pc->raw && !c.raw) ||
            ((pc->status == TA_TC_OK || pc->status == TA_TC_UNKNOWN_TOOL) && !c.id) || record_call(out, &c)) {
            free(c.name), free(c.arguments), free(c.raw), free(c.id);
            return ta_error_set(err, TA_ENOMEM, "out of memory");
        }
        if (pc->status != TA_TC_OK) out->n_invalid++;
    }
    /* Tool messages, in block order. m is not used past this point (adding
     * messages may move the array). */
    for (size_t i = first; i < out->n_calls; i++) {
        ta_agent_call *c = &out->calls[i];
        ta_error terr = {0};
        if (c->status == TA_TC_OK || c->status == TA_TC_UNKNOWN_TOOL) {
            /* unknown tools go through the dispatcher too: it answers with
             * the list of tools */
            c->tool_status = ta_dispatch(store, c->name, c->arguments, &c->result, &terr);
            c->ok = c->tool_status == TA_OK;
            if (!c->result) return ta_error_set(err, TA_ENOMEM, "out of memory");
        } else {
            c->tool_status = TA_EINVAL;
            c->result = invalid_result(&pr->calls[i - first]);
            if (!c->result) return ta_error_set(err, TA_ENOMEM, "out of memory");
        }
        ta_message *t = ta_conv_add(conv, TA_ROLE_TOOL, c->result);
        if (!t) return ta_error_set(err, TA_ENOMEM, "out of memory");
        if (c->name) t->name = ta_arena_strdup(&conv->arena, c->name);
        if (c->id) t->tool_call_id = ta_arena_strdup(&conv->arena, c->id);
        if ((c->name && !t->name) || (c->id && !t->tool_call_id)) return ta_error_set(err, TA_ENOMEM, "out of memory");
        if (opts && opts->on_call) opts->on_call(opts->on_call_user, c);
    }
    return TA_OK;
}

int ta_agent_run(const ta_agent_model *model, ta_store *store, ta_conversation *conv, const ta_agent_opts *opts,
                 ta_agent_result *out, ta_error *err) {
    ta_agent_result_release(out);
    int max_steps = opts && opts->max_steps > 0 ? opts->max_steps : TA_AGENT_DEFAULT_STEPS;
    const char *tools_json = opts && opts->tools_json ? opts->tools_json : ta_tools_json_text();
    const ta_stream *stream = opts && opts->stream.on_text ? &opts->stream : NULL;
    long next_id = max_call_id(conv) + 1;
    int rc = TA_OK;
    for (int step = 1; step <= max_steps; step++) {
        char *reply = NULL;
        rc = model->respond(model->ctx, conv, tools_json, stream, &reply, err);
        if (rc) {
            free(reply);
            ta_error_prefix(err, "model (step %d)", step);
            goto done;
        }
        out->n_steps = step;
        size_t len = reply ? strlen(reply) : 0;
        ta_parsed_reply pr;
        if ((rc = ta_toolcall_parse(reply ? reply : "", len, &pr, err))) {
            free(reply);
            goto done;
        }
        free(out->final_text);
        out->final_text = strdup(pr.text);
        if (!out->final_text) {
            rc = ta_error_set(err, TA_ENOMEM, "out of memory");
        } else if (pr.n_calls == 0) {
            if (!ta_conv_add(conv, TA_ROLE_ASSISTANT, pr.text)) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
            ta_parsed_reply_release(&pr);
            free(reply);
            goto done;
        } else {
            rc = run_calls(store, conv, reply, len, &pr, step, &next_id, opts, out, err);
        }
        ta_parsed_reply_release(&pr);
        free(reply);
        if (rc || out->blocked) goto done;
    }
    out->hit_step_limit = 1;
done:
    if (!out->final_text) out->final_text = calloc(1, 1);
    if (!out->final_text && !rc) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
    return rc;
}

int ta_agent_save_transcript(const ta_conversation *conv, const char *path, ta_error *err) {
    json_t *msgs = ta_conv_to_json(conv);
    json_t *line = msgs ? json_pack("{s:o}", "messages", msgs) : NULL;
    char *txt = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!txt) return ta_error_set(err, TA_ENOMEM, "out of memory");
    size_t n = strlen(txt);
    txt[n] = '\n'; /* replaces the NUL; length n + 1 is written below */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(txt);
        return ta_error_set(err, TA_EIO, "cannot open '%s': %s", path, strerror(errno));
    }
    ssize_t w = write(fd, txt, n + 1);
    int werr = errno;
    free(txt);
    if (close(fd) != 0 && w >= 0) {
        w = -1;
        werr = errno;
    }
    if (w != (ssize_t)(n + 1))
        return ta_error_set(err, TA_EIO, "cannot write '%s': %s", path, w < 0 ? strerror(werr) : "short write");
    return TA_OK;
}
