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
    run->wait_rec = 0;
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

/* A sample, off the CPU, at the stack the thread left from: its weight, the time away,
 * and its time, the end of it, the switch-in will set (other threads' samples may come
 * in between). nr: the call it blocked in, if known; else found from the registers. */
static void commit_off_cpu(const gg_convert *cv, gg_thread_run *run, const uint64_t *regs,
                           int32_t nr, const void *stack, size_t len)
{
    uint32_t depth = gg_unwind_into(cv->raw, regs, stack, len);
    if (!depth)
        return;
    gg_raw_sample rec = {.time_ns = since_start(cv, run->out_ns),
                         .mono_ns = run->out_ns,
                         .depth = depth,
                         .flags = GG_RAW_LEAF_IS_PC | GG_RAW_OFF_CPU,
                         .tid = run->tid};
    if (nr == GG_NO_SYSCALL)
        gg_blocked_call(regs, stack, len, &rec.syscall_nr, &rec.fd);
    else
        rec.syscall_nr = nr, rec.fd = gg_blocked_fd(nr, regs, stack, len);
    if (rec.syscall_nr != GG_NO_SYSCALL)
        rec.flags |= GG_RAW_BLOCKED;
    gg_raw_commit(cv->raw, rec);
    run->out_rec = cv->raw->nrecs;
    run->wait_rec = 0;
}

/* The thread left the CPU: with the registers and stack of that moment (a switch sample),
 * its sample now; without, later, if a tick finds it blocked (gg_convert_capture). */
static void begin_off_cpu(const gg_convert *cv, gg_thread_run *run, const gg_perf_event *ev)
{
    /* At FULL level a switch-out comes twice: the switch event's sample, with the stack,
     * then the switch record. The kernel copies that stack between the two while the
     * thread's task clock still runs, so the wait begins at the record: from the sample,
     * the copy would count as CPU time and as time away. */
    if (!ev->has_regs && run->out_ns && run->out_rec) {
        if (ev->time_ns > run->out_ns)
            run->out_ns = ev->time_ns;
        /* The record also tells a preemption (the thread still runnable, waiting for a
         * CPU, wherever it was, even inside a call) from a wait: only a wait is blocked. */
        if (ev->preempted)
            cv->raw->recs[run->out_rec - 1].flags &= ~(uint32_t)GG_RAW_BLOCKED;
        run->out_preempted = ev->preempted;
        return;
    }
    run->out_ns = ev->time_ns;
    run->out_rec = 0;
    run->out_preempted = ev->preempted;
    if (ev->has_regs)
        commit_off_cpu(cv, run, ev->regs, GG_NO_SYSCALL, ev->stack, ev->stack_len);
}

void gg_convert_capture(const gg_convert *cv, gg_thread_run *run, const uint64_t *regs,
                        int32_t syscall_nr, const void *stack, size_t len)
{
    if (run->out_ns && !run->out_rec && !run->out_preempted)
        commit_off_cpu(cv, run, regs, syscall_nr, stack, len);
}

/* A wait without a stack of its own, ended at end_ns: added to the thread's previous such
 * sample when nothing ran in between (no on-CPU sample) and the two lie within merge_ns,
 * so that a thread switching ten thousand times a second makes no more samples than the
 * clock would. Returns whether it did. */
static bool extend_wait(const gg_convert *cv, gg_thread_run *run, uint64_t end_ns)
{
    if (!run->wait_rec || end_ns - run->wait_first > cv->merge_ns)
        return false;
    gg_raw_sample *rec = &cv->raw->recs[run->wait_rec - 1];
    bool guessed = rec->flags & GG_RAW_STACK_GUESSED;
    if (guessed == run->out_preempted)
        return false; /* a preemption and a wait are told apart */
    rec->weight_ns += end_ns - run->out_ns;
    rec->time_ns = since_start(cv, end_ns);
    rec->mono_ns = end_ns;
    return true;
}

/* A wait without a stack of its own: preempted, the thread was running where its last
 * sample was taken; blocked, where it blocked is not known, and its leaf says so. */
static void add_wait(const gg_convert *cv, gg_thread_run *run, uint64_t end_ns)
{
    gg_raw *raw = cv->raw;
    uint32_t depth = 0, flags = GG_RAW_LEAF_IS_PC | GG_RAW_OFF_CPU;
    if (!run->out_preempted)
        flags |= GG_RAW_STACK_GUESSED;
    if (run->last_depth && gg_raw_has_room(raw)) {
        depth = run->last_depth;
        memcpy(gg_raw_next_pcs(raw), raw->pcs + run->last_offset, depth * sizeof(void *));
    }
    if (!depth) /* nothing of the thread seen yet, or no room: a short wait goes unsaid */
        return;
    gg_raw_commit(raw, (gg_raw_sample){.time_ns = since_start(cv, end_ns),
                                       .weight_ns = end_ns - run->out_ns,
                                       .mono_ns = end_ns,
                                       .depth = depth,
                                       .flags = flags,
                                       .tid = run->tid});
    run->wait_rec = cv->merge_ns ? raw->nrecs : 0;
    run->wait_first = run->out_ns;
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
    if (!extend_wait(cv, run, ev->time_ns))
        add_wait(cv, run, ev->time_ns);
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
