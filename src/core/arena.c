#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ta_arena_block {
    ta_arena_block *next;
    size_t cap, used;
    _Alignas(64) unsigned char data[];
};

void ta_arena_init(ta_arena *a, size_t block_size) {
    a->head = NULL;
    a->block_size = block_size ? block_size : (1u << 20);
    a->used_total = 0;
}

void *ta_arena_alloc(ta_arena *a, size_t size) {
    size = (size + 63) & ~(size_t)63;
    if (size == 0) size = 64;
    ta_arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > a->block_size ? size : a->block_size;
        if (cap > SIZE_MAX - sizeof(ta_arena_block)) return NULL;
        ta_arena_block *nb = aligned_alloc(64, ((sizeof(ta_arena_block) + cap) + 63) & ~(size_t)63);
        if (!nb) return NULL;
        nb->cap = cap;
        nb->used = 0;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used_total += size;
    return p;
}

void *ta_arena_calloc(ta_arena *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = ta_arena_alloc(a, n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

char *ta_arena_strndup(ta_arena *a, const char *s, size_t n) {
    char *p = ta_arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ta_arena_strdup(ta_arena *a, const char *s) { return ta_arena_strndup(a, s, strlen(s)); }

void ta_arena_reset(ta_arena *a) {
    ta_arena_block *b = a->head;
    if (!b) return;
    /* keep the oldest block (the last in the chain), free the rest */
    while (b->next) {
        ta_arena_block *n = b->next;
        free(b);
        b = n;
    }
    b->used = 0;
    a->head = b;
    a->used_total = 0;
}

void ta_arena_release(ta_arena *a) {
    ta_arena_block *b = a->head;
    while (b) {
        ta_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used_total = 0;
}
