/*
 * strtab.h: a table of distinct strings numbered from 0, built in one go, as pprof's
 * string_table wants it (entry 0 is ""). Callers ask for the number of each string they
 * will write, naming where that number should go; gg_strtab_number then sorts every
 * request once, numbers the distinct strings and fills in the numbers. No hashing.
 */
#ifndef GG_STRTAB_H
#define GG_STRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct gg_strtab_entry {
    const char *s;
    uint32_t *slot;
} gg_strtab_entry;

typedef struct gg_strtab {
    gg_strtab_entry *asks;
    size_t nasks, cap;
    const char **strings; /* once numbered: the distinct strings, strings[0] is "" */
    size_t nstrings;
    int err; /* GARGALO_ENOMEM once an ask could not be recorded */
} gg_strtab;

void gg_strtab_init(gg_strtab *t);
/* Asks for the number of s (NULL counts as "") to be written to *slot by
 * gg_strtab_number. Both must stay valid until then. Errors are kept in t->err. */
void gg_strtab_ask(gg_strtab *t, const char *s, uint32_t *slot);
/* Numbers the distinct strings ("" first, then in byte order) and writes every asked
 * number. Returns 0 or GARGALO_ENOMEM. */
int gg_strtab_number(gg_strtab *t);
void gg_strtab_free(gg_strtab *t);

#endif
