#define _POSIX_C_SOURCE 200809L
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ta_file_read_all(const char *path, size_t max_bytes, char **out, size_t *len, ta_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return ta_error_set(err, errno == ENOENT ? TA_ENOTFOUND : TA_EIO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = TA_OK;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) { rc = ta_error_set(err, TA_ENOMEM, "'%s': out of memory reading file", path); goto fail; }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n > max_bytes) { rc = ta_error_set(err, TA_ERANGE, "'%s': file larger than the limit of %zu bytes", path, max_bytes); goto fail; }
        if (got == 0) {
            if (ferror(fp)) { rc = ta_error_set(err, TA_EIO, "cannot read '%s': %s", path, strerror(errno)); goto fail; }
            break;
        }
    }
    fclose(fp);
    if (!buf) { buf = malloc(1); if (!buf) return ta_error_set(err, TA_ENOMEM, "out of memory"); }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return TA_OK;
fail:
    free(buf);
    fclose(fp);
    return rc;
}

int ta_mapped_open(ta_mapped *m, const char *path, ta_error *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ta_error_set(err, errno == ENOENT ? TA_ENOTFOUND : TA_EIO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ta_error_set(err, TA_EIO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ta_error_set(err, TA_EIO, "'%s' is not a regular file", path);
    }
    m->size = (size_t)st.st_size;
    m->data = NULL;
    if (m->size > 0) {
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ta_error_set(err, TA_EIO, "cannot map '%s': %s", path, strerror(e));
        }
        m->data = p;
    }
    close(fd);
    return TA_OK;
}

void ta_mapped_release(ta_mapped *m) {
    if (m && m->data) munmap((void *)m->data, m->size);
    if (m) { m->data = NULL; m->size = 0; }
}

int ta_atomic_open(ta_atomic_file *af, const char *path, ta_error *err) {
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) return ta_error_set(err, TA_ERANGE, "path too long: '%s'", path);
    strcpy(af->path, path);
    snprintf(af->tmp_path, sizeof af->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) return ta_error_set(err, TA_EIO, "cannot create '%s': %s", af->tmp_path, strerror(errno));
    return TA_OK;
}

int ta_atomic_write(ta_atomic_file *af, const void *data, size_t len, ta_error *err) {
    if (af->failed) return ta_error_set(err, TA_EIO, "cannot write '%s': an earlier write failed", af->tmp_path);
    if (len && fwrite(data, 1, len, af->fp) != len) {
        af->failed = 1;
        return ta_error_set(err, TA_EIO, "cannot write '%s': %s", af->tmp_path, strerror(errno));
    }
    return TA_OK;
}

static void fsync_parent_dir(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int ta_atomic_commit(ta_atomic_file *af, ta_error *err) {
    int rc = TA_OK;
    if (af->failed) { rc = ta_error_set(err, TA_EIO, "not committing '%s': a write failed", af->path); goto fail; }
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0) { rc = ta_error_set(err, TA_EIO, "cannot flush '%s': %s", af->tmp_path, strerror(errno)); goto fail; }
    if (fclose(af->fp) != 0) { af->fp = NULL; rc = ta_error_set(err, TA_EIO, "cannot close '%s': %s", af->tmp_path, strerror(errno)); goto fail; }
    af->fp = NULL;
    if (rename(af->tmp_path, af->path) != 0) { rc = ta_error_set(err, TA_EIO, "cannot rename '%s' to '%s': %s", af->tmp_path, af->path, strerror(errno)); goto fail; }
    fsync_parent_dir(af->path);
    return TA_OK;
fail:
    ta_atomic_abort(af);
    return rc;
}

void ta_atomic_abort(ta_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->tmp_path[0]) unlink(af->tmp_path);
}

int ta_file_write_atomic(const char *path, const void *data, size_t len, ta_error *err) {
    ta_atomic_file af;
    int rc = ta_atomic_open(&af, path, err);
    if (rc) return rc;
    rc = ta_atomic_write(&af, data, len, err);
    if (rc) { ta_atomic_abort(&af); return rc; }
    return ta_atomic_commit(&af, err);
}

int ta_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ta_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ta_mkdir_p(const char *path, ta_error *err) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) return ta_error_set(err, TA_ERANGE, "path too long: '%s'", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return ta_error_set(err, TA_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return ta_error_set(err, TA_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
    if (!ta_dir_exists(buf)) return ta_error_set(err, TA_EIO, "'%s' exists and is not a directory", buf);
    return TA_OK;
}

int ta_path_join(char *out, size_t cap, const char *dir, const char *name, ta_error *err) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return ta_error_set(err, TA_ERANGE, "path too long: '%s/%s'", dir, name);
    return TA_OK;
}
