/* fuzz_config.c: libFuzzer target for the config.json parser, plus a save of
 * every accepted config (it must validate again). Build and run with
 * scripts/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ta_config cfg;
    ta_error err = {0};
    if (ta_config_parse(&cfg, (const char *)data, size, "fuzz.json", &err) == TA_OK) {
        if (ta_config_validate(&cfg, "fuzz.json", &err) != TA_OK) abort();
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
