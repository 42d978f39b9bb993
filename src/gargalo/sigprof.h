/*
 * sigprof.h: the signal sample source. Each sample is a SIGPROF delivered to the profiled
 * thread (queued by the ticker thread for wall-clock sessions, from a CPU-time timer for
 * CPU-clock ones); the handler unwinds with libunwind straight into the raw buffers.
 * The handler never allocates, locks, or does I/O.
 */
#ifndef GG_SIGPROF_H
#define GG_SIGPROF_H

#include <stdint.h>

#include "source.h"

/* Installs the SIGPROF handler once per process, then only checks it is still ours.
 * Returns 0, GARGALO_ESIGNAL (another handler owns SIGPROF) or GARGALO_ENOMEM. */
int gg_sigprof_install(void);

/* On the thread to profile, before gg_sigprof_start: unblocks SIGPROF (remembering
 * whether it was blocked) and, on the thread's first session, warms unwinding up with one
 * signal of its own, so libunwind's first use on this thread is not inside user code. */
void gg_sigprof_prepare_thread(struct gg_sampler *sp);

/* Starts the signals of sp, the calling thread's sampler (thread.h). Returns 0 or
 * GARGALO_ETIMER; on failure nothing is left running. */
int gg_sigprof_start(struct gg_sampler *sp);

/* On the sampled thread, once it no longer names sp as its sampler: its signals stop, and
 * SIGPROF is blocked again if it was. A signal still pending afterwards finds no sampler. */
void gg_sigprof_stop(struct gg_sampler *sp);

/* From any thread: stops the signals of sp. Once it returns none is sent any more; one
 * sent just before may still be pending on its thread. */
void gg_sigprof_stop_source(struct gg_sampler *sp);

/* The handler's address, for cutting its frames out of stacks it could not cut itself. */
uintptr_t gg_sigprof_handler_pc(void);

#endif
