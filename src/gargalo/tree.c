/*
 * tree.c: merges a session's stacks into a call tree, folding library runs.
 *
 * Works per distinct stack (weights summed first), so its cost follows the number of
 * distinct stacks, not of samples. Not thread-affine: it only reads the session.
 */
#include "tree.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* An open-addressing map from 64-bit keys to 64-bit values; UINT64_MAX marks a free
 * slot (no key built here can reach it: node indices stay below UINT32_MAX). A key and
 * its value share one entry, so a lookup costs one cache miss. */
typedef struct gg_entry {
    uint64_t key;
    uint64_t val;
} gg_entry;

typedef struct gg_map {
    gg_entry *e;
    size_t cap;
    size_t used;
} gg_map;

/* splitmix64's finaliser: every key bit reaches the low bits used as the index. */
static size_t map_index(const gg_map *m, uint64_t key)
{
    key = (key ^ (key >> 30)) * 0xbf58476d1ce4e5b9u;
    key = (key ^ (key >> 27)) * 0x94d049bb133111ebu;
    return (size_t)(key ^ (key >> 31)) & (m->cap - 1);
}

static int map_resize(gg_map *m, size_t cap)
{
    gg_map n = {malloc(cap * sizeof(gg_entry)), cap, m->used};
    if (!n.e)
        return -1;
    for (size_t i = 0; i < cap; i++)
        n.e[i].key = UINT64_MAX;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->e[i].key == UINT64_MAX)
            continue;
        size_t j = map_index(&n, m->e[i].key);
        while (n.e[j].key != UINT64_MAX)
            j = (j + 1) & (cap - 1);
        n.e[j] = m->e[i];
    }
    free(m->e);
    *m = n;
    return 0;
}

/* The entry of key, created (as *fresh, value 0) when missing; NULL on ENOMEM. The
 * pointer holds until the next insertion into the same map. */
static gg_entry *map_get(gg_map *m, uint64_t key, bool *fresh)
{
    if ((m->used + 1) * 2 > m->cap && map_resize(m, m->cap ? m->cap * 2 : 1024))
        return NULL;
    size_t i = map_index(m, key);
    while (m->e[i].key != UINT64_MAX && m->e[i].key != key)
        i = (i + 1) & (m->cap - 1);
    *fresh = m->e[i].key == UINT64_MAX;
    if (*fresh) {
        m->e[i] = (gg_entry){key, 0};
        m->used++;
    }
    return &m->e[i];
}

static void map_free(gg_map *m)
{
    free(m->e);
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
    uint32_t *at; /* the node of each position of the last stack */
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

static uint64_t hash_str(uint64_t h, const char *p)
{
    for (; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return (h ^ 0xff) * 1099511628211u;
}

static uint64_t function_hash(const gg_frame *f)
{
    uint64_t h = hash_str(1469598103934665603u, f->module);
    if (!f->function)
        return (h ^ f->offset) * 1099511628211u;
    return hash_str(hash_str(h, f->function), f->file);
}

int gg_function_ids(const gargalo_session *s, uint32_t **out)
{
    size_t n = s->nframes, cap = 16;
    while (cap < n * 2)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof(*slots)); /* frame index + 1; 0 is free */
    uint32_t *fid = malloc((n ? n : 1) * sizeof(*fid));
    if (!slots || !fid) {
        free(slots), free(fid);
        return GARGALO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const gg_frame *f = &s->frames[i];
        size_t j = function_hash(f) & (cap - 1);
        while (slots[j] && !same_function(&s->frames[slots[j] - 1], f))
            j = (j + 1) & (cap - 1);
        if (!slots[j])
            slots[j] = (uint32_t)i + 1;
        fid[i] = slots[j] - 1;
    }
    free(slots);
    *out = fid;
    return 0;
}

static int64_t new_node(gg_tree *t, uint32_t parent, uint32_t frame, bool group)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        gg_node *p = cap < UINT32_MAX ? realloc(t->nodes, cap * sizeof(*p)) : NULL;
        if (!p)
            return -1;
        t->nodes = p, t->cap = cap;
    }
    gg_node *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof(*nd));
    nd->frame = frame, nd->group = group, nd->parent = parent;
    nd->first_child = nd->next = GG_TREE_NONE;
    nd->depth = parent == GG_TREE_NONE ? 0 : t->nodes[parent].depth + 1;
    return (int64_t)t->n++;
}

/* The child of parent for frame's function, created when missing. */
static int64_t function_child(gg_builder *b, uint32_t parent, uint32_t frame, bool group)
{
    bool fresh;
    uint64_t key = (uint64_t)parent << 32 | (uint64_t)b->fid[frame] << 1 | group;
    gg_entry *e = map_get(&b->children, key, &fresh);
    if (!e)
        return -1;
    if (fresh) {
        int64_t n = new_node(b->t, parent, frame, group);
        if (n < 0)
            return -1;
        e->val = (uint64_t)n;
    }
    return (int64_t)e->val;
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
    uint32_t k = shared_prefix(b, fr, depth), cur = k ? b->at[k - 1] : 0;
    int rc = visit(b, 0, 0, w, n);
    for (uint32_t i = 0; i < k && !rc; i++)
        if (i == 0 || b->at[i] != b->at[i - 1]) /* once per run */
            rc = visit(b, b->at[i], fr[i], w, n);
    for (uint32_t i = k; i < depth && !rc;) {
        uint32_t end = i + 1;
        bool group = !b->show_all && is_lib(b, fr[i]);
        while (group && end < depth && is_lib(b, fr[end]))
            end++;
        int64_t node = function_child(b, cur, fr[i], group);
        if (node < 0)
            return GARGALO_ENOMEM;
        cur = (uint32_t)node;
        rc = visit(b, cur, fr[i], w, n);
        if (group && end - i - 1 > b->t->nodes[cur].hidden)
            b->t->nodes[cur].hidden = end - i - 1;
        for (; i < end; i++)
            b->at[i] = cur;
    }
    b->t->nodes[cur].self_ns += w;
    b->t->stack_leaf[stack] = cur;
    b->prev = fr, b->prev_depth = depth;
    return rc;
}

/* Points each node at the frame of its function that carried most of its weight
 * (ties: the lower frame index). */
static void pick_frames(gg_builder *b)
{
    for (size_t i = 0; i < b->lines.cap; i++) {
        const gg_entry *e = &b->lines.e[i];
        if (e->key == UINT64_MAX)
            continue;
        gg_node *nd = &b->t->nodes[e->key >> 32];
        uint32_t frame = (uint32_t)e->key;
        if (e->val > nd->frame_ns || (e->val == nd->frame_ns && frame < nd->frame)) {
            nd->frame_ns = e->val;
            nd->frame = frame;
        }
    }
}

typedef struct gg_order {
    uint64_t total;
    uint32_t node;
} gg_order;

/* Heavier first; ties keep the order in which the nodes were first seen. */
static int order_cmp(const void *pa, const void *pb)
{
    const gg_order *a = pa, *b = pb;
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
    for (size_t i = 1; i < t->n; i++)
        o[start[t->nodes[i].parent]++] = (gg_order){t->nodes[i].total_ns, (uint32_t)i};
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

static int build(gg_builder *b)
{
    const gargalo_session *s = b->s;
    uint64_t *w = NULL, *n = NULL;
    int rc = GARGALO_ENOMEM;
    if (s->nframes >= (1u << 31))
        return GARGALO_ENOMEM;
    b->t->stack_leaf = calloc(s->nstacks ? s->nstacks : 1, sizeof(uint32_t));
    if (!b->t->stack_leaf || new_node(b->t, GG_TREE_NONE, 0, false) < 0 ||
        gg_function_ids(s, &b->fid) || alloc_path(b) || sum_stacks(s, &w, &n))
        goto out;
    for (size_t i = 0; i < s->nstacks; i++)
        if (n[i] && (rc = add_stack(b, (uint32_t)i, w[i], n[i])))
            goto out;
    pick_frames(b);
    rc = link_children(b->t);
    if (!rc)
        rc = renumber(b->t, s->nstacks);
    b->t->total_ns = b->t->nodes[0].total_ns;
out:
    free(w), free(n);
    return rc;
}

int gg_tree_build(gg_tree *t, const gargalo_session *s, bool show_all)
{
    memset(t, 0, sizeof(*t));
    gg_builder b = {.s = s, .t = t, .show_all = show_all};
    int rc = build(&b);
    free(b.fid);
    map_free(&b.children);
    map_free(&b.lines);
    free(b.at);
    if (rc)
        gg_tree_free(t);
    return rc;
}

void gg_tree_free(gg_tree *t)
{
    free(t->nodes);
    free(t->stack_leaf);
    memset(t, 0, sizeof(*t));
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

void gg_frame_name(gg_buf *b, const gg_frame *f)
{
    if (f->function)
        gg_buf_puts(b, f->function);
    else
        gg_buf_printf(b, "%s+0x%" PRIx64, f->module ? f->module : "??", f->offset);
}

void gg_frame_label(gg_buf *b, const gg_frame *f)
{
    gg_frame_name(b, f);
    if (f->is_library && f->function && f->module)
        gg_buf_printf(b, " [%s]", f->module);
}

void gg_tree_label(gg_buf *b, const gargalo_session *s, const gg_tree *t, uint32_t node)
{
    const gg_node *nd = &t->nodes[node];
    gg_frame_label(b, &s->frames[nd->frame]);
    if (nd->group && nd->hidden)
        gg_buf_printf(b, " (+%" PRIu32 " frame%s)", nd->hidden, nd->hidden == 1 ? "" : "s");
}
