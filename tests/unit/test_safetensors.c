/* test_safetensors.c: the safetensors reader/writer: byte-exact F32 round
 * trip, BF16/F16 conversions, and every kind of bad header (each must give a
 * clear error naming the file and tensor, never a crash). Also replays the
 * fuzz corpus fuzz/corpus/safetensors/. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/file.h"
#include "model/safetensors.h"
#include "corpus.h"
#include "harness.h"

static char tmp_root[256];

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* A file image: 8-byte length, the header text as given, then `data_len` data
 * bytes (value i & 0xff). Caller frees. */
static uint8_t *make_file(const char *header, size_t data_len, size_t *size) {
    size_t h = strlen(header);
    *size = 8 + h + data_len;
    uint8_t *b = malloc(*size ? *size : 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (uint8_t)i;
    return b;
}

/* Parses a header + data and expects failure with `needle` in the message. */
static void expect_parse_error(const char *header, size_t data_len, const char *needle) {
    size_t size;
    uint8_t *b = make_file(header, data_len, &size);
    ta_safetensors st;
    ta_error e = {0};
    int rc = ta_safetensors_parse(&st, b, size, "bad.safetensors", &e);
    CHECK_MSG(rc != 0, "accepted header %s", header);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    CHECK_MSG(strstr(e.msg, "bad.safetensors") != NULL, "message '%s' does not name the file", e.msg);
    CHECK(st.tensors == NULL && st.header == NULL);
    if (!rc) ta_safetensors_release(&st);
    free(b);
}

TEST(test_bf16_known_values) {
    CHECK(ta_f32_to_bf16(1.0f) == 0x3F80);
    CHECK(ta_f32_to_bf16(-2.0f) == 0xC000);
    CHECK(ta_f32_to_bf16(0.0f) == 0x0000);
    CHECK(ta_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(ta_f32_to_bf16(u2f(0x3F808000)) == 0x3F80); /* tie, even below: down */
    CHECK(ta_f32_to_bf16(u2f(0x3F818000)) == 0x3F82); /* tie, odd below: up */
    CHECK(ta_f32_to_bf16(u2f(0x3F808001)) == 0x3F81); /* above the tie: up */
    CHECK(ta_f32_to_bf16(u2f(0x3F807FFF)) == 0x3F80); /* below the tie: down */
    CHECK(ta_f32_to_bf16(3.14159265f) == 0x4049);
    CHECK(ta_f32_to_bf16(INFINITY) == 0x7F80);
    CHECK(ta_f32_to_bf16(-INFINITY) == 0xFF80);
    CHECK(ta_f32_to_bf16(FLT_MAX) == 0x7F80); /* rounds up to +Inf, as torch does */
    CHECK(ta_f32_to_bf16(u2f(0x7F7F7FFF)) == 0x7F7F);
    CHECK(ta_f32_to_bf16(NAN) == 0x7FC0);
    CHECK(ta_f32_to_bf16(u2f(0x7F800001)) == 0x7FC0); /* signalling NaN: quiet, not Inf */
    CHECK(ta_f32_to_bf16(u2f(0xFFFFFFFF)) == 0xFFC0);
    CHECK(ta_f32_to_bf16(u2f(0x00018000)) == 0x0002); /* subnormal tie, odd below */
    CHECK(f2u(ta_bf16_to_f32(0x3F80)) == f2u(1.0f));
    CHECK(f2u(ta_bf16_to_f32(0xC049)) == 0xC0490000);
    CHECK(isinf(ta_bf16_to_f32(0xFF80)) && ta_bf16_to_f32(0xFF80) < 0);
    CHECK(isnan(ta_bf16_to_f32(0x7FC1)));
    /* every bf16 pattern survives bf16 -> f32 -> bf16 (NaNs stay NaN) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ta_bf16_to_f32((uint16_t)h);
        uint16_t back = ta_f32_to_bf16(f);
        if (isnan(f) ? !isnan(ta_bf16_to_f32(back)) : back != h) bad++;
    }
    CHECK(bad == 0);
}

TEST(test_f16_known_values) {
    CHECK(ta_f16_to_f32(0x3C00) == 1.0f);
    CHECK(ta_f16_to_f32(0xC000) == -2.0f);
    CHECK(ta_f16_to_f32(0x7BFF) == 65504.0f);
    CHECK(ta_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(ta_f16_to_f32(0x03FF) == ldexpf(1023.0f, -24));
    CHECK(ta_f16_to_f32(0x0400) == ldexpf(1.0f, -14));
    CHECK(ta_f16_to_f32(0x3555) == 0x1.554p-2f);
    CHECK(f2u(ta_f16_to_f32(0x8000)) == 0x80000000u);
    CHECK(f2u(ta_f16_to_f32(0x8001)) == (0x80000000u | f2u(ldexpf(1.0f, -24))));
    CHECK(isinf(ta_f16_to_f32(0x7C00)) && ta_f16_to_f32(0xFC00) < 0);
    CHECK(isnan(ta_f16_to_f32(0x7E00)) && isnan(ta_f16_to_f32(0x7C01)));
}

static void fill(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)((int)(i * 2654435761u % 2001) - 1000) / 997.0f;
}

TEST(test_f32_round_trip_identical_bytes) {
    float a[6 * 5], b[7], c[1] = {42.5f};
    fill(a, 30, 1.0f);
    fill(b, 7, 1e-3f);
    b[3] = -0.0f;
    b[4] = INFINITY;
    b[5] = FLT_MIN / 4;
    ta_st_entry in[3] = {{"w.weight", a, 2, {6, 5}}, {"b", b, 1, {7}}, {"scalar", c, 0, {0}}};
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/rt1.safetensors", tmp_root);
    snprintf(p2, sizeof p2, "%s/rt2.safetensors", tmp_root);
    ta_error e = {0};
    CHECK_OK(ta_safetensors_write(p1, in, 3, TA_DTYPE_F32, &e), e);
    ta_safetensors st;
    CHECK_OK(ta_safetensors_open(&st, p1, &e), e);
    CHECK(st.n_tensors == 3);
    CHECK(st.metadata && !strcmp(json_string_value(json_object_get(st.metadata, "format")), "pt"));
    /* header length is a multiple of 8, padded with spaces */
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | st.buf[i];
    CHECK(n % 8 == 0);
    CHECK(st.buf[8 + n - 1] == '}' || st.buf[8 + n - 1] == ' ');
    ta_st_entry out[3];
    float *bufs[3];
    for (size_t i = 0; i < 3; i++) {
        const ta_st_tensor *t = ta_safetensors_find(&st, in[i].name);
        CHECK(t != NULL);
        if (!t) return;
        CHECK(t->dtype == TA_ST_F32 && t->ndim == in[i].ndim);
        bufs[i] = malloc(t->numel * sizeof(float));
        CHECK_OK(ta_safetensors_read_f32(&st, t, bufs[i], &e), e);
        out[i] = (ta_st_entry){t->name, bufs[i], t->ndim, {t->shape[0], t->shape[1]}};
    }
    CHECK(!memcmp(bufs[0], a, sizeof a) && !memcmp(bufs[1], b, sizeof b) && bufs[2][0] == 42.5f);
    CHECK_OK(ta_safetensors_write(p2, out, 3, TA_DTYPE_F32, &e), e);
    ta_safetensors_release(&st);
    for (size_t i = 0; i < 3; i++) free(bufs[i]);
    char *x, *y;
    size_t nx, ny;
    CHECK_OK(ta_file_read_all(p1, 1 << 20, &x, &nx, &e), e);
    CHECK_OK(ta_file_read_all(p2, 1 << 20, &y, &ny, &e), e);
    CHECK(nx == ny && !memcmp(x, y, nx));
    free(x);
    free(y);
}

TEST(test_bf16_write_read) {
    float v[] = {1.0f, u2f(0x3F808000), u2f(0x3F818000), u2f(0x3F808001), -3.14159265f, INFINITY, -INFINITY, NAN, FLT_MAX, 1e-40f, -0.0f};
    size_t n = sizeof v / sizeof v[0];
    uint16_t want[] = {0x3F80, 0x3F80, 0x3F82, 0x3F81, 0xC049, 0x7F80, 0xFF80, 0x7FC0, 0x7F80, 0x0001, 0x8000};
    ta_st_entry in = {"v", v, 1, {n}};
    char p[512];
    snprintf(p, sizeof p, "%s/bf16.safetensors", tmp_root);
    ta_error e = {0};
    CHECK_OK(ta_safetensors_write(p, &in, 1, TA_DTYPE_BF16, &e), e);
    ta_safetensors st;
    CHECK_OK(ta_safetensors_open(&st, p, &e), e);
    const ta_st_tensor *t = ta_safetensors_find(&st, "v");
    CHECK(t && t->dtype == TA_ST_BF16 && t->nbytes == 2 * n);
    if (!t) return;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(t->data[2 * i] | (t->data[2 * i + 1] << 8));
        CHECK_MSG(h == want[i], "element %zu: 0x%04x, want 0x%04x", i, h, want[i]);
    }
    float back[16];
    CHECK_OK(ta_safetensors_read_f32(&st, t, back, &e), e);
    for (size_t i = 0; i < n; i++)
        CHECK(isnan(back[i]) ? i == 7 : f2u(back[i]) == (uint32_t)want[i] << 16);
    ta_safetensors_release(&st);
}

TEST(test_f16_and_unsupported_dtypes) {
    /* two F16 values, one I64, one F64 */
    const char *h = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                    "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]},"
                    "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[12,20]}}";
    size_t size;
    uint8_t *b = make_file(h, 20, &size);
    uint8_t *data = b + 8 + strlen(h);
    data[0] = 0x00; data[1] = 0x3C; /* 1.0 */
    data[2] = 0x00; data[3] = 0xC0; /* -2.0 */
    ta_safetensors st;
    ta_error e = {0};
    CHECK_OK(ta_safetensors_parse(&st, b, size, "mixed.safetensors", &e), e);
    float out[2];
    CHECK_OK(ta_safetensors_read_f32(&st, ta_safetensors_find(&st, "h"), out, &e), e);
    CHECK(out[0] == 1.0f && out[1] == -2.0f);
    CHECK(ta_safetensors_read_f32(&st, ta_safetensors_find(&st, "i"), out, &e) == TA_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "mixed.safetensors: tensor 'i' has dtype I64") != NULL, "%s", e.msg);
    CHECK(ta_safetensors_read_f32(&st, ta_safetensors_find(&st, "d"), out, &e) == TA_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "'d' has dtype F64") != NULL, "%s", e.msg);
    ta_safetensors_release(&st);
    free(b);
}

TEST(test_bad_headers) {
    /* sizes and framing */
    {
        uint8_t b[4] = {1, 0, 0, 0};
        ta_safetensors st;
        ta_error e = {0};
        CHECK(ta_safetensors_parse(&st, b, 4, "bad.safetensors", &e) == TA_EFORMAT);
        CHECK_MSG(strstr(e.msg, "bad.safetensors: file is too short (4 bytes)") != NULL, "%s", e.msg);
    }
    {
        uint8_t b[16] = {0, 0, 0, 0, 0, 0, 0, 0x40, '{', '}'}; /* 2^62 */
        ta_safetensors st;
        ta_error e = {0};
        CHECK(ta_safetensors_parse(&st, b, 16, "bad.safetensors", &e) == TA_EFORMAT);
        CHECK_MSG(strstr(e.msg, "exceeds the limit of 100000000 bytes") != NULL, "%s", e.msg);
        uint8_t c[16] = {0x00, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}'}; /* 100000000: within the cap, beyond the file */
        CHECK(ta_safetensors_parse(&st, c, 16, "bad.safetensors", &e) == TA_EFORMAT);
        CHECK_MSG(strstr(e.msg, "exceeds the file size (16 bytes)") != NULL, "%s", e.msg);
    }
    expect_parse_error("{\"a\":", 0, "not valid JSON");
    expect_parse_error("[1,2,3]", 0, "does not start with '{'");
    expect_parse_error("  {}", 0, "does not start with '{'");
    expect_parse_error("{\"a\":1}  x", 0, "not valid JSON");
    expect_parse_error("{\"a\":1,\"a\":2}", 0, "not valid JSON");
    /* entries */
    expect_parse_error("{\"t\":3}", 0, "tensor 't': header entry must be an object");
    expect_parse_error("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 't': \"dtype\" must be a string");
    expect_parse_error("{\"t\":{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 't' has unknown dtype \"Q4_K\"");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0] must be a non-negative integer");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape[0]");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "\"shape\" must be a list");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "shape");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "\"data_offsets\" must be [begin, end]");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, "end before they begin");
    /* offsets that lie */
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12,
                       "tensor 't': data_offsets [0, 16] lie beyond the data section (12 bytes)");
    expect_parse_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 16,
                       "tensor 't': data_offsets span 12 bytes, but F32 shape needs 16");
    expect_parse_error("{\"t\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "span 24 bytes, but BF16 shape needs 12");
    expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                       12, "tensors 'a' and 'b' overlap");
    expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                       8, "overlap");
    expect_parse_error("{\"__metadata__\":{\"format\":1}}", 0, "__metadata__ value 'format' must be a string");
    expect_parse_error("{\"__metadata__\":[]}", 0, "__metadata__ must be an object");
}

TEST(test_good_edge_cases) {
    /* empty header, zero-size tensor, trailing spaces, a gap between tensors */
    const char *hs[] = {"{}", "{}      ", "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]}}",
                        "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        size_t size;
        uint8_t *b = make_file(hs[i], 8, &size);
        ta_safetensors st;
        ta_error e = {0};
        CHECK_OK(ta_safetensors_parse(&st, b, size, "ok.safetensors", &e), e);
        ta_safetensors_release(&st);
        free(b);
    }
}

TEST(test_truncated_file) {
    float a[64];
    fill(a, 64, 1.0f);
    ta_st_entry in = {"a", a, 2, {8, 8}};
    char p[512];
    snprintf(p, sizeof p, "%s/trunc.safetensors", tmp_root);
    ta_error e = {0};
    CHECK_OK(ta_safetensors_write(p, &in, 1, TA_DTYPE_F32, &e), e);
    char *buf;
    size_t n;
    CHECK_OK(ta_file_read_all(p, 1 << 20, &buf, &n, &e), e);
    /* every prefix must be rejected without a crash */
    int rejected = 0;
    for (size_t len = 0; len < n; len++) {
        ta_safetensors st;
        uint8_t *copy = malloc(len ? len : 1); /* exact size, so ASan sees any overread */
        memcpy(copy, buf, len);
        if (ta_safetensors_parse(&st, copy, len, "trunc.safetensors", &e) != TA_OK) {
            rejected++;
            CHECK_MSG(strstr(e.msg, "trunc.safetensors") != NULL, "%s", e.msg);
        } else {
            ta_safetensors_release(&st);
        }
        free(copy);
    }
    CHECK(rejected == (int)n);
    /* and from a file on disk */
    CHECK_OK(ta_file_write_atomic(p, buf, n - 10, &e), e);
    ta_safetensors st;
    CHECK(ta_safetensors_open(&st, p, &e) == TA_EFORMAT);
    CHECK_MSG(strstr(e.msg, "tensor 'a': data_offsets [0, 256] lie beyond the data section") != NULL, "%s", e.msg);
    free(buf);
    CHECK(ta_safetensors_open(&st, "/nonexistent/x.safetensors", &e) == TA_ENOTFOUND);
}

/* Every file in fuzz/corpus/safetensors/ goes through the parser and the
 * converter; none may crash (ASan/UBSan catch overreads). */
static void replay_one(const char *name, const uint8_t *data, size_t len, void *ctx) {
    ta_safetensors st;
    ta_error e = {0};
    if (ta_safetensors_parse(&st, data, len, name, &e) == TA_OK) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            float *out = malloc(st.tensors[i].numel * sizeof(float) + 1);
            (void)ta_safetensors_read_f32(&st, &st.tensors[i], out, &e);
            free(out);
        }
        ta_safetensors_release(&st);
    } else {
        CHECK_MSG(strstr(e.msg, name) != NULL, "%s: message '%s' does not name the file", name, e.msg);
    }
}

TEST(test_fuzz_corpus_replay) {
    int n = ta_corpus_replay("fuzz/corpus/safetensors", replay_one, NULL);
    CHECK_MSG(n >= 10, "only %d corpus files in fuzz/corpus/safetensors", n);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/ta_st_XXXXXX", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp");
    if (!mkdtemp(tmp_root)) return 1;
    RUN(test_bf16_known_values);
    RUN(test_f16_known_values);
    RUN(test_f32_round_trip_identical_bytes);
    RUN(test_bf16_write_read);
    RUN(test_f16_and_unsupported_dtypes);
    RUN(test_bad_headers);
    RUN(test_good_edge_cases);
    RUN(test_truncated_file);
    RUN(test_fuzz_corpus_replay);
    int rc = TEST_END();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return rc;
}
