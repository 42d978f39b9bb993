/*
 * arena.c: a chain of blocks that strings are carved from, with an index so each distinct
 * string is stored once (arena.h).
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "gargalo.h"
#include "grow.h"

#define GG_ARENA_BLOCK 16384u

struct gg_arena_block {
    gg_arena_block *next;
    size_t used, size;
    char data[];
};

/* n bytes from the newest block, or from a new one (a string longer than a block gets a
 * block of its own). */
static char *arena_alloc(gg_arena *a, size_t n)
{
    gg_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > GG_ARENA_BLOCK ? n : GG_ARENA_BLOCK;
        if (!(b = malloc(sizeof(*b) + size)))
            return NULL;
        *b = (gg_arena_block){a->head, 0, size};
        a->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

static bool same_string(const void *ctx, uint32_t value, const void *key)
{
    const gg_arena *a = ctx;
    return strcmp(a->strings[value], key) == 0;
}

int gg_arena_intern(gg_arena *a, const char *s, const char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    uint64_t h = gg_hash_str(GG_HASH_SEED, s);
    uint32_t found = gg_index_get(&a->index, h, same_string, a, s);
    if (found != GG_INDEX_NONE) {
        *out = a->strings[found];
        return 0;
    }
    size_t n = strlen(s) + 1;
    char *copy = a->nstrings < GG_INDEX_NONE ? arena_alloc(a, n) : NULL;
    if (!copy || GG_GROW(&a->strings, &a->strings_cap, a->nstrings + 1) ||
        gg_index_put(&a->index, h, (uint32_t)a->nstrings))
        return GARGALO_ENOMEM;
    memcpy(copy, s, n);
    a->strings[a->nstrings++] = copy;
    *out = copy;
    return 0;
}

void gg_arena_free(gg_arena *a)
{
    while (a->head) {
        gg_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    free(a->strings);
    gg_index_free(&a->index);
    memset(a, 0, sizeof(*a));
}
