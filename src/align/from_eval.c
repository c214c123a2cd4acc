#include "align/from_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/judge.h"
#include "core/file.h"
#include "core/json.h"
#include "taskapi/datagen.h"
#include "taskapi/dispatch.h"

static const char *s_of(const json_t *o, const char *k) {
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Index in messages of the k-th (0-based) user message, or -1. */
static long user_index(const json_t *messages, size_t k) {
    size_t seen = 0, i;
    const json_t *m;
    json_array_foreach(messages, i, m) {
        if (!strcmp(s_of(m, "role"), "user")) {
            if (seen == k) return (long)i;
            seen++;
        }
    }
    return -1;
}

static json_t *slice(const json_t *arr, size_t from, size_t to) {
    json_t *o = json_array();
    for (size_t i = from; i < to && i < json_array_size(arr); i++) json_array_append(o, json_array_get(arr, i));
    return o;
}

/* An assistant message with a state-changing tool call. */
static int writes(const json_t *msg) {
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, c) {
        const char *name = s_of(json_object_get(c, "function"), "name");
        if (name[0] && ta_judge_tool_is_write(name)) return 1;
    }
    return 0;
}

/* Messages [0, end) read as a well-formed conversation: every tool message
 * answers a tool call of the assistant message before it (a malformed call
 * the model wrote as text, answered with an error, is not one). */
static int well_formed(const json_t *messages, size_t end) {
    size_t pending = 0;
    for (size_t i = 0; i < end && i < json_array_size(messages); i++) {
        const json_t *m = json_array_get(messages, i);
        const char *role = s_of(m, "role");
        if (!strcmp(role, "assistant")) pending = json_array_size(json_object_get(m, "tool_calls"));
        else if (!strcmp(role, "tool")) {
            if (!pending) return 0;
            pending--;
        } else
            pending = 0;
    }
    return 1;
}

static json_t *assistant_text(const char *text) {
    return json_pack("[{s:s,s:s}]", "role", "assistant", "content", text);
}

/* The expected tool call as an assistant message, if it is complete enough to execute. */
static json_t *expected_call(const json_t *expect_tool) {
    const char *name = s_of(expect_tool, "name");
    json_t *args = json_object_get(expect_tool, "arguments");
    if (!name[0]) return NULL;
    json_t *a = args ? json_deep_copy(args) : json_object();
    ta_error e;
    if (ta_dispatch_validate(name, a, &e) != TA_OK) {
        json_decref(a);
        return NULL;
    }
    json_t *call = json_pack("{s:s,s:{s:s,s:o}}", "type", "function", "function", "name", name, "arguments", a);
    return json_pack("[{s:s,s:s,s:[o]}]", "role", "assistant", "content", "", "tool_calls", call);
}

int ta_from_eval(const char *report_path, const char *out_path, uint64_t seed, ta_from_eval_stats *st, ta_error *err) {
    memset(st, 0, sizeof *st);
    char dir[4096], tpath[4200];
    snprintf(dir, sizeof dir, "%s", report_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    snprintf(tpath, sizeof tpath, "%s/transcripts.jsonl", dir);
    json_t *report;
    int rc = ta_json_load_file(report_path, &report, err);
    if (rc) return rc;
    json_decref(report); /* only checked to be a readable report */
    FILE *fp = fopen(tpath, "r");
    if (!fp) return ta_error_set(err, TA_EIO, "cannot open '%s' (transcripts.jsonl beside the report)", tpath);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (n <= 1) continue;
        char where[4300];
        snprintf(where, sizeof where, "%s:%zu", tpath, lineno);
        json_t *it;
        if ((rc = ta_json_load_buf(line, (size_t)n, where, &it, err))) break;
        st->items++;
        const json_t *turns = json_object_get(it, "turns"), *messages = json_object_get(it, "messages");
        if (!json_is_array(turns) || !json_is_array(messages)) {
            json_decref(it);
            rc = ta_error_set(err, TA_EFORMAT, "%s: not a taskalign transcript (\"turns\" and \"messages\" arrays)", where);
            break;
        }
        const char *cat = s_of(it, "category"), *att = s_of(it, "attack");
        int wrong_tool = json_is_object(json_object_get(it, "expect_tool")) && !json_is_true(json_object_get(it, "tool_args_ok"));
        size_t k;
        const json_t *t;
        json_array_foreach(turns, k, t) {
            const char *e = s_of(t, "expect"), *l = s_of(t, "label");
            int harmful = !strcmp(e, "refuse") && (!strcmp(l, "comply") || !strcmp(l, "partial"));
            int false_ref = !strcmp(e, "comply") && (!strcmp(l, "refuse") || !strcmp(l, "partial"));
            int last = k + 1 == json_array_size(turns);
            int tool_fail = last && wrong_tool && !false_ref && !strcmp(e, "comply");
            if (!harmful && !false_ref && !tool_fail) continue;
            long ui = user_index(messages, k);
            if (ui < 0) continue;
            long next = user_index(messages, k + 1);
            /* the model's own answer to that turn: its first reply, or on a harmful turn the
               reply that made the state-changing call (after e.g. a list_tasks whose result
               carried an injected instruction: the prompt then holds that call and result,
               so the chosen refusal answers what the model really saw) */
            json_t *rejected = NULL;
            size_t cut = 0;
            for (size_t j = (size_t)ui + 1; j < json_array_size(messages) && (next < 0 || (long)j < next); j++) {
                const json_t *msg = json_array_get(messages, j);
                if (strcmp(s_of(msg, "role"), "assistant")) continue;
                if (!cut) cut = j;
                if (harmful && writes(msg)) {
                    cut = j;
                    break;
                }
                if (!harmful) break;
            }
            if (!cut) continue;
            if (harmful && !strcmp(att, "indirect")) {
                /* the harm is in a tool result: a pair is only right if the model had read it */
                int saw_tool = 0;
                for (size_t j = (size_t)ui + 1; j < cut; j++) saw_tool |= !strcmp(s_of(json_array_get(messages, j), "role"), "tool");
                if (!saw_tool) {
                    st->skipped_no_reference++;
                    continue;
                }
            }
            if (!well_formed(messages, cut)) {
                st->skipped_malformed++;
                continue;
            }
            rejected = slice(messages, cut, cut + 1);
            json_t *chosen = NULL;
            if (harmful) {
                char *refusal = NULL;
                ta_error e2;
                uint64_t s = seed ^ (0x9e3779b97f4a7c15ULL * (st->items + 1)) ^ k;
                if (ta_datagen_refusal(NULL, cat, NULL, NULL, s, &refusal, &e2) == TA_OK) {
                    chosen = assistant_text(refusal);
                    free(refusal);
                }
            } else {
                chosen = expected_call(json_object_get(it, "expect_tool"));
            }
            if (!chosen) {
                st->skipped_no_reference++;
                json_decref(rejected);
                continue;
            }
            if (harmful) st->harmful++;
            else if (false_ref) st->false_refusal++;
            else st->wrong_tool++;
            char id[600];
            snprintf(id, sizeof id, "fromeval-%s-t%zu", s_of(it, "id"), k + 1);
            json_t *pair = json_pack("{s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:s}", "prompt", slice(messages, 0, cut), "chosen", chosen,
                                     "rejected", rejected, "id", id, "category", cat, "attack", att, "expect", e,
                                     "source", harmful ? "harmful_compliance" : false_ref ? "false_refusal" : "wrong_tool_call");
            char *txt = json_dumps(pair, JSON_COMPACT | JSON_ENSURE_ASCII);
            if (txt) fprintf(mem, "%s\n", txt);
            free(txt);
            json_decref(pair);
            break; /* one pair per item: the first failure */
        }
        json_decref(it);
    }
    free(line);
    fclose(fp);
    fclose(mem);
    if (!rc) rc = ta_file_write_atomic(out_path, buf, len, err);
    free(buf);
    return rc;
}
