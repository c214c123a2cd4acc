/* corpus.h: replaying a fuzz corpus in a unit test.
 *
 *   int n = ta_corpus_replay("fuzz/corpus/safetensors", fn, ctx);
 *
 * calls fn(name, data, len, ctx) for every file in the folder under $TA_ROOT
 * (or "."), skipping dot files; data is an exact-size malloc'd copy, so ASan
 * reports any read past the end. Returns the number of files, or -1 when the
 * folder cannot be opened. */
#ifndef TA_TEST_CORPUS_H
#define TA_TEST_CORPUS_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

typedef void (*ta_corpus_fn)(const char *name, const uint8_t *data, size_t len, void *ctx);

static inline int ta_corpus_replay(const char *rel_dir, ta_corpus_fn fn, void *ctx) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", getenv("TA_ROOT") ? getenv("TA_ROOT") : ".", rel_dir);
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        char *buf;
        size_t len;
        ta_error e = {0};
        if (!ta_file_exists(p) || ta_file_read_all(p, (size_t)1 << 24, &buf, &len, &e)) continue;
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) {
            free(buf);
            continue;
        }
        memcpy(copy, buf, len);
        free(buf);
        fn(de->d_name, copy, len, ctx);
        free(copy);
        n++;
    }
    closedir(d);
    return n;
}

#endif
