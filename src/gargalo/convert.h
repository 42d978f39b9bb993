/*
 * convert.h: one thread's perf records made into raw samples: a task-clock sample is
 * on-CPU time at the unwound stack; a switch-out and the next switch-in make one sample
 * of the time away, at the stack it left from. Shared by per-thread sessions (perfsrc.c)
 * and process-wide ones (process.c). Runs under the collector lock, inside
 * gg_unwind_frozen.
 */
#ifndef GG_CONVERT_H
#define GG_CONVERT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf.h"
#include "raw.h"

/* Where a thread stands between records. */
typedef struct gg_thread_run {
    pid_t tid;
    uint64_t cpu_base;    /* its task clock at its last on-CPU sample (or at the start) */
    uint64_t oncpu;       /* on-CPU samples so far: drives the adaptive interval */
    uint64_t out_ns;      /* when it left the CPU; 0 while it runs */
    size_t out_rec;       /* 1 + the raw sample of that switch-out, its weight yet to come */
    bool out_preempted;   /* it left still runnable: it was running at its last stack */
    size_t wait_rec;      /* 1 + its last sample of waits without a stack, while extendable */
    uint64_t wait_first;  /* when the first wait of that sample began */
    uint64_t last_offset; /* the last on-CPU sample's pcs, for a switch-out without a stack */
    uint32_t last_depth;
} gg_thread_run;

/* What a session asks of the conversion. */
typedef struct gg_convert {
    gg_raw *raw;
    bool wall;           /* time away from the CPU counts (wall-clock sessions) */
    uint64_t mono_start; /* CLOCK_MONOTONIC at the session's start */
    bool cpu_timeline;   /* sample times on the thread's CPU clock, from cpu_start */
    uint64_t cpu_start;
    uint64_t end_ns; /* CLOCK_MONOTONIC when stopping began, records after it ignored; 0: running */
    uint64_t merge_ns; /* waits without a stack within this span share one sample; 0: never */
} gg_convert;

/* Adds what ev says of the thread in run to cv->raw. */
void gg_convert_event(const gg_convert *cv, gg_thread_run *run, const gg_perf_event *ev);

/* The thread in run, off the CPU since a switch-out that came without a stack, was found
 * blocked with these registers and this stack copy (process.c reads them from /proc at
 * its ticks): the time away, once it ends, is a sample there. Does nothing when that
 * switch-out already has its sample, or the thread runs. */
void gg_convert_capture(const gg_convert *cv, gg_thread_run *run, const uint64_t *regs,
                        int32_t syscall_nr, const void *stack, size_t len);

/* At the end of a session, at end_ns (CLOCK_MONOTONIC): a thread still off the CPU gets
 * the time since it left. */
void gg_convert_finish(const gg_convert *cv, gg_thread_run *run, uint64_t end_ns);

#endif
