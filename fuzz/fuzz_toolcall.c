/* fuzz_toolcall.c: the tool-call parser and the dispatcher on untrusted model
 * output. Every OK call found is executed on a fresh in-memory store; the
 * dispatcher must answer every call with a JSON result and never crash.
 *
 * Build and run: scripts/fuzz.sh 60 toolcall
 * Crash inputs go into fuzz/corpus/toolcall/ (replayed by tests/unit/test_toolcall.c). */
#include <stdint.h>
#include <stdlib.h>

#include "taskapi/dispatch.h"
#include "taskapi/toolcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ta_parsed_reply r;
    ta_error err;
    if (ta_toolcall_parse((const char *)data, size, &r, &err)) return 0;
    ta_store *s = NULL;
    if (r.n_calls && ta_store_open(&s, ":memory:", &err) == TA_OK) {
        ta_store_set_now(s, "2026-03-14T09:00:00Z", &err);
        for (size_t i = 0; i < r.n_calls; i++) {
            if (r.calls[i].status != TA_TC_OK) continue;
            char *res = NULL;
            ta_dispatch(s, r.calls[i].name, r.calls[i].arguments, &res, &err);
            if (!res) abort(); /* a result is owed for every call */
            free(res);
        }
        ta_store_close(s);
    }
    ta_parsed_reply_release(&r);
    return 0;
}
