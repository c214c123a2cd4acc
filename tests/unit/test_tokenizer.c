/* test_tokenizer.c: the tokenizer on a small hand-built tokenizer.json
 * (tests/data/tokenizer_small.json: byte vocabulary + a few merges, added
 * tokens with every flag, NFC, a Split regex, TemplateProcessing <s> $A </s>),
 * error messages for bad files, streaming decode, and replay of the fuzz
 * corpora. Exactness on real files is tests/oracle/test_tokenizer.mjs. */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "harness.h"
#include "text/tokenizer.h"

static char *small_json;
static size_t small_len;
static ta_tokenizer *tok;

/* ids of a UTF-8 encode (no template unless special) */
static int enc(const ta_tokenizer *t, const char *s, size_t n, int special, ta_ids *ids, ta_ids *offs) {
    ids->n = 0;
    if (offs) offs->n = 0;
    ta_error err = {0};
    int rc = ta_tokenizer_encode(t, s, n, special, ids, offs, &err);
    if (rc) fprintf(stderr, "  encode failed: %s\n", err.msg);
    return rc;
}

static int ids_are(const ta_ids *v, const int32_t *want, size_t n) {
    if (v->n != n) goto bad;
    for (size_t i = 0; i < n; i++)
        if (v->ids[i] != want[i]) goto bad;
    return 1;
bad:
    fprintf(stderr, "  got [");
    for (size_t i = 0; i < v->n; i++) fprintf(stderr, "%s%d", i ? "," : "", (int)v->ids[i]);
    fprintf(stderr, "]\n");
    return 0;
}
#define IDS(v, ...) ids_are(v, (const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / 4)

/* Loads a variant of the small file: edit(root) modifies the parsed JSON. */
static int load_variant(ta_tokenizer **out, void (*edit)(json_t *), ta_error *err) {
    json_t *root = json_loadb(small_json, small_len, 0, NULL);
    edit(root);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    int rc = ta_tokenizer_load_buf(out, s, strlen(s), "variant.json", err);
    free(s);
    return rc;
}

TEST(test_lookups) {
    CHECK(ta_tokenizer_vocab_size(tok) == 306);
    CHECK(ta_tokenizer_token_to_id(tok, "Ġthe") == 258);
    CHECK(ta_tokenizer_token_to_id(tok, "<mask>") == 302);
    CHECK(ta_tokenizer_token_to_id(tok, "nope") == -1);
    CHECK(!strcmp(ta_tokenizer_id_to_token(tok, 263), "Ġhello"));
    CHECK(ta_tokenizer_id_to_token(tok, 999) == NULL);
    CHECK(ta_tokenizer_is_special(tok, 300) && !ta_tokenizer_is_special(tok, 303) && !ta_tokenizer_is_special(tok, 5));
    CHECK(ta_tokenizer_bos_id(tok) == 300 && ta_tokenizer_eos_id(tok) == 301);
    CHECK(ta_tokenizer_chat_template(tok) == NULL);
}

TEST(test_encode_merges) {
    ta_ids ids = {0};
    CHECK(!enc(tok, "hello the", 9, 1, &ids, NULL) && IDS(&ids, 300, 261, 258, 301)); /* whole words in vocab */
    CHECK(!enc(tok, "hello the", 9, 0, &ids, NULL) && IDS(&ids, 261, 258));
    /* " hellohe" is not in the vocabulary: merges by rank, leftmost first */
    CHECK(!enc(tok, " hellohe", 8, 0, &ids, NULL) && IDS(&ids, 263, 256));
    CHECK(!enc(tok, "12345", 5, 0, &ids, NULL) && IDS(&ids, 266, '4', '5')); /* \p{N}{1,3} */
    CHECK(!enc(tok, "", 0, 1, &ids, NULL) && IDS(&ids, 300, 301));
    CHECK(!enc(tok, "a\tb", 3, 0, &ids, NULL) && IDS(&ids, 'a', 9, 'b'));
    ta_ids_release(&ids);
}

static void no_ignore_merges(json_t *r) {
    json_object_set_new(json_object_get(r, "model"), "ignore_merges", json_false());
}

TEST(test_ignore_merges) {
    ta_tokenizer *t;
    ta_error err = {0};
    CHECK_OK(load_variant(&t, no_ignore_merges, &err), err);
    ta_ids ids = {0};
    /* "hello" is in the vocabulary, but BPE only reaches he + llo */
    CHECK(!enc(t, "hello", 5, 0, &ids, NULL) && IDS(&ids, 256, 260));
    CHECK(!enc(tok, "hello", 5, 0, &ids, NULL) && IDS(&ids, 261));
    CHECK(!enc(t, "123", 3, 0, &ids, NULL) && IDS(&ids, 266)); /* 1 2 -> 12, 12 3 -> 123 */
    ta_ids_release(&ids);
    ta_tokenizer_free(t);
}

TEST(test_added_tokens) {
    ta_ids ids = {0}, offs = {0};
    /* lstrip + rstrip: the spaces around <mask> go; its offsets take them in */
    CHECK(!enc(tok, "a <mask> b", 10, 0, &ids, &offs) && IDS(&ids, 'a', 302, 'b'));
    CHECK(IDS(&offs, 0, 1, 1, 9, 9, 10));
    CHECK(!enc(tok, "a<mask>b", 8, 0, &ids, NULL) && IDS(&ids, 'a', 302, 'b'));
    /* no strip flags: the space stays a token */
    CHECK(!enc(tok, "a <s>", 5, 0, &ids, NULL) && IDS(&ids, 'a', ' ', 300));
    /* special-token text is recognised with and without add_special */
    CHECK(!enc(tok, "<s></s>", 7, 1, &ids, NULL) && IDS(&ids, 300, 300, 301, 301));
    /* single_word: only between non-word characters */
    CHECK(!enc(tok, "x<w>y", 5, 0, &ids, NULL) && IDS(&ids, 'x', '<', 'w', '>', 'y'));
    CHECK(!enc(tok, "<w> <w>", 7, 0, &ids, NULL) && IDS(&ids, 304, ' ', 304));
    /* normalized tokens match after NFC: both spellings of é! */
    CHECK(!enc(tok, "e\xcc\x81!", 4, 0, &ids, NULL) && IDS(&ids, 305));
    CHECK(!enc(tok, "\xc3\xa9!", 3, 0, &ids, NULL) && IDS(&ids, 305));
    CHECK(!enc(tok, "a[X]b", 5, 0, &ids, NULL) && IDS(&ids, 'a', 303, 'b'));
    /* partial special-token text is plain text */
    CHECK(!enc(tok, "<s", 2, 0, &ids, NULL) && IDS(&ids, '<', 's'));
    ta_ids_release(&ids);
    ta_ids_release(&offs);
}

TEST(test_offsets_unicode) {
    ta_ids ids = {0}, offs = {0};
    /* tokens inside a multi-byte character get the whole character */
    CHECK(!enc(tok, "h\xc3\xa9llo", 6, 1, &ids, &offs) && IDS(&ids, 300, 'h', 0xC3, 0xA9, 260, 301));
    CHECK(IDS(&offs, 0, 0, 0, 1, 1, 3, 1, 3, 3, 6, 0, 0));
    /* NFD input: é is composed, and both its bytes map to e + U+0301 */
    CHECK(!enc(tok, "he\xcc\x81llo", 7, 0, &ids, &offs) && IDS(&ids, 'h', 0xC3, 0xA9, 260));
    CHECK(IDS(&offs, 0, 1, 1, 4, 1, 4, 4, 7));
    /* invalid UTF-8 reads as U+FFFD, offsets point at the bad byte */
    CHECK(!enc(tok, "a\xff" "b", 3, 0, &ids, &offs) && IDS(&ids, 'a', 0xEF, 0xBF, 0xBD, 'b'));
    CHECK(IDS(&offs, 0, 1, 1, 2, 1, 2, 1, 2, 2, 3));
    /* a truncated sequence is one U+FFFD (maximal subpart) */
    CHECK(!enc(tok, "\xe2\x82" "x", 3, 0, &ids, NULL) && IDS(&ids, 0xEF, 0xBF, 0xBD, 'x'));
    CHECK(!enc(tok, "\xed\xa0\x80", 3, 0, &ids, NULL) && ids.n == 9); /* surrogate: 3 subparts */
    ta_ids_release(&ids);
    ta_ids_release(&offs);
}

static char *dec(const ta_tokenizer *t, const int32_t *ids, size_t n, int skip) {
    char *out = NULL;
    size_t len;
    ta_error err = {0};
    if (ta_tokenizer_decode(t, ids, n, skip, &out, &len, &err)) return strdup(err.msg);
    return out;
}

#define DEC_IS(want, skip, ...)                                                                      \
    do {                                                                                             \
        const int32_t ids_[] = {__VA_ARGS__};                                                        \
        char *got_ = dec(tok, ids_, sizeof ids_ / 4, skip);                                          \
        CHECK_MSG(!strcmp(got_, want), "got '%s'", got_);                                            \
        free(got_);                                                                                  \
    } while (0)

TEST(test_decode) {
    DEC_IS("<s>hello the</s>", 0, 300, 261, 258, 301);
    DEC_IS("hello the", 1, 300, 261, 258, 301);
    DEC_IS("\xc3\xa9", 0, 0xC3, 0xA9);
    DEC_IS("\xef\xbf\xbd", 0, 0xC3);
    DEC_IS("\xef\xbf\xbd<s>\xef\xbf\xbd", 0, 0xC3, 300, 0xA9); /* runs between added tokens decode apart */
    DEC_IS("[X]", 1, 303);                                      /* a normal added token is not skipped */
    char *e = dec(tok, (const int32_t[]){5, 400}, 2, 0);
    CHECK_MSG(strstr(e, "id 400 at position 1 is not in the vocabulary"), "%s", e);
    free(e);
    /* round trip on valid UTF-8 (already NFC) */
    const char *s = "Hello, world! 12345 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x8e\x89 <mask> tabs\t\tand\r\nlines";
    ta_ids ids = {0};
    CHECK(!enc(tok, s, strlen(s), 0, &ids, NULL));
    char *back = dec(tok, ids.ids, ids.n, 0);
    CHECK_MSG(!strcmp(back, "Hello, world! 12345 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x8e\x89<mask>tabs\t\tand\r\nlines"),
              "%s", back);
    free(back);
    ta_ids_release(&ids);
}

/* streaming: concatenation of pushes + flush == decode of the whole */
static int stream_matches(const int32_t *ids, size_t n, int skip, const char *const *steps) {
    ta_detok_stream st;
    ta_detok_stream_init(&st, tok, skip);
    char all[1024];
    size_t an = 0;
    int ok = 1;
    for (size_t i = 0; i <= n; i++) {
        const char *txt;
        size_t len;
        ta_error err = {0};
        int rc = i < n ? ta_detok_stream_push(&st, ids[i], &txt, &len, &err) : ta_detok_stream_flush(&st, &txt, &len, &err);
        if (rc || an + len > sizeof all) return 0;
        if (steps && (strlen(steps[i]) != len || memcmp(steps[i], txt, len))) {
            fprintf(stderr, "  step %zu: got '%.*s' want '%s'\n", i, (int)len, txt, steps[i]);
            ok = 0;
        }
        memcpy(all + an, txt, len);
        an += len;
    }
    ta_detok_stream_release(&st);
    char *whole;
    size_t wn;
    ta_error err = {0};
    if (ta_tokenizer_decode(tok, ids, n, skip, &whole, &wn, &err)) return 0;
    if (wn != an || memcmp(whole, all, an)) {
        fprintf(stderr, "  stream and decode differ (%zu vs %zu bytes)\n", an, wn);
        ok = 0;
    }
    free(whole);
    return ok;
}

TEST(test_stream) {
    /* é then 🎉, one byte per token: nothing comes out until a character is whole */
    const int32_t a[] = {0xC3, 0xA9, 0xF0, 0x9F, 0x8E, 0x89};
    const char *as[] = {"", "\xc3\xa9", "", "", "", "\xf0\x9f\x8e\x89", ""};
    CHECK(stream_matches(a, 6, 0, as));
    /* a byte that can never start a character comes out at once */
    const int32_t b[] = {'x', 0xFF, 'y'};
    const char *bs[] = {"x", "\xef\xbf\xbd", "y", ""};
    CHECK(stream_matches(b, 3, 0, bs));
    /* an incomplete tail comes out on flush */
    const int32_t c[] = {'x', 0xE2, 0x82};
    const char *cs[] = {"x", "", "", "\xef\xbf\xbd"};
    CHECK(stream_matches(c, 3, 0, cs));
    /* an added token ends the pending run */
    const int32_t d[] = {0xC3, 300, 0xA9};
    const char *ds[] = {"", "\xef\xbf\xbd<s>", "\xef\xbf\xbd", ""};
    CHECK(stream_matches(d, 3, 0, ds));
    const char *dss[] = {"", "", "\xc3\xa9", ""}; /* a skipped special token does not */
    CHECK(stream_matches(d, 3, 1, dss));
    /* random sequences of byte tokens and added tokens */
    uint64_t x = 12345;
    int bad = 0;
    for (int it = 0; it < 300; it++) {
        int32_t ids[24];
        size_t n = 1 + it % 24;
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(x >> 33);
            ids[i] = r % 10 == 0 ? 300 + (int32_t)(r / 10 % 6) : (int32_t)(r % 256);
        }
        if (!stream_matches(ids, n, it & 1, NULL)) bad++;
    }
    CHECK(bad == 0);
}

TEST(test_split_behaviors) {
    static const struct {
        const char *behavior;
        int invert;
        int32_t want[8];
        size_t n;
    } cases[] = {
        /* "a-b--c" split on "-"; merges a- (306), -- (307), -b (308) show where pieces end */
        {"Isolated", 0, {'a', '-', 'b', '-', '-', 'c'}, 6},
        {"Removed", 0, {'a', 'b', 'c'}, 3},
        {"MergedWithPrevious", 0, {306, 'b', '-', '-', 'c'}, 5},
        {"MergedWithNext", 0, {'a', 308, '-', '-', 'c'}, 5},
        {"Contiguous", 0, {'a', '-', 'b', 307, 'c'}, 5},
        {"Removed", 1, {'-', '-', '-'}, 3}, /* invert: the pattern marks what to keep */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        json_t *root = json_loadb(small_json, small_len, 0, NULL);
        json_t *model = json_object_get(root, "model"), *vocab = json_object_get(model, "vocab");
        json_object_set_new(vocab, "a-", json_integer(306));
        json_object_set_new(vocab, "--", json_integer(307));
        json_object_set_new(vocab, "-b", json_integer(308));
        json_t *merges = json_object_get(model, "merges");
        json_array_append_new(merges, json_string("a -"));
        json_array_append_new(merges, json_string("- -"));
        json_array_append_new(merges, json_string("- b"));
        json_object_set_new(model, "ignore_merges", json_false());
        json_object_set_new(root, "added_tokens", json_array());
        json_object_set_new(root, "post_processor", json_null());
        json_t *pre = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b}]}", "type", "Sequence",
                                "pretokenizers", "type", "Split", "pattern", "String", "-", "behavior",
                                cases[k].behavior, "invert", cases[k].invert, "type", "ByteLevel", "add_prefix_space",
                                0, "use_regex", 0);
        json_object_set_new(root, "pre_tokenizer", pre);
        char *s = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        ta_tokenizer *t;
        ta_error err = {0};
        CHECK_OK(ta_tokenizer_load_buf(&t, s, strlen(s), "split.json", &err), err);
        free(s);
        ta_ids ids = {0};
        CHECK_MSG(!enc(t, "a-b--c", 6, 0, &ids, NULL) && ids_are(&ids, cases[k].want, cases[k].n), "%s invert %d",
                  cases[k].behavior, cases[k].invert);
        ta_ids_release(&ids);
        ta_tokenizer_free(t);
    }
}

/* --- errors: each bad file gets a message naming the field */
static void e_merge_unknown(json_t *r) {
    json_array_append_new(json_object_get(json_object_get(r, "model"), "merges"), json_string("q zz"));
}
static void e_merge_product(json_t *r) {
    json_array_append_new(json_object_get(json_object_get(r, "model"), "merges"), json_string("a b"));
}
static void e_merge_format(json_t *r) {
    json_array_append_new(json_object_get(json_object_get(r, "model"), "merges"), json_string("a b c"));
}
static void e_merge_type(json_t *r) {
    json_array_append_new(json_object_get(json_object_get(r, "model"), "merges"), json_integer(3));
}
static void e_dup_id(json_t *r) {
    json_object_set_new(json_object_get(json_object_get(r, "model"), "vocab"), "dup", json_integer(5));
}
static void e_no_vocab(json_t *r) { json_object_del(json_object_get(r, "model"), "vocab"); }
static void e_bad_id(json_t *r) {
    json_object_set_new(json_object_get(json_object_get(r, "model"), "vocab"), "neg", json_integer(-3));
}
static void e_metaspace(json_t *r) { json_object_set_new(r, "pre_tokenizer", json_pack("{s:s}", "type", "Metaspace")); }
static void e_no_bytelevel(json_t *r) {
    json_t *seq = json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers");
    json_array_remove(seq, 1);
}
static void e_lowercase(json_t *r) {
    json_object_set_new(r, "normalizer", json_pack("{s:s, s:[{s:s}]}", "type", "Sequence", "normalizers", "type", "Lowercase"));
}
static void e_wordpiece(json_t *r) { json_object_set_new(json_object_get(r, "model"), "type", json_string("WordPiece")); }
static void e_decoder(json_t *r) { json_object_set_new(r, "decoder", json_pack("{s:s}", "type", "Metaspace")); }
static void e_post(json_t *r) { json_object_set_new(r, "post_processor", json_pack("{s:s}", "type", "BertProcessing")); }
static void e_added_clash(json_t *r) {
    json_array_append_new(json_object_get(r, "added_tokens"), json_pack("{s:i, s:s}", "id", 5, "content", "zzz"));
}
static void e_added_dup(json_t *r) {
    json_array_append_new(json_object_get(r, "added_tokens"), json_pack("{s:i, s:s}", "id", 310, "content", "<s>"));
}
static void e_template(json_t *r) {
    json_t *single = json_object_get(json_object_get(r, "post_processor"), "single");
    json_object_del(r, "x");
    json_array_append_new(single, json_pack("{s:{s:s}}", "SpecialToken", "id", "<nope>"));
    json_object_set_new(json_object_get(r, "post_processor"), "special_tokens", json_object());
}
static void e_regex(json_t *r) {
    json_t *split = json_array_get(json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers"), 0);
    json_object_set_new(split, "pattern", json_pack("{s:s}", "Regex", "(unclosed"));
}
static void e_byte_fallback(json_t *r) { json_object_set_new(json_object_get(r, "model"), "byte_fallback", json_true()); }

TEST(test_errors) {
    static const struct {
        void (*edit)(json_t *);
        int code;
        const char *msg;
    } cases[] = {
        {e_merge_unknown, TA_EFORMAT, "'variant.json': model.merges[10]: token 'zz' is not in the vocabulary"},
        {e_merge_product, TA_EFORMAT, "model.merges[10]: merged token 'ab' is not in the vocabulary"},
        {e_merge_format, TA_EFORMAT, "model.merges[10]: \"a b c\" is not two tokens separated by one space"},
        {e_merge_type, TA_EFORMAT, "model.merges[10] must be \"a b\" or [\"a\", \"b\"], not an integer"},
        {e_dup_id, TA_EFORMAT, "model.vocab: id 5 is given to both"},
        {e_no_vocab, TA_EFORMAT, "model.vocab must be an object, not missing"},
        {e_bad_id, TA_EFORMAT, "model.vocab['neg'] must be an id in [0, 16777216), not out of range"},
        {e_metaspace, TA_EUNSUPPORTED, "'variant.json': pre_tokenizer type 'Metaspace' is not supported"},
        {e_no_bytelevel, TA_EUNSUPPORTED, "pre_tokenizer has no ByteLevel step"},
        {e_lowercase, TA_EUNSUPPORTED, "normalizer.normalizers[0] type 'Lowercase' is not supported"},
        {e_wordpiece, TA_EUNSUPPORTED, "model type 'WordPiece' is not supported"},
        {e_decoder, TA_EUNSUPPORTED, "decoder type 'Metaspace' is not supported"},
        {e_post, TA_EUNSUPPORTED, "post_processor type 'BertProcessing' is not supported"},
        {e_added_clash, TA_EFORMAT, "added_tokens[6]: id 5 is '\xc4\x85' in model.vocab, not 'zzz'"},
        {e_added_dup, TA_EFORMAT, "added_tokens[6]: content '<s>' repeats added_tokens[0]"},
        {e_template, TA_EFORMAT, "post_processor.single[3]: special token '<nope>' is not in the vocabulary"},
        {e_regex, TA_EUNSUPPORTED, "pre_tokenizer.pretokenizers[0]: cannot compile the pattern"},
        {e_byte_fallback, TA_EUNSUPPORTED, "model.byte_fallback is not supported"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ta_tokenizer *t = NULL;
        ta_error err = {0};
        int rc = load_variant(&t, cases[k].edit, &err);
        CHECK_MSG(rc == cases[k].code && strstr(err.msg, cases[k].msg), "case %zu: rc %d: %s", k, rc, err.msg);
        if (!rc) ta_tokenizer_free(t);
    }
    /* truncated file: the JSON parser's position */
    ta_tokenizer *t = NULL;
    ta_error err = {0};
    int rc = ta_tokenizer_load_buf(&t, small_json, small_len / 2, "cut.json", &err);
    CHECK_MSG(rc == TA_EFORMAT && strstr(err.msg, "cut.json"), "%s", err.msg);
    rc = ta_tokenizer_load(&t, "/nonexistent/dir/tokenizer.json", &err);
    CHECK_MSG(rc == TA_ENOTFOUND && strstr(err.msg, "no such tokenizer file"), "%s", err.msg);
}

TEST(test_folder_and_config) {
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/tok_cfg_%d", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp", (int)getpid());
    ta_error err = {0};
    CHECK_OK(ta_mkdir_p(dir, &err), err);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    CHECK_OK(ta_file_write_atomic(path, small_json, small_len, &err), err);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    const char *cfg = "{\"bos_token\": {\"content\": \"</s>\"}, \"eos_token\": \"<mask>\", \"model_max_length\": "
                      "1000000000000000019884624838656, \"chat_template\": [{\"name\": \"tool_use\", \"template\": "
                      "\"T\"}, {\"name\": \"default\", \"template\": \"D\"}], \"additional_special_tokens\": [\"[X]\"]}";
    CHECK_OK(ta_file_write_atomic(path, cfg, strlen(cfg), &err), err);
    ta_tokenizer *t;
    CHECK_OK(ta_tokenizer_load(&t, dir, &err), err);
    if (err.code) return;
    CHECK(ta_tokenizer_bos_id(t) == 301 && ta_tokenizer_eos_id(t) == 302);
    CHECK(ta_tokenizer_chat_template(t) && !strcmp(ta_tokenizer_chat_template(t), "D"));
    CHECK(ta_tokenizer_is_special(t, 303)); /* from additional_special_tokens */
    ta_tokenizer_free(t);
    remove(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    remove(path);
    remove(dir);
}

/* Every file of the fuzz corpora goes through the loader / the encoder. */
static size_t replay_dir(const char *dir, int encode) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024], *buf;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (ta_file_read_all(path, 1 << 24, &buf, &len, NULL)) continue;
        ta_error err = {0};
        if (encode) {
            ta_ids ids = {0};
            if (!ta_tokenizer_encode(tok, buf, len, 1, &ids, &ids, &err)) {
                char *out;
                size_t ol;
                if (!ta_tokenizer_decode(tok, ids.ids, ids.n, 0, &out, &ol, &err)) free(out);
            }
            ta_ids_release(&ids);
        } else {
            ta_tokenizer *t;
            if (!ta_tokenizer_load_buf(&t, buf, len, path, &err)) ta_tokenizer_free(t);
        }
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

TEST(test_fuzz_corpora) {
    const char *root = getenv("TA_ROOT") ? getenv("TA_ROOT") : ".";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/tokenizer_json", root);
    size_t a = replay_dir(dir, 0);
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/tokenizer_encode", root);
    size_t b = replay_dir(dir, 1);
    CHECK(a > 0 && b > 0); /* no crash, and the corpora are there */
}

int main(void) {
    const char *root = getenv("TA_ROOT") ? getenv("TA_ROOT") : ".";
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/tokenizer_small.json", root);
    ta_error err = {0};
    if (ta_file_read_all(path, 1 << 20, &small_json, &small_len, &err) ||
        ta_tokenizer_load_buf(&tok, small_json, small_len, "tokenizer_small.json", &err)) {
        fprintf(stderr, "%s\n", err.msg);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    RUN(test_lookups);
    RUN(test_encode_merges);
    RUN(test_ignore_merges);
    RUN(test_added_tokens);
    RUN(test_offsets_unicode);
    RUN(test_decode);
    RUN(test_stream);
    RUN(test_split_behaviors);
    RUN(test_errors);
    RUN(test_folder_and_config);
    RUN(test_fuzz_corpora);
    ta_tokenizer_free(tok);
    free(small_json);
    return TEST_END();
}
