/* fuzz_dataset.c: libFuzzer target for the SFT / preference JSONL loader
 * (with the tests' byte-per-token encoder): no crash, no leak, and every
 * failure carries a message. Both kinds, strict and lenient, small limits so
 * truncation paths run. Build and run with scripts/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/byte_encoder.h"
#include "train/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int k = 0; k < 4; k++) {
        ta_dataset_opts o = {k & 1 ? TA_DATA_PREF : TA_DATA_SFT, 24, 8, k >> 1, 0};
        ta_dataset ds;
        ta_error err = {0};
        int rc = ta_dataset_parse(&ds, (const char *)data, size, "fuzz.jsonl", &o, &ENC, &err);
        if (rc != TA_OK && !err.msg[0]) abort();
        if (rc == TA_OK) {
            if (ds.n == 0) abort();
            for (size_t i = 0; i < ds.n; i++)
                if (ds.ex[i].off + ds.ex[i].prompt_len + ds.ex[i].len_a + ds.ex[i].len_b > ds.n_tokens) abort();
            ta_dataset_release(&ds);
        }
    }
    return 0;
}
