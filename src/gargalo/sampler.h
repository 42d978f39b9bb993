/*
 * sampler.h: the running side of a session: its signal source (ticker.c, or a CPU-time
 * timer), the SIGPROF handler that unwinds into preallocated memory, and the step from
 * raw stacks to resolved ones.
 * sampler.c implements gargalo_start, gargalo_stop and gargalo_session_free (gargalo.h);
 * docs/sampling.md explains the design. Nothing here is for renderers.
 */
#ifndef GG_SAMPLER_H
#define GG_SAMPLER_H

#include <stdint.h>

#include "gargalo.h"

/* The adaptive interval (options.interval_us == 0) starts here and doubles every
 * GG_ADAPT_STEP signals until it reaches options.max_interval_us. At 80 us a 10 ms
 * session gets about 110 samples; after about a quarter second the interval is 2 ms. */
#define GG_ADAPT_START_US 80u
#define GG_ADAPT_STEP 100u

/* Bounds of the options (gargalo_start answers GARGALO_EINVAL outside them). */
#define GG_INTERVAL_MIN_US 50u
#define GG_INTERVAL_MAX_US 1000000u
#define GG_DEPTH_MAX 65536u

/* The sampling interval, in microseconds, after n timer signals under options opt
 * (validated). Pure and async-signal-safe: the handler calls it to re-arm its timer. */
unsigned gg_sampler_interval_us(const gargalo_options *opt, uint64_t n);

#endif
