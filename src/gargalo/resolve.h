/*
 * resolve.h: the cold half of gargalo_stop: raw program counters become the session's
 * frames, stacks and samples, through the process-wide symbol cache (symbols.h).
 */
#ifndef GG_RESOLVE_H
#define GG_RESOLVE_H

#include <stdint.h>

#include "events.h"
#include "raw.h"
#include "session.h"

/* Adds every raw sample of raw to s in time order, each with its thread (a process-wide
 * session adds the threads as samples name them; a per-thread one has s->tid's), keeping
 * at most max_depth innermost frames of each. A stack that its source could not cut at
 * the interrupted pc (its records lack GG_RAW_LEAF_IS_PC) still holds the frames of the
 * signal handler at handler_pc and of what called it: those are cut here by symbol. Then
 * the markers and labels of log (may be NULL) join the samples, times counted from
 * mono_start. Sets s->symbolize_ns. Returns 0 or GARGALO_ENOMEM. */
int gg_resolve(gargalo_session *s, const gg_raw *raw, uint32_t max_depth, uintptr_t handler_pc,
               gg_eventlog *log, uint64_t mono_start);

#endif
