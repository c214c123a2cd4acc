/* fuzz_suite.c: the red-team suite loader (one JSON object a line) on
 * arbitrary bytes. A load either fails with a message or yields items whose
 * fields are all set; every turn's expectation is looked up.
 *
 * Build and run: scripts/fuzz.sh 60 suite
 * Crash inputs go into fuzz/corpus/suite/ (replayed by tests/unit/test_suite.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "align/suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ta_suite s;
    ta_suite_init(&s);
    ta_error err = {0};
    if (ta_suite_load_buf(&s, (const char *)data, size, "fuzz.jsonl", &err) == TA_OK) {
        if (!s.n) abort(); /* OK means at least one item */
        for (size_t i = 0; i < s.n; i++) {
            const ta_suite_item *it = &s.items[i];
            if (!it->id || !it->category || !it->attack || !it->expect || !it->n_turns) abort();
            for (size_t t = 0; t < it->n_turns; t++) {
                const char *e = ta_suite_turn_expect(it, t);
                if (e) (void)strlen(e);
                (void)strlen(it->turns[t]);
            }
        }
    } else if (s.n || !err.msg[0]) {
        abort(); /* an error appends nothing and says what was wrong */
    }
    ta_suite_release(&s);
    return 0;
}
