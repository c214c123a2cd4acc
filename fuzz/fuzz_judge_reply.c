/* fuzz_judge_reply.c: the external judge's reply parser (judge_http.h,
 * ta_judge_http_parse_reply) on arbitrary content. Invariants: a parsed
 * reply gives one of the five labels; a rejected one gives a non-empty,
 * NUL-terminated reason within the buffer.
 *
 * Build and run: scripts/fuzz.sh 60 judge_reply
 * Crash inputs go into fuzz/corpus/judge_reply/ (replayed by tests/unit/test_judge_http.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "align/judge_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    ta_label l = TA_LABEL_COUNT;
    char reason[96];
    memset(reason, 'x', sizeof reason);
    int rc = ta_judge_http_parse_reply(s, &l, reason, sizeof reason);
    if (rc == 0) {
        if ((unsigned)l >= TA_LABEL_COUNT) abort();
    } else {
        if (rc != -1 || !memchr(reason, 0, sizeof reason) || !reason[0]) abort();
    }
    free(s);
    return 0;
}
