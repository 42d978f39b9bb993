/*
 * tree.h: the call tree of a stopped session, shared by the text and HTML renderers.
 *
 * Stacks merge by function (not by line), root first. Unless show_all, each run of
 * consecutive library frames folds into one node named after its outermost function.
 * With thread roots (gg_tree_options.threads) a process-wide session's tree has one root
 * per thread under the synthetic root, busiest first, the idle ones last and flagged
 * (roster.h), so that every renderer of the tree shows threads, and folds idle ones,
 * alike.
 */
#ifndef GG_TREE_H
#define GG_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "dynbuf.h"
#include "roster.h"
#include "session.h"
#include "tally.h"

#define GG_TREE_NONE UINT32_MAX

typedef struct gg_node {
    /* The frame of this node's function that carried most of its time (ties: the lower
     * index). Its line is therefore, for a leaf, where the time went and, for a caller,
     * the call leading to most of the time below. For a library group, the outermost
     * library frame of the run. */
    uint32_t frame;
    uint32_t parent;      /* GG_TREE_NONE for the root */
    uint32_t first_child; /* heaviest first; GG_TREE_NONE for a leaf */
    uint32_t next;        /* next lighter sibling; GG_TREE_NONE for the last */
    uint32_t depth;       /* 0 for the root, 1 for the outermost functions */
    uint32_t hidden;      /* group only: most frames folded below the first in a stack */
    bool group;           /* a folded run of library frames */
    uint64_t total_ns;    /* weight of every sample passing through this node */
    uint64_t self_ns;     /* weight of the samples ending here */
    uint64_t samples;     /* number of samples passing through */
    uint64_t frame_ns;    /* the part of total_ns that went through frame itself */
    uint32_t thread;      /* a thread's root: its index in s->threads (frame is then
                           * GG_TREE_NONE); GG_TREE_NONE for every other node */
    bool idle;            /* a thread's root: the thread is idle, by roster.h's rule */
} gg_node;

typedef struct gg_tree {
    /* nodes[0] is a synthetic root holding every sample; the others come in depth-first
     * order (a parent before its children, heavier siblings first). */
    gg_node *nodes;
    size_t n;
    size_t cap;
    /* For each stack of the session, the node where it ends; with thread roots, where it
     * ends in the first thread (by index) that has it: gg_tree_sample_leaf is exact. */
    uint32_t *stack_leaf;
    uint64_t total_ns; /* sum of all sample weights: 100% */
    /* With thread roots: the threads as shown (order, idle, where each is parked), the
     * (thread, stack) pairs walked and the node where each ends. Empty otherwise. */
    gg_roster roster;
    gg_tally paths;
    uint32_t *path_leaf;
} gg_tree;

typedef struct gg_tree_options {
    bool show_all; /* every frame: no library run folded */
    bool threads;  /* a process-wide session: one root per thread (ignored otherwise) */
} gg_tree_options;

/* Builds the tree of a stopped session. Returns 0 or GARGALO_ENOMEM; on failure t is
 * left empty. Free with gg_tree_free. gg_tree_build is the tree without thread roots. */
int gg_tree_build_with(gg_tree *t, const gargalo_session *s, const gg_tree_options *o);
int gg_tree_build(gg_tree *t, const gargalo_session *s, bool show_all);
void gg_tree_free(gg_tree *t);

/* Whether the tree has thread roots. */
static inline bool gg_tree_threaded(const gg_tree *t)
{
    return t->roster.threads != NULL;
}

/* The node where a sample of the session ends. */
uint32_t gg_tree_sample_leaf(const gg_tree *t, const gg_sample *sm);

/* Share of the whole session, in percent (0 when nothing was sampled). */
double gg_tree_percent(const gg_tree *t, uint32_t node);

/* The hot path: from the root, the heaviest child of each node down to a leaf.
 * Fills up to max node indices (root excluded) and returns how many there are. */
size_t gg_tree_hot_path(const gg_tree *t, uint32_t *out, size_t max);

/* Appends what a node is called: the function (or "module+0xOFFSET" when unknown),
 * " [module]" for library code and " (+N frames)" for a group folding N more; a thread's
 * root is "name (tid)". */
void gg_tree_label(dynbuf *b, const gargalo_session *s, const gg_tree *t, uint32_t node);

/* Gives every frame of s the index of the first frame of the same function (same name,
 * file and module; an unnamed frame is its module and offset). On success *out is a
 * malloc'd array of s->nframes entries. Returns 0 or GARGALO_ENOMEM. */
int gg_function_ids(const gargalo_session *s, uint32_t **out);

#endif
