/* sha256.h: SHA-256 (FIPS 180-4), for content hashes recorded in reports and
 * manifests (suite files, datasets). */
#ifndef TA_CORE_SHA256_H
#define TA_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ta_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} ta_sha256;

void ta_sha256_init(ta_sha256 *s);
void ta_sha256_update(ta_sha256 *s, const void *data, size_t n);
/* Writes 65 bytes: 64 lowercase hex digits and a NUL. */
void ta_sha256_final_hex(ta_sha256 *s, char hex[65]);
/* Hashes a whole file. */
int ta_sha256_file(const char *path, char hex[65], ta_error *err);

#endif
