#include "text/conversation.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"

void ta_conv_init(ta_conversation *c) {
    memset(c, 0, sizeof *c);
    ta_arena_init(&c->arena, 16384);
}

void ta_conv_release(ta_conversation *c) {
    free(c->msgs);
    ta_arena_release(&c->arena);
    memset(c, 0, sizeof *c);
}

void ta_conv_truncate(ta_conversation *c, size_t n) {
    if (n < c->n) c->n = n;
}

ta_message *ta_conv_add(ta_conversation *c, ta_role role, const char *content) {
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        ta_message *nm = realloc(c->msgs, ncap * sizeof *nm);
        if (!nm) return NULL;
        c->msgs = nm;
        c->cap = ncap;
    }
    char *s = ta_arena_strdup(&c->arena, content ? content : "");
    if (!s) return NULL;
    ta_message *m = &c->msgs[c->n++];
    memset(m, 0, sizeof *m);
    m->role = role;
    m->content = s;
    return m;
}

int ta_conv_add_tool_call(ta_conversation *c, ta_message *m, const char *name, const char *arguments_json,
                          const char *id, ta_error *err) {
    ta_tool_call *nt = ta_arena_alloc(&c->arena, (m->n_tool_calls + 1) * sizeof *nt);
    if (!nt) return ta_error_set(err, TA_ENOMEM, "out of memory");
    if (m->n_tool_calls) memcpy(nt, m->tool_calls, m->n_tool_calls * sizeof *nt);
    ta_tool_call *tc = &nt[m->n_tool_calls];
    tc->name = ta_arena_strdup(&c->arena, name ? name : "");
    tc->arguments = ta_arena_strdup(&c->arena, arguments_json ? arguments_json : "{}");
    tc->id = id ? ta_arena_strdup(&c->arena, id) : NULL;
    if (!tc->name || !tc->arguments || (id && !tc->id)) return ta_error_set(err, TA_ENOMEM, "out of memory");
    m->tool_calls = nt;
    m->n_tool_calls++;
    return TA_OK;
}

static const char *dup_or_null(ta_conversation *c, const char *s) { return s ? ta_arena_strdup(&c->arena, s) : NULL; }

int ta_conv_append(ta_conversation *dst, const ta_conversation *src, ta_error *err) {
    return ta_conv_append_range(dst, src, 0, src->n, err);
}

int ta_conv_append_range(ta_conversation *dst, const ta_conversation *src, size_t from, size_t to, ta_error *err) {
    if (to > src->n) to = src->n;
    for (size_t i = from; i < to; i++) {
        const ta_message *s = &src->msgs[i];
        ta_message *m = ta_conv_add(dst, s->role, s->content);
        if (!m) return ta_error_set(err, TA_ENOMEM, "out of memory");
        m->name = dup_or_null(dst, s->name);
        m->tool_call_id = dup_or_null(dst, s->tool_call_id);
        for (size_t k = 0; k < s->n_tool_calls; k++) {
            int rc = ta_conv_add_tool_call(dst, m, s->tool_calls[k].name, s->tool_calls[k].arguments, s->tool_calls[k].id, err);
            if (rc) return rc;
        }
    }
    return TA_OK;
}

const char *ta_role_name(ta_role r) {
    switch (r) {
    case TA_ROLE_SYSTEM: return "system";
    case TA_ROLE_USER: return "user";
    case TA_ROLE_ASSISTANT: return "assistant";
    case TA_ROLE_TOOL: return "tool";
    }
    return "?";
}

int ta_role_parse(const char *s, ta_role *out) {
    static const char *names[] = {"system", "user", "assistant", "tool"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (ta_role)i;
            return 0;
        }
    return -1;
}

static int parse_tool_call(ta_conversation *c, ta_message *m, const json_t *tc, const char *what, size_t mi, size_t k,
                           ta_error *err) {
    if (!json_is_object(tc)) return ta_error_set(err, TA_EFORMAT, "%s: messages[%zu].tool_calls[%zu] must be an object", what, mi, k);
    const json_t *fn = json_object_get(tc, "function");
    if (!fn) fn = tc; /* accept the flat {"name", "arguments"} form too */
    if (!json_is_object(fn)) return ta_error_set(err, TA_EFORMAT, "%s: messages[%zu].tool_calls[%zu].function must be an object", what, mi, k);
    const json_t *name = json_object_get(fn, "name");
    if (!json_is_string(name) || !json_string_length(name))
        return ta_error_set(err, TA_EFORMAT, "%s: messages[%zu].tool_calls[%zu]: \"name\" must be a non-empty string", what, mi, k);
    const json_t *args = json_object_get(fn, "arguments");
    json_t *parsed = NULL;
    if (json_is_string(args)) {
        json_error_t je;
        parsed = json_loads(json_string_value(args), JSON_REJECT_DUPLICATES, &je);
        if (!parsed || !json_is_object(parsed)) {
            json_decref(parsed);
            return ta_error_set(err, TA_EFORMAT, "%s: messages[%zu].tool_calls[%zu]: \"arguments\" is not a JSON object", what, mi, k);
        }
        args = parsed;
    } else if (args && !json_is_object(args)) {
        return ta_error_set(err, TA_EFORMAT, "%s: messages[%zu].tool_calls[%zu]: \"arguments\" must be an object", what, mi, k);
    }
    char *txt = args ? ta_json_dumps(args) : NULL;
    json_decref(parsed);
    const json_t *id = json_object_get(tc, "id");
    int rc = ta_conv_add_tool_call(c, m, json_string_value(name), txt ? txt : "{}", json_is_string(id) ? json_string_value(id) : NULL, err);
    free(txt);
    return rc;
}

int ta_conv_from_json(ta_conversation *c, const json_t *messages, const char *what, ta_error *err) {
    if (!json_is_array(messages)) return ta_error_set(err, TA_EFORMAT, "%s: \"messages\" must be an array", what);
    size_t n0 = c->n;
    for (size_t i = 0; i < json_array_size(messages); i++) {
        const json_t *jm = json_array_get(messages, i);
        int rc;
        if (!json_is_object(jm)) { rc = ta_error_set(err, TA_EFORMAT, "%s: messages[%zu] must be an object", what, i); goto fail; }
        const json_t *role = json_object_get(jm, "role");
        ta_role r;
        if (!json_is_string(role) || ta_role_parse(json_string_value(role), &r) != 0) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: messages[%zu]: \"role\" must be one of system, user, assistant, tool", what, i);
            goto fail;
        }
        const json_t *content = json_object_get(jm, "content");
        if (content && !json_is_null(content) && !json_is_string(content)) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: messages[%zu]: \"content\" must be a string", what, i);
            goto fail;
        }
        ta_message *m = ta_conv_add(c, r, content && json_is_string(content) ? json_string_value(content) : "");
        if (!m) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
        const json_t *name = json_object_get(jm, "name");
        if (json_is_string(name)) m->name = ta_arena_strdup(&c->arena, json_string_value(name));
        const json_t *tcid = json_object_get(jm, "tool_call_id");
        if (json_is_string(tcid)) m->tool_call_id = ta_arena_strdup(&c->arena, json_string_value(tcid));
        const json_t *tcs = json_object_get(jm, "tool_calls");
        if (tcs && !json_is_null(tcs)) {
            if (!json_is_array(tcs)) { rc = ta_error_set(err, TA_EFORMAT, "%s: messages[%zu]: \"tool_calls\" must be an array", what, i); goto fail; }
            if (r != TA_ROLE_ASSISTANT) { rc = ta_error_set(err, TA_EFORMAT, "%s: messages[%zu]: only assistant messages have \"tool_calls\"", what, i); goto fail; }
            for (size_t k = 0; k < json_array_size(tcs); k++)
                if ((rc = parse_tool_call(c, m, json_array_get(tcs, k), what, i, k, err))) goto fail;
        }
        continue;
    fail:
        c->n = n0;
        return rc;
    }
    return TA_OK;
}

json_t *ta_conv_to_json(const ta_conversation *c) {
    json_t *arr = json_array();
    for (size_t i = 0; i < c->n; i++) {
        const ta_message *m = &c->msgs[i];
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string(ta_role_name(m->role)));
        json_object_set_new(o, "content", json_string(m->content));
        if (m->n_tool_calls) {
            json_t *tcs = json_array();
            for (size_t k = 0; k < m->n_tool_calls; k++) {
                json_t *tc = json_object(), *fn = json_object();
                json_t *args = json_loads(m->tool_calls[k].arguments, 0, NULL);
                json_object_set_new(fn, "name", json_string(m->tool_calls[k].name));
                json_object_set_new(fn, "arguments", args ? args : json_object());
                if (m->tool_calls[k].id) json_object_set_new(tc, "id", json_string(m->tool_calls[k].id));
                json_object_set_new(tc, "type", json_string("function"));
                json_object_set_new(tc, "function", fn);
                json_array_append_new(tcs, tc);
            }
            json_object_set_new(o, "tool_calls", tcs);
        }
        if (m->name) json_object_set_new(o, "name", json_string(m->name));
        if (m->tool_call_id) json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
        json_array_append_new(arr, o);
    }
    return arr;
}
