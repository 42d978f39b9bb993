/*
 * grow.h: the one way gargalo grows an array: capacity doubling, checked for overflow.
 */
#ifndef GG_GROW_H
#define GG_GROW_H

#include <stddef.h>

/* Makes *arr (of *cap elements of elem bytes, realloc'd memory or NULL) hold at least need
 * elements, doubling from a first capacity of 16. Returns 0, or GARGALO_ENOMEM (the array
 * is then untouched) when memory runs out or the size would overflow. */
int gg_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* The same for a typed array pointer: GG_GROW(&v, &cap, n + 1). */
#define GG_GROW(arr, cap, need) gg_grow((void **)(arr), (cap), (need), sizeof(**(arr)))

#endif
