/* fuzz_tokenizer_json.c: libFuzzer target for the tokenizer.json loader. A
 * rejected file must come with a message; an accepted one must encode and
 * decode a fixed text. Build and run with scripts/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ta_tokenizer *t;
    ta_error err = {0};
    if (ta_tokenizer_load_buf(&t, (const char *)data, size, "fuzz.json", &err) != TA_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    static const char text[] = "Hello <s> world 123 \xc3\xa9\xe4\xbd\xa0 \xff!";
    ta_ids ids = {0}, offs = {0};
    if (ta_tokenizer_encode(t, text, sizeof text - 1, 1, &ids, &offs, &err) == TA_OK) {
        if (offs.n != 2 * ids.n) abort();
        char *out;
        size_t len;
        if (ta_tokenizer_decode(t, ids.ids, ids.n, 0, &out, &len, &err) == TA_OK) free(out);
    }
    ta_ids_release(&ids);
    ta_ids_release(&offs);
    ta_tokenizer_free(t);
    return 0;
}
