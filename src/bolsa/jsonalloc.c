/*
 * jsonalloc.c: the allocator bolsa gives jansson: malloc and free, and a per-thread mark
 * of a failed allocation (jsonalloc.h says why).
 */
#include "jsonalloc.h"

#include <jansson.h>
#include <stdlib.h>

static __thread int bolsa_jsonalloc_nomem;

static void *bolsa_jsonalloc_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        bolsa_jsonalloc_nomem = 1;
    return p;
}

/* Before main, while one thread runs: jansson's allocator is one setting for the whole
 * process (libgargalo's loading uses it too, unchanged: this is malloc plus the mark). */
__attribute__((constructor)) static void bolsa_jsonalloc_init(void)
{
    json_set_alloc_funcs(bolsa_jsonalloc_malloc, free);
}

void bolsa_jsonalloc_watch(void)
{
    bolsa_jsonalloc_nomem = 0;
}

int bolsa_jsonalloc_failed(void)
{
    return bolsa_jsonalloc_nomem;
}
