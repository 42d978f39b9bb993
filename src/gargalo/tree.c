/*
 * tree.c: merges a session's stacks into a call tree, folding library runs.
 *
 * Works per distinct stack (weights summed first), or per distinct (thread, stack) pair
 * with thread roots, so its cost follows those, not the samples. Not thread-affine: it
 * only reads the session.
 */
#include "tree.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "write.h"

/* A map from 64-bit keys to 64-bit values: the entries in insertion order, found
 * through the index. */
typedef struct gg_entry {
    uint64_t key;
    uint64_t val;
} gg_entry;

typedef struct gg_map {
    gg_entry *e;
    size_t n, cap;
    gg_index ix;
} gg_map;

static bool same_key(const void *ctx, uint32_t value, const void *key)
{
    return ((const gg_map *)ctx)->e[value].key == *(const uint64_t *)key;
}

/* The entry of key, created (as *fresh, value 0) when missing; NULL on ENOMEM. The
 * pointer holds until the next insertion into the same map. */
static gg_entry *map_get(gg_map *m, uint64_t key, bool *fresh)
{
    uint64_t h = gg_hash_u64(key);
    uint32_t i = gg_index_get(&m->ix, h, same_key, m, &key);
    *fresh = i == GG_INDEX_NONE;
    if (*fresh) {
        if (m->n >= GG_INDEX_NONE || GG_GROW(&m->e, &m->cap, m->n + 1) ||
            gg_index_put(&m->ix, h, (uint32_t)m->n))
            return NULL;
        i = (uint32_t)m->n++;
        m->e[i] = (gg_entry){key, 0};
    }
    return &m->e[i];
}

static void map_free(gg_map *m)
{
    free(m->e);
    gg_index_free(&m->ix);
    memset(m, 0, sizeof(*m));
}

/* Everything the build needs besides the tree itself. */
typedef struct gg_builder {
    const gargalo_session *s;
    gg_tree *t;
    bool show_all;
    uint32_t *fid;        /* per frame: the first frame of the same function */
    gg_map children;      /* (parent, fid, group) -> node */
    gg_map lines;         /* (node, frame) -> weight, for frames other than a node's first */
    const uint32_t *prev; /* the stack walked last, whose prefix the next may share */
    uint32_t prev_depth;
    uint32_t *at;  /* the node of each position of the last stack */
    uint32_t base; /* the node stacks start under: the root, or their thread's root */
    uint32_t leaf; /* the node where the stack walked last ends */
} gg_builder;

static bool str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Same function: same name, file and module; an unnamed one is its own address. */
static bool same_function(const gg_frame *a, const gg_frame *b)
{
    if (!a->function || !b->function)
        return !a->function && !b->function && a->offset == b->offset &&
               str_same(a->module, b->module);
    return str_same(a->function, b->function) && str_same(a->file, b->file) &&
           str_same(a->module, b->module);
}

static uint64_t function_hash(const gg_frame *f)
{
    uint64_t h = gg_hash_str(GG_HASH_SEED, f->module);
    if (!f->function)
        return gg_hash_u64(h ^ f->offset);
    return gg_hash_str(gg_hash_str(h, f->function), f->file);
}

static bool frame_same_function(const void *ctx, uint32_t value, const void *key)
{
    return same_function(&((const gargalo_session *)ctx)->frames[value], key);
}

int gg_function_ids(const gargalo_session *s, uint32_t **out)
{
    gg_index ix = {0};
    uint32_t *fid = malloc((s->nframes ? s->nframes : 1) * sizeof(*fid));
    int rc = fid ? 0 : GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nframes && !rc; i++) {
        const gg_frame *f = &s->frames[i];
        uint64_t h = function_hash(f);
        fid[i] = gg_index_get(&ix, h, frame_same_function, s, f);
        if (fid[i] == GG_INDEX_NONE) {
            fid[i] = (uint32_t)i;
            rc = gg_index_put(&ix, h, (uint32_t)i);
        }
    }
    gg_index_free(&ix);
    if (rc)
        free(fid);
    else
        *out = fid;
    return rc;
}

static int new_node(gg_tree *t, uint32_t parent, uint32_t frame, bool group, uint32_t *out)
{
    if (t->n >= UINT32_MAX - 1 || GG_GROW(&t->nodes, &t->cap, t->n + 1))
        return GARGALO_ENOMEM;
    gg_node *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof(*nd));
    nd->frame = frame, nd->group = group, nd->parent = parent;
    nd->first_child = nd->next = nd->thread = GG_TREE_NONE;
    nd->depth = parent == GG_TREE_NONE ? 0 : t->nodes[parent].depth + 1;
    *out = (uint32_t)t->n++;
    return 0;
}

/* The child of parent for frame's function, created when missing. */
static int function_child(gg_builder *b, uint32_t parent, uint32_t frame, bool group, uint32_t *out)
{
    bool fresh;
    uint64_t key = (uint64_t)parent << 32 | (uint64_t)b->fid[frame] << 1 | group;
    gg_entry *e = map_get(&b->children, key, &fresh);
    if (!e)
        return GARGALO_ENOMEM;
    if (fresh) {
        int rc = new_node(b->t, parent, frame, group, out);
        e->val = *out;
        return rc;
    }
    *out = (uint32_t)e->val;
    return 0;
}

/* Adds weight w (n samples) passing through frame to node. The weight of the node's
 * first frame stays in the node; only the other frames of the same function (other
 * lines) need the map, so most nodes never touch it. */
static int visit(gg_builder *b, uint32_t node, uint32_t frame, uint64_t w, uint64_t n)
{
    gg_node *nd = &b->t->nodes[node];
    nd->total_ns += w;
    nd->samples += n;
    if (frame == nd->frame) {
        nd->frame_ns += w;
        return 0;
    }
    if (nd->group)
        return 0; /* keeps the outermost frame of its first run */
    bool fresh;
    gg_entry *e = map_get(&b->lines, (uint64_t)node << 32 | frame, &fresh);
    if (!e)
        return GARGALO_ENOMEM;
    e->val += w;
    return 0;
}

static bool is_lib(const gg_builder *b, uint32_t frame)
{
    return b->s->frames[frame].is_library;
}

/* How many leading positions this stack shares with the last one, so their nodes can
 * be reused without lookups. When a library run continues past the shared part, the
 * whole run is walked again, as its group's folded count may grow. */
static uint32_t shared_prefix(const gg_builder *b, const uint32_t *fr, uint32_t depth)
{
    uint32_t k = 0, m = depth < b->prev_depth ? depth : b->prev_depth;
    while (k < m && fr[k] == b->prev[k])
        k++;
    if (!b->show_all && k > 0 && k < depth && is_lib(b, fr[k]) && is_lib(b, fr[k - 1]))
        while (k > 0 && is_lib(b, fr[k - 1]))
            k--;
    return k;
}

/* Walks one stack from the root, adding its weight w (n samples) to every node passed. */
static int add_stack(gg_builder *b, uint32_t stack, uint64_t w, uint64_t n)
{
    uint32_t depth;
    const uint32_t *fr = gg_stack_frames(b->s, stack, &depth);
    uint32_t k = shared_prefix(b, fr, depth), cur = k ? b->at[k - 1] : b->base;
    int rc = visit(b, 0, 0, w, n);
    if (!rc && b->base)
        rc = visit(b, b->base, GG_TREE_NONE, w, n);
    for (uint32_t i = 0; i < k && !rc; i++)
        if (i == 0 || b->at[i] != b->at[i - 1]) /* once per run */
            rc = visit(b, b->at[i], fr[i], w, n);
    for (uint32_t i = k; i < depth && !rc;) {
        uint32_t end = i + 1;
        bool group = !b->show_all && is_lib(b, fr[i]);
        while (group && end < depth && is_lib(b, fr[end]))
            end++;
        rc = function_child(b, cur, fr[i], group, &cur);
        if (rc)
            return rc;
        rc = visit(b, cur, fr[i], w, n);
        if (group && end - i - 1 > b->t->nodes[cur].hidden)
            b->t->nodes[cur].hidden = end - i - 1;
        for (; i < end; i++)
            b->at[i] = cur;
    }
    b->t->nodes[cur].self_ns += w;
    if (!b->t->stack_leaf[stack]) /* with thread roots: the first thread's */
        b->t->stack_leaf[stack] = cur;
    b->leaf = cur;
    b->prev = fr, b->prev_depth = depth;
    return rc;
}

/* Points each node at the frame of its function that carried most of its weight
 * (ties: the lower frame index). */
static void pick_frames(gg_builder *b)
{
    for (size_t i = 0; i < b->lines.n; i++) {
        const gg_entry *e = &b->lines.e[i];
        gg_node *nd = &b->t->nodes[e->key >> 32];
        uint32_t frame = (uint32_t)e->key;
        if (e->val > nd->frame_ns || (e->val == nd->frame_ns && frame < nd->frame)) {
            nd->frame_ns = e->val;
            nd->frame = frame;
        }
    }
}

typedef struct gg_order {
    uint32_t rank; /* a thread's root: its place in the roster; 0 for functions */
    uint64_t total;
    uint32_t node;
} gg_order;

/* Thread roots in the roster's order; functions heavier first; ties keep the order in
 * which the nodes were first seen. */
static int order_cmp(const void *pa, const void *pb)
{
    const gg_order *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

/* Links each node's children, heaviest first. Children are bucketed by parent (a
 * counting sort), so only sibling lists get sorted, and most have one entry. */
static int link_children(gg_tree *t)
{
    size_t *start = calloc(t->n + 1, sizeof(*start));
    gg_order *o = malloc(t->n * sizeof(*o));
    if (!start || !o) {
        free(start), free(o);
        return GARGALO_ENOMEM;
    }
    for (size_t i = 1; i < t->n; i++)
        start[t->nodes[i].parent + 1]++;
    for (size_t p = 0; p < t->n; p++)
        start[p + 1] += start[p];
    for (size_t i = 1; i < t->n; i++) {
        const gg_node *nd = &t->nodes[i];
        uint32_t rank = nd->thread == GG_TREE_NONE ? 0 : t->roster.threads[nd->thread].rank;
        o[start[nd->parent]++] = (gg_order){rank, nd->total_ns, (uint32_t)i};
    }
    /* start[p] now ends p's bucket, which begins where p - 1's ends */
    for (size_t p = 0, begin = 0; p < t->n; begin = start[p++]) {
        size_t k = start[p] - begin;
        if (k > 1)
            qsort(o + begin, k, sizeof(*o), order_cmp);
        for (size_t j = begin + k; j-- > begin;) {
            t->nodes[o[j].node].next = t->nodes[p].first_child;
            t->nodes[p].first_child = o[j].node;
        }
    }
    free(start), free(o);
    return 0;
}

/* The node after n in depth-first order, or GG_TREE_NONE at the end. */
static uint32_t preorder_next(const gg_tree *t, uint32_t n)
{
    if (t->nodes[n].first_child != GG_TREE_NONE)
        return t->nodes[n].first_child;
    while (n != 0 && t->nodes[n].next == GG_TREE_NONE)
        n = t->nodes[n].parent;
    return n == 0 ? GG_TREE_NONE : t->nodes[n].next;
}

static uint32_t remap(const uint32_t *map, uint32_t i)
{
    return i == GG_TREE_NONE ? i : map[i];
}

/* Renumbers the nodes in depth-first order, so a parent always precedes its children. */
static int renumber(gg_tree *t, size_t nstacks)
{
    uint32_t *map = malloc(t->n * sizeof(*map));
    gg_node *nodes = malloc(t->n * sizeof(*nodes));
    if (!map || !nodes) {
        free(map), free(nodes);
        return GARGALO_ENOMEM;
    }
    uint32_t k = 0;
    for (uint32_t n = 0; n != GG_TREE_NONE; n = preorder_next(t, n))
        map[n] = k++;
    for (size_t i = 0; i < t->n; i++) {
        gg_node nd = t->nodes[i];
        nd.parent = remap(map, nd.parent);
        nd.first_child = remap(map, nd.first_child);
        nd.next = remap(map, nd.next);
        nodes[map[i]] = nd;
    }
    for (size_t i = 0; i < nstacks; i++)
        t->stack_leaf[i] = map[t->stack_leaf[i]];
    for (size_t i = 0; i < t->paths.n; i++)
        t->path_leaf[i] = map[t->path_leaf[i]];
    free(t->nodes);
    t->nodes = nodes, t->cap = t->n;
    free(map);
    return 0;
}

/* Sums the weight and count of the samples of each stack. */
static int sum_stacks(const gargalo_session *s, uint64_t **w, uint64_t **n)
{
    size_t ns = s->nstacks ? s->nstacks : 1;
    *w = calloc(ns, sizeof(**w));
    *n = calloc(ns, sizeof(**n));
    if (!*w || !*n)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nsamples; i++) {
        (*w)[s->samples[i].stack] += s->samples[i].weight_ns;
        (*n)[s->samples[i].stack]++;
    }
    return 0;
}

/* Room for the node of each position of the deepest stack. */
static int alloc_path(gg_builder *b)
{
    uint32_t max = 1;
    for (size_t i = 0; i < b->s->nstacks; i++)
        if (b->s->stacks[i].depth > max)
            max = b->s->stacks[i].depth;
    b->at = malloc(max * sizeof(*b->at));
    return b->at ? 0 : GARGALO_ENOMEM;
}

/* What the build needs before the first stack: the root, function ids, room. */
static int prepare(gg_builder *b)
{
    const gargalo_session *s = b->s;
    uint32_t root;
    if (s->nframes >= (1u << 31))
        return GARGALO_ENOMEM;
    b->t->stack_leaf = calloc(s->nstacks ? s->nstacks : 1, sizeof(uint32_t));
    int rc = b->t->stack_leaf ? new_node(b->t, GG_TREE_NONE, 0, false, &root) : GARGALO_ENOMEM;
    if (!rc)
        rc = gg_function_ids(s, &b->fid);
    return rc ? rc : alloc_path(b);
}

/* Every sampled stack once, under the root. */
static int walk_stacks(gg_builder *b)
{
    const gargalo_session *s = b->s;
    uint64_t *w = NULL, *n = NULL;
    int rc = sum_stacks(s, &w, &n);
    for (size_t i = 0; i < s->nstacks && !rc; i++)
        if (n[i])
            rc = add_stack(b, (uint32_t)i, w[i], n[i]);
    free(w), free(n);
    return rc;
}

/* One root per thread with samples, in the roster's order (so the root of the thread
 * ranked r is node 1 + r until renumbering), then each (thread, stack) pair under its
 * thread's root. */
static int walk_threads(gg_builder *b)
{
    gg_tree *t = b->t;
    int rc = gg_roster_build(&t->roster, b->s);
    if (!rc)
        rc = gg_tally_build(&t->paths, b->s, GG_TALLY_THREAD);
    if (!rc && !(t->path_leaf = malloc((t->paths.n ? t->paths.n : 1) * sizeof(uint32_t))))
        rc = GARGALO_ENOMEM;
    for (size_t i = 0; i < t->roster.n && !rc; i++) {
        uint32_t th = t->roster.order[i], node;
        rc = new_node(t, 0, GG_TREE_NONE, false, &node);
        if (!rc)
            t->nodes[node].thread = th, t->nodes[node].idle = t->roster.threads[th].idle;
    }
    for (size_t i = 0; i < t->paths.n && !rc; i++) {
        const gg_tally_entry *e = &t->paths.e[i];
        uint32_t base = 1 + t->roster.threads[e->thread].rank;
        if (base != b->base)
            b->base = base, b->prev_depth = 0; /* no prefix shared across threads */
        rc = add_stack(b, e->stack, e->weight_ns, e->samples);
        t->path_leaf[i] = b->leaf;
    }
    return rc;
}

static int build(gg_builder *b, bool threads)
{
    int rc = prepare(b);
    if (!rc)
        rc = threads ? walk_threads(b) : walk_stacks(b);
    if (!rc) {
        pick_frames(b);
        rc = link_children(b->t);
    }
    if (!rc)
        rc = renumber(b->t, b->s->nstacks);
    if (!rc)
        b->t->total_ns = b->t->nodes[0].total_ns;
    return rc;
}

int gg_tree_build_with(gg_tree *t, const gargalo_session *s, const gg_tree_options *o)
{
    memset(t, 0, sizeof(*t));
    gg_builder b = {.s = s, .t = t, .show_all = o->show_all};
    int rc = build(&b, o->threads && s->process);
    free(b.fid);
    map_free(&b.children);
    map_free(&b.lines);
    free(b.at);
    if (rc)
        gg_tree_free(t);
    return rc;
}

int gg_tree_build(gg_tree *t, const gargalo_session *s, bool show_all)
{
    gg_tree_options o = {.show_all = show_all};
    return gg_tree_build_with(t, s, &o);
}

void gg_tree_free(gg_tree *t)
{
    free(t->nodes);
    free(t->stack_leaf);
    gg_roster_free(&t->roster);
    gg_tally_free(&t->paths);
    free(t->path_leaf);
    memset(t, 0, sizeof(*t));
}

uint32_t gg_tree_sample_leaf(const gg_tree *t, const gg_sample *sm)
{
    if (!gg_tree_threaded(t))
        return t->stack_leaf[sm->stack];
    const gg_tally_entry *e = gg_tally_find(&t->paths, sm->thread, sm->stack);
    return e ? t->path_leaf[e - t->paths.e] : 0;
}

double gg_tree_percent(const gg_tree *t, uint32_t node)
{
    return t->total_ns ? 100.0 * (double)t->nodes[node].total_ns / (double)t->total_ns : 0;
}

size_t gg_tree_hot_path(const gg_tree *t, uint32_t *out, size_t max)
{
    size_t k = 0;
    for (uint32_t n = t->n ? t->nodes[0].first_child : GG_TREE_NONE; n != GG_TREE_NONE;
         n = t->nodes[n].first_child) {
        if (k < max)
            out[k] = n;
        k++;
    }
    return k;
}

void gg_tree_label(dynbuf *b, const gargalo_session *s, const gg_tree *t, uint32_t node)
{
    const gg_node *nd = &t->nodes[node];
    if (nd->thread != GG_TREE_NONE) {
        gg_roster_thread_name(b, &s->threads[nd->thread]);
        return;
    }
    gg_write_frame_label(b, &s->frames[nd->frame]);
    if (nd->group && nd->hidden)
        dynbuf_printf(b, " (+%" PRIu32 " frame%s)", nd->hidden, nd->hidden == 1 ? "" : "s");
}
