/*
 * sigprof.h: the signal sample source. Each sample is a SIGPROF delivered to the profiled
 * thread (queued by the ticker thread for wall-clock sessions, from a CPU-time timer for
 * CPU-clock ones); the handler copies the registers and the top of the stack into a ring,
 * and the collector thread unwinds them. The handler never allocates, locks, unwinds or
 * does I/O (but for one write to an eventfd that wakes the collector).
 */
#ifndef GG_SIGPROF_H
#define GG_SIGPROF_H

#include <stdint.h>

#include "source.h"

/* Installs the SIGPROF handler once per process, then only checks it is still ours.
 * Returns 0, GARGALO_ESIGNAL (another handler owns SIGPROF) or GARGALO_ENOMEM. */
int gg_sigprof_install(void);

/* On the thread to profile, before gg_sigprof_start: unblocks SIGPROF (remembering
 * whether it was blocked) and finds the bounds of the thread's stack. */
void gg_sigprof_prepare_thread(struct gg_sampler *sp);

/* Starts the signals of sp, the calling thread's sampler (thread.h). Returns 0,
 * GARGALO_ETIMER or GARGALO_ENOMEM; on failure nothing is left running. */
int gg_sigprof_start(struct gg_sampler *sp);

/* On the sampled thread, once it no longer names sp as its sampler: its signals stop,
 * any still queued are discarded, SIGPROF is blocked again if it was, and what the
 * handler copied is unwound into the raw buffers. */
void gg_sigprof_stop(struct gg_sampler *sp);

/* gargalo_rewind, on the sampled thread, its handler kept out (running cleared) and the
 * collector lock held: drops what the handler copied and restarts the adaptive interval
 * of a CPU-time timer. sp's session clock has been restarted already. */
void gg_sigprof_rewind(struct gg_sampler *sp);
/* Frees what the source allocated for sp, once no signal can reach it any more. */
void gg_sigprof_release(struct gg_sampler *sp);

/* From any thread: stops the signals of sp. Once it returns none is sent any more; one
 * sent just before may still be pending on its thread. */
void gg_sigprof_stop_source(struct gg_sampler *sp);

/* The handler's address, for cutting its frames off the stacks of a TSan build, where
 * the handler unwinds from its own registers. */
uintptr_t gg_sigprof_handler_pc(void);

#endif
