/*
 * waiting.c: a session's blocked samples summed per descriptor (waiting.h). Each frame's
 * name is read once. A blocked leaf names one call on one descriptor, and the session
 * keeps each distinct frame once, so the calls that waited on a descriptor are exactly
 * its leaves: their sums need no second index.
 */
#include "waiting.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "index.h"

/* What a blocked leaf says: the call (name, len), the fd (-1: none) and the description. */
typedef struct gg_leaf {
    const char *call;
    size_t len;
    int32_t fd;
    const char *what;
} gg_leaf;

typedef struct gg_wait_builder {
    const gargalo_session *s;
    gg_waits *out;
    size_t cap;
    gg_leaf *key; /* per wait: the leaf that made it, its key */
    size_t key_cap;
    gg_index ix;          /* key -> wait */
    uint32_t *frame_wait; /* per frame: its wait, or GG_WAIT_NONE */
    uint64_t *frame_ns, *frame_n;
} gg_wait_builder;

/* Reads "[blocked] CALL fd N: WHAT" or "[blocked] CALL"; false for any other name. */
static bool read_leaf(const char *name, gg_leaf *out)
{
    const size_t np = strlen(GG_WAIT_PREFIX);
    if (!name || strncmp(name, GG_WAIT_PREFIX, np) != 0)
        return false;
    const char *call = name + np;
    *out = (gg_leaf){call, strlen(call), -1, NULL};
    for (const char *p = strstr(call, " fd "); p; p = strstr(p + 1, " fd ")) {
        char *end;
        long fd = isdigit((unsigned char)p[4]) ? strtol(p + 4, &end, 10) : -1;
        if (fd >= 0 && fd <= INT32_MAX && end[0] == ':' && end[1] == ' ') {
            *out = (gg_leaf){call, (size_t)(p - call), (int32_t)fd, end + 2};
            break;
        }
    }
    return true;
}

/* Same descriptor (fd and description); without one, the same call. */
static bool same_key(const gg_leaf *a, const gg_leaf *b)
{
    if (a->fd != b->fd || !a->what != !b->what || (a->what && strcmp(a->what, b->what) != 0))
        return false;
    return a->what || (a->len == b->len && memcmp(a->call, b->call, a->len) == 0);
}

static bool same_wait(const void *ctx, uint32_t value, const void *key)
{
    return same_key(&((const gg_wait_builder *)ctx)->key[value], key);
}

static uint64_t key_hash(const gg_leaf *l)
{
    uint64_t h = gg_hash_u64((uint64_t)(uint32_t)l->fd);
    return l->what ? gg_hash_str(h, l->what) : gg_hash_bytes(h, l->call, l->len);
}

/* The wait of a blocked leaf, made when new. */
static int wait_of(gg_wait_builder *b, const gg_leaf *l, uint32_t *w)
{
    gg_waits *out = b->out;
    uint64_t h = key_hash(l);
    *w = gg_index_get(&b->ix, h, same_wait, b, l);
    if (*w != GG_INDEX_NONE)
        return 0;
    if (out->n >= GG_WAIT_NONE - 1 || GG_GROW(&out->w, &b->cap, out->n + 1) ||
        GG_GROW(&b->key, &b->key_cap, out->n + 1) || gg_index_put(&b->ix, h, (uint32_t)out->n))
        return GARGALO_ENOMEM;
    b->key[out->n] = *l;
    out->w[out->n] = (gg_wait){.fd = l->fd, .what = l->what};
    *w = (uint32_t)out->n++;
    return 0;
}

/* Every blocked frame's wait, then every stack's (its leaf's). */
static int find_waits(gg_wait_builder *b)
{
    const gargalo_session *s = b->s;
    int rc = 0;
    for (size_t f = 0; f < s->nframes && !rc; f++) {
        gg_leaf l;
        b->frame_wait[f] = GG_WAIT_NONE;
        if (read_leaf(s->frames[f].function, &l))
            rc = wait_of(b, &l, &b->frame_wait[f]);
    }
    for (uint32_t st = 0; st < s->nstacks && !rc; st++) {
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, st, &depth);
        b->out->of_stack[st] = depth ? b->frame_wait[fr[depth - 1]] : GG_WAIT_NONE;
    }
    return rc;
}

/* Adds each blocked sample's weight to its wait and to its leaf (its call). */
static void weigh(gg_wait_builder *b)
{
    const gargalo_session *s = b->s;
    for (size_t i = 0; i < s->nsamples; i++) {
        const gg_sample *sm = &s->samples[i];
        uint32_t w = b->out->of_stack[sm->stack], depth;
        if (w == GG_WAIT_NONE)
            continue;
        uint32_t leaf = gg_stack_frames(s, sm->stack, &depth)[depth - 1];
        b->out->w[w].ns += sm->weight_ns;
        b->out->w[w].samples++;
        b->frame_ns[leaf] += sm->weight_ns;
        b->frame_n[leaf]++;
    }
}

static int by_time(const void *pa, const void *pb)
{
    const gg_wait *a = pa, *b = pb;
    if (a->ns != b->ns)
        return a->ns > b->ns ? -1 : 1;
    int c = a->what && b->what ? strcmp(a->what, b->what) : !a->what - !b->what;
    return c ? c : (a->fd > b->fd) - (a->fd < b->fd);
}

/* The waits with samples, most time first; the stacks' and frames' waits follow them
 * (first_call holds each wait's number before sorting meanwhile). */
static int rank_waits(gg_wait_builder *b)
{
    gg_waits *out = b->out;
    uint32_t *rank = malloc((out->n ? out->n : 1) * sizeof(*rank));
    if (!rank)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < out->n; i++)
        out->w[i].first_call = i;
    if (out->n)
        qsort(out->w, out->n, sizeof(*out->w), by_time);
    for (size_t i = 0; i < out->n; i++)
        rank[out->w[i].first_call] = out->w[i].samples ? (uint32_t)i : GG_WAIT_NONE;
    while (out->n && !out->w[out->n - 1].samples)
        out->n--;
    for (size_t st = 0; st < b->s->nstacks; st++)
        if (out->of_stack[st] != GG_WAIT_NONE)
            out->of_stack[st] = rank[out->of_stack[st]];
    for (size_t f = 0; f < b->s->nframes; f++)
        if (b->frame_wait[f] != GG_WAIT_NONE)
            b->frame_wait[f] = rank[b->frame_wait[f]];
    free(rank);
    return 0;
}

/* A call with the wait it belongs to, while the calls are sorted. */
typedef struct gg_call_at {
    uint32_t wait;
    gg_wait_call c;
} gg_call_at;

/* By wait, then most time first, then name. */
static int by_wait_time(const void *pa, const void *pb)
{
    const gg_call_at *a = pa, *b = pb;
    if (a->wait != b->wait)
        return a->wait < b->wait ? -1 : 1;
    if (a->c.ns != b->c.ns)
        return a->c.ns > b->c.ns ? -1 : 1;
    size_t n = a->c.len < b->c.len ? a->c.len : b->c.len;
    int c = memcmp(a->c.name, b->c.name, n);
    return c ? c : (a->c.len > b->c.len) - (a->c.len < b->c.len);
}

/* Each wait's calls (its leaves with samples), most time first. */
static int list_calls(gg_wait_builder *b)
{
    const gargalo_session *s = b->s;
    gg_waits *out = b->out;
    gg_call_at *at = malloc((s->nframes ? s->nframes : 1) * sizeof(*at));
    out->calls = malloc((s->nframes ? s->nframes : 1) * sizeof(*out->calls));
    if (!at || !out->calls) {
        free(at);
        return GARGALO_ENOMEM;
    }
    for (size_t f = 0; f < s->nframes; f++) {
        gg_leaf l;
        if (b->frame_wait[f] == GG_WAIT_NONE || !b->frame_n[f] ||
            !read_leaf(s->frames[f].function, &l))
            continue;
        at[out->ncalls++] =
            (gg_call_at){b->frame_wait[f], {l.call, l.len, b->frame_ns[f], b->frame_n[f]}};
    }
    if (out->ncalls)
        qsort(at, out->ncalls, sizeof(*at), by_wait_time);
    for (size_t i = 0; i < out->ncalls; i++) {
        gg_wait *w = &out->w[at[i].wait];
        if (!w->ncalls++)
            w->first_call = i;
        out->calls[i] = at[i].c;
    }
    free(at);
    return 0;
}

int gg_waits_build(gg_waits *out, const gargalo_session *s)
{
    gg_wait_builder b = {.s = s, .out = out};
    size_t nf = s->nframes ? s->nframes : 1;
    *out = (gg_waits){0};
    out->of_stack = malloc((s->nstacks ? s->nstacks : 1) * sizeof(*out->of_stack));
    b.frame_wait = malloc(nf * sizeof(*b.frame_wait));
    b.frame_ns = calloc(nf, sizeof(*b.frame_ns));
    b.frame_n = calloc(nf, sizeof(*b.frame_n));
    int rc =
        out->of_stack && b.frame_wait && b.frame_ns && b.frame_n ? find_waits(&b) : GARGALO_ENOMEM;
    if (!rc) {
        weigh(&b);
        rc = rank_waits(&b);
    }
    if (!rc)
        rc = list_calls(&b);
    free(b.key), free(b.frame_wait), free(b.frame_ns), free(b.frame_n);
    gg_index_free(&b.ix);
    if (rc)
        gg_waits_free(out);
    return rc;
}

void gg_waits_free(gg_waits *out)
{
    free(out->w);
    free(out->calls);
    free(out->of_stack);
    *out = (gg_waits){0};
}
