/* fuzz_replay.h: feeds every file of fuzz/corpus/<target>/ to a fuzz target's
 * LLVMFuzzerTestOneInput (the test includes the target's source, so the
 * replay runs exactly what the fuzzer ran, its abort() invariants included).
 * Returns the number of files replayed. */
#ifndef TA_TESTS_FUZZ_REPLAY_H
#define TA_TESTS_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file.h"

static size_t fuzz_replay(const char *target, int (*one)(const uint8_t *, size_t)) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", getenv("TA_ROOT") ? getenv("TA_ROOT") : ".", target);
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *buf;
        size_t len;
        ta_error err = {0};
        if (ta_file_read_all(path, 1 << 20, &buf, &len, &err)) continue;
        one((const uint8_t *)buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

#endif
