/*
 * diff.c: the differential call tree of diff.h. Built breadth first from the root: the
 * children of a node are the children of its two tree nodes, sorted by function and
 * paired, so the cost follows the number of nodes, with no recursion however deep.
 */
#include "diff.h"

#include <stdlib.h>
#include <string.h>

/* A child of one side's tree node, waiting to be paired with the other side's. */
typedef struct gg_match {
    const gg_frame *frame; /* the frame its tree node is named after */
    bool group;
    int side;
    uint32_t node;
} gg_match;

/* Strings that may be NULL, NULL first. */
static int str_order(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* Orders by what makes a tree node's function (tree.c's same_function), so that the
 * same function in both sessions compares equal whatever its frame indices. */
static int function_order(const gg_match *a, const gg_match *b)
{
    const gg_frame *x = a->frame, *y = b->frame;
    int c = (a->group > b->group) - (a->group < b->group);
    if (!c)
        c = str_order(x->module, y->module);
    if (!c)
        c = str_order(x->function, y->function);
    if (!c && x->function)
        c = str_order(x->file, y->file);
    if (!c && !x->function)
        c = (x->offset > y->offset) - (x->offset < y->offset);
    return c;
}

static int match_cmp(const void *pa, const void *pb)
{
    const gg_match *a = pa, *b = pb;
    int c = function_order(a, b);
    return c ? c : a->side - b->side;
}

double gg_diff_percent(const gg_diff *d, uint32_t node, int side)
{
    uint32_t at = d->nodes[node].at[side];
    return at == GG_TREE_NONE ? 0 : gg_tree_percent(&d->t[side], at);
}

/* Room is made beforehand: every node stands for a node of one tree or of both. */
static void new_node(gg_diff *d, uint32_t parent, const uint32_t at[2])
{
    gg_diff_node *nd = &d->nodes[d->n];
    memset(nd, 0, sizeof(*nd));
    nd->parent = parent;
    nd->first_child = nd->next = GG_TREE_NONE;
    nd->depth = parent == GG_TREE_NONE ? 0 : d->nodes[parent].depth + 1;
    d->max_depth = nd->depth > d->max_depth ? nd->depth : d->max_depth;
    for (int side = 0; side < 2; side++) {
        nd->at[side] = at[side];
        nd->ns[side] = at[side] == GG_TREE_NONE ? 0 : d->t[side].nodes[at[side]].total_ns;
    }
    nd->change = d->normalize ? gg_diff_percent(d, (uint32_t)d->n, GG_AFTER) -
                                    gg_diff_percent(d, (uint32_t)d->n, GG_BEFORE)
                              : (double)nd->ns[GG_AFTER] - (double)nd->ns[GG_BEFORE];
    d->n++;
}

typedef struct gg_by_change {
    double size; /* |change| */
    uint64_t weight;
    uint32_t node;
} gg_by_change;

/* -1 when a should come first in an order from largest to smallest. */
static int larger_first(double a, double b)
{
    return (a < b) - (a > b);
}

/* Largest change first; then the heavier; then the order of creation (by function). */
static int change_cmp(const void *pa, const void *pb)
{
    const gg_by_change *a = pa, *b = pb;
    int c = larger_first(a->size, b->size);
    c = c ? c : larger_first((double)a->weight, (double)b->weight);
    return c ? c : (a->node > b->node) - (a->node < b->node);
}

/* Links the children of parent, nodes first .. d->n - 1, largest change first. */
static void link_by_change(gg_diff *d, uint32_t parent, size_t first, gg_by_change *order)
{
    size_t k = d->n - first;
    for (size_t i = 0; i < k; i++) {
        const gg_diff_node *nd = &d->nodes[first + i];
        double c = nd->change < 0 ? -nd->change : nd->change;
        order[i] = (gg_by_change){c, nd->ns[0] + nd->ns[1], (uint32_t)(first + i)};
    }
    qsort(order, k, sizeof(*order), change_cmp);
    for (size_t i = k; i-- > 0;) {
        d->nodes[order[i].node].next = d->nodes[parent].first_child;
        d->nodes[parent].first_child = order[i].node;
    }
}

/* Lists the tree children of parent's nodes on both sides into m; returns how many. */
static size_t list_children(const gg_diff *d, uint32_t parent, gg_match *m)
{
    size_t k = 0;
    for (int side = 0; side < 2; side++) {
        const gg_tree *t = &d->t[side];
        uint32_t at = d->nodes[parent].at[side];
        for (uint32_t c = at == GG_TREE_NONE ? GG_TREE_NONE : t->nodes[at].first_child;
             c != GG_TREE_NONE; c = t->nodes[c].next)
            m[k++] = (gg_match){&d->s[side]->frames[t->nodes[c].frame], t->nodes[c].group, side, c};
    }
    return k;
}

/* Creates the children of parent: its tree nodes' children, paired by function. */
static void add_children(gg_diff *d, uint32_t parent, gg_match *m, gg_by_change *order)
{
    size_t k = list_children(d, parent, m), first = d->n;
    qsort(m, k, sizeof(*m), match_cmp);
    for (size_t i = 0; i < k; i++) {
        uint32_t at[2] = {GG_TREE_NONE, GG_TREE_NONE};
        at[m[i].side] = m[i].node;
        if (i + 1 < k && m[i + 1].side != m[i].side && function_order(&m[i], &m[i + 1]) == 0)
            i++, at[m[i].side] = m[i].node;
        new_node(d, parent, at);
    }
    link_by_change(d, parent, first, order);
}

static int build(gg_diff *d, bool show_all)
{
    static const uint32_t roots[2] = {0, 0};
    int rc = gg_tree_build(&d->t[0], d->s[0], show_all);
    if (!rc)
        rc = gg_tree_build(&d->t[1], d->s[1], show_all);
    if (rc)
        return rc;
    /* Neither the nodes nor one node's children outnumber the two trees' nodes. */
    size_t most = d->t[0].n + d->t[1].n;
    d->nodes = most < UINT32_MAX ? malloc(most * sizeof(*d->nodes)) : NULL;
    gg_match *m = malloc(most * sizeof(*m));
    gg_by_change *order = malloc(most * sizeof(*order));
    rc = d->nodes && m && order ? 0 : GARGALO_ENOMEM;
    if (!rc)
        new_node(d, GG_TREE_NONE, roots);
    for (size_t p = 0; !rc && p < d->n; p++) /* d->n grows as children are added */
        add_children(d, (uint32_t)p, m, order);
    free(m), free(order);
    return rc;
}

int gg_diff_build(gg_diff *d, const gargalo_session *before, const gargalo_session *after,
                  bool show_all, bool normalize)
{
    memset(d, 0, sizeof(*d));
    d->s[GG_BEFORE] = before, d->s[GG_AFTER] = after;
    d->normalize = normalize;
    int rc = build(d, show_all);
    if (rc)
        gg_diff_free(d);
    return rc;
}

void gg_diff_free(gg_diff *d)
{
    gg_tree_free(&d->t[0]);
    gg_tree_free(&d->t[1]);
    free(d->nodes);
    memset(d, 0, sizeof(*d));
}

void gg_diff_label(dynbuf *b, const gg_diff *d, uint32_t node)
{
    int side = d->nodes[node].at[GG_AFTER] != GG_TREE_NONE ? GG_AFTER : GG_BEFORE;
    gg_tree_label(b, d->s[side], &d->t[side], d->nodes[node].at[side]);
}

void gg_diff_put_values(dynbuf *b, const gg_diff *d, uint32_t node)
{
    const gg_diff_node *nd = &d->nodes[node];
    if (d->normalize)
        dynbuf_printf(b, "%.1f%% → %.1f%%", gg_diff_percent(d, node, GG_BEFORE),
                      gg_diff_percent(d, node, GG_AFTER));
    else
        dynbuf_printf(b, "%.1f ms → %.1f ms", (double)nd->ns[GG_BEFORE] / 1e6,
                      (double)nd->ns[GG_AFTER] / 1e6);
}

void gg_diff_put_change(dynbuf *b, const gg_diff *d, uint32_t node)
{
    double c = d->nodes[node].change;
    if (d->normalize)
        dynbuf_printf(b, "%+.1f pts", c);
    else
        dynbuf_printf(b, "%+.1f ms", c / 1e6);
}

/* ---- walking ---- */

static bool visible(const gg_diff *d, uint32_t n, double min_percent)
{
    return gg_diff_percent(d, n, GG_BEFORE) >= min_percent ||
           gg_diff_percent(d, n, GG_AFTER) >= min_percent;
}

/* n, or the first visible sibling after it; GG_TREE_NONE when there is none. Siblings
 * are ordered by change, not by size, so visible ones may follow hidden ones. */
static uint32_t visible_from(const gg_diff *d, uint32_t n, double min_percent)
{
    while (n != GG_TREE_NONE && !visible(d, n, min_percent))
        n = d->nodes[n].next;
    return n;
}

/* Leaves n (just visited, without visible children) and every ancestor whose subtree is
 * done; returns the next node to enter, or GG_TREE_NONE at the end. */
static uint32_t climb(const gg_diff *d, uint32_t n, double min_percent, const gg_diff_visitor *v)
{
    for (bool has_children = false; n != 0; has_children = true) {
        if (v->leave)
            v->leave(v->ctx, n, has_children);
        uint32_t sibling = visible_from(d, d->nodes[n].next, min_percent);
        if (sibling != GG_TREE_NONE)
            return sibling;
        n = d->nodes[n].parent;
    }
    return GG_TREE_NONE;
}

void gg_diff_walk(const gg_diff *d, double min_percent, const gg_diff_visitor *v)
{
    uint32_t n = visible_from(d, d->nodes[0].first_child, min_percent);
    while (n != GG_TREE_NONE) {
        uint32_t child = visible_from(d, d->nodes[n].first_child, min_percent);
        bool last = visible_from(d, d->nodes[n].next, min_percent) == GG_TREE_NONE;
        v->enter(v->ctx, n, child != GG_TREE_NONE, last);
        n = child != GG_TREE_NONE ? child : climb(d, n, min_percent, v);
    }
}
