/*
 * raw.c: maps and unmaps the raw sample buffers (raw.h).
 */
#include "raw.h"

#include <string.h>
#include <sys/mman.h>

#include "gargalo.h"

static void *map_lazy(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int gg_raw_init(gg_raw *r, size_t max_frames, size_t room)
{
    memset(r, 0, sizeof(*r));
    r->pcs_cap = r->recs_cap = max_frames;
    r->room = room;
    r->pcs = map_lazy(max_frames * sizeof(*r->pcs));
    r->recs = map_lazy(max_frames * sizeof(*r->recs));
    if (r->pcs && r->recs)
        return 0;
    gg_raw_free(r);
    return GARGALO_ENOMEM;
}

void gg_raw_free(gg_raw *r)
{
    if (r->pcs)
        munmap(r->pcs, r->pcs_cap * sizeof(*r->pcs));
    if (r->recs)
        munmap(r->recs, r->recs_cap * sizeof(*r->recs));
    memset(r, 0, sizeof(*r));
}
