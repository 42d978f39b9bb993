/*
 * arena.h: strings that live and die together. A session keeps the names of its frames
 * (functions, files, modules) in one arena, each distinct string once, so frames hold
 * borrowed `const char *` and the whole lot is freed in one step.
 */
#ifndef GG_ARENA_H
#define GG_ARENA_H

#include <stddef.h>

#include "index.h"

typedef struct gg_arena_block gg_arena_block;

typedef struct gg_arena {
    gg_arena_block *head; /* newest block first */
    char **strings;       /* every interned string, in order: what the index points into */
    size_t nstrings, strings_cap;
    gg_index index; /* distinct strings -> their position in strings */
} gg_arena;

/* An empty arena is all zeros. */
#define GG_ARENA_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

/* The arena's copy of s: the same pointer for equal strings, valid until gg_arena_free.
 * NULL stays NULL. Returns 0 with *out set, or GARGALO_ENOMEM. */
int gg_arena_intern(gg_arena *a, const char *s, const char **out);
/* Frees every string of the arena at once; it is empty and usable again. */
void gg_arena_free(gg_arena *a);

#endif
