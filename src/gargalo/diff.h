/*
 * diff.h: the differential call tree of two stopped sessions (private). Each session's
 * call tree (tree.c: stacks merged by function, library runs folded alike) is matched
 * with the other node by node from the root, by function, so that every node has its
 * time before and after; siblings come largest change first.
 */
#ifndef GG_DIFF_H
#define GG_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "dynbuf.h"
#include "session.h"
#include "tree.h"

enum { GG_BEFORE = 0, GG_AFTER = 1 };

typedef struct gg_diff_node {
    uint32_t at[2];       /* its node in each side's tree; GG_TREE_NONE where absent */
    uint32_t parent;      /* GG_TREE_NONE for the root */
    uint32_t first_child; /* largest change first; GG_TREE_NONE for a leaf */
    uint32_t next;        /* next sibling, with a smaller change */
    uint32_t depth;       /* 0 for the root, 1 for the outermost functions */
    uint64_t ns[2];       /* time on each side (0 where absent) */
    double change;        /* after - before: nanoseconds, or percentage points when normalized */
} gg_diff_node;

typedef struct gg_diff {
    const gargalo_session *s[2];
    gg_tree t[2];
    gg_diff_node *nodes; /* nodes[0] is the root, holding both whole sessions */
    size_t n;
    uint32_t max_depth;
    bool normalize;
} gg_diff;

/* Builds the differential tree. With normalize, changes are in shares of each session's
 * total. Returns 0 or GARGALO_ENOMEM (d is then left empty). Free with gg_diff_free. */
int gg_diff_build(gg_diff *d, const gargalo_session *before, const gargalo_session *after,
                  bool show_all, bool normalize);
void gg_diff_free(gg_diff *d);

/* A node's share of its side's total, in percent (0 where absent or nothing sampled). */
double gg_diff_percent(const gg_diff *d, uint32_t node, int side);

/* Appends what a node is called, as the call tree labels it (from the after side when
 * the node is on both). */
void gg_diff_label(dynbuf *b, const gg_diff *d, uint32_t node);

/* Appends a node's two values, "70.0 ms → 72.7 ms" (normalized: "70.0% → 72.7%"). */
void gg_diff_put_values(dynbuf *b, const gg_diff *d, uint32_t node);
/* Appends a node's change with its sign, "+2.7 ms" (normalized: "+2.7 pts"). */
void gg_diff_put_change(dynbuf *b, const gg_diff *d, uint32_t node);

/* Visits the nodes with a share of at least min_percent on either side, depth first:
 * enter when a node is reached (has_children: it has visible children; last: no visible
 * sibling follows), leave once its subtree is done. */
typedef struct gg_diff_visitor {
    void (*enter)(void *ctx, uint32_t node, bool has_children, bool last);
    void (*leave)(void *ctx, uint32_t node, bool has_children);
    void *ctx;
} gg_diff_visitor;

void gg_diff_walk(const gg_diff *d, double min_percent, const gg_diff_visitor *v);

#endif
