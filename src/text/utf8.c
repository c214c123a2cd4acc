/* utf8.c: see utf8.h. The subpart rules are the WHATWG Encoding Standard's
 * UTF-8 decoder (the same as Unicode's "maximal subpart" practice, which Rust's
 * from_utf8_lossy also follows). */
#include "text/utf8.h"

#include <string.h>

size_t ta_utf8_next(const uint8_t *s, size_t n, int *valid, int *incomplete) {
    uint8_t b = s[0];
    *incomplete = 0;
    if (b < 0x80) {
        *valid = 1;
        return 1;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        *valid = 0;
        return 1;
    }
    size_t i = 1;
    for (; i <= need; i++) {
        if (i >= n) {
            *valid = 0;
            *incomplete = 1;
            return i;
        }
        uint8_t c = s[i];
        if (c < lo || c > hi) {
            *valid = 0;
            return i;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *valid = 1;
    return i;
}

size_t ta_utf8_valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (v & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int valid, inc;
        size_t k = ta_utf8_next(s + i, n - i, &valid, &inc);
        if (!valid) return i;
        i += k;
    }
    return n;
}

size_t ta_utf8_repair(const uint8_t *s, size_t n, int final, uint8_t *out, size_t *consumed, int32_t *align,
                      int32_t base) {
    size_t i = 0, o = 0;
    while (i < n) {
        int valid, inc;
        size_t k = ta_utf8_next(s + i, n - i, &valid, &inc);
        if (!valid && inc && !final) break;
        if (valid) {
            memcpy(out + o, s + i, k);
            if (align)
                for (size_t j = 0; j < k; j++) {
                    align[2 * (o + j)] = base + (int32_t)i;
                    align[2 * (o + j) + 1] = base + (int32_t)(i + k);
                }
            o += k;
        } else {
            out[o] = 0xEF, out[o + 1] = 0xBF, out[o + 2] = 0xBD;
            if (align)
                for (size_t j = 0; j < 3; j++) {
                    align[2 * (o + j)] = base + (int32_t)i;
                    align[2 * (o + j) + 1] = base + (int32_t)(i + k);
                }
            o += 3;
        }
        i += k;
    }
    if (consumed) *consumed = i;
    return o;
}

uint32_t ta_utf8_decode(const uint8_t *s, size_t n, size_t *len) {
    uint8_t b = s[0];
    if (b < 0x80 || n < 2) {
        *len = 1;
        return b;
    }
    if (b < 0xE0) {
        *len = 2;
        return ((uint32_t)(b & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (b < 0xF0 || n < 4) {
        *len = 3;
        return ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
           (s[3] & 0x3F);
}

size_t ta_utf8_encode(uint32_t cp, uint8_t *out) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
