/*
 * source.h: the running side of a session (private): what its sample source fills.
 *
 * sampler.c owns a session's life on its thread (gargalo_start, gargalo_stop,
 * gargalo_session_free, and what happens when the thread exits first). A sample source
 * fills the raw buffers: perfsrc.c with the kernel's perf events where it allows them, or
 * sigprof.c with SIGPROF and unwinding in the handler. resolve.c turns the raw buffers
 * into frames at stop. docs/sampling.md explains the design.
 */
#ifndef GG_SOURCE_H
#define GG_SOURCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "gargalo.h"
#include "convert.h"
#include "events.h"
#include "perf.h"
#include "raw.h"
#include "sigring.h"

/* What the perf source keeps of a running session (perfsrc.c). */
typedef struct gg_perf_run {
    gg_perf_thread *pt; /* the thread's events, kept open by the thread across sessions */
    uint64_t cpu_start; /* task clock at start */
    uint64_t cpu_total; /* task clock from start to stop: the session's CPU time */
    uint64_t stop_ns;   /* CLOCK_MONOTONIC when stopping began; 0 while running */
    gg_thread_run run;  /* where the thread stands between records */
} gg_perf_run;

struct gg_sampler {
    atomic_int running;          /* the source records only while set */
    atomic_int paused;           /* gargalo_pause: nothing recorded is kept until a rewind */
    _Atomic uint64_t rewound_ns; /* CLOCK_MONOTONIC of the last gargalo_rewind, for the ticker */
    atomic_int owner;            /* who frees it: see the state machine in sampler.c */
    gargalo_mechanism mechanism; /* GARGALO_MECHANISM_PERF or _SIGNAL: the source in use */
    bool reblock;                /* signals: SIGPROF was blocked on the thread before start */
    bool ticked;                 /* signals, wall clock: sent by the ticker thread, not a timer */
    gargalo_options opt;
    pid_t tid;
    timer_t timer;              /* signals, CPU clock: the thread's CPU-time timer */
    clockid_t clock;            /* session clock: CLOCK_MONOTONIC or the thread's CPU clock */
    uint64_t start_ns, last_ns; /* on the session clock */
    uint64_t mono_start, cpu_start;
    bool cpu_pending; /* signals, rewound: cpu_start is read at the first sample */
    uint64_t ticks;   /* signals: timer signals seen, for the adaptive interval of a CPU timer */
    unsigned interval_us;
    gg_perf_run perf;
    gg_sigring ring;              /* signals: what the handler copied, not unwound yet */
    uintptr_t stack_lo, stack_hi; /* signals: the thread's stack, never copied past */
    gg_eventlog events;           /* labels and markers of the thread while sampled */
    gg_raw raw;
};

#endif
