/*
 * strtab.c: the string table of strtab.h: asks are collected, sorted by string, and each
 * run of equal strings gets the next number.
 */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

#include "gargalo.h"

void gg_strtab_init(gg_strtab *t)
{
    memset(t, 0, sizeof(*t));
}

void gg_strtab_ask(gg_strtab *t, const char *s, uint32_t *slot)
{
    if (t->err)
        return;
    if (t->nasks == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        gg_strtab_entry *p = realloc(t->asks, cap * sizeof(*p));
        if (!p) {
            t->err = GARGALO_ENOMEM;
            return;
        }
        t->asks = p, t->cap = cap;
    }
    t->asks[t->nasks++] = (gg_strtab_entry){s ? s : "", slot};
}

static int ask_cmp(const void *a, const void *b)
{
    return strcmp(((const gg_strtab_entry *)a)->s, ((const gg_strtab_entry *)b)->s);
}

int gg_strtab_number(gg_strtab *t)
{
    uint32_t empty;
    gg_strtab_ask(t, "", &empty); /* so that "" is there, and sorts first */
    if (t->err)
        return t->err;
    qsort(t->asks, t->nasks, sizeof(*t->asks), ask_cmp);
    t->strings = malloc(t->nasks * sizeof(*t->strings));
    if (!t->strings)
        return t->err = GARGALO_ENOMEM;
    t->nstrings = 0;
    for (size_t i = 0; i < t->nasks; i++) {
        if (i == 0 || strcmp(t->asks[i].s, t->asks[i - 1].s) != 0)
            t->strings[t->nstrings++] = t->asks[i].s;
        *t->asks[i].slot = (uint32_t)(t->nstrings - 1);
    }
    return 0;
}

void gg_strtab_free(gg_strtab *t)
{
    free(t->asks);
    free(t->strings);
    memset(t, 0, sizeof(*t));
}
