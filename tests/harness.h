/* harness.h: a minimal test harness for the C unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(name); return TEST_END(); }
 *
 * A test passes when none of its checks failed. TEST_END prints the closing
 * line "N passed, N failed" that tests/run.sh (and CI) read. */
#ifndef TA_TEST_HARNESS_H
#define TA_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static struct {
    int passed, failed, cur_failed;
    const char *cur;
} ta_t;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                   \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            fprintf(stderr, "  FAIL %s (%s:%d): %s\n", ta_t.cur, __FILE__, __LINE__, #cond);          \
            ta_t.cur_failed++;                                                                        \
        }                                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                          \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            fprintf(stderr, "  FAIL %s (%s:%d): %s: ", ta_t.cur, __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                             \
            fputc('\n', stderr);                                                                      \
            ta_t.cur_failed++;                                                                        \
        }                                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                         \
    do {                                                                                              \
        double ta__a = (double)(a), ta__b = (double)(b);                                              \
        if (!(fabs(ta__a - ta__b) <= (tol))) {                                                        \
            fprintf(stderr, "  FAIL %s (%s:%d): %s = %.9g, %s = %.9g, tol %.3g\n", ta_t.cur, __FILE__, \
                    __LINE__, #a, ta__a, #b, ta__b, (double)(tol));                                   \
            ta_t.cur_failed++;                                                                        \
        }                                                                                             \
    } while (0)

/* CHECK_OK(rc, err): rc must be TA_OK; prints err.msg otherwise. */
#define CHECK_OK(rc, err) CHECK_MSG((rc) == 0, "status %d: %s", (int)(rc), (err).msg)

#define RUN(name)                                                                                     \
    do {                                                                                              \
        ta_t.cur = #name;                                                                             \
        ta_t.cur_failed = 0;                                                                          \
        name();                                                                                       \
        if (ta_t.cur_failed) {                                                                        \
            ta_t.failed++;                                                                            \
            fprintf(stderr, "not ok %s\n", #name);                                                    \
        } else {                                                                                      \
            ta_t.passed++;                                                                            \
            fprintf(stderr, "ok %s\n", #name);                                                        \
        }                                                                                             \
    } while (0)

#define TEST_END() (printf("%d passed, %d failed\n", ta_t.passed, ta_t.failed), ta_t.failed ? 1 : 0)

#endif
