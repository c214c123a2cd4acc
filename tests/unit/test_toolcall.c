/* test_toolcall.c: the <tool_call> parser, the formatter, and the replay of
 * the fuzz corpus (fuzz/corpus/toolcall/) through parser + dispatcher. */
#include <dirent.h>
#include <stdlib.h>

#include "core/file.h"
#include "harness.h"
#include "taskapi/dispatch.h"
#include "taskapi/toolcall.h"

static ta_parsed_reply parse(const char *s) {
    ta_parsed_reply r;
    ta_error err = {0};
    int rc = ta_toolcall_parse(s, strlen(s), &r, &err);
    CHECK_OK(rc, err);
    return r;
}

TEST(test_plain_text) {
    ta_parsed_reply r = parse("  Done! Anything else?\n");
    CHECK(r.n_calls == 0 && r.n_invalid == 0);
    CHECK(!strcmp(r.text, "Done! Anything else?"));
    ta_parsed_reply_release(&r);
    r = parse("");
    CHECK(r.n_calls == 0 && r.text && !r.text[0]);
    ta_parsed_reply_release(&r);
}

TEST(test_one_call_with_whitespace) {
    const char *s = "On it.\n<tool_call>\n  {\"name\": \"create_task\", \"arguments\": {\"title\": \"Buy milk\", "
                    "\"priority\": \"high\"}}  \n</tool_call>\n";
    ta_parsed_reply r = parse(s);
    CHECK(r.n_calls == 1 && r.n_invalid == 0);
    CHECK(r.calls[0].status == TA_TC_OK);
    CHECK(!strcmp(r.calls[0].name, "create_task"));
    CHECK(!strcmp(r.calls[0].arguments, "{\"title\":\"Buy milk\",\"priority\":\"high\"}"));
    CHECK(!strcmp(r.text, "On it."));
    CHECK(r.calls[0].start == 7 && r.calls[0].end == strlen(s) - 1);
    CHECK(!strncmp(s + r.calls[0].start, "<tool_call>", 11));
    ta_parsed_reply_release(&r);
}

TEST(test_several_calls_and_text_between) {
    ta_parsed_reply r = parse("A<tool_call>{\"name\": \"list_tasks\", \"arguments\": {}}</tool_call>B\n"
                              "<tool_call>{\"name\": \"complete_task\", \"arguments\": {\"task_id\": 2}}</tool_call>C");
    CHECK(r.n_calls == 2 && r.n_invalid == 0);
    CHECK(!strcmp(r.calls[0].name, "list_tasks") && !strcmp(r.calls[1].name, "complete_task"));
    CHECK(!strcmp(r.text, "A\nB\nC"));
    ta_parsed_reply_release(&r);
}

TEST(test_invalid_statuses) {
    struct {
        const char *in;
        ta_tc_status want;
        const char *msg;
    } cases[] = {
        {"<tool_call>{\"name\": \"create_task\", \"arguments\": {\"title\": }</tool_call>", TA_TC_BAD_JSON, "not valid JSON"},
        {"<tool_call>create_task(title='x')</tool_call>", TA_TC_BAD_JSON, "not valid JSON"},
        {"<tool_call></tool_call>", TA_TC_BAD_JSON, "not valid JSON"},
        {"<tool_call>{\"name\": \"a\"} trailing</tool_call>", TA_TC_BAD_JSON, "not valid JSON"},
        {"<tool_call>{\"name\": \"list_tasks\", \"name\": \"x\"}</tool_call>", TA_TC_BAD_JSON, "not valid JSON"},
        {"<tool_call>[\"create_task\"]</tool_call>", TA_TC_NOT_OBJECT, "must be a JSON object"},
        {"<tool_call>{\"arguments\": {}}</tool_call>", TA_TC_NO_NAME, "\"name\""},
        {"<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>", TA_TC_NO_NAME, "\"name\""},
        {"<tool_call>{\"name\": 3, \"arguments\": {}}</tool_call>", TA_TC_NO_NAME, "\"name\""},
        {"<tool_call>{\"name\": \"create_task\", \"arguments\": \"{\\\"title\\\": \\\"x\\\"}\"}</tool_call>", TA_TC_BAD_ARGS,
         "must be a JSON object"},
        {"<tool_call>{\"name\": \"create_task\", \"arguments\": [1]}</tool_call>", TA_TC_BAD_ARGS, "must be a JSON object"},
        {"<tool_call>{\"name\": \"send_email\", \"arguments\": {\"to\": \"x\"}}</tool_call>", TA_TC_UNKNOWN_TOOL,
         "unknown tool 'send_email'"},
        {"<tool_call>{\"name\": \"create_task\", \"arguments\": {\"title\": \"x\"}}", TA_TC_UNCLOSED, "not closed"},
        {"<tool_call>{\"name\": \"create_task\", \"argu", TA_TC_UNCLOSED, "not closed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ta_parsed_reply r = parse(cases[i].in);
        CHECK_MSG(r.n_calls == 1 && r.n_invalid == 1, "case %zu: %zu calls", i, r.n_calls);
        if (r.n_calls == 1) {
            CHECK_MSG(r.calls[0].status == cases[i].want, "case %zu: status %s", i, ta_tc_status_name(r.calls[0].status));
            CHECK_MSG(strstr(r.calls[0].message, cases[i].msg), "case %zu: message %s", i, r.calls[0].message);
            CHECK(r.calls[0].raw != NULL);
        }
        ta_parsed_reply_release(&r);
    }
    /* unknown tool keeps name and arguments (it is well-formed) */
    ta_parsed_reply r = parse("<tool_call>{\"name\": \"send_email\", \"arguments\": {\"to\": \"x\"}}</tool_call>");
    CHECK(r.calls[0].name && !strcmp(r.calls[0].name, "send_email") && r.calls[0].arguments);
    ta_parsed_reply_release(&r);
    /* missing arguments counts as {} */
    r = parse("<tool_call>{\"name\": \"list_tasks\"}</tool_call>");
    CHECK(r.calls[0].status == TA_TC_OK && !strcmp(r.calls[0].arguments, "{}"));
    ta_parsed_reply_release(&r);
}

TEST(test_tags_inside_strings_and_nesting) {
    /* a close tag quoted inside a title does not end the block */
    ta_parsed_reply r = parse("<tool_call>{\"name\": \"create_task\", \"arguments\": {\"title\": \"a </tool_call> b\"}}"
                              "</tool_call> ok");
    CHECK(r.n_calls == 1 && r.calls[0].status == TA_TC_OK);
    CHECK(r.calls[0].arguments && strstr(r.calls[0].arguments, "a </tool_call> b"));
    CHECK(!strcmp(r.text, "ok"));
    ta_parsed_reply_release(&r);
    /* an unclosed block followed by a good one: both reported, the second OK */
    r = parse("<tool_call>{\"name\": \"list_tasks\"\n<tool_call>{\"name\": \"list_tasks\", \"arguments\": {}}</tool_call>");
    CHECK(r.n_calls == 2);
    CHECK(r.n_calls == 2 && r.calls[0].status == TA_TC_UNCLOSED && r.calls[1].status == TA_TC_OK);
    ta_parsed_reply_release(&r);
    /* a stray close tag stays text */
    r = parse("hello </tool_call> world");
    CHECK(r.n_calls == 0 && !strcmp(r.text, "hello </tool_call> world"));
    ta_parsed_reply_release(&r);
    /* embedded NUL: not valid JSON, no crash */
    const char nul[] = "<tool_call>{\"name\": \"list\0tasks\"}</tool_call>";
    ta_parsed_reply rn;
    ta_error err = {0};
    CHECK_OK(ta_toolcall_parse(nul, sizeof nul - 1, &rn, &err), err);
    CHECK(rn.n_calls == 1 && rn.calls[0].status == TA_TC_BAD_JSON);
    ta_parsed_reply_release(&rn);
}

TEST(test_format_roundtrip) {
    char *s = NULL;
    ta_error err = {0};
    CHECK_OK(ta_toolcall_format("create_task", "{\"title\":\"Buy milk\",\"tags\":[\"a\",\"b\"]}", &s, &err), err);
    CHECK(s && !strcmp(s, "<tool_call>\n{\"name\": \"create_task\", \"arguments\": {\"title\": \"Buy milk\", \"tags\": [\"a\", "
                          "\"b\"]}}\n</tool_call>"));
    ta_parsed_reply r = parse(s ? s : "");
    CHECK(r.n_calls == 1 && r.calls[0].status == TA_TC_OK);
    CHECK(r.n_calls == 1 && !strcmp(r.calls[0].arguments, "{\"title\":\"Buy milk\",\"tags\":[\"a\",\"b\"]}"));
    ta_parsed_reply_release(&r);
    free(s);
    CHECK(ta_toolcall_format("x", "[1]", &s, &err) == TA_EINVAL);
}

static int grab(void *user, const char *s, size_t n) {
    strncat((char *)user, s, n);
    return 0;
}

TEST(test_stream_filter) {
    const char *reply = "On it! <tool_call>{\"name\": \"list_tasks\", \"arguments\": {}}</tool_call> Here <b>you</b> go <tool_";
    /* every way of cutting the reply into two pieces gives the same text */
    for (size_t cut = 0; cut <= strlen(reply); cut++) {
        char buf[256] = "";
        ta_tc_filter f;
        ta_tc_filter_init(&f, grab, buf);
        ta_tc_filter_feed(&f, reply, cut);
        ta_tc_filter_feed(&f, reply + cut, strlen(reply) - cut);
        ta_tc_filter_finish(&f);
        CHECK_MSG(!strcmp(buf, "On it!  Here <b>you</b> go <tool_"), "cut %zu: '%s'", cut, buf);
    }
    /* one byte at a time */
    char buf[256] = "";
    ta_tc_filter f;
    ta_tc_filter_init(&f, grab, buf);
    for (const char *p = reply; *p; p++) ta_tc_filter_feed(&f, p, 1);
    ta_tc_filter_finish(&f);
    CHECK(!strcmp(buf, "On it!  Here <b>you</b> go <tool_"));
    /* an unclosed block swallows the rest */
    buf[0] = 0;
    ta_tc_filter_init(&f, grab, buf);
    ta_tc_filter_feed(&f, "a<tool_call>{\"x\"", 16);
    ta_tc_filter_finish(&f);
    CHECK(!strcmp(buf, "a"));
}

/* What the fuzz target does, for one input: parse, then dispatch every OK call. */
static void fuzz_one(const char *data, size_t len) {
    ta_parsed_reply r;
    ta_error err = {0};
    if (ta_toolcall_parse(data, len, &r, &err)) return;
    ta_store *s = NULL;
    if (ta_store_open(&s, ":memory:", &err) == TA_OK) {
        for (size_t i = 0; i < r.n_calls; i++) {
            if (r.calls[i].status != TA_TC_OK) continue;
            char *res = NULL;
            ta_dispatch(s, r.calls[i].name, r.calls[i].arguments, &res, &err);
            CHECK(res != NULL);
            free(res);
        }
        ta_store_close(s);
    }
    ta_parsed_reply_release(&r);
}

TEST(test_replay_fuzz_corpus) {
    const char *root = getenv("TA_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/toolcall", root ? root : ".");
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open '%s'", dir);
    if (!d) return;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *buf;
        size_t len;
        ta_error err = {0};
        if (ta_file_read_all(path, 1 << 20, &buf, &len, &err)) continue;
        fuzz_one(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    CHECK_MSG(n >= 10, "only %zu corpus files in '%s'", n, dir);
}

int main(void) {
    RUN(test_plain_text);
    RUN(test_one_call_with_whitespace);
    RUN(test_several_calls_and_text_between);
    RUN(test_invalid_statuses);
    RUN(test_tags_inside_strings_and_nesting);
    RUN(test_format_roundtrip);
    RUN(test_stream_filter);
    RUN(test_replay_fuzz_corpus);
    return TEST_END();
}
