/* Dataset parsing, validation, truncation, batching and order. Uses a
 * byte-per-token stand-in encoder (the real one is tokenizer + chat format):
 * a message renders as "<r>content\n" with r the role's first letter; the
 * generation prompt is "<a>". */
#include <stdlib.h>

#include "core/file.h"
#include "corpus.h"
#include "harness.h"
#include "train/dataset.h"
#include "byte_encoder.h"

static const char *write_tmp(const char *name, const char *text) {
    static char path[512];
    const char *dir = getenv("TA_TMP");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "/tmp", name);
    ta_error e;
    ta_file_write_atomic(path, text, strlen(text), &e);
    return path;
}

TEST(test_sft_mask_and_batch) {
    const char *p = write_tmp("sft.jsonl",
                              "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"}]}\n"
                              "\n"
                              "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"x\"},"
                              "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"type\":\"function\",\"function\":"
                              "{\"name\":\"f\",\"arguments\":{}}}]},{\"role\":\"tool\",\"content\":\"r\"},"
                              "{\"role\":\"assistant\",\"content\":\"ok\"}]}\n");
    ta_dataset ds;
    ta_dataset_opts o = {TA_DATA_SFT, 0, 0, 1, 0};
    ta_error e = {0};
    CHECK_OK(ta_dataset_load(&ds, p, &o, &ENC, &e), e);
    CHECK(ds.n == 2);
    CHECK(ds.ex[1].line == 3);
    /* "<u>hi\n<a>yo\n": trained tokens are 'y','o','\n' */
    ta_batch b;
    CHECK_OK(ta_batch_init(&b, 2, ds.max_row, &e), e);
    size_t idx[2] = {0, 1};
    CHECK_OK(ta_batch_fill(&b, &ds, idx, 2, 0, &e), e);
    CHECK(b.lengths[0] == 12);
    CHECK(b.n_target[0] == 3);
    CHECK(b.targets[7] == -1 && b.targets[8] == 'y' && b.targets[9] == 'o' && b.targets[10] == '\n' && b.targets[11] == -1);
    CHECK(b.n_target[1] == 2 + 3); /* "f\n" and "ok\n" */
    CHECK(b.lengths[1] == b.T || b.tokens[b.T + b.lengths[1]] == 0);
    ta_batch_release(&b);
    ta_dataset_release(&ds);
}

TEST(test_pref_formats_and_truncation) {
    const char *p = write_tmp("pref.jsonl",
                              "{\"prompt\":\"abc\",\"chosen\":\"de\",\"rejected\":\"xyz\"}\n"
                              "{\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"chosen\":[{\"role\":\"assistant\",\"content\":\"good\"}],"
                              "\"rejected\":[{\"role\":\"assistant\",\"content\":\"bad\"}],\"category\":\"x\"}\n"
                              "{\"chosen\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"A\"}],"
                              "\"rejected\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"B\"}]}\n"
                              "{\"prompt\":\"0123456789\",\"chosen\":\"a\",\"rejected\":\"b\"}\n");
    ta_dataset ds;
    ta_dataset_opts o = {TA_DATA_PREF, 10, 0, 1, 0};
    ta_error e = {0};
    CHECK_OK(ta_dataset_load(&ds, p, &o, &ENC, &e), e);
    CHECK(ds.n == 3);                        /* the last pair leaves no completion token */
    CHECK(ds.stats.skipped_truncated == 1);
    CHECK(ds.ex[0].prompt_len == 3 && ds.ex[0].len_a == 3 && ds.ex[0].len_b == 4);
    /* conversational: prompt "<u>q\n<a>" (8), chosen "good\n" (5) -> cut to 2 */
    CHECK(ds.ex[1].prompt_len == 8 && ds.ex[1].len_a == 2 && ds.ex[1].len_b == 2);
    CHECK(ds.ex[2].prompt_len == 8 && ds.ex[2].len_a == 2); /* implicit prompt */
    CHECK(ds.stats.truncated == 2 && ds.stats.tokens_lost == (3 + 2) + (2 + 2));
    ta_batch b;
    CHECK_OK(ta_batch_init(&b, 4, ds.max_row, &e), e);
    size_t idx[2] = {0, 1};
    CHECK_OK(ta_batch_fill(&b, &ds, idx, 2, -7, &e), e);
    CHECK(b.B == 4);
    CHECK(b.n_target[0] == 3 && b.n_target[2] == 4); /* chosen rows first, then rejected */
    CHECK(b.targets[2 * b.T + 2] == 'x');
    CHECK(b.tokens[0 * b.T + 6] == -7);
    ta_batch_release(&b);
    ta_dataset_release(&ds);

    /* max_prompt_length keeps the prompt's end */
    ta_dataset_opts o2 = {TA_DATA_PREF, 0, 2, 1, 1};
    CHECK_OK(ta_dataset_load(&ds, p, &o2, &ENC, &e), e);
    CHECK(ds.n == 1 && ds.ex[0].prompt_len == 2 && ds.tokens[0] == 'b');
    ta_dataset_release(&ds);
}

/* Each bad line is reported with file:line; strict stops at the first. */
TEST(test_bad_data_reported) {
    const char *p = write_tmp("bad.jsonl",
                              "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n"
                              "{\"prompt\":\"a\",\"chosen\":\"b\"\n"
                              "{\"prompt\":\"a\",\"chosen\":\"b\"}\n"
                              "{\"prompt\":\"a\",\"chosen\":\"\",\"rejected\":\"c\"}\n"
                              "{\"prompt\":\"a\",\"chosen\":\"same\",\"rejected\":\"same\"}\n"
                              "{\"prompt\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"user\",\"content\":\"q\"}],"
                              "\"chosen\":[{\"role\":\"assistant\",\"content\":\"A\"}],\"rejected\":[{\"role\":\"assistant\",\"content\":\"B\"}]}\n"
                              "[1,2]\n"
                              "{\"prompt\":\"a\",\"chosen\":5,\"rejected\":\"c\"}\n");
    const char *want[] = {":2: malformed JSON", ":3: \"rejected\" is missing", ":4: empty completion",
                          ":5: \"chosen\" and \"rejected\" are identical", ":6: \"prompt\"[1]: roles do not alternate",
                          ":7: a line must hold", ":8: \"chosen\" must be a string"};
    ta_dataset ds;
    ta_dataset_opts o = {TA_DATA_PREF, 0, 0, 0, 0};
    ta_error e = {0};
    CHECK_OK(ta_dataset_load(&ds, p, &o, &ENC, &e), e);
    CHECK(ds.n == 1 && ds.stats.bad == 7 && ds.stats.lines == 8);
    for (size_t i = 0; i < 7 && i < ds.stats.n_reports; i++)
        CHECK_MSG(strstr(ds.stats.reports[i], want[i]) && strstr(ds.stats.reports[i], "bad.jsonl"), "%s",
                  ds.stats.reports[i]);
    ta_dataset_release(&ds);
    o.strict = 1;
    CHECK(ta_dataset_load(&ds, p, &o, &ENC, &e) == TA_EFORMAT);
    CHECK_MSG(strstr(e.msg, "bad.jsonl:2: malformed JSON") != NULL, "%s", e.msg);
    CHECK(ds.n == 0 && ds.ex == NULL);

    const char *s = write_tmp("badsft.jsonl",
                              "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}\n"
                              "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n"
                              "{\"msgs\":[]}\n"
                              "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
                              "{\"role\":\"system\",\"content\":\"c\"}]}\n");
    ta_dataset_opts os = {TA_DATA_SFT, 0, 0, 0, 0};
    CHECK(ta_dataset_load(&ds, s, &os, &ENC, &e) == TA_EINVAL); /* nothing usable */
    CHECK_MSG(strstr(e.msg, "no usable example") && strstr(e.msg, "4 bad"), "%s", e.msg);
    os.strict = 1;
    CHECK(ta_dataset_load(&ds, s, &os, &ENC, &e) == TA_EFORMAT);
    CHECK_MSG(strstr(e.msg, "badsft.jsonl:1: \"messages\"[0]: roles do not alternate: 'assistant' after the start"),
              "%s", e.msg);
    const char *empty = write_tmp("empty.jsonl", "\n\n");
    CHECK(ta_dataset_load(&ds, empty, &os, &ENC, &e) == TA_EINVAL);
    CHECK(ta_dataset_load(&ds, "/nonexistent/x.jsonl", &os, &ENC, &e) == TA_ENOTFOUND);
}

TEST(test_order_is_deterministic_and_resumable) {
    ta_data_order a, b;
    ta_error e;
    CHECK_OK(ta_order_init(&a, 10, 42, 1, &e), e);
    CHECK_OK(ta_order_init(&b, 10, 42, 1, &e), e);
    size_t x[27], y[27], k = 0;
    /* a: three epochs in batches of 3 */
    while (k < 25) {
        size_t got = ta_order_take(&a, 3, x + k);
        if (!got) { ta_order_next_epoch(&a); continue; }
        k += got;
    }
    /* b: jump straight to epoch 1 position 4 and compare */
    ta_order_seek(&b, 1, 4);
    ta_order_take(&b, 6, y);
    CHECK(!memcmp(y, x + 14, 6 * sizeof *y));
    int seen[10] = {0}, differs = 0;
    for (int i = 0; i < 10; i++) seen[x[i]]++;
    for (int i = 0; i < 10; i++) { CHECK(seen[i] == 1); differs += x[i] != x[10 + i]; }
    CHECK(differs > 0); /* epochs get different orders */
    ta_order_release(&a);
    ta_order_release(&b);
}

/* Every file of fuzz/corpus/dataset/ through both loaders: no crash, errors named. */
static void replay_one(const char *name, const uint8_t *data, size_t len, void *ctx) {
    (void)ctx;
    for (int k = 0; k < 4; k++) {
        ta_dataset_opts o = {k & 1 ? TA_DATA_PREF : TA_DATA_SFT, 24, 8, k >> 1, 0};
        ta_dataset ds;
        ta_error e = {0};
        int rc = ta_dataset_parse(&ds, (const char *)data, len, name, &o, &ENC, &e);
        CHECK_MSG(rc == TA_OK || e.msg[0], "%s: failure without a message", name);
        if (rc == TA_OK) ta_dataset_release(&ds);
    }
}

TEST(test_fuzz_corpus_replay) {
    int files = ta_corpus_replay("fuzz/corpus/dataset", replay_one, NULL);
    CHECK_MSG(files >= 8, "only %d corpus files", files);
}

int main(void) {
    RUN(test_sft_mask_and_batch);
    RUN(test_pref_formats_and_truncation);
    RUN(test_bad_data_reported);
    RUN(test_order_is_deterministic_and_resumable);
    RUN(test_fuzz_corpus_replay);
    return TEST_END();
}
