#include "text/chat_format.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/file.h"
#include "core/json.h"

/* ---- a growable byte buffer (file-private) ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom; /* an append failed; the buffer is frozen */
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) { b->oom = 1; return; }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_putc(sbuf *b, char c) { sb_putn(b, &c, 1); }

/* ---- tojson ---- */

/* JavaScript's Number.prototype.toString for a finite double (ECMA-262
 * Number::toString): shortest digits that round-trip, then the spec's choice
 * between plain and exponent notation. */
static void js_number(sbuf *b, double x) {
    char tmp[64];
    if (x == 0) { sb_putc(b, '0'); return; } /* also -0 */
    if (x < 0) { sb_putc(b, '-'); x = -x; }
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);
        if (strtod(tmp, NULL) == x) break;
    }
    /* tmp = d[.ddd]e[+-]XX */
    char digits[32];
    size_t k = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0') k--; /* %.*e may pad */
    digits[k] = 0;
    int e10 = atoi(p + 1);
    int n = e10 + 1; /* value = 0.digits * 10^n */
    if ((int)k <= n && n <= 21) {
        sb_putn(b, digits, k);
        for (int i = 0; i < n - (int)k; i++) sb_putc(b, '0');
    } else if (0 < n && n <= 21) {
        sb_putn(b, digits, (size_t)n);
        sb_putc(b, '.');
        sb_putn(b, digits + n, k - (size_t)n);
    } else if (-6 < n && n <= 0) {
        sb_puts(b, "0.");
        for (int i = 0; i < -n; i++) sb_putc(b, '0');
        sb_putn(b, digits, k);
    } else {
        sb_putc(b, digits[0]);
        if (k > 1) { sb_putc(b, '.'); sb_putn(b, digits + 1, k - 1); }
        snprintf(tmp, sizeof tmp, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
        sb_puts(b, tmp);
    }
}

/* A JSON string literal as JSON.stringify / json.dumps(ensure_ascii=False)
 * write it. */
static void json_str(sbuf *b, const char *s, size_t n) {
    sb_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) { snprintf(u, sizeof u, "\\u%04x", c); esc = u; }
        }
        if (esc) {
            sb_putn(b, s + i - run, run);
            run = 0;
            sb_puts(b, esc);
        } else {
            run++;
        }
    }
    sb_putn(b, s + n - run, run);
    sb_putc(b, '"');
}

static void newline_indent(sbuf *b, int indent, int depth) {
    sb_putc(b, '\n');
    for (int i = 0; i < indent * depth; i++) sb_putc(b, ' ');
}

static void tojson_rec(sbuf *b, const json_t *j, int indent, int depth) {
    const char *item_sep = indent > 0 ? "," : ", ";
    switch (json_typeof(j)) {
    case JSON_NULL: sb_puts(b, "null"); break;
    case JSON_TRUE: sb_puts(b, "true"); break;
    case JSON_FALSE: sb_puts(b, "false"); break;
    case JSON_INTEGER: {
        json_int_t v = json_integer_value(j);
        if (v > 9007199254740992LL || v < -9007199254740992LL) {
            js_number(b, (double)v); /* JavaScript holds it as a double */
        } else {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%lld", (long long)v);
            sb_puts(b, tmp);
        }
        break;
    }
    case JSON_REAL: js_number(b, json_real_value(j)); break;
    case JSON_STRING: json_str(b, json_string_value(j), json_string_length(j)); break;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        sb_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i) sb_puts(b, item_sep);
            if (indent > 0) newline_indent(b, indent, depth + 1);
            tojson_rec(b, json_array_get(j, i), indent, depth + 1);
        }
        if (indent > 0 && n) newline_indent(b, indent, depth);
        sb_putc(b, ']');
        break;
    }
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        int first = 1;
        sb_putc(b, '{');
        json_object_foreach((json_t *)j, key, v) {
            if (!first) sb_puts(b, item_sep);
            first = 0;
            if (indent > 0) newline_indent(b, indent, depth + 1);
            json_str(b, key, strlen(key));
            sb_puts(b, ": ");
            tojson_rec(b, v, indent, depth + 1);
        }
        if (indent > 0 && !first) newline_indent(b, indent, depth);
        sb_putc(b, '}');
        break;
    }
    }
}

char *ta_chat_tojson(const json_t *j, int indent) {
    sbuf b = {0};
    tojson_rec(&b, j, indent, 0);
    if (b.oom || !b.p) { free(b.p); return NULL; }
    return b.p;
}

static void sb_tojson(sbuf *b, const json_t *j, int indent) { tojson_rec(b, j, indent, 0); }

/* ---- Python string semantics on UTF-8 slices ---- */

typedef struct slice {
    const char *p;
    size_t n;
} slice;

static slice sl(const char *s) { return (slice){s, strlen(s)}; }

/* Python's str.isspace() set, which str.strip() with no argument removes
 * (and so Jinja2's `trim`). */
static int py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Decodes the code point at p (valid UTF-8 from jansson); *len its size. */
static uint32_t utf8_at(const unsigned char *p, size_t avail, size_t *len) {
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (n > avail) n = avail;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3f);
    *len = n;
    return cp;
}

/* str.strip() / lstrip() / rstrip() with no argument (which = 1 left, 2 right, 3 both). */
static slice py_strip_ws(slice s, int which) {
    const unsigned char *p = (const unsigned char *)s.p;
    size_t a = 0, z = s.n, l;
    if (which & 1)
        while (a < z && py_space(utf8_at(p + a, z - a, &l))) a += l;
    if (which & 2)
        while (z > a) {
            size_t st = z - 1;
            while (st > a && (p[st] & 0xc0) == 0x80) st--;
            if (!py_space(utf8_at(p + st, z - st, &l))) break;
            z = st;
        }
    return (slice){s.p + a, z - a};
}

/* str.strip('\n') and friends: only newline characters. */
static slice py_strip_nl(slice s, int which) {
    size_t a = 0, z = s.n;
    if (which & 1)
        while (a < z && s.p[a] == '\n') a++;
    if (which & 2)
        while (z > a && s.p[z - 1] == '\n') z--;
    return (slice){s.p + a, z - a};
}

static const char *find_sub(slice s, const char *needle) {
    size_t m = strlen(needle);
    if (m > s.n) return NULL;
    for (size_t i = 0; i + m <= s.n; i++)
        if (!memcmp(s.p + i, needle, m)) return s.p + i;
    return NULL;
}
static const char *find_last_sub(slice s, const char *needle) {
    size_t m = strlen(needle);
    if (m > s.n) return NULL;
    for (size_t i = s.n - m + 1; i-- > 0;)
        if (!memcmp(s.p + i, needle, m)) return s.p + i;
    return NULL;
}
static int starts_with(slice s, const char *pre) { size_t m = strlen(pre); return s.n >= m && !memcmp(s.p, pre, m); }
static int ends_with(slice s, const char *suf) { size_t m = strlen(suf); return s.n >= m && !memcmp(s.p + s.n - m, suf, m); }

/* ---- render context ---- */

typedef struct rctx {
    sbuf b;
    ta_chat_span *spans;
    size_t n_spans, cap_spans;
    size_t open_at; /* begin of the span being built */
    int oom;
} rctx;

static void sp(rctx *r, slice s) { sb_putn(&r->b, s.p, s.n); }
static void put(rctx *r, const char *s) { sb_puts(&r->b, s); }
static void span_open(rctx *r) { r->open_at = r->b.len; }
static void span_close(rctx *r, size_t msg) {
    if (r->n_spans == r->cap_spans) {
        size_t nc = r->cap_spans ? r->cap_spans * 2 : 16;
        ta_chat_span *ns = realloc(r->spans, nc * sizeof *ns);
        if (!ns) { r->oom = 1; return; }
        r->spans = ns;
        r->cap_spans = nc;
    }
    r->spans[r->n_spans++] = (ta_chat_span){r->open_at, r->b.len, msg};
}

/* Writes tool call k's arguments with tojson (they are stored as JSON text). */
static int put_arguments(rctx *r, const ta_tool_call *tc, size_t mi, ta_error *err) {
    json_error_t je;
    json_t *a = json_loads(tc->arguments, JSON_DECODE_ANY, &je);
    if (!a) return ta_error_set(err, TA_EFORMAT, "messages[%zu]: tool call '%s': arguments are not JSON: %s", mi, tc->name, je.text);
    sb_tojson(&r->b, a, 0);
    json_decref(a);
    return TA_OK;
}

static int no_tools_support(const ta_chat_format *f, const ta_conversation *c, const ta_chat_options *o, ta_error *err) {
    if (o->tools)
        return ta_error_set(err, TA_EUNSUPPORTED, "the %s chat template has no tool support (it ignores \"tools\"); "
                            "refusing to drop them silently", ta_chat_family_name(f->family));
    for (size_t i = 0; i < c->n; i++)
        if (c->msgs[i].n_tool_calls)
            return ta_error_set(err, TA_EUNSUPPORTED, "messages[%zu]: the %s chat template has no tool-call support "
                                "(it would drop the call); refusing to render it", i, ta_chat_family_name(f->family));
    return TA_OK;
}

/* ---- ChatML: Qwen2.5 ---- */

static const char QWEN_DEFAULT_SYSTEM[] = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
static const char QWEN_TOOLS_HEAD[] =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
static const char QWEN_TOOLS_TAIL[] =
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call><|im_end|>\n";

static void qwen_tools_block(rctx *r, const json_t *tools) {
    put(r, QWEN_TOOLS_HEAD);
    for (size_t i = 0; i < json_array_size(tools); i++) {
        put(r, "\n");
        sb_tojson(&r->b, json_array_get(tools, i), 0);
    }
    put(r, QWEN_TOOLS_TAIL);
}

/* Jinja truthiness of `tools`: defined, not none, non-empty. */
static int tools_truthy(const json_t *t) { return t && json_is_array(t) && json_array_size(t) > 0; }

/* The tool-result group: consecutive tool messages share one user turn. */
static void qwen_tool_message(rctx *r, const ta_conversation *c, size_t i) {
    if (i == 0 || c->msgs[i - 1].role != TA_ROLE_TOOL) put(r, "<|im_start|>user");
    put(r, "\n<tool_response>\n");
    put(r, c->msgs[i].content);
    put(r, "\n</tool_response>");
    if (i + 1 == c->n || c->msgs[i + 1].role != TA_ROLE_TOOL) put(r, "<|im_end|>\n");
}

/* One <tool_call> block as both Qwen templates write it. */
static int qwen_tool_call(rctx *r, const ta_tool_call *tc, size_t mi, ta_error *err) {
    put(r, "<tool_call>\n{\"name\": \"");
    put(r, tc->name);
    put(r, "\", \"arguments\": ");
    int rc = put_arguments(r, tc, mi, err);
    put(r, "}\n</tool_call>");
    return rc;
}

/* user messages, and system messages after the first */
static void chatml_plain(rctx *r, const ta_message *m) {
    put(r, "<|im_start|>");
    put(r, ta_role_name(m->role));
    put(r, "\n");
    put(r, m->content);
    put(r, "<|im_end|>\n");
}

static int render_qwen25(rctx *r, const ta_conversation *c, const ta_chat_options *o, ta_error *err) {
    const ta_message *m0 = &c->msgs[0];
    if (tools_truthy(o->tools)) {
        put(r, "<|im_start|>system\n");
        put(r, m0->role == TA_ROLE_SYSTEM ? m0->content : QWEN_DEFAULT_SYSTEM);
        put(r, "\n\n");
        qwen_tools_block(r, o->tools);
    } else if (m0->role == TA_ROLE_SYSTEM) {
        put(r, "<|im_start|>system\n");
        put(r, m0->content);
        put(r, "<|im_end|>\n");
    } else {
        put(r, "<|im_start|>system\n");
        put(r, QWEN_DEFAULT_SYSTEM);
        put(r, "<|im_end|>\n");
    }
    for (size_t i = 0; i < c->n; i++) {
        const ta_message *m = &c->msgs[i];
        if (m->role == TA_ROLE_USER || (m->role == TA_ROLE_SYSTEM && i > 0)) {
            chatml_plain(r, m);
        } else if (m->role == TA_ROLE_ASSISTANT) {
            put(r, "<|im_start|>assistant\n");
            span_open(r);
            if (!m->n_tool_calls) {
                put(r, m->content);
            } else {
                /* the template writes "<|im_start|>assistant" then "\n" + content
                 * only when content is non-empty, and "\n<tool_call>..." per
                 * call: the first "\n" lands where the header's would. */
                int first_nl_done = 1;
                if (m->content[0]) { put(r, m->content); first_nl_done = 0; }
                for (size_t k = 0; k < m->n_tool_calls; k++) {
                    if (!first_nl_done) put(r, "\n");
                    first_nl_done = 0;
                    int rc = qwen_tool_call(r, &m->tool_calls[k], i, err);
                    if (rc) return rc;
                }
            }
            put(r, "<|im_end|>");
            span_close(r, i);
            put(r, "\n");
        } else if (m->role == TA_ROLE_TOOL) {
            qwen_tool_message(r, c, i);
        }
    }
    if (o->add_generation_prompt) put(r, "<|im_start|>assistant\n");
    return TA_OK;
}

/* ---- ChatML: Qwen3 ---- */

static int render_qwen3(rctx *r, const ta_conversation *c, const ta_chat_options *o, ta_error *err) {
    const ta_message *m0 = &c->msgs[0];
    if (tools_truthy(o->tools)) {
        put(r, "<|im_start|>system\n");
        if (m0->role == TA_ROLE_SYSTEM) {
            put(r, m0->content);
            put(r, "\n\n");
        }
        qwen_tools_block(r, o->tools);
    } else if (m0->role == TA_ROLE_SYSTEM) {
        put(r, "<|im_start|>system\n");
        put(r, m0->content);
        put(r, "<|im_end|>\n");
    }
    /* last_query_index: the last user message that is not a wrapped tool response */
    size_t last_query = c->n - 1;
    for (size_t j = c->n; j-- > 0;) {
        const ta_message *m = &c->msgs[j];
        slice s = sl(m->content);
        if (m->role == TA_ROLE_USER && !(starts_with(s, "<tool_response>") && ends_with(s, "</tool_response>"))) {
            last_query = j;
            break;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        const ta_message *m = &c->msgs[i];
        if (m->role == TA_ROLE_USER || (m->role == TA_ROLE_SYSTEM && i > 0)) {
            chatml_plain(r, m);
        } else if (m->role == TA_ROLE_ASSISTANT) {
            slice content = sl(m->content), reasoning = {"", 0};
            if (find_sub(content, "</think>")) {
                const char *last = find_last_sub(content, "</think>");
                const char *first = find_sub(content, "</think>");
                slice after = {last + 8, (size_t)(content.p + content.n - (last + 8))};
                slice before = {content.p, (size_t)(first - content.p)};
                before = py_strip_nl(before, 2);
                const char *lt = find_last_sub(before, "<think>");
                if (lt) before = (slice){lt + 7, (size_t)(before.p + before.n - (lt + 7))};
                reasoning = py_strip_nl(before, 1);
                content = py_strip_nl(after, 1);
            }
            put(r, "<|im_start|>assistant\n");
            span_open(r);
            int last = i + 1 == c->n;
            if (i > last_query && (last || reasoning.n)) {
                put(r, "<think>\n");
                sp(r, py_strip_nl(reasoning, 3));
                put(r, "\n</think>\n\n");
                sp(r, py_strip_nl(content, 1));
            } else {
                sp(r, content);
            }
            for (size_t k = 0; k < m->n_tool_calls; k++) {
                if ((k == 0 && content.n) || k > 0) put(r, "\n");
                int rc = qwen_tool_call(r, &m->tool_calls[k], i, err);
                if (rc) return rc;
            }
            put(r, "<|im_end|>");
            span_close(r, i);
            put(r, "\n");
        } else if (m->role == TA_ROLE_TOOL) {
            qwen_tool_message(r, c, i);
        }
    }
    if (o->add_generation_prompt) {
        put(r, "<|im_start|>assistant\n");
        if (o->enable_thinking == 0) put(r, "<think>\n\n</think>\n\n");
    }
    return TA_OK;
}

/* ---- ChatML: SmolLM2 ---- */

static int render_smollm2(rctx *r, const ta_chat_format *f, const ta_conversation *c, const ta_chat_options *o,
                          ta_error *err) {
    int rc = no_tools_support(f, c, o, err);
    if (rc) return rc;
    if (c->msgs[0].role != TA_ROLE_SYSTEM)
        put(r, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n");
    for (size_t i = 0; i < c->n; i++) {
        const ta_message *m = &c->msgs[i];
        put(r, "<|im_start|>");
        put(r, ta_role_name(m->role));
        put(r, "\n");
        if (m->role == TA_ROLE_ASSISTANT) span_open(r);
        put(r, m->content);
        put(r, "<|im_end|>");
        if (m->role == TA_ROLE_ASSISTANT) span_close(r, i);
        put(r, "\n");
    }
    if (o->add_generation_prompt) put(r, "<|im_start|>assistant\n");
    return TA_OK;
}

/* ---- Llama 3 ---- */

static void llama_header(rctx *r, const char *role) {
    put(r, "<|start_header_id|>");
    put(r, role);
    put(r, "<|end_header_id|>\n\n");
}

/* One plain message: header, trimmed content, <|eot_id|>; assistant content is a span. */
static void llama_plain(rctx *r, const ta_message *m, size_t i) {
    llama_header(r, ta_role_name(m->role));
    if (m->role == TA_ROLE_ASSISTANT) span_open(r);
    sp(r, py_strip_ws(sl(m->content), 3));
    put(r, "<|eot_id|>");
    if (m->role == TA_ROLE_ASSISTANT) span_close(r, i);
}

static int render_llama3(rctx *r, const ta_chat_format *f, const ta_conversation *c, const ta_chat_options *o,
                         ta_error *err) {
    int rc = no_tools_support(f, c, o, err);
    if (rc) return rc;
    for (size_t i = 0; i < c->n; i++) {
        if (i == 0) put(r, f->bos_token);
        llama_plain(r, &c->msgs[i], i);
    }
    if (o->add_generation_prompt || f->always_generation_prompt) llama_header(r, "assistant");
    return TA_OK;
}

static const char LLAMA_TOOLS_FORMAT[] =
    "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}."
    "Do not use variables.\n\n";

static void llama_tool_list(rctx *r, const json_t *tools) {
    for (size_t i = 0; i < json_array_size(tools); i++) {
        sb_tojson(&r->b, json_array_get(tools, i), 4);
        put(r, "\n\n");
    }
}

static int render_llama31(rctx *r, const ta_chat_format *f, const ta_conversation *c, const ta_chat_options *o,
                          ta_error *err) {
    const json_t *tools = o->tools; /* "is not none": any value given */
    int in_user = o->tools_in_user_message != 0;
    char date[64];
    if (o->date_string) {
        snprintf(date, sizeof date, "%s", o->date_string);
    } else if (f->family == TA_CHAT_LLAMA32) {
        time_t now = time(NULL);
        struct tm tmv;
        localtime_r(&now, &tmv);
        static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        snprintf(date, sizeof date, "%02d %s %04d", tmv.tm_mday, mon[tmv.tm_mon], tmv.tm_year + 1900);
    } else {
        snprintf(date, sizeof date, "26 Jul 2024");
    }
    size_t i = 0;
    slice system = {"", 0};
    if (c->msgs[0].role == TA_ROLE_SYSTEM) {
        system = py_strip_ws(sl(c->msgs[0].content), 3);
        i = 1;
    }
    put(r, f->bos_token);
    llama_header(r, "system");
    if (tools) put(r, "Environment: ipython\n");
    put(r, "Cutting Knowledge Date: December 2023\nToday Date: ");
    put(r, date);
    put(r, "\n\n");
    if (tools && !in_user) {
        put(r, "You have access to the following functions. To call a function, please respond with JSON for a "
               "function call.");
        put(r, LLAMA_TOOLS_FORMAT);
        llama_tool_list(r, tools);
    }
    sp(r, system);
    put(r, "<|eot_id|>");
    if (tools && in_user) {
        if (i >= c->n)
            return ta_error_set(err, TA_EINVAL, "the %s template puts tools in the first user message and there is "
                                "none (it raises \"Cannot put tools in the first user message when there's no first "
                                "user message!\")", ta_chat_family_name(f->family));
        /* the template takes messages[0] whatever its role */
        llama_header(r, "user");
        put(r, "Given the following functions, please respond with a JSON for a function call with its proper "
               "arguments that best answers the given prompt.\n\n");
        put(r, LLAMA_TOOLS_FORMAT);
        llama_tool_list(r, tools);
        sp(r, py_strip_ws(sl(c->msgs[i].content), 3));
        put(r, "<|eot_id|>");
        i++;
    }
    for (; i < c->n; i++) {
        const ta_message *m = &c->msgs[i];
        if (m->role == TA_ROLE_TOOL) {
            /* a string "is iterable": the content goes through tojson */
            llama_header(r, "ipython");
            json_str(&r->b, m->content, strlen(m->content));
            put(r, "<|eot_id|>");
        } else if (m->n_tool_calls) {
            if (m->n_tool_calls != 1)
                return ta_error_set(err, TA_EUNSUPPORTED, "messages[%zu]: the %s template supports one tool call per "
                                    "assistant turn (it raises \"This model only supports single tool-calls at "
                                    "once!\")", i, ta_chat_family_name(f->family));
            /* the template drops the message's content next to a tool call */
            llama_header(r, "assistant");
            span_open(r);
            put(r, "{\"name\": \"");
            put(r, m->tool_calls[0].name);
            put(r, "\", \"parameters\": ");
            int rc = put_arguments(r, &m->tool_calls[0], i, err);
            if (rc) return rc;
            put(r, "}<|eot_id|>");
            span_close(r, i);
        } else {
            llama_plain(r, m, i);
        }
    }
    if (o->add_generation_prompt) llama_header(r, "assistant");
    return TA_OK;
}

void ta_chat_options_init(ta_chat_options *o) {
    memset(o, 0, sizeof *o);
    o->enable_thinking = -1;
    o->tools_in_user_message = -1;
}

int ta_chat_render(const ta_chat_format *f, const ta_conversation *c, const ta_chat_options *o, ta_chat_text *out,
                   ta_error *err) {
    ta_chat_options defaults;
    if (!o) {
        ta_chat_options_init(&defaults);
        o = &defaults;
    }
    if (c->n == 0) return ta_error_set(err, TA_EINVAL, "cannot render an empty conversation");
    if (o->tools && !json_is_array(o->tools)) return ta_error_set(err, TA_EFORMAT, "\"tools\" must be a JSON array");
    rctx r = {0};
    int rc;
    switch (f->family) {
    case TA_CHAT_QWEN25: rc = render_qwen25(&r, c, o, err); break;
    case TA_CHAT_QWEN3: rc = render_qwen3(&r, c, o, err); break;
    case TA_CHAT_SMOLLM2: rc = render_smollm2(&r, f, c, o, err); break;
    case TA_CHAT_LLAMA3: rc = render_llama3(&r, f, c, o, err); break;
    case TA_CHAT_LLAMA31:
    case TA_CHAT_LLAMA32: rc = render_llama31(&r, f, c, o, err); break;
    default: rc = ta_error_set(err, TA_EINTERNAL, "unknown chat family %d", (int)f->family);
    }
    if (!rc && (r.b.oom || r.oom)) rc = ta_error_set(err, TA_ENOMEM, "out of memory rendering the conversation");
    if (!rc && !r.b.p) sb_puts(&r.b, ""); /* always a string */
    if (!rc && r.b.oom) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
    if (rc) {
        free(r.b.p);
        free(r.spans);
        return rc;
    }
    out->text = r.b.p;
    out->len = r.b.len;
    out->spans = r.spans;
    out->n_spans = r.n_spans;
    return TA_OK;
}

void ta_chat_text_release(ta_chat_text *r) {
    free(r->text);
    free(r->spans);
    memset(r, 0, sizeof *r);
}

/* ---- recognising the template ---- */

static const char *FAMILY_NAMES[TA_CHAT_N_FAMILIES] = {"qwen2.5", "qwen3", "smollm2", "llama3", "llama3.1", "llama3.2"};

const char *ta_chat_family_name(ta_chat_family f) {
    return (unsigned)f < TA_CHAT_N_FAMILIES ? FAMILY_NAMES[f] : "?";
}

int ta_chat_family_parse(const char *name, ta_chat_family *out) {
    for (int i = 0; i < TA_CHAT_N_FAMILIES; i++)
        if (!strcmp(name, FAMILY_NAMES[i])) {
            *out = (ta_chat_family)i;
            return 0;
        }
    return -1;
}

/* The chat templates shipped with the models, as FNV-1a 64 of the string with
 * trailing whitespace removed (Jinja drops a final newline anyway). The
 * strings themselves are in tests/data/chat_templates/ with their sources. */
static const struct known_template {
    ta_chat_family family;
    int always_generation_prompt;
    uint64_t fnv;
    size_t len;
    const char *name;
} KNOWN[] = {
    {TA_CHAT_QWEN25, 0, 0xe642ce246d7f2e3dULL, 2506u, "Qwen2.5-*-Instruct"},
    {TA_CHAT_QWEN3, 0, 0x2bfdb7aa9754484eULL, 4116u, "Qwen3"},
    {TA_CHAT_SMOLLM2, 0, 0x45ec583d4d25bc3aULL, 368u, "SmolLM2-*-Instruct"},
    {TA_CHAT_LLAMA3, 1, 0x74891e390e614ae2ULL, 348u, "Meta-Llama-3-8B-Instruct (first release)"},
    {TA_CHAT_LLAMA3, 0, 0x0e60067a5537498eULL, 389u, "Meta-Llama-3-8B-Instruct"},
    {TA_CHAT_LLAMA31, 0, 0xcc0368e1ffb6b958ULL, 4613u, "Llama-3.1-8B-Instruct"},
    {TA_CHAT_LLAMA32, 0, 0x368f4c34b8554414ULL, 3826u, "Llama-3.2-1B-Instruct"},
};

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Which family a template resembles by its distinctive markers, or NULL. */
static const char *resembles(const char *t) {
    if (strstr(t, "<|im_start|>")) {
        if (strstr(t, "<think>") && strstr(t, "<tool_response>")) return "Qwen3 (ChatML with <think> and <tool_response>)";
        if (strstr(t, "<tool_call>") && strstr(t, "Qwen")) return "Qwen2.5 (ChatML with <tool_call>)";
        if (strstr(t, "SmolLM")) return "SmolLM2 (ChatML with its default system prompt)";
        return "ChatML (<|im_start|>)";
    }
    if (strstr(t, "<|start_header_id|>")) {
        if (strstr(t, "Cutting Knowledge Date")) return "Llama 3.1/3.2 (header ids, \"Cutting Knowledge Date\")";
        return "Llama 3 (header ids)";
    }
    return NULL;
}

static void copy_token(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

int ta_chat_format_for_family(ta_chat_format *f, ta_chat_family family, const char *bos, const char *eos,
                              ta_error *err) {
    if ((unsigned)family >= TA_CHAT_N_FAMILIES) return ta_error_set(err, TA_EINVAL, "unknown chat family %d", (int)family);
    if ((bos && strlen(bos) >= sizeof f->bos_token) || (eos && strlen(eos) >= sizeof f->eos_token))
        return ta_error_set(err, TA_EFORMAT, "bos/eos token longer than %zu bytes", sizeof f->bos_token - 1);
    memset(f, 0, sizeof *f);
    f->family = family;
    copy_token(f->bos_token, sizeof f->bos_token, bos);
    copy_token(f->eos_token, sizeof f->eos_token, eos);
    return TA_OK;
}

int ta_chat_format_from_template(ta_chat_format *f, const char *tmpl, const char *bos, const char *eos,
                                 const char *what, ta_error *err) {
    size_t n = strlen(tmpl);
    while (n && (tmpl[n - 1] == ' ' || tmpl[n - 1] == '\n' || tmpl[n - 1] == '\t' || tmpl[n - 1] == '\r')) n--;
    uint64_t h = fnv1a(tmpl, n);
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) {
        if (KNOWN[i].len != n || KNOWN[i].fnv != h) continue;
        ta_chat_format g;
        int rc = ta_chat_format_for_family(&g, KNOWN[i].family, bos, eos, err);
        if (rc) return ta_error_prefix(err, "%s", what);
        g.exact = 1;
        g.always_generation_prompt = KNOWN[i].always_generation_prompt;
        *f = g;
        return TA_OK;
    }
    const char *like = resembles(tmpl);
    if (like)
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: chat_template is not one taskalign knows (not ChatML/Qwen2.5/"
                            "Qwen3/SmolLM2/Llama 3.x); it resembles %s but differs from every known template string, "
                            "so its output cannot be promised; force a family (--chat-format NAME) only if you have "
                            "checked it renders the same", what, like);
    return ta_error_set(err, TA_EUNSUPPORTED, "%s: chat_template is not one taskalign knows (not ChatML/Qwen2.5/Qwen3/"
                        "SmolLM2/Llama 3.x); taskalign renders only the templates listed in docs/chat-format.md", what);
}

/* tokenizer_config.json token fields: a string, {"content": "..."}, or null. */
static int token_field(const json_t *cfg, const char *key, const char **out, const char *what, ta_error *err) {
    const json_t *v = json_object_get(cfg, key);
    *out = NULL;
    if (!v || json_is_null(v)) return TA_OK;
    if (json_is_string(v)) { *out = json_string_value(v); return TA_OK; }
    if (json_is_object(v) && json_is_string(json_object_get(v, "content"))) {
        *out = json_string_value(json_object_get(v, "content"));
        return TA_OK;
    }
    return ta_error_set(err, TA_EFORMAT, "%s: \"%s\" must be a string or {\"content\": ...}", what, key);
}

int ta_chat_format_load(ta_chat_format *f, const char *model_dir, ta_error *err) {
    char path[4096], what[4200];
    int rc = ta_path_join(path, sizeof path, model_dir, "tokenizer_config.json", err);
    if (rc) return rc;
    snprintf(what, sizeof what, "'%s'", path);
    /* not ta_json_load_file: configs carry integers beyond 64 bits
     * (model_max_length 1000000000000000019884624838656), read as reals here */
    json_error_t je;
    json_t *cfg = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
    if (!cfg) {
        if (je.line < 1) return ta_error_set(err, TA_EIO, "'%s': %s", path, je.text);
        return ta_error_set(err, TA_EFORMAT, "'%s':%d:%d: %s", path, je.line, je.column, je.text);
    }
    const char *bos, *eos, *tmpl = NULL;
    const json_t *ct = json_object_get(cfg, "chat_template");
    if (json_is_string(ct)) {
        tmpl = json_string_value(ct);
    } else if (json_is_array(ct)) { /* a list of {"name", "template"}: the "default" one */
        for (size_t i = 0; i < json_array_size(ct); i++) {
            const json_t *e = json_array_get(ct, i);
            const json_t *nm = json_object_get(e, "name"), *tt = json_object_get(e, "template");
            if (json_is_string(nm) && json_is_string(tt) && !strcmp(json_string_value(nm), "default")) tmpl = json_string_value(tt);
        }
    }
    if (!tmpl) {
        rc = ta_error_set(err, TA_EFORMAT, "%s: no \"chat_template\" string (a chat_template.jinja file next to it is "
                          "not read)", what);
    } else if (!(rc = token_field(cfg, "bos_token", &bos, what, err)) && !(rc = token_field(cfg, "eos_token", &eos, what, err))) {
        rc = ta_chat_format_from_template(f, tmpl, bos, eos, what, err);
    }
    json_decref(cfg);
    return rc;
}

/* tests/data/chat_templates/qwen2.5 (its fingerprint is KNOWN[0]). */
static const char QWEN25_TEMPLATE[] =
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n";

const char *ta_chat_template_qwen25(void) { return QWEN25_TEMPLATE; }
