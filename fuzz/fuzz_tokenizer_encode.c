/* fuzz_tokenizer_encode.c: libFuzzer target for encode/decode with the small
 * test tokenizer (tests/data/tokenizer_small.json, run from the repository
 * root). Checks: no crash; offsets lie inside the input and ascend; decode
 * succeeds; the streaming decode equals decode; and on valid UTF-8 input
 * without the stripping <mask> token, NFC(decode(encode(x))) == NFC(x).
 * Build and run with scripts/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/file.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

static ta_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char *buf;
    size_t len;
    ta_error err = {0};
    if (ta_file_read_all("tests/data/tokenizer_small.json", 1 << 20, &buf, &len, &err) ||
        ta_tokenizer_load_buf(&tok, buf, len, "tokenizer_small.json", &err)) {
        fprintf(stderr, "fuzz_tokenizer_encode: %s (run from the repository root)\n", err.msg);
        exit(1);
    }
    free(buf);
    return 0;
}

static char *nfc(const char *s, size_t n) {
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &out,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) abort();
    return (char *)out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ta_ids ids = {0}, offs = {0};
    ta_error err = {0};
    if (ta_tokenizer_encode(tok, (const char *)data, size, 0, &ids, &offs, &err)) abort();
    if (offs.n != 2 * ids.n) abort();
    for (size_t i = 0; i < ids.n; i++) {
        int32_t s = offs.ids[2 * i], e = offs.ids[2 * i + 1];
        if (s < 0 || e < s || (size_t)e > size) abort();
        if (i && s < offs.ids[2 * i - 2]) abort();
    }
    char *out;
    size_t len;
    if (ta_tokenizer_decode(tok, ids.ids, ids.n, 0, &out, &len, &err)) abort();
    if (ta_utf8_valid_prefix((const uint8_t *)out, len) != len) abort();
    /* streaming gives the same text */
    ta_detok_stream st;
    ta_detok_stream_init(&st, tok, 0);
    char *cat = malloc(len + 1);
    size_t cn = 0;
    for (size_t i = 0; i <= ids.n; i++) {
        const char *txt;
        size_t tl;
        int rc = i < ids.n ? ta_detok_stream_push(&st, ids.ids[i], &txt, &tl, &err)
                           : ta_detok_stream_flush(&st, &txt, &tl, &err);
        if (rc || cn + tl > len) abort();
        memcpy(cat + cn, txt, tl);
        cn += tl;
    }
    if (cn != len || memcmp(cat, out, len)) abort();
    ta_detok_stream_release(&st);
    free(cat);
    /* round trip on valid UTF-8 without NUL (utf8proc_map stops there) and without <mask> (it strips) */
    if (ta_utf8_valid_prefix(data, size) == size && !memchr(data, 0, size) && !memmem(data, size, "<mask>", 6)) {
        char *a = nfc((const char *)data, size), *b = nfc(out, len);
        if (strcmp(a, b)) abort();
        free(a);
        free(b);
    }
    free(out);
    ta_ids_release(&ids);
    ta_ids_release(&offs);
    return 0;
}
