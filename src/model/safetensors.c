/* safetensors.c: the safetensors reader (over a buffer or a mapping) and the
 * streaming writer. See safetensors.h for the format and the checks. */
#include "model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the format is little-endian)"
#endif

static const struct {
    const char *name;
    size_t size;
} DTYPES[TA_ST_NDTYPES] = {
    [TA_ST_F32] = {"F32", 4},   [TA_ST_BF16] = {"BF16", 2}, [TA_ST_F16] = {"F16", 2},
    [TA_ST_F64] = {"F64", 8},   [TA_ST_I64] = {"I64", 8},   [TA_ST_I32] = {"I32", 4},
    [TA_ST_I16] = {"I16", 2},   [TA_ST_I8] = {"I8", 1},     [TA_ST_U64] = {"U64", 8},
    [TA_ST_U32] = {"U32", 4},   [TA_ST_U16] = {"U16", 2},   [TA_ST_U8] = {"U8", 1},
    [TA_ST_BOOL] = {"BOOL", 1}, [TA_ST_F8_E4M3] = {"F8_E4M3", 1}, [TA_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *ta_st_dtype_name(ta_st_dtype d) { return (unsigned)d < TA_ST_NDTYPES ? DTYPES[d].name : "?"; }
size_t ta_st_dtype_size(ta_st_dtype d) { return (unsigned)d < TA_ST_NDTYPES ? DTYPES[d].size : 0; }

/* ---- scalar conversions ------------------------------------------------ */

float ta_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Matches PyTorch's c10::BFloat16 round_to_nearest_even: add 0x7FFF plus the
 * lowest kept bit, truncate; NaN becomes the quiet NaN 0x7FC0 (sign kept). */
uint16_t ta_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)(((u >> 16) & 0x8000u) | 0x7FC0u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* IEEE binary16 -> binary32, exact for every input (subnormals, Inf, NaN). */
float ta_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, u;
    if (exp == 0x1F) {
        u = sign | 0x7F800000u | (mant << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        u = sign;
    } else { /* subnormal: mant * 2^-24 */
        float f = (float)mant * (1.0f / 16777216.0f);
        memcpy(&u, &f, 4);
        u |= sign;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- reader ------------------------------------------------------------- */

static int parse_dtype(const char *s, ta_st_dtype *out) {
    for (int i = 0; i < TA_ST_NDTYPES; i++)
        if (!strcmp(DTYPES[i].name, s)) {
            *out = (ta_st_dtype)i;
            return 0;
        }
    return -1;
}

static int get_u64(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Fills t from one header entry and checks its range against the data
 * section of data_size bytes; *begin gets the byte offset for the overlap
 * check. */
static int parse_tensor(ta_st_tensor *t, const char *name, const json_t *info, size_t data_size, size_t *begin,
                        const char *what, ta_error *err) {
    if (!json_is_object(info)) return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': header entry must be an object", what, name);
    memset(t, 0, sizeof *t);
    t->name = name;
    json_t *dt = json_object_get(info, "dtype");
    if (!json_is_string(dt)) return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': \"dtype\" must be a string", what, name);
    if (parse_dtype(json_string_value(dt), &t->dtype))
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: tensor '%.200s' has unknown dtype \"%.32s\"", what, name, json_string_value(dt));
    json_t *shape = json_object_get(info, "shape");
    if (!json_is_array(shape)) return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': \"shape\" must be a list of integers", what, name);
    if (json_array_size(shape) > TA_ST_MAX_DIMS)
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: tensor '%.200s' has %zu dimensions (at most %d supported)", what, name,
                            json_array_size(shape), TA_ST_MAX_DIMS);
    t->ndim = json_array_size(shape);
    size_t numel = 1;
    for (size_t i = 0; i < t->ndim; i++) {
        uint64_t d;
        if (get_u64(json_array_get(shape, i), &d))
            return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': shape[%zu] must be a non-negative integer", what, name, i);
        if (d > data_size || (d && numel > SIZE_MAX / d))
            return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': shape[%zu] (%llu) is larger than the file", what, name, i,
                                (unsigned long long)d);
        t->shape[i] = (size_t)d;
        numel *= (size_t)d;
    }
    size_t esz = DTYPES[t->dtype].size;
    if (numel > SIZE_MAX / esz) return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': shape is too large", what, name);
    t->numel = numel;
    t->nbytes = numel * esz;
    json_t *offs = json_object_get(info, "data_offsets");
    uint64_t b, e;
    if (!json_is_array(offs) || json_array_size(offs) != 2 || get_u64(json_array_get(offs, 0), &b) || get_u64(json_array_get(offs, 1), &e))
        return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': \"data_offsets\" must be [begin, end] with non-negative integers", what, name);
    if (e < b) return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': data_offsets [%llu, %llu] end before they begin", what, name,
                                   (unsigned long long)b, (unsigned long long)e);
    if (e > data_size)
        return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': data_offsets [%llu, %llu] lie beyond the data section (%zu bytes): file truncated?",
                            what, name, (unsigned long long)b, (unsigned long long)e, data_size);
    if (e - b != t->nbytes)
        return ta_error_set(err, TA_EFORMAT, "%s: tensor '%.200s': data_offsets span %llu bytes, but %s shape needs %zu", what, name,
                            (unsigned long long)(e - b), DTYPES[t->dtype].name, t->nbytes);
    *begin = (size_t)b;
    return TA_OK;
}

typedef struct {
    size_t begin, end, idx;
} range;

static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

int ta_safetensors_parse(ta_safetensors *st, const uint8_t *buf, size_t size, const char *what, ta_error *err) {
    ta_safetensors s;
    memset(&s, 0, sizeof s);
    memset(st, 0, sizeof *st);
    snprintf(s.what, sizeof s.what, "%s", what);
    range *ranges = NULL;
    int rc = TA_OK;
    if (size < 8) return ta_error_set(err, TA_EFORMAT, "%s: file is too short (%zu bytes) to hold a safetensors header", what, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
    if (n > TA_ST_MAX_HEADER)
        return ta_error_set(err, TA_EFORMAT, "%s: header size %llu exceeds the limit of %zu bytes: not a safetensors file?", what,
                            (unsigned long long)n, TA_ST_MAX_HEADER);
    if (n > size - 8)
        return ta_error_set(err, TA_EFORMAT, "%s: header size %llu exceeds the file size (%zu bytes): file truncated?", what,
                            (unsigned long long)n, size);
    if (n < 2 || buf[8] != '{') return ta_error_set(err, TA_EFORMAT, "%s: header does not start with '{': not a safetensors file?", what);
    json_error_t je;
    s.header = json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!s.header) return ta_error_set(err, TA_EFORMAT, "%s: header is not valid JSON: %s (at byte %d)", what, je.text, je.position);
    if (!json_is_object(s.header)) {
        rc = ta_error_set(err, TA_EFORMAT, "%s: header must be a JSON object", what);
        goto fail;
    }
    size_t data_size = size - 8 - (size_t)n;
    const uint8_t *data = buf + 8 + n;
    size_t cap = json_object_size(s.header);
    s.tensors = calloc(cap ? cap : 1, sizeof *s.tensors);
    ranges = calloc(cap ? cap : 1, sizeof *ranges);
    if (!s.tensors || !ranges) {
        rc = ta_error_set(err, TA_ENOMEM, "%s: out of memory reading the header", what);
        goto fail;
    }
    const char *key;
    json_t *val;
    json_object_foreach(s.header, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                rc = ta_error_set(err, TA_EFORMAT, "%s: __metadata__ must be an object of strings", what);
                goto fail;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = ta_error_set(err, TA_EFORMAT, "%s: __metadata__ value '%.100s' must be a string", what, mk);
                    goto fail;
                }
            }
            s.metadata = val;
            continue;
        }
        ta_st_tensor *t = &s.tensors[s.n_tensors];
        size_t begin = 0;
        if ((rc = parse_tensor(t, key, val, data_size, &begin, what, err))) goto fail;
        t->data = data + begin;
        ranges[s.n_tensors] = (range){begin, begin + t->nbytes, s.n_tensors};
        s.n_tensors++;
    }
    qsort(ranges, s.n_tensors, sizeof *ranges, cmp_range);
    for (size_t i = 1; i < s.n_tensors; i++)
        if (ranges[i].begin < ranges[i - 1].end) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: tensors '%.200s' and '%.200s' overlap (bytes %zu-%zu and %zu-%zu)", what,
                              s.tensors[ranges[i - 1].idx].name, s.tensors[ranges[i].idx].name, ranges[i - 1].begin,
                              ranges[i - 1].end, ranges[i].begin, ranges[i].end);
            goto fail;
        }
    free(ranges);
    s.buf = buf;
    s.size = size;
    *st = s;
    return TA_OK;
fail:
    free(ranges);
    free(s.tensors);
    json_decref(s.header);
    return rc;
}

int ta_safetensors_open(ta_safetensors *st, const char *path, ta_error *err) {
    ta_mapped m;
    memset(st, 0, sizeof *st);
    int rc = ta_mapped_open(&m, path, err);
    if (rc) return rc;
    static const uint8_t empty[1];
    rc = ta_safetensors_parse(st, m.data ? m.data : empty, m.size, path, err);
    if (rc) {
        ta_mapped_release(&m);
        return rc;
    }
    st->map = m;
    return TA_OK;
}

void ta_safetensors_release(ta_safetensors *st) {
    if (!st) return;
    free(st->tensors);
    json_decref(st->header);
    ta_mapped_release(&st->map);
    memset(st, 0, sizeof *st);
}

const ta_st_tensor *ta_safetensors_find(const ta_safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

int ta_safetensors_read_f32(const ta_safetensors *st, const ta_st_tensor *t, float *out, ta_error *err) {
    const uint8_t *p = t->data;
    size_t n = t->numel;
    switch (t->dtype) {
    case TA_ST_F32:
        memcpy(out, p, n * 4);
        return TA_OK;
    case TA_ST_BF16:
        for (size_t i = 0; i < n; i++) out[i] = ta_bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        return TA_OK;
    case TA_ST_F16:
        for (size_t i = 0; i < n; i++) out[i] = ta_f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        return TA_OK;
    default:
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: tensor '%.200s' has dtype %s; taskalign reads F32, BF16 and F16", st->what,
                            t->name, ta_st_dtype_name(t->dtype));
    }
}

/* ---- writer ------------------------------------------------------------- */

static size_t entry_numel(const ta_st_entry *e) {
    size_t n = 1;
    for (size_t i = 0; i < e->ndim; i++) n *= e->shape[i];
    return n;
}

static int build_header(const ta_st_entry *entries, size_t n, ta_dtype dtype, char **out, size_t *out_len, const char *path,
                        ta_error *err) {
    size_t esz = dtype == TA_DTYPE_F32 ? 4 : 2;
    const char *dname = dtype == TA_DTYPE_F32 ? "F32" : "BF16";
    json_t *root = json_object(), *meta = json_object();
    if (!root || !meta) goto oom;
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(root, "__metadata__", meta);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const ta_st_entry *e = &entries[i];
        if (e->ndim > TA_ST_MAX_DIMS) {
            json_decref(root);
            return ta_error_set(err, TA_EINVAL, "%s: tensor '%.200s' has too many dimensions", path, e->name);
        }
        if (!strcmp(e->name, "__metadata__") || json_object_get(root, e->name)) {
            json_decref(root);
            return ta_error_set(err, TA_EINVAL, "%s: tensor name '%.200s' is reserved or repeated", path, e->name);
        }
        json_t *info = json_object(), *shape = json_array(), *offs = json_array();
        if (!info || !shape || !offs) {
            json_decref(info);
            json_decref(shape);
            json_decref(offs);
            goto oom;
        }
        for (size_t d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer((json_int_t)e->shape[d]));
        size_t nb = entry_numel(e) * esz;
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + nb)));
        off += nb;
        json_object_set_new(info, "dtype", json_string(dname));
        json_object_set_new(info, "shape", shape);
        json_object_set_new(info, "data_offsets", offs);
        if (json_object_set_new(root, e->name, info)) goto oom;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    root = NULL;
    if (!text) goto oom;
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    char *p = realloc(text, padded + 1);
    if (!p) {
        free(text);
        goto oom;
    }
    memset(p + len, ' ', padded - len);
    p[padded] = '\0';
    *out = p;
    *out_len = padded;
    return TA_OK;
oom:
    json_decref(root);
    return ta_error_set(err, TA_ENOMEM, "%s: out of memory building the header", path);
}

int ta_safetensors_write(const char *path, const ta_st_entry *entries, size_t n, ta_dtype dtype, ta_error *err) {
    if (dtype != TA_DTYPE_F32 && dtype != TA_DTYPE_BF16)
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: taskalign writes F32 or BF16 safetensors", path);
    char *header = NULL;
    size_t hlen = 0;
    int rc = build_header(entries, n, dtype, &header, &hlen, path, err);
    if (rc) return rc;
    ta_atomic_file af;
    if ((rc = ta_atomic_open(&af, path, err))) {
        free(header);
        return rc;
    }
    uint8_t lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    rc = ta_atomic_write(&af, lenbuf, 8, err);
    if (!rc) rc = ta_atomic_write(&af, header, hlen, err);
    free(header);
    enum { CHUNK = 16384 };
    uint16_t tmp[CHUNK];
    for (size_t i = 0; i < n && !rc; i++) {
        size_t numel = entry_numel(&entries[i]);
        const float *src = entries[i].data;
        if (dtype == TA_DTYPE_F32) {
            rc = ta_atomic_write(&af, src, numel * sizeof(float), err);
            continue;
        }
        for (size_t j = 0; j < numel && !rc; j += CHUNK) {
            size_t m = numel - j < CHUNK ? numel - j : CHUNK;
            for (size_t k = 0; k < m; k++) tmp[k] = ta_f32_to_bf16(src[j + k]);
            rc = ta_atomic_write(&af, tmp, m * 2, err);
        }
    }
    if (rc) {
        ta_atomic_abort(&af);
        return rc;
    }
    return ta_atomic_commit(&af, err);
}
