/* fuzz_guard.c: the guard configuration parser and both checks. The input is
 * "<config JSON>\0<text>": the part before the first NUL byte is loaded as a
 * guard configuration; the text after it goes to the input check whole, and
 * to the call check split at its first newline into a tool name and the
 * arguments JSON. When the configuration does not load (or there is no NUL),
 * the checks run with the shipped default guard, so the text side is fuzzed
 * against real rules either way.
 *
 * Build and run: scripts/fuzz.sh 60 guard
 * Crash inputs go into fuzz/corpus/guard/ (replayed by tests/unit/test_guard.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "align/guard.h"

static void check_verdict(const ta_guard_verdict *v) {
    if (v->action == TA_GUARD_PASS) {
        if (v->rule || v->response) abort();
    } else if (!v->rule || !v->response) {
        abort();
    } else {
        (void)strlen(v->rule);
        (void)strlen(v->response);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ta_guard *dflt; /* the fuzzer's cache, compiled once */
    ta_error err = {0};
    if (!dflt && ta_guard_load_default(&dflt, &err)) abort();
    const char *nul = memchr(data, '\0', size);
    size_t clen = nul ? (size_t)(nul - (const char *)data) : size;
    ta_guard *g = NULL;
    if (ta_guard_load_buf(&g, (const char *)data, clen, "fuzz.json", &err) != TA_OK) {
        if (!err.msg[0]) abort();
        g = NULL;
    }
    const char *text = nul ? nul + 1 : "";
    size_t tlen = nul ? size - clen - 1 : 0;
    char *t = malloc(tlen + 1);
    if (!t) abort();
    memcpy(t, text, tlen);
    t[tlen] = '\0'; /* stops at an embedded NUL, as a C caller would */
    const ta_guard *use = g ? g : dflt;
    ta_guard_verdict v;
    if (ta_guard_check_input(use, t, &v, &err) == TA_OK) check_verdict(&v);
    char *args = strchr(t, '\n');
    if (args) *args++ = '\0';
    if (ta_guard_check_call(use, t, args, &v, &err) == TA_OK) check_verdict(&v);
    char *n = ta_guard_normalize(t);
    free(n);
    free(t);
    ta_guard_free(g);
    return 0;
}
