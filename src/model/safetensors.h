/* safetensors.h: reading and writing the safetensors format.
 *
 * File layout (https://github.com/huggingface/safetensors):
 *   u64 LE N | N bytes of JSON header | data section
 * The header maps tensor names to {"dtype", "shape", "data_offsets": [begin,
 * end]} (byte offsets relative to the data section) plus an optional
 * "__metadata__" object of string values.
 *
 * The reader works over a caller-provided buffer (ta_safetensors_parse, used
 * by the fuzz target) or a read-only mapping of a file (ta_safetensors_open).
 * Every length is checked before use: N is capped (TA_ST_MAX_HEADER and the
 * file size), each tensor's byte range must lie inside the data section, match
 * shape x element size exactly, and not overlap another tensor. Gaps between
 * tensors are tolerated (the reference rejects them; nothing we read depends
 * on contiguity). Parsing a header never touches tensor bytes.
 *
 * Reading converts F32, BF16 and F16 to F32; other dtypes (I64, F64, ...)
 * are parsed and listed but ta_safetensors_read_f32 refuses them, naming the
 * tensor and dtype. Writing supports F32 and BF16 (round to nearest even). */
#ifndef TA_MODEL_SAFETENSORS_H
#define TA_MODEL_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/file.h"
#include "model/model.h"

#define TA_ST_MAX_HEADER ((size_t)100000000) /* the reference's limit: 100 MB */
#define TA_ST_MAX_DIMS 8

/* Element types a header may name. Only F32/BF16/F16 convert to F32. */
typedef enum {
    TA_ST_F32 = 0,
    TA_ST_BF16,
    TA_ST_F16,
    TA_ST_F64,
    TA_ST_I64,
    TA_ST_I32,
    TA_ST_I16,
    TA_ST_I8,
    TA_ST_U64,
    TA_ST_U32,
    TA_ST_U16,
    TA_ST_U8,
    TA_ST_BOOL,
    TA_ST_F8_E4M3,
    TA_ST_F8_E5M2,
    TA_ST_NDTYPES
} ta_st_dtype;

typedef struct ta_st_tensor {
    const char *name;          /* points into the parsed header (lives with the file) */
    ta_st_dtype dtype;
    size_t ndim;
    size_t shape[TA_ST_MAX_DIMS];
    size_t numel;              /* product of shape (1 for a scalar) */
    size_t nbytes;             /* numel * element size */
    const uint8_t *data;       /* nbytes bytes inside the buffer; maybe unaligned */
} ta_st_tensor;

typedef struct ta_safetensors {
    char what[1024];           /* file name used in messages */
    ta_mapped map;             /* owned when opened from a path */
    const uint8_t *buf;        /* whole file (not owned by parse) */
    size_t size;
    json_t *header;            /* parsed header (owned) */
    json_t *metadata;          /* "__metadata__" object or NULL (borrowed from header) */
    ta_st_tensor *tensors;     /* (n_tensors), in header order; owned */
    size_t n_tensors;
} ta_safetensors;

/* Parses a safetensors file held in buf[0..size). buf must outlive st.
 * `what` names the file in messages. On failure st is left zeroed. */
int ta_safetensors_parse(ta_safetensors *st, const uint8_t *buf, size_t size, const char *what, ta_error *err);
/* Maps `path` read-only and parses it; messages name the path. */
int ta_safetensors_open(ta_safetensors *st, const char *path, ta_error *err);
void ta_safetensors_release(ta_safetensors *st);
/* Looks a tensor up by name; NULL if absent. */
const ta_st_tensor *ta_safetensors_find(const ta_safetensors *st, const char *name);
/* Converts t's data to F32 into out (t->numel floats). Fails for dtypes other
 * than F32/BF16/F16: "<file>: tensor 'x' has dtype I64; taskalign reads ...". */
int ta_safetensors_read_f32(const ta_safetensors *st, const ta_st_tensor *t, float *out, ta_error *err);

/* "F32", "BF16", ... */
const char *ta_st_dtype_name(ta_st_dtype d);
size_t ta_st_dtype_size(ta_st_dtype d);

/* Scalar conversions (exposed for tests and the fuzz target). */
float ta_bf16_to_f32(uint16_t h);
uint16_t ta_f32_to_bf16(float f); /* round to nearest even; NaN stays a quiet NaN */
float ta_f16_to_f32(uint16_t h);

/* One tensor to write: F32 values in row-major order. */
typedef struct ta_st_entry {
    const char *name;
    const float *data;         /* numel floats */
    size_t ndim;
    size_t shape[TA_ST_MAX_DIMS];
} ta_st_entry;

/* Writes entries[0..n) to path atomically, in the given order, as F32 or BF16
 * (TA_DTYPE_F32 / TA_DTYPE_BF16), with __metadata__ {"format": "pt"}. The
 * header is padded with spaces to a multiple of 8 bytes as the reference does.
 * The same input always gives the same bytes. */
int ta_safetensors_write(const char *path, const ta_st_entry *entries, size_t n, ta_dtype dtype, ta_error *err);

#endif
