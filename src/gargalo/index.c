/*
 * index.c: open addressing with linear probing, grown to stay under 3/4 full (index.h).
 */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "gargalo.h"

uint32_t gg_index_get(const gg_index *ix, uint64_t hash, gg_index_eq eq, const void *ctx,
                      const void *key)
{
    if (!ix->cap)
        return GG_INDEX_NONE;
    size_t mask = ix->cap - 1;
    for (size_t i = hash & mask; ix->slots[i].value != GG_INDEX_NONE; i = (i + 1) & mask) {
        const gg_index_slot *sl = &ix->slots[i];
        if (sl->hash == hash && eq(ctx, sl->value, key))
            return sl->value;
    }
    return GG_INDEX_NONE;
}

static void place(gg_index_slot *slots, size_t cap, uint64_t hash, uint32_t value)
{
    size_t i = hash & (cap - 1);
    while (slots[i].value != GG_INDEX_NONE)
        i = (i + 1) & (cap - 1);
    slots[i] = (gg_index_slot){hash, value};
}

static int resize(gg_index *ix, size_t cap)
{
    if (cap > SIZE_MAX / sizeof(gg_index_slot))
        return GARGALO_ENOMEM;
    gg_index_slot *slots = malloc(cap * sizeof(*slots));
    if (!slots)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        slots[i].value = GG_INDEX_NONE;
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i].value != GG_INDEX_NONE)
            place(slots, cap, ix->slots[i].hash, ix->slots[i].value);
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

int gg_index_put(gg_index *ix, uint64_t hash, uint32_t value)
{
    if ((ix->used + 1) * 4 > ix->cap * 3) {
        int rc = resize(ix, ix->cap ? ix->cap * 2 : 64);
        if (rc)
            return rc;
    }
    place(ix->slots, ix->cap, hash, value);
    ix->used++;
    return 0;
}

void gg_index_free(gg_index *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof(*ix));
}

uint64_t gg_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211u;
    return h;
}

uint64_t gg_hash_str(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (h ^ 0xff) * 1099511628211u; /* ends every string, so "ab"+"c" != "a"+"bc" */
}

uint64_t gg_hash_u64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}
