/* arena.h: a bump allocator for per-request / per-step scratch.
 * Memory is released all at once (ta_arena_reset or ta_arena_release).
 * Blocks are chained; a request larger than the block size gets its own block. */
#ifndef TA_CORE_ARENA_H
#define TA_CORE_ARENA_H

#include <stddef.h>

typedef struct ta_arena_block ta_arena_block;

typedef struct ta_arena {
    ta_arena_block *head;
    size_t block_size;
    size_t used_total; /* bytes handed out since the last reset */
} ta_arena;

void ta_arena_init(ta_arena *a, size_t block_size);
/* 64-byte aligned (good for SIMD); NULL on out of memory. */
void *ta_arena_alloc(ta_arena *a, size_t size);
void *ta_arena_calloc(ta_arena *a, size_t n, size_t size);
char *ta_arena_strdup(ta_arena *a, const char *s);
char *ta_arena_strndup(ta_arena *a, const char *s, size_t n);
void ta_arena_reset(ta_arena *a);   /* keeps the first block */
void ta_arena_release(ta_arena *a); /* frees everything */

#endif
