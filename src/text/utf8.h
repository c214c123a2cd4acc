/* utf8.h: UTF-8 validation and WHATWG-style repair, shared by the tokenizer
 * (input text, decoded bytes) and anything else that must turn arbitrary bytes
 * into valid UTF-8 the way browsers and Node do (TextDecoder, fatal: false):
 * every maximal invalid subpart becomes one U+FFFD. */
#ifndef TA_TEXT_UTF8_H
#define TA_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 prefix of s (== n when all of s is valid). */
size_t ta_utf8_valid_prefix(const uint8_t *s, size_t n);

/* Length of the next maximal subpart at s[0..n): on return *valid says
 * whether it is one whole valid character (1) or an invalid subpart that
 * stands for one U+FFFD (0); *incomplete is 1 when an invalid subpart ends
 * only because the input ended (more bytes could still complete it). n > 0. */
size_t ta_utf8_next(const uint8_t *s, size_t n, int *valid, int *incomplete);

/* Repairs s into out (capacity >= 3 * n bytes): valid characters are copied,
 * each invalid subpart becomes EF BF BD. If final == 0, a trailing incomplete
 * sequence is not converted: *consumed says how many input bytes were used
 * (the rest must be fed again with more bytes). Returns bytes written. When
 * align is non-NULL it gets, per output byte, the pair [start, end) of the
 * input bytes it came from, plus `base`. */
size_t ta_utf8_repair(const uint8_t *s, size_t n, int final, uint8_t *out, size_t *consumed, int32_t *align,
                      int32_t base);

/* Decodes one code point at s (valid UTF-8 assumed, n > 0); *len gets its length. */
uint32_t ta_utf8_decode(const uint8_t *s, size_t n, size_t *len);
/* Encodes cp into out (4 bytes room); returns the length. */
size_t ta_utf8_encode(uint32_t cp, uint8_t *out);

#endif
