#include "train/mix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"

int ta_mix_source_parse(const char *arg, ta_mix_source *out, ta_error *err) {
    size_t n = strlen(arg);
    char *path_buf = out->path;
    if (!n) return ta_error_set(err, TA_EINVAL, "empty source (give FILE or FILE:N)");
    if (n >= sizeof out->path) return ta_error_set(err, TA_EINVAL, "source path too long: '%s'", arg);
    memcpy(path_buf, arg, n + 1);
    out->take = -1;
    out->lines = 0;
    char *colon = strrchr(path_buf, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) return TA_OK; /* a plain path */
    errno = 0;
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (errno || *end || v < 0) return ta_error_set(err, TA_EINVAL, "'%s': the count after ':' must be a non-negative integer", arg);
    if (colon == path_buf) return ta_error_set(err, TA_EINVAL, "'%s': no file before ':'", arg);
    *colon = '\0';
    out->take = v;
    return TA_OK;
}

/* The non-blank lines of buf (NUL-terminated in place), each checked to be a JSON object. */
static int split_lines(char *buf, size_t len, const char *path, char ***lines, size_t *n, ta_error *err) {
    size_t cap = 64, k = 0, lineno = 0;
    char **v = malloc(cap * sizeof *v);
    if (!v) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (char *p = buf; p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        char *e = nl ? nl : buf + len;
        lineno++;
        *e = '\0';
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r') p[--l] = '\0';
        if (strspn(p, " \t") != l) {
            char where[4200];
            snprintf(where, sizeof where, "%s:%zu", path, lineno);
            json_t *o;
            int rc = ta_json_load_buf(p, l, where, &o, err);
            if (!rc && !json_is_object(o)) rc = ta_error_set(err, TA_EFORMAT, "%s: not a JSON object", where);
            json_decref(o);
            if (rc) {
                free(v);
                return rc;
            }
            if (k == cap) {
                char **nv = realloc(v, 2 * cap * sizeof *v);
                if (!nv) {
                    free(v);
                    return ta_error_set(err, TA_ENOMEM, "out of memory");
                }
                v = nv;
                cap *= 2;
            }
            v[k++] = p;
        }
        p = e + 1;
    }
    *lines = v;
    *n = k;
    return TA_OK;
}

int ta_mix(ta_mix_source *src, size_t n, uint64_t seed, const char *out_path, size_t *total, ta_error *err) {
    *total = 0;
    if (!n) return ta_error_set(err, TA_EINVAL, "no source files to mix");
    char **bufs = calloc(n, sizeof *bufs);
    char **out = NULL;
    size_t n_out = 0, cap_out = 0;
    ta_rng rng;
    ta_rng_seed(&rng, seed ^ 0x6d69785f6d697821ull);
    int rc = TA_OK;
    if (!bufs) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t s = 0; s < n && !rc; s++) {
        size_t len;
        char **lines = NULL;
        size_t nl = 0;
        if ((rc = ta_file_read_all(src[s].path, (size_t)1 << 34, &bufs[s], &len, err))) break;
        if ((rc = split_lines(bufs[s], len, src[s].path, &lines, &nl, err))) break;
        src[s].lines = nl;
        size_t take = src[s].take < 0 ? nl : (size_t)src[s].take;
        if (take > nl) {
            rc = ta_error_set(err, TA_EINVAL, "%s: asked for %zu lines, the file has %zu", src[s].path, take, nl);
            free(lines);
            break;
        }
        /* partial Fisher-Yates: the first `take` entries become a uniform sample */
        for (size_t i = 0; i < take && take < nl; i++) {
            size_t j = i + (size_t)ta_rng_below(&rng, nl - i);
            char *t = lines[i];
            lines[i] = lines[j];
            lines[j] = t;
        }
        if (n_out + take > cap_out) {
            size_t nc = (n_out + take) * 2 + 16;
            char **no = realloc(out, nc * sizeof *no);
            if (!no) {
                free(lines);
                rc = ta_error_set(err, TA_ENOMEM, "out of memory");
                break;
            }
            out = no;
            cap_out = nc;
        }
        memcpy(out + n_out, lines, take * sizeof *lines);
        n_out += take;
        free(lines);
    }
    if (!rc) {
        for (size_t i = n_out; i > 1; i--) {
            size_t j = (size_t)ta_rng_below(&rng, i);
            char *t = out[i - 1];
            out[i - 1] = out[j];
            out[j] = t;
        }
        ta_atomic_file af;
        rc = ta_atomic_open(&af, out_path, err);
        for (size_t i = 0; i < n_out && !rc; i++)
            if (!(rc = ta_atomic_write(&af, out[i], strlen(out[i]), err))) rc = ta_atomic_write(&af, "\n", 1, err);
        if (!rc) rc = ta_atomic_commit(&af, err);
        else if (af.fp) ta_atomic_abort(&af);
        if (!rc) *total = n_out;
    }
    free(out);
    for (size_t s = 0; s < n; s++) free(bufs[s]);
    free(bufs);
    return rc;
}
