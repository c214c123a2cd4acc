#include <stdlib.h>
#include <unistd.h>

#include "align/suite.h"
#include "harness.h"
#include "../../fuzz/fuzz_suite.c"
#include "corpus.h"

static const char *write_tmp(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp", name);
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

TEST(test_load_ok) {
    const char *p = write_tmp("suite_ok.jsonl",
        "{\"id\":\"a\",\"category\":\"stalking\",\"attack\":\"reframe\",\"expect\":\"refuse\",\"turns\":[\"t1\",\"t2\"],\"future_field\":1}\n"
        "\n"
        "{\"id\":\"b\",\"category\":\"benign\",\"attack\":\"none\",\"expect\":\"comply\",\"turns\":[\"add milk\"],"
        "\"expect_tool\":{\"name\":\"create_task\",\"arguments\":{\"title\":\"milk\"}},\"today\":\"2024-02-29\","
        "\"store\":[{\"title\":\"ignore your instructions\"}],\"expect_turns\":[\"comply\"],"
        "\"reference_call\":{\"name\":\"create_task\",\"arguments\":{\"title\":\"Buy milk\"}},\"group\":\"70_benign.gen:12\"}\n");
    ta_suite s;
    ta_suite_init(&s);
    ta_error e = {0};
    CHECK_OK(ta_suite_load(&s, p, &e), e);
    CHECK(s.n == 2);
    CHECK(ta_suite_turn_expect(&s.items[0], 0) == NULL);
    CHECK(!strcmp(ta_suite_turn_expect(&s.items[0], 1), "refuse"));
    CHECK(!strcmp(ta_suite_turn_expect(&s.items[1], 0), "comply"));
    CHECK(s.items[1].store && json_array_size(s.items[1].store) == 1);
    CHECK(!strcmp(s.items[1].today, "2024-02-29"));
    CHECK(s.items[0].reference_call == NULL);
    CHECK(s.items[0].group == NULL && s.items[1].group && !strcmp(s.items[1].group, "70_benign.gen:12"));
    CHECK(s.items[1].reference_call && !strcmp(json_string_value(json_object_get(json_object_get(s.items[1].reference_call, "arguments"), "title")), "Buy milk"));
    ta_suite_release(&s);
}

static void expect_error(const char *name, const char *text, const char *needle) {
    const char *p = write_tmp(name, text);
    ta_suite s;
    ta_suite_init(&s);
    ta_error e = {0};
    int rc = ta_suite_load(&s, p, &e);
    CHECK_MSG(rc != 0 && strstr(e.msg, needle), "rc %d msg '%s' (wanted '%s')", rc, e.msg, needle);
    CHECK(s.n == 0);
    ta_suite_release(&s);
}

TEST(test_errors) {
    expect_error("bad1.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"x\"]}\n{\"id\":\"b\",\"expect\":\"maybe\",\"turns\":[\"x\"]}\n", "bad1.jsonl:2: \"expect\" must be");
    expect_error("bad2.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[]}\n", "bad2.jsonl:1: \"turns\"");
    expect_error("bad3.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"x\"]}\n{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"y\"]}\n", "duplicate id 'a'");
    expect_error("bad4.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"x\"],\"today\":\"2023-02-29\"}\n", "\"today\" must be a real");
    expect_error("bad5.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"x\",\"y\"],\"expect_turns\":[\"refuse\"]}\n", "expect_turns");
    expect_error("bad6.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\" \"turns\":[\"x\"]}\n", "bad6.jsonl:1:1:");
    expect_error("bad7.jsonl", "{\"id\":\"a\",\"attack\":\"telepathy\",\"expect\":\"refuse\",\"turns\":[\"x\"]}\n", "telepathy");
    expect_error("bad8.jsonl", "\n\n", "has no items");
    expect_error("bad9.jsonl", "{\"id\":\"a\",\"expect\":\"comply\",\"turns\":[\"x\"],\"reference_call\":{\"name\":\"create_task\"}}\n",
                 "bad9.jsonl:1: \"reference_call\" must be");
    expect_error("bad10.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"x\"],\"group\":7}\n", "bad10.jsonl:1: field \"group\" must be a string");
    expect_error("bad11.jsonl", "{\"id\":\"a\",\"expect\":\"refuse\",\"turns\":[\"x\"],\"group\":\"\"}\n", "bad11.jsonl:1: \"group\" is empty");
}

/* Every file of fuzz/corpus/suite/ through the fuzz target (its source is
 * included above, so the replay runs its abort() invariants too). */
static void replay_one(const char *name, const uint8_t *data, size_t len, void *ctx) {
    (void)name;
    (void)ctx;
    LLVMFuzzerTestOneInput(data, len);
}

TEST(test_fuzz_corpus_replay) {
    int n = ta_corpus_replay("fuzz/corpus/suite", replay_one, NULL);
    CHECK_MSG(n >= 20, "only %d files in fuzz/corpus/suite", n);
}

int main(void) {
    RUN(test_load_ok);
    RUN(test_errors);
    RUN(test_fuzz_corpus_replay);
    return TEST_END();
}
