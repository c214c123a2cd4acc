/* bench_tokenizer.c: encode throughput of taskalign's tokenizer.
 *   bench_tokenizer TOKENIZER TEXTFILE [REPEATS]
 * Encodes every line of TEXTFILE (one call per line, the way chat turns and
 * dataset rows arrive), REPEATS times (default 3), and prints the best pass:
 *   taskalign: BYTES bytes, TOKENS tokens, SECONDS s, MB/s
 * Load time is reported separately. Driven by bench/bench_tokenizer.sh, which
 * runs @huggingface/tokenizers on the same file and prints the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/progress.h"
#include "text/tokenizer.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_tokenizer TOKENIZER TEXTFILE [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 3 ? atoi(argv[3]) : 3;
    ta_error err = {0};
    double t0 = ta_now();
    ta_tokenizer *t;
    if (ta_tokenizer_load(&t, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double load_s = ta_now() - t0;
    char *buf;
    size_t len;
    if (ta_file_read_all(argv[2], (size_t)1 << 31, &buf, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ta_ids ids = {0};
    double best = 1e30;
    size_t n_tokens = 0;
    for (int r = 0; r < repeats; r++) {
        n_tokens = 0;
        double s = ta_now();
        for (char *p = buf, *end = buf + len; p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
            ids.n = 0;
            if (ta_tokenizer_encode(t, p, ll, 0, &ids, NULL, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            n_tokens += ids.n;
            p += ll + 1;
        }
        double dt = ta_now() - s;
        if (dt < best) best = dt;
    }
    printf("taskalign: %zu bytes, %zu tokens, %.3f s, %.2f MB/s (load %.2f s)\n", len, n_tokens, best,
           (double)len / best / 1e6, load_s);
    ta_ids_release(&ids);
    free(buf);
    ta_tokenizer_free(t);
    return 0;
}
