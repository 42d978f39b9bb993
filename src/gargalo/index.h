/*
 * index.h: the one hash index of gargalo: open addressing from a 64-bit hash to a 32-bit
 * value, usually an index into an array the caller owns. The caller gives the hash and,
 * at lookup, the equality test; the index keeps each entry's hash so it can grow alone.
 * Used to deduplicate frames, stacks and strings, and to memoize addresses.
 */
#ifndef GG_INDEX_H
#define GG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GG_INDEX_NONE UINT32_MAX

typedef struct gg_index_slot {
    uint64_t hash;
    uint32_t value; /* GG_INDEX_NONE: empty */
} gg_index_slot;

typedef struct gg_index {
    gg_index_slot *slots;
    size_t cap; /* a power of two, or 0 before the first insertion */
    size_t used;
} gg_index;

/* Whether the entry holding value is the one the caller looks for (key is the caller's). */
typedef bool (*gg_index_eq)(const void *ctx, uint32_t value, const void *key);

/* The value of the entry with this hash for which eq(ctx, value, key) holds, or
 * GG_INDEX_NONE. */
uint32_t gg_index_get(const gg_index *ix, uint64_t hash, gg_index_eq eq, const void *ctx,
                      const void *key);
/* Adds an entry (the caller knows it is absent). Returns 0 or GARGALO_ENOMEM. */
int gg_index_put(gg_index *ix, uint64_t hash, uint32_t value);
/* Frees the slots; the index is empty and usable again. */
void gg_index_free(gg_index *ix);

/* Hashes: FNV-1a over bytes or a C string (NULL hashes like ""), continuing from h;
 * start with GG_HASH_SEED. gg_hash_u64 mixes one integer (splitmix64's finaliser), so
 * that every bit reaches the low bits an index uses. */
#define GG_HASH_SEED 1469598103934665603u
uint64_t gg_hash_bytes(uint64_t h, const void *p, size_t n);
uint64_t gg_hash_str(uint64_t h, const char *s);
uint64_t gg_hash_u64(uint64_t x);

#endif
