/* fuzz_safetensors.c: libFuzzer target for the safetensors header parser and
 * the F32 conversion of every tensor it accepts. Build and run with
 * scripts/fuzz.sh. The input is copied into an exact-size buffer so ASan
 * reports any read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    ta_safetensors st;
    ta_error err = {0};
    if (ta_safetensors_parse(&st, buf, size, "fuzz.safetensors", &err) == TA_OK) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            const ta_st_tensor *t = &st.tensors[i];
            if (t->numel > ((size_t)1 << 24)) continue;
            float *out = malloc(t->numel * sizeof(float) + 1);
            if (!out) continue;
            (void)ta_safetensors_read_f32(&st, t, out, &err);
            free(out);
        }
        ta_safetensors_release(&st);
    } else if (!err.msg[0]) {
        abort(); /* every rejection must explain itself */
    }
    free(buf);
    return 0;
}
