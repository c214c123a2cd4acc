/* file.h: whole-file reads, read-only mappings, and atomic writes.
 *
 * Atomic writes go to "<path>.tmp.<pid>", are flushed with fsync, then renamed
 * over <path> (and the directory fsynced), so a crash never leaves a
 * half-written file under the real name. */
#ifndef TA_CORE_FILE_H
#define TA_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* Reads the whole file into a malloc'd buffer with a terminating NUL (not
 * counted in *len). Caller frees *out. Files above max_bytes are refused. */
int ta_file_read_all(const char *path, size_t max_bytes, char **out, size_t *len, ta_error *err);

/* A read-only mapping of a whole file. */
typedef struct ta_mapped {
    const uint8_t *data; /* owned by the mapping; NULL for an empty file */
    size_t size;
} ta_mapped;

int ta_mapped_open(ta_mapped *m, const char *path, ta_error *err);
void ta_mapped_release(ta_mapped *m);

/* Streaming atomic writer: open, write..., commit (or abort). */
typedef struct ta_atomic_file {
    FILE *fp;
    char path[4096];
    char tmp_path[4096 + 32];
    int failed; /* a write failed; commit will refuse */
} ta_atomic_file;

int ta_atomic_open(ta_atomic_file *af, const char *path, ta_error *err);
int ta_atomic_write(ta_atomic_file *af, const void *data, size_t len, ta_error *err);
int ta_atomic_commit(ta_atomic_file *af, ta_error *err); /* fsync + rename */
void ta_atomic_abort(ta_atomic_file *af);                /* removes the temp file */

/* One-shot atomic write of a buffer. */
int ta_file_write_atomic(const char *path, const void *data, size_t len, ta_error *err);

int ta_file_exists(const char *path);
int ta_dir_exists(const char *path);
/* mkdir -p */
int ta_mkdir_p(const char *path, ta_error *err);
/* snprintf into out; fails (TA_ERANGE) rather than truncate. */
int ta_path_join(char *out, size_t cap, const char *dir, const char *name, ta_error *err);

#endif
