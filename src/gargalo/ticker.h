/*
 * ticker.h: one process-wide thread that sends SIGPROF to each thread profiled on the
 * wall clock, at that session's interval. Not a timer of the profiled thread's own: a
 * signal sent from another CPU costs the interrupted thread less than a timer interrupt
 * taken on its own CPU (docs/sampling.md has the figures). CPU-clock sessions keep a
 * per-thread CPU-time timer, since only the kernel knows when a thread's CPU time passes.
 */
#ifndef GG_TICKER_H
#define GG_TICKER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "gargalo.h"

/* What a session tells the ticker without taking its lock (gargalo_pause, gargalo_rewind):
 * while active is 0 its thread gets no signal; when since (the CLOCK_MONOTONIC time of its
 * last rewind) changes, or active comes back, its schedule starts over from since: its
 * first signal is due one interval after it. */
typedef struct gg_tick_gate {
    const atomic_int *active;
    const _Atomic uint64_t *since;
} gg_tick_gate;

/* Starts sending SIGPROF to thread tid, carrying key in si_value with si_code SI_QUEUE,
 * at the (adaptive) interval of opt, which must stay valid until gg_ticker_remove.
 * Starts the ticker thread on first use. Returns 0, GARGALO_ENOMEM or GARGALO_ETIMER.
 * Thread-safe; not async-signal-safe. */
int gg_ticker_add(void *key, pid_t tid, const gargalo_options *opt);
/* The same, the signals following gate (see gg_tick_gate), whose pointers must stay
 * valid until gg_ticker_remove. */
int gg_ticker_add_gated(void *key, pid_t tid, const gargalo_options *opt, gg_tick_gate gate);

/* Says that a gate was just opened or rewound: wakes the ticker if it sleeps until woken.
 * It does so only once every gate has stayed closed for a while (GG_TICKER_LINGER_NS);
 * until then it looks at the gates every few milliseconds by itself (a worker's gate is
 * closed between requests, most of the time under load), and so the lock is taken and the
 * ticker woken only for the first request after a quiet spell. A session rewound meanwhile
 * gets its first signal when the ticker next looks, at most GG_TICKER_POLL_NS later than
 * its interval says; its weight covers the time since the rewind. Thread-safe. */
void gg_ticker_opened(void);

/* Starts the ticker thread now if it is not running yet, so that the first session does
 * not wait for it. Returns 0 or GARGALO_ETIMER. Thread-safe. */
int gg_ticker_prepare(void);

/* Stops the signals for key. After it returns no new signal for key is sent; one sent
 * just before may still be pending on the thread. Unknown keys are ignored. Thread-safe. */
void gg_ticker_remove(void *key);

#endif
