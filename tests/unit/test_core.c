#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/threads.h"
#include "harness.h"

TEST(test_error_format) {
    ta_error e = {0};
    int rc = ta_error_set(&e, TA_EFORMAT, "'%s': bad", "x.json");
    CHECK(rc == TA_EFORMAT);
    CHECK(!strcmp(e.msg, "'x.json': bad"));
    ta_error_prefix(&e, "line %d", 3);
    CHECK(!strcmp(e.msg, "line 3: 'x.json': bad"));
}

TEST(test_atomic_write_and_read) {
    char dir[] = "/tmp/ta_core_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/f.bin", dir);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    ta_error e = {0};
    CHECK_OK(ta_mkdir_p(sub, &e), e);
    CHECK_OK(ta_file_write_atomic(path, "hello", 5, &e), e);
    char *buf;
    size_t n;
    CHECK_OK(ta_file_read_all(path, 1 << 20, &buf, &n, &e), e);
    CHECK(n == 5 && !memcmp(buf, "hello", 5));
    free(buf);
    CHECK(ta_file_read_all(path, 3, &buf, &n, &e) == TA_ERANGE);
    ta_mapped m;
    CHECK_OK(ta_mapped_open(&m, path, &e), e);
    CHECK(m.size == 5 && !memcmp(m.data, "hello", 5));
    ta_mapped_release(&m);
    CHECK(ta_mapped_open(&m, "/nonexistent/x", &e) == TA_ENOTFOUND);
    CHECK(strstr(e.msg, "/nonexistent/x") != NULL);
    /* an aborted write leaves the old file alone */
    ta_atomic_file af;
    CHECK_OK(ta_atomic_open(&af, path, &e), e);
    ta_atomic_write(&af, "XX", 2, &e);
    ta_atomic_abort(&af);
    CHECK_OK(ta_file_read_all(path, 1 << 20, &buf, &n, &e), e);
    CHECK(n == 5 && !memcmp(buf, "hello", 5));
    free(buf);
    unlink(path);
}

TEST(test_json_errors_have_positions) {
    json_t *j = NULL;
    ta_error e = {0};
    const char *bad = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    CHECK(ta_json_load_buf(bad, strlen(bad), "cfg.json", &j, &e) == TA_EFORMAT);
    CHECK_MSG(strstr(e.msg, "cfg.json:3:") != NULL, "%s", e.msg);
    const char *good = "{\"n\": 3, \"s\": \"x\"}";
    CHECK_OK(ta_json_load_buf(good, strlen(good), "g", &j, &e), e);
    int64_t n = 0;
    CHECK_OK(ta_json_get_int(j, "n", 1, &n, "g", &e), e);
    CHECK(n == 3);
    CHECK(ta_json_get_int(j, "s", 1, &n, "g", &e) == TA_EFORMAT);
    CHECK(ta_json_get_int(j, "zz", 1, &n, "g", &e) == TA_EFORMAT);
    CHECK(strstr(e.msg, "\"zz\"") != NULL);
    json_decref(j);
}

TEST(test_rng_deterministic_and_normal) {
    ta_rng a, b;
    ta_rng_seed(&a, 42);
    ta_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(ta_rng_u64(&a) == ta_rng_u64(&b));
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = ta_rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.02);
    for (int i = 0; i < 1000; i++) CHECK(ta_rng_below(&a, 7) < 7);
}

TEST(test_arena) {
    ta_arena ar;
    ta_arena_init(&ar, 1024);
    char *p = ta_arena_alloc(&ar, 10);
    CHECK(p && ((uintptr_t)p % 64) == 0);
    char *big = ta_arena_alloc(&ar, 100000);
    CHECK(big != NULL);
    memset(big, 1, 100000);
    CHECK(!strcmp(ta_arena_strdup(&ar, "abc"), "abc"));
    ta_arena_reset(&ar);
    CHECK(ar.used_total == 0);
    ta_arena_release(&ar);
}

/* ta_fp_flush_subnormals: the calling thread's products below FLT_MIN become 0
 * (FTZ/DAZ), unless TA_KEEP_SUBNORMALS=1. Runs in threads of its own so the
 * test thread keeps the default mode. */
static void *flush_probe(void *arg) {
    ta_fp_flush_subnormals();
    volatile float a = 1e-30f, b = 1e-10f;
    *(float *)arg = a * b;
    return NULL;
}

TEST(test_fp_flush_subnormals) {
    float kept = 0, flushed = 1;
    pthread_t th;
    setenv("TA_KEEP_SUBNORMALS", "1", 1);
    CHECK(pthread_create(&th, NULL, flush_probe, &kept) == 0 && pthread_join(th, NULL) == 0);
    unsetenv("TA_KEEP_SUBNORMALS");
    CHECK(pthread_create(&th, NULL, flush_probe, &flushed) == 0 && pthread_join(th, NULL) == 0);
    CHECK_MSG(kept != 0.0f, "with TA_KEEP_SUBNORMALS=1 the product is subnormal, not %g", (double)kept);
#if defined(__x86_64__) || defined(__aarch64__)
    CHECK_MSG(flushed == 0.0f, "the flushed product is %g", (double)flushed);
#endif
}

TEST(test_sha256_vectors) {
    ta_sha256 s;
    char hex[65];
    ta_sha256_init(&s);
    ta_sha256_final_hex(&s, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    ta_sha256_init(&s);
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ta_sha256_update(&s, m, strlen(m));
    ta_sha256_final_hex(&s, hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    ta_sha256_init(&s);
    for (int i = 0; i < 1000; i++) ta_sha256_update(&s, "aaaaaaaaaa", 10); /* 10^4 'a', split oddly below */
    ta_sha256_final_hex(&s, hex);
    ta_sha256 t;
    ta_sha256_init(&t);
    char big[10000];
    memset(big, 'a', sizeof big);
    ta_sha256_update(&t, big, 7);
    ta_sha256_update(&t, big, sizeof big - 7);
    char hex2[65];
    ta_sha256_final_hex(&t, hex2);
    CHECK(!strcmp(hex, hex2));
}

int main(void) {
    RUN(test_sha256_vectors);
    RUN(test_fp_flush_subnormals);
    RUN(test_error_format);
    RUN(test_atomic_write_and_read);
    RUN(test_json_errors_have_positions);
    RUN(test_rng_deterministic_and_normal);
    RUN(test_arena);
    return TEST_END();
}
