/*
 * source.h: the running side of a session (private): what its sample source fills.
 * sampler.c owns a session's life on its thread (gargalo_start, gargalo_stop,
 * gargalo_session_free, and what happens when the thread exits first); the source fills
 * the raw buffers (sigprof.c: SIGPROF and unwinding in the handler); resolve.c turns them
 * into frames at stop. docs/sampling.md explains the design.
 */
#ifndef GG_SOURCE_H
#define GG_SOURCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gargalo.h"
#include "raw.h"

struct gg_sampler {
    atomic_int running; /* the source records only while set */
    atomic_int owner;   /* who frees it: see the state machine in sampler.c */
    bool warming;       /* the one self-sent warm-up signal is expected */
    bool reblock;       /* SIGPROF was blocked on the thread before start */
    bool ticked;        /* wall clock: signalled by the ticker thread, not a timer */
    gargalo_options opt;
    timer_t timer;              /* CPU clock: the thread's CPU-time timer */
    clockid_t clock;            /* session clock: CLOCK_MONOTONIC or the thread's CPU clock */
    uint64_t start_ns, last_ns; /* on the session clock */
    uint64_t mono_start, cpu_start;
    uint64_t ticks; /* timer signals seen: drives the adaptive interval of a CPU timer */
    unsigned interval_us;
    gg_raw raw;
};

#endif
