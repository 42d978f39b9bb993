/*
 * perfsrc.h: the perf-event sample source. The kernel samples the thread (task clock for
 * on-CPU time; switch-outs and switch-ins for off-CPU time in wall-clock sessions) and
 * copies its registers and the top of its stack into a buffer; the collector thread, or
 * the session at its stop, unwinds them into the raw buffers. The profiled thread gets
 * no signal and runs no gargalo code while sampled.
 */
#ifndef GG_PERFSRC_H
#define GG_PERFSRC_H

#include "source.h"

/* Whether perf events can be used in this process (probed once). */
bool gg_perfsrc_available(void);

/* On the thread to profile, which names sp as its sampler: starts sampling it. Returns 0,
 * GARGALO_ETIMER (the kernel refused) or GARGALO_ENOMEM; on failure nothing is left
 * running. */
int gg_perfsrc_start(struct gg_sampler *sp);

/* On the sampled thread: stops sampling and unwinds what is left, so the raw buffers
 * hold the whole session. */
void gg_perfsrc_stop(struct gg_sampler *sp);

/* gargalo_rewind, on the sampled thread, the collector lock held: drops what the kernel
 * recorded so far, restarts the thread's CPU clock and the adaptive interval. */
void gg_perfsrc_rewind(struct gg_sampler *sp);
/* From any thread: stops sampling; what was not unwound yet is dropped. */
void gg_perfsrc_stop_source(struct gg_sampler *sp);

#endif
