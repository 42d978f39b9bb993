/*
 * convert.c: perf records to raw samples (convert.h).
 */
#include "convert.h"

#include <string.h>

#include "blocked.h"
#include "unwind.h"

static uint64_t since_start(const gg_convert *cv, uint64_t mono)
{
    return mono > cv->mono_start ? mono - cv->mono_start : 0;
}

/* On-CPU time since the thread's previous sample, at the stack where it is now. */
static void add_on_cpu(const gg_convert *cv, gg_thread_run *run, const gg_perf_event *ev)
{
    uint64_t weight = ev->period_ns ? ev->period_ns : ev->cpu_ns - run->cpu_base;
    run->cpu_base = ev->cpu_ns;
    run->oncpu++;
    uint32_t depth = 0;
    if (ev->has_regs)
        depth = gg_unwind_into(cv->raw, ev->regs, ev->stack, ev->stack_len);
    else
        cv->raw->dropped++;
    if (!depth)
        return;
    run->last_offset = cv->raw->pcs_used, run->last_depth = depth;
    uint64_t t = cv->cpu_timeline ? ev->cpu_ns - cv->cpu_start : since_start(cv, ev->time_ns);
    gg_raw_commit(cv->raw, (gg_raw_sample){.time_ns = t,
                                           .weight_ns = weight,
                                           .mono_ns = ev->time_ns,
                                           .depth = depth,
                                           .flags = GG_RAW_LEAF_IS_PC,
                                           .tid = run->tid});
}

/* The thread left the CPU: a sample at the stack it left from, whose weight, the time
 * away, and time, the end of it, the switch-in will set (other threads' samples may come
 * in between). */
static void begin_off_cpu(const gg_convert *cv, gg_thread_run *run, const gg_perf_event *ev)
{
    run->out_ns = ev->time_ns;
    run->out_rec = 0;
    uint32_t depth = ev->has_regs ? gg_unwind_into(cv->raw, ev->regs, ev->stack, ev->stack_len) : 0;
    if (!depth)
        return;
    gg_raw_sample rec = {.time_ns = since_start(cv, ev->time_ns),
                         .mono_ns = ev->time_ns,
                         .depth = depth,
                         .flags = GG_RAW_LEAF_IS_PC | GG_RAW_OFF_CPU,
                         .tid = run->tid};
    gg_blocked_call(ev->regs, ev->stack, ev->stack_len, &rec.syscall_nr, &rec.fd);
    if (rec.syscall_nr != GG_NO_SYSCALL)
        rec.flags |= GG_RAW_BLOCKED;
    gg_raw_commit(cv->raw, rec);
    run->out_rec = cv->raw->nrecs;
}

/* Back on the CPU: the time away is one sample, at the stack it left from or, without
 * one (perf_event_paranoid 2), at the last on-CPU stack, marked as a guess. */
static void end_off_cpu(const gg_convert *cv, gg_thread_run *run, const gg_perf_event *ev)
{
    if (!run->out_ns || ev->time_ns < run->out_ns)
        return;
    gg_raw *raw = cv->raw;
    if (run->out_rec) { /* a sample stands for the time up to its own: stamped at the end */
        gg_raw_sample *rec = &raw->recs[run->out_rec - 1];
        rec->weight_ns = ev->time_ns - run->out_ns;
        rec->time_ns = since_start(cv, ev->time_ns);
        rec->mono_ns = ev->time_ns;
        run->out_ns = 0;
        return;
    }
    uint32_t depth = 0, flags = GG_RAW_LEAF_IS_PC | GG_RAW_OFF_CPU | GG_RAW_STACK_GUESSED;
    if (run->last_depth && gg_raw_has_room(raw)) {
        depth = run->last_depth;
        memcpy(gg_raw_next_pcs(raw), raw->pcs + run->last_offset, depth * sizeof(void *));
    }
    if (depth)
        gg_raw_commit(raw, (gg_raw_sample){.time_ns = since_start(cv, ev->time_ns),
                                           .weight_ns = ev->time_ns - run->out_ns,
                                           .mono_ns = ev->time_ns,
                                           .depth = depth,
                                           .flags = flags,
                                           .tid = run->tid});
    else
        raw->dropped++;
    run->out_ns = 0;
}

void gg_convert_finish(const gg_convert *cv, gg_thread_run *run, uint64_t end_ns)
{
    gg_perf_event in = {.kind = GG_PERF_SWITCH_IN, .tid = run->tid, .time_ns = end_ns};
    if (run->out_ns && cv->wall)
        end_off_cpu(cv, run, &in);
}

void gg_convert_event(const gg_convert *cv, gg_thread_run *run, const gg_perf_event *ev)
{
    /* What threads do once stopping has begun is gargalo's own work (disabling the
     * events, waiting for the collector), not the program's. */
    if (cv->end_ns && ev->time_ns > cv->end_ns && ev->kind != GG_PERF_LOST)
        return;
    if (ev->kind == GG_PERF_ON_CPU)
        add_on_cpu(cv, run, ev);
    else if (ev->kind == GG_PERF_SWITCH_OUT && cv->wall)
        begin_off_cpu(cv, run, ev);
    else if (ev->kind == GG_PERF_SWITCH_IN && cv->wall)
        end_off_cpu(cv, run, ev);
    else if (ev->kind == GG_PERF_LOST)
        cv->raw->dropped += ev->lost;
}
