/*
 * tally.c: the sums of tally.h: one pass over the samples through a hash index of the
 * combinations seen, then one sort of the distinct ones.
 */
#include "tally.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "index.h"

typedef struct gg_tally_state {
    gg_tally *t;
    size_t cap;
    gg_index ix;
} gg_tally_state;

static bool same_key(const void *ctx, uint32_t value, const void *key)
{
    const gg_tally_entry *a = &((const gg_tally *)ctx)->e[value], *b = key;
    return a->thread == b->thread && a->stack == b->stack && a->labels == b->labels &&
           a->extra == b->extra;
}

static int add(gg_tally_state *b, const gg_tally_entry *key, uint64_t w)
{
    uint64_t h = gg_hash_u64((uint64_t)key->thread << 32 ^ key->stack ^
                             (uint64_t)key->labels * 0x9e3779b97f4a7c15u ^
                             (uint64_t)key->extra * 0xc2b2ae3d27d4eb4fu);
    uint32_t i = gg_index_get(&b->ix, h, same_key, b->t, key);
    if (i == GG_INDEX_NONE) {
        if (b->t->n >= GG_INDEX_NONE - 1 || GG_GROW(&b->t->e, &b->cap, b->t->n + 1) ||
            gg_index_put(&b->ix, h, (uint32_t)b->t->n))
            return GARGALO_ENOMEM;
        i = (uint32_t)b->t->n++;
        b->t->e[i] = *key;
    }
    b->t->e[i].weight_ns += w;
    b->t->e[i].samples++;
    return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
    const gg_tally_entry *a = pa, *b = pb;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->stack != b->stack)
        return a->stack < b->stack ? -1 : 1;
    if (a->labels != b->labels)
        return a->labels < b->labels ? -1 : 1;
    return (a->extra > b->extra) - (a->extra < b->extra);
}

int gg_tally_build(gg_tally *t, const gargalo_session *s, unsigned by)
{
    return gg_tally_build_with(t, s, by, NULL);
}

int gg_tally_build_with(gg_tally *t, const gargalo_session *s, unsigned by, const uint32_t *extra)
{
    gg_tally_state b = {.t = t};
    int rc = 0;
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < s->nsamples && !rc; i++) {
        const gg_sample *sm = &s->samples[i];
        gg_tally_entry key = {by & GG_TALLY_THREAD ? sm->thread : 0,
                              sm->stack,
                              by & GG_TALLY_LABELS ? sm->labels : GG_NO_LABELS,
                              extra ? extra[i] : UINT32_MAX,
                              0,
                              0};
        rc = add(&b, &key, sm->weight_ns);
    }
    gg_index_free(&b.ix);
    if (rc)
        gg_tally_free(t);
    else if (t->n > 1)
        qsort(t->e, t->n, sizeof(*t->e), key_cmp);
    return rc;
}

void gg_tally_free(gg_tally *t)
{
    free(t->e);
    memset(t, 0, sizeof(*t));
}

const gg_tally_entry *gg_tally_find(const gg_tally *t, uint32_t thread, uint32_t stack)
{
    size_t lo = 0, hi = t->n;
    gg_tally_entry key = {thread, stack, 0, 0, 0, 0};
    while (lo < hi) { /* the first entry not below key */
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(&t->e[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && t->e[lo].thread == thread && t->e[lo].stack == stack ? &t->e[lo] : NULL;
}
