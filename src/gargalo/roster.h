/*
 * roster.h: the threads of a session as the renderers show them: those with samples, the
 * busiest first, and the idle ones apart, to be folded into one line per wait call as
 * pyinstrument and async-profiler fold idle threads.
 *
 * The rule: a thread is idle when at least 95% of its sample weight is parked in a wait
 * call and its CPU time is at most 1% of the session's duration (a thread polling in a
 * busy loop is not idle). A sample is parked in a wait call when one of its innermost run
 * of library frames (or its leaf, when that is the program's) is a known one: epoll,
 * poll, select, futex, condition, semaphore and join waits, sleeps, pause, sigwait,
 * accept, read and recv, wait for a child, io_getevents; gg_roster_call_name names them.
 * The outermost one in the run is where it is parked (pthread_cond_wait, not the futex
 * under it). The leaves gargalo adds below a blocked thread's stack ("[blocked] read fd 3:
 * pipe") are looked through: the frames above them say where the thread is parked.
 */
#ifndef GG_ROSTER_H
#define GG_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "session.h"

#define GG_ROSTER_IDLE_SHARE 0.95
#define GG_ROSTER_IDLE_CPU 0.01
#define GG_ROSTER_NONE UINT32_MAX
/* The module of the leaves gargalo makes up (resolve.c), which the rule looks through. */
#define GG_ROSTER_SYNTHETIC_MODULE "[kernel]"
/* Names an idle group's label lists; the threads of other names are counted. */
#define GG_ROSTER_IDLE_NAMES 8

typedef struct gg_roster_thread {
    uint64_t weight_ns; /* summed weight of its samples */
    uint64_t samples;
    uint32_t rank;   /* its place in gg_roster.order; GG_ROSTER_NONE without samples */
    bool idle;       /* by the rule above */
    uint32_t parked; /* the wait call most of its weight is parked in, or GG_ROSTER_NONE */
} gg_roster_thread;

typedef struct gg_roster {
    gg_roster_thread *threads; /* per thread of the session */
    uint32_t *order;           /* the threads with samples: busy ones first, each part by CPU time,
                                * then weight, then index */
    size_t n;                  /* entries of order */
    size_t nidle;              /* how many of them are idle (the last nidle) */
} gg_roster;

/* The idle threads parked in one wait call, shown folded as one line or node. */
typedef struct gg_roster_group {
    uint32_t call;      /* the wait call */
    size_t first;       /* the place in gg_roster.order of its first thread */
    size_t threads;     /* how many */
    uint64_t weight_ns; /* their summed sample weight */
    uint64_t samples;
} gg_roster_group;

/* Builds the roster of a stopped session. Returns 0 or GARGALO_ENOMEM (r left empty). */
int gg_roster_build(gg_roster *r, const gargalo_session *s);
void gg_roster_free(gg_roster *r);

/* The name of a wait call ("epoll_wait", "pthread_cond_wait", ...). */
const char *gg_roster_call_name(uint32_t call);

/* The idle threads in groups, one per wait call, in the order of each call's first
 * thread; out has room for r->nidle groups. Returns how many groups there are. */
size_t gg_roster_groups(const gg_roster *r, gg_roster_group *out);

/* Appends what an idle group is called: "3 idle threads: parked in epoll_wait
 * (MHD-worker ×2, listener)", each name once with its count, a thread without a name by
 * its id, past GG_ROSTER_IDLE_NAMES names "and N more". */
void gg_roster_group_label(dynbuf *b, const gargalo_session *s, const gg_roster *r,
                           const gg_roster_group *g);

/* Appends how a thread is named: "name (tid)", or "thread tid" when it has no name. */
void gg_roster_thread_name(dynbuf *b, const gg_thread *t);

#endif
