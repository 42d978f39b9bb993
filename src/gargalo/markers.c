/*
 * markers.c: finding, grouping and attributing a session's markers (markers.h).
 */
#include "markers.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "index.h"
#include "tree.h"

static const char *str(const char *s)
{
    return s ? s : "";
}

/* strcmp, quick for the same string: a session keeps each distinct string once, so the
 * texts of every execution of a statement are one pointer. */
static int compare(const char *a, const char *b)
{
    return a == b ? 0 : strcmp(str(a), str(b));
}

/* ---- the index ---- */

/* Markers by thread, then start, then end descending (outer first), then index, so the
 * order is total. Sorted as pointers, as qsort gives the comparison no context. */
static int by_thread_start(const void *a, const void *b)
{
    const gg_marker *x = *(const gg_marker *const *)a, *y = *(const gg_marker *const *)b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    if (x->end_ns != y->end_ns)
        return x->end_ns > y->end_ns ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Sorts pointers to the session's markers with cmp into out, as marker indices. */
static int sorted_markers(const gargalo_session *s, int (*cmp)(const void *, const void *),
                          uint32_t *out)
{
    const gg_marker **p = malloc((s->nmarkers ? s->nmarkers : 1) * sizeof(*p));
    if (!p)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nmarkers; i++)
        p[i] = &s->markers[i];
    qsort(p, s->nmarkers, sizeof(*p), cmp);
    for (size_t i = 0; i < s->nmarkers; i++)
        out[i] = (uint32_t)(p[i] - s->markers);
    free(p);
    return 0;
}

/* Walks the markers in order with a stack of those still open: a marker lies in the one
 * on top once those that ended by its start are popped. */
static void link_outer(gg_marker_index *ix, uint32_t *stack)
{
    const gg_marker *mk = ix->s->markers;
    size_t depth = 0;
    for (size_t i = 0; i < ix->s->nmarkers; i++) {
        const gg_marker *m = &mk[ix->order[i]];
        while (depth && (mk[stack[depth - 1]].thread != m->thread ||
                         mk[stack[depth - 1]].end_ns <= m->start_ns))
            depth--;
        ix->outer[ix->order[i]] = depth ? stack[depth - 1] : GG_NO_MARKER;
        stack[depth++] = ix->order[i];
    }
}

int gg_marker_index_build(gg_marker_index *ix, const gargalo_session *s)
{
    size_t n = s->nmarkers ? s->nmarkers : 1;
    *ix = (gg_marker_index){.s = s};
    ix->order = malloc(n * sizeof(*ix->order));
    ix->outer = malloc(n * sizeof(*ix->outer));
    uint32_t *stack = malloc(n * sizeof(*stack));
    int rc = ix->order && ix->outer && stack ? sorted_markers(s, by_thread_start, ix->order)
                                             : GARGALO_ENOMEM;
    if (!rc)
        link_outer(ix, stack);
    free(stack);
    if (rc)
        gg_marker_index_free(ix);
    return rc;
}

void gg_marker_index_free(gg_marker_index *ix)
{
    free(ix->order);
    free(ix->outer);
    ix->order = ix->outer = NULL;
}

uint32_t gg_marker_at(const gg_marker_index *ix, uint32_t thread, uint64_t t)
{
    const gg_marker *mk = ix->s->markers;
    size_t lo = 0, hi = ix->s->nmarkers; /* the first in order after (thread, t) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const gg_marker *m = &mk[ix->order[mid]];
        if (m->thread < thread || (m->thread == thread && m->start_ns <= t))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || mk[ix->order[lo - 1]].thread != thread)
        return GG_NO_MARKER;
    uint32_t m = ix->order[lo - 1];
    return t < mk[m].end_ns ? m : gg_marker_outer(ix, m, t);
}

uint32_t gg_marker_outer(const gg_marker_index *ix, uint32_t m, uint64_t t)
{
    /* Every marker of the thread starting by t is m, one m lies in, or one that ended
     * before a later one started, so before t: following the links misses none. */
    do
        m = ix->outer[m];
    while (m != GG_NO_MARKER && ix->s->markers[m].end_ns <= t);
    return m;
}

/* ---- kinds ---- */

static int by_name(const void *a, const void *b)
{
    const gg_marker *x = *(const gg_marker *const *)a, *y = *(const gg_marker *const *)b;
    int c = compare(x->category, y->category);
    c = c ? c : compare(x->text, y->text);
    return c ? c : (x > y) - (x < y);
}

static int by_total(const void *a, const void *b)
{
    const gg_marker_kind *x = a, *y = b;
    if (x->total_ns != y->total_ns)
        return x->total_ns > y->total_ns ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool same_kind(const gg_marker *a, const gg_marker *b)
{
    return compare(a->category, b->category) == 0 && compare(a->text, b->text) == 0;
}

/* One kind per run of equal names in order; of[] gets each kind's id. */
static void count_kinds(gg_marker_kinds *k, const gargalo_session *s, const uint32_t *order)
{
    for (size_t i = 0; i < s->nmarkers; i++) {
        const gg_marker *m = &s->markers[order[i]];
        if (i == 0 || !same_kind(&s->markers[order[i - 1]], m)) {
            k->kinds[k->n] = (gg_marker_kind){m->category, m->text, 0, 0, (uint32_t)k->n};
            k->n++;
        }
        gg_marker_kind *kd = &k->kinds[k->n - 1];
        kd->count++;
        kd->total_ns += m->end_ns > m->start_ns ? m->end_ns - m->start_ns : 0;
        k->of[order[i]] = kd->id;
    }
}

int gg_marker_kinds_build(gg_marker_kinds *k, const gargalo_session *s)
{
    size_t n = s->nmarkers ? s->nmarkers : 1;
    *k = (gg_marker_kinds){0};
    k->kinds = malloc(n * sizeof(*k->kinds));
    k->of = malloc(n * sizeof(*k->of));
    uint32_t *order = malloc(n * sizeof(*order)), *rank = malloc(n * sizeof(*rank));
    int rc =
        k->kinds && k->of && order && rank ? sorted_markers(s, by_name, order) : GARGALO_ENOMEM;
    if (!rc) {
        count_kinds(k, s, order);
        qsort(k->kinds, k->n, sizeof(*k->kinds), by_total);
        for (size_t i = 0; i < k->n; i++)
            rank[k->kinds[i].id] = (uint32_t)i;
        for (size_t i = 0; i < s->nmarkers; i++)
            k->of[i] = rank[k->of[i]];
    }
    free(order);
    free(rank);
    if (rc)
        gg_marker_kinds_free(k);
    return rc;
}

void gg_marker_kinds_free(gg_marker_kinds *k)
{
    free(k->kinds);
    free(k->of);
    *k = (gg_marker_kinds){0};
}

/* ---- sites ---- */

/* One covered sample, before counting: its kind, function, frame and weight. */
typedef struct gg_hit {
    uint32_t kind, fid, frame;
    uint64_t ns;
} gg_hit;

typedef struct gg_hits {
    gg_hit *v;
    size_t n, cap;
    uint32_t *fid;   /* per frame: the first frame of its function */
    uint32_t *site;  /* per stack: its innermost frame outside libraries, or GG_NO_MARKER */
    uint32_t *stamp; /* per kind: 1 + the last sample counted for it */
    bool *wanted;    /* per kind: of the category asked for */
} gg_hits;

/* gargalo's own code linked into the program (libgargalo.a): a sample taken inside
 * gargalo_mark_end is the marker's cost, not a call site of the statement. */
static bool is_gargalo_code(const gg_frame *f)
{
    return f->function &&
           (strncmp(f->function, "gargalo_", 8) == 0 || strncmp(f->function, "gg_", 3) == 0);
}

/* A frame of the program's own code: not a library's, nor gargalo's, nor one gargalo made
 * up for time the thread spent in the kernel ("[blocked] fdatasync fd 7: ...", module
 * "[kernel]"), which says what the code waited on, not which code called. */
static bool is_program_code(const gg_frame *f)
{
    return !f->is_library && !is_gargalo_code(f) &&
           !(f->module && strcmp(f->module, "[kernel]") == 0);
}

static uint32_t stack_site(const gargalo_session *s, uint32_t stack)
{
    uint32_t depth;
    const uint32_t *fr = gg_stack_frames(s, stack, &depth);
    for (uint32_t i = depth; i-- > 0;)
        if (is_program_code(&s->frames[fr[i]]))
            return fr[i];
    return depth ? fr[depth - 1] : GG_NO_MARKER;
}

static int hits_init(gg_hits *h, const gargalo_session *s, const gg_marker_kinds *k,
                     const char *category)
{
    h->site = malloc((s->nstacks ? s->nstacks : 1) * sizeof(*h->site));
    h->stamp = calloc(k->n ? k->n : 1, sizeof(*h->stamp));
    h->wanted = calloc(k->n ? k->n : 1, sizeof(*h->wanted));
    if (!h->site || !h->stamp || !h->wanted || gg_function_ids(s, &h->fid))
        return GARGALO_ENOMEM;
    for (uint32_t i = 0; i < s->nstacks; i++)
        h->site[i] = stack_site(s, i);
    for (size_t i = 0; i < k->n; i++)
        h->wanted[i] = compare(k->kinds[i].category, category) == 0;
    return 0;
}

static void hits_free(gg_hits *h)
{
    free(h->v), free(h->fid), free(h->site), free(h->stamp), free(h->wanted);
}

/* Counts sample i once for each wanted kind among the markers covering it. */
static int hit_sample(gg_hits *h, gg_marker_sites *out, const gg_marker_index *ix,
                      const gg_marker_kinds *k, uint32_t i)
{
    const gg_sample *sm = &ix->s->samples[i];
    uint32_t site = h->site[sm->stack];
    for (uint32_t m = gg_sample_marker(ix, sm); m != GG_NO_MARKER;
         m = gg_marker_outer(ix, m, sm->time_ns)) {
        uint32_t kd = k->of[m];
        if (!h->wanted[kd] || h->stamp[kd] == i + 1)
            continue;
        h->stamp[kd] = i + 1;
        out->samples[kd]++;
        out->ns[kd] += sm->weight_ns;
        if (site == GG_NO_MARKER)
            continue;
        if (GG_GROW(&h->v, &h->cap, h->n + 1))
            return GARGALO_ENOMEM;
        h->v[h->n++] = (gg_hit){kd, h->fid[site], site, sm->weight_ns};
    }
    return 0;
}

static int by_kind_function(const void *a, const void *b)
{
    const gg_hit *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->fid != y->fid)
        return x->fid < y->fid ? -1 : 1;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

static int by_kind_samples(const void *a, const void *b)
{
    const gg_marker_site *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->samples != y->samples)
        return x->samples > y->samples ? -1 : 1;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

/* The hits sorted, each run of one kind and function becomes a site named after the
 * frame with the longest run inside it. */
static void count_sites(gg_hits *h, gg_marker_sites *out)
{
    if (!h->n)
        return; /* and h->v is NULL, which qsort may not be given */
    qsort(h->v, h->n, sizeof(*h->v), by_kind_function);
    size_t best = 0, run = 0;
    for (size_t i = 0; i < h->n; i++) {
        const gg_hit *x = &h->v[i];
        bool new_site = i == 0 || x->kind != x[-1].kind || x->fid != x[-1].fid;
        if (new_site) {
            out->sites[out->n++] = (gg_marker_site){x->kind, x->frame, 0, 0};
            best = run = 0;
        }
        gg_marker_site *site = &out->sites[out->n - 1];
        run = !new_site && x->frame == x[-1].frame ? run + 1 : 1;
        if (run > best)
            best = run, site->frame = x->frame;
        site->samples++;
        site->ns += x->ns;
    }
    qsort(out->sites, out->n, sizeof(*out->sites), by_kind_samples);
}

int gg_marker_sites_build(gg_marker_sites *out, const gg_marker_index *ix, const gg_marker_kinds *k,
                          const char *category)
{
    const gargalo_session *s = ix->s;
    gg_hits h = {0};
    *out = (gg_marker_sites){0};
    out->samples = calloc(k->n ? k->n : 1, sizeof(*out->samples));
    out->ns = calloc(k->n ? k->n : 1, sizeof(*out->ns));
    int rc = out->samples && out->ns ? hits_init(&h, s, k, category) : GARGALO_ENOMEM;
    for (size_t i = 0; !rc && i < s->nsamples; i++)
        rc = hit_sample(&h, out, ix, k, (uint32_t)i);
    if (!rc && !(out->sites = malloc((h.n ? h.n : 1) * sizeof(*out->sites))))
        rc = GARGALO_ENOMEM;
    if (!rc)
        count_sites(&h, out);
    hits_free(&h);
    if (rc)
        gg_marker_sites_free(out);
    return rc;
}

void gg_marker_sites_free(gg_marker_sites *out)
{
    free(out->samples);
    free(out->ns);
    free(out->sites);
    *out = (gg_marker_sites){0};
}

/* ---- sets ---- */

typedef struct gg_set_key {
    const uint32_t *kinds;
    uint32_t n;
} gg_set_key;

static bool same_set(const void *ctx, uint32_t value, const void *key)
{
    const gg_marker_sets *out = ctx;
    const gg_set_key *want = key;
    const gg_marker_set *set = &out->sets[value];
    return set->count == want->n &&
           memcmp(out->kinds + set->first, want->kinds, want->n * sizeof(*want->kinds)) == 0;
}

/* The kinds covering a sample, the innermost of each category, ascending, into kinds;
 * returns how many. */
static uint32_t covering_kinds(const gg_marker_index *ix, const gg_marker_kinds *k,
                               const gg_sample *sm, uint32_t *kinds)
{
    uint32_t n = 0;
    for (uint32_t m = gg_sample_marker(ix, sm); m != GG_NO_MARKER && n < GG_MARKER_SET_MAX;
         m = gg_marker_outer(ix, m, sm->time_ns)) {
        uint32_t kd = k->of[m], i = 0;
        while (i < n && compare(k->kinds[kinds[i]].category, k->kinds[kd].category) != 0)
            i++;
        if (i < n)
            continue; /* an inner marker of that category is there already */
        for (i = n++; i > 0 && kinds[i - 1] > kd; i--)
            kinds[i] = kinds[i - 1];
        kinds[i] = kd;
    }
    return n;
}

/* The set of these kinds, added when new. */
static int intern_set(gg_marker_sets *out, gg_index *ix, const uint32_t *kinds, uint32_t n,
                      uint32_t *set)
{
    gg_set_key key = {kinds, n};
    uint64_t h = gg_hash_bytes(GG_HASH_SEED, kinds, n * sizeof(*kinds));
    *set = gg_index_get(ix, h, same_set, out, &key);
    if (*set != GG_INDEX_NONE)
        return 0;
    if (out->n >= GG_INDEX_NONE - 1 || GG_GROW(&out->sets, &out->cap, out->n + 1) ||
        GG_GROW(&out->kinds, &out->kinds_cap, out->nkinds + n) ||
        gg_index_put(ix, h, (uint32_t)out->n))
        return GARGALO_ENOMEM;
    memcpy(out->kinds + out->nkinds, kinds, n * sizeof(*kinds));
    out->sets[out->n] = (gg_marker_set){(uint32_t)out->nkinds, n};
    out->nkinds += n;
    *set = (uint32_t)out->n++;
    return 0;
}

int gg_marker_sets_build(gg_marker_sets *out, const gg_marker_index *ix, const gg_marker_kinds *k)
{
    const gargalo_session *s = ix->s;
    gg_index sets = {0};
    uint32_t kinds[GG_MARKER_SET_MAX];
    *out = (gg_marker_sets){0};
    out->of = malloc((s->nsamples ? s->nsamples : 1) * sizeof(*out->of));
    int rc = out->of ? 0 : GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nsamples && !rc; i++) {
        uint32_t n = s->nmarkers ? covering_kinds(ix, k, &s->samples[i], kinds) : 0;
        out->of[i] = GG_NO_MARKER;
        if (n)
            rc = intern_set(out, &sets, kinds, n, &out->of[i]);
    }
    gg_index_free(&sets);
    if (rc)
        gg_marker_sets_free(out);
    return rc;
}

void gg_marker_sets_free(gg_marker_sets *out)
{
    free(out->of);
    free(out->kinds);
    free(out->sets);
    *out = (gg_marker_sets){0};
}
