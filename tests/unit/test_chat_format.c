/* Unit tests for the chat renderer: template recognition, tojson, Python
 * string semantics, assistant spans, and the refusals. The byte-exact
 * comparison against @huggingface/jinja is tests/oracle/test_chat_template.mjs. */
#include <dirent.h>
#include <stdlib.h>

#include "core/file.h"
#include "core/json.h"
#include "harness.h"
#include "text/chat_format.h"

static char g_dir[4096];

static const char *tdir(const char *name) {
    snprintf(g_dir, sizeof g_dir, "tests/data/chat_templates/%s", name);
    return g_dir;
}

static int conv_from(ta_conversation *c, const char *txt, ta_error *e) {
    json_t *j;
    int rc = ta_json_load_buf(txt, strlen(txt), "test", &j, e);
    if (rc) return rc;
    ta_conv_init(c);
    rc = ta_conv_from_json(c, j, "test", e);
    json_decref(j);
    return rc;
}

TEST(test_recognises_known_templates) {
    static const struct { const char *dir; ta_chat_family fam; int always_gen; } cases[] = {
        {"qwen2.5", TA_CHAT_QWEN25, 0}, {"qwen3", TA_CHAT_QWEN3, 0},     {"smollm2", TA_CHAT_SMOLLM2, 0},
        {"llama3", TA_CHAT_LLAMA3, 1},  {"llama3-genprompt", TA_CHAT_LLAMA3, 0},
        {"llama3.1", TA_CHAT_LLAMA31, 0}, {"llama3.2", TA_CHAT_LLAMA32, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ta_chat_format f;
        ta_error e = {0};
        CHECK_OK(ta_chat_format_load(&f, tdir(cases[i].dir), &e), e);
        CHECK_MSG(f.family == cases[i].fam, "%s -> %s", cases[i].dir, ta_chat_family_name(f.family));
        CHECK(f.exact == 1);
        CHECK(f.always_generation_prompt == cases[i].always_gen);
    }
    ta_chat_format f;
    ta_error e = {0};
    CHECK_OK(ta_chat_format_load(&f, tdir("llama3.1"), &e), e);
    CHECK(!strcmp(f.bos_token, "<|begin_of_text|>"));
    CHECK(!strcmp(f.eos_token, "<|eot_id|>"));
}

TEST(test_unknown_templates_are_refused) {
    ta_chat_format f;
    ta_error e = {0};
    int rc = ta_chat_format_from_template(&f, "{% for m in messages %}{{ m.content }}{% endfor %}", NULL, NULL, "cfg", &e);
    CHECK(rc == TA_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "chat_template is not one taskalign knows") != NULL, "%s", e.msg);
    /* a ChatML template that is not byte-identical: named, still refused */
    rc = ta_chat_format_from_template(&f, "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
                                      NULL, NULL, "cfg", &e);
    CHECK(rc == TA_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "resembles ChatML") != NULL, "%s", e.msg);
    /* a trailing newline does not matter (Jinja drops it) */
    char *t;
    size_t n;
    CHECK_OK(ta_file_read_all("tests/data/chat_templates/smollm2/tokenizer_config.json", 1 << 20, &t, &n, &e), e);
    json_t *j;
    CHECK_OK(ta_json_load_buf(t, n, "x", &j, &e), e);
    const char *tmpl = json_string_value(json_object_get(j, "chat_template"));
    char *with_nl = malloc(strlen(tmpl) + 2);
    sprintf(with_nl, "%s\n", tmpl);
    CHECK_OK(ta_chat_format_from_template(&f, with_nl, NULL, NULL, "x", &e), e);
    CHECK(f.family == TA_CHAT_SMOLLM2);
    free(with_nl);
    json_decref(j);
    free(t);
}

static void check_tojson(const char *in, int indent, const char *want) {
    json_t *j = json_loads(in, JSON_DECODE_ANY, NULL);
    CHECK_MSG(j != NULL, "%s", in);
    if (!j) return;
    char *s = ta_chat_tojson(j, indent);
    CHECK_MSG(s && !strcmp(s, want), "%s -> %s, want %s", in, s ? s : "(null)", want);
    free(s);
    json_decref(j);
}

TEST(test_tojson_matches_jinja) {
    check_tojson("{\"name\":\"x\",\"arguments\":{\"a\":[1,2],\"b\":null}}", 0,
                 "{\"name\": \"x\", \"arguments\": {\"a\": [1, 2], \"b\": null}}");
    check_tojson("{\"z\":1,\"a\":2}", 0, "{\"z\": 1, \"a\": 2}"); /* document order, not sorted */
    check_tojson("{\"a\":[1,{}],\"b\":[]}", 4, "{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": []\n}");
    check_tojson("\"\\u00e9\\u0001\\t\\\"\\\\/\"", 0, "\"\xc3\xa9\\u0001\\t\\\"\\\\/\"");
    /* numbers as JavaScript prints them */
    check_tojson("[1.0, 1.5, 0.1, 1e-7, 1e21, 1e20, 123456789012, -0.0, 2.5e-6, 0.000001, 1.7976931348623157e308]", 0,
                 "[1, 1.5, 0.1, 1e-7, 1e+21, 100000000000000000000, 123456789012, 0, 0.0000025, 0.000001, "
                 "1.7976931348623157e+308]");
    check_tojson("9007199254740993", 0, "9007199254740992");
}

static void render_ok(const char *dir, const char *msgs, int gen, ta_chat_text *out) {
    ta_chat_format f;
    ta_error e = {0};
    ta_conversation c;
    CHECK_OK(ta_chat_format_load(&f, tdir(dir), &e), e);
    CHECK_OK(conv_from(&c, msgs, &e), e);
    ta_chat_options o;
    ta_chat_options_init(&o);
    o.add_generation_prompt = gen;
    o.date_string = "03 Dec 2026";
    memset(out, 0, sizeof *out);
    CHECK_OK(ta_chat_render(&f, &c, &o, out, &e), e);
    ta_conv_release(&c);
}

static int span_is(const ta_chat_text *t, size_t k, const char *want) {
    if (k >= t->n_spans) return 0;
    size_t n = t->spans[k].end - t->spans[k].begin;
    return n == strlen(want) && !memcmp(t->text + t->spans[k].begin, want, n);
}

TEST(test_spans_cover_the_assistant_turns) {
    const char *msgs = "[{\"role\":\"user\",\"content\":\"add milk\"},"
                       "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"create_task\",\"arguments\":{\"title\":\"milk\"}}}]},"
                       "{\"role\":\"tool\",\"content\":\"{\\\"id\\\": 1}\"},{\"role\":\"assistant\",\"content\":\"Added.\"}]";
    ta_chat_text t;
    render_ok("qwen2.5", msgs, 0, &t);
    CHECK(t.n_spans == 2);
    CHECK(span_is(&t, 0, "<tool_call>\n{\"name\": \"create_task\", \"arguments\": {\"title\": \"milk\"}}\n</tool_call><|im_end|>"));
    CHECK(span_is(&t, 1, "Added.<|im_end|>"));
    CHECK(t.n_spans == 2 && t.spans[0].msg == 1 && t.spans[1].msg == 3);
    /* the header is not the model's */
    CHECK(t.spans[0].begin >= strlen("<|im_start|>assistant\n") &&
          !memcmp(t.text + t.spans[0].begin - 22, "<|im_start|>assistant\n", 22));
    ta_chat_text_release(&t);

    render_ok("llama3.1", msgs, 1, &t);
    CHECK(t.n_spans == 2);
    CHECK(span_is(&t, 0, "{\"name\": \"create_task\", \"parameters\": {\"title\": \"milk\"}}<|eot_id|>"));
    CHECK(span_is(&t, 1, "Added.<|eot_id|>"));
    CHECK(strstr(t.text, "<|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"id\\\": 1}\"<|eot_id|>") != NULL);
    ta_chat_text_release(&t);

    render_ok("qwen3", "[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"<think>\\nr\\n</think>\\n\\na\"}]", 0, &t);
    CHECK(t.n_spans == 1 && span_is(&t, 0, "<think>\nr\n</think>\n\na<|im_end|>"));
    ta_chat_text_release(&t);
}

TEST(test_python_strip_semantics) {
    /* Llama trims with Python's str.strip(): \x1c..\x1f and U+0085 are
     * whitespace, U+FEFF is not (JavaScript's trim differs on exactly these) */
    ta_chat_text t;
    render_ok("llama3", "[{\"role\":\"user\",\"content\":\"\\u001c\\u0085 x \\ufeff\"}]", 0, &t);
    CHECK(strstr(t.text, "\n\nx \xef\xbb\xbf<|eot_id|>") != NULL);
    ta_chat_text_release(&t);
    /* Qwen3 lstrip('\n') keeps leading spaces */
    render_ok("qwen3", "[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"<think>\\n r \\n</think>\\n\\n  a\"}]", 0, &t);
    CHECK_MSG(strstr(t.text, "<think>\n r \n</think>\n\n  a<|im_end|>") != NULL, "%s", t.text);
    ta_chat_text_release(&t);
}

TEST(test_refusals) {
    ta_chat_format f;
    ta_error e = {0};
    ta_conversation c;
    ta_chat_text t = {0};
    CHECK_OK(ta_chat_format_load(&f, tdir("llama3.2"), &e), e);
    CHECK_OK(conv_from(&c, "[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
                           "{\"function\":{\"name\":\"a\",\"arguments\":{}}},{\"function\":{\"name\":\"b\",\"arguments\":{}}}]}]", &e), e);
    CHECK(ta_chat_render(&f, &c, NULL, &t, &e) == TA_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "messages[1]") && strstr(e.msg, "single tool-calls"), "%s", e.msg);
    CHECK(t.text == NULL);
    CHECK_OK(ta_chat_format_load(&f, tdir("smollm2"), &e), e);
    CHECK(ta_chat_render(&f, &c, NULL, &t, &e) == TA_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "no tool-call support"), "%s", e.msg);
    ta_conv_release(&c);
    ta_conv_init(&c);
    CHECK(ta_chat_render(&f, &c, NULL, &t, &e) == TA_EINVAL);
    ta_conv_release(&c);
}

#include "../../fuzz/fuzz_chat_render.c"

/* Every file of fuzz/corpus/chat_render/ goes through the fuzz target. */
TEST(test_fuzz_corpus_replays) {
    DIR *d = opendir("fuzz/corpus/chat_render");
    CHECK(d != NULL);
    if (!d) return;
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[512], *buf;
        size_t len;
        ta_error e = {0};
        snprintf(path, sizeof path, "fuzz/corpus/chat_render/%s", de->d_name);
        CHECK_OK(ta_file_read_all(path, 1 << 20, &buf, &len, &e), e);
        if (!buf) continue;
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    CHECK(n >= 10);
}

int main(void) {
    RUN(test_recognises_known_templates);
    RUN(test_unknown_templates_are_refused);
    RUN(test_tojson_matches_jinja);
    RUN(test_spans_cover_the_assistant_turns);
    RUN(test_python_strip_semantics);
    RUN(test_refusals);
    RUN(test_fuzz_corpus_replays);
    return TEST_END();
}
