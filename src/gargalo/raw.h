/*
 * raw.h: the raw side of a running session: program counters as a sample source wrote
 * them, and one record per sample. Written by the source (in a signal handler, so only
 * through the inline helpers below, with no allocation), read by resolve.c at stop.
 */
#ifndef GG_RAW_H
#define GG_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    GG_RAW_LEAF_IS_PC = 1,    /* the first pc is where the thread was, not a return address */
    GG_RAW_OFF_CPU = 2,       /* time the thread spent off the CPU, blocked or preempted */
    GG_RAW_STACK_GUESSED = 4, /* off-CPU with no stack of its own: the last on-CPU one */
    GG_RAW_BLOCKED = 8        /* in a system call: syscall_nr and fd say which, on what */
};

typedef struct gg_raw_sample {
    uint64_t time_ns;   /* session clock since start */
    uint64_t weight_ns; /* session clock since the previous sample */
    uint64_t mono_ns;   /* CLOCK_MONOTONIC when taken: labels and markers join on it */
    uint64_t offset;    /* first pc in gg_raw.pcs, innermost first */
    uint32_t depth;
    uint32_t flags;
    pid_t tid;          /* the thread it was taken of */
    int32_t syscall_nr; /* GG_RAW_BLOCKED: the system call it sat in */
    int32_t fd;         /* GG_RAW_BLOCKED: the descriptor that call waited on, or -1 */
} gg_raw_sample;

typedef struct gg_raw {
    void **pcs; /* mmap'd, reserved not committed: pages appear as samples fill them */
    size_t pcs_cap, pcs_used;
    gg_raw_sample *recs; /* mmap'd likewise */
    size_t recs_cap, nrecs;
    size_t dropped; /* samples that found no room */
    size_t room;    /* pcs one sample may need: max_depth plus slack */
} gg_raw;

/* Reserves room for max_frames program counters and as many records, each sample
 * needing at most room pcs. Returns 0 or GARGALO_ENOMEM. */
int gg_raw_init(gg_raw *r, size_t max_frames, size_t room);
/* Unmaps the buffers. A zeroed gg_raw is fine. */
void gg_raw_free(gg_raw *r);

/* Whether one more sample of up to r->room pcs fits. Async-signal-safe. */
static inline bool gg_raw_has_room(const gg_raw *r)
{
    return r->nrecs < r->recs_cap && r->pcs_cap - r->pcs_used >= r->room;
}

/* Where the next sample's pcs go. Async-signal-safe. */
static inline void **gg_raw_next_pcs(const gg_raw *r)
{
    return r->pcs + r->pcs_used;
}

/* Records a sample whose rec->depth pcs were written at gg_raw_next_pcs (rec->offset is
 * set here). Async-signal-safe. */
static inline void gg_raw_commit(gg_raw *r, gg_raw_sample rec)
{
    rec.offset = r->pcs_used;
    r->recs[r->nrecs++] = rec;
    r->pcs_used += rec.depth;
}

#endif
