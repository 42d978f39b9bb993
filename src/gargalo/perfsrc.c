/*
 * perfsrc.c: the perf-event sample source (perfsrc.h).
 *
 * A thread keeps its events open between sessions (opening them costs tens of
 * microseconds, too much for a server that samples every request); they are closed when
 * the thread exits. A session that finds them in use (a session of this thread freed
 * elsewhere and not yet let go of them) opens events of its own.
 */
#define _GNU_SOURCE
#include "perfsrc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "options.h"
#include "unwind.h"

/* Who holds a thread's cached events. */
enum { GG_EV_IDLE, GG_EV_BUSY, GG_EV_ORPHAN };

typedef struct gg_cached_events {
    gg_perf_thread pt; /* first: a session's pt points here */
    atomic_int state;
    bool wall;
} gg_cached_events;

static __thread gg_cached_events *gg_thread_events;
static pthread_key_t gg_events_key;

static void close_events(gg_cached_events *ce)
{
    gg_perf_close(&ce->pt);
    free(ce);
}

/* Thread exit: closes the thread's events, or leaves that to the session using them. */
static void on_thread_exit(void *arg)
{
    gg_cached_events *ce = arg;
    int idle = GG_EV_IDLE;
    gg_thread_events = NULL;
    if (atomic_compare_exchange_strong(&ce->state, &idle, GG_EV_BUSY))
        close_events(ce);
    else
        atomic_store(&ce->state, GG_EV_ORPHAN);
}

/* A forked child inherits the parent's descriptors but not the buffer's mapping, and
 * the events watch a thread of the parent: the child opens its own. */
static void child_after_fork(void)
{
    gg_cached_events *ce = gg_thread_events;
    gg_thread_events = NULL;
    if (ce)
        close_events(ce);
}

static void create_key(void)
{
    pthread_key_create(&gg_events_key, on_thread_exit);
    pthread_atfork(NULL, NULL, child_after_fork);
}

/* A session is done with pt: back to the thread's cache, or closed. */
static void release_events(gg_perf_thread *pt)
{
    gg_cached_events *ce = (gg_cached_events *)pt;
    int busy = GG_EV_BUSY;
    if (!atomic_compare_exchange_strong(&ce->state, &busy, GG_EV_IDLE))
        close_events(ce); /* its thread has exited, or it was never cached */
}

static int open_events(gg_cached_events **out, bool wall, uint64_t interval_ns, bool cache)
{
    gg_cached_events *ce = calloc(1, sizeof(*ce));
    if (!ce)
        return GARGALO_ENOMEM;
    int rc = gg_perf_open(&ce->pt, 0, wall, interval_ns, gg_perf_level_probe());
    if (rc) {
        free(ce);
        return rc;
    }
    ce->wall = wall;
    atomic_init(&ce->state, cache ? GG_EV_BUSY : GG_EV_ORPHAN);
    *out = ce;
    return 0;
}

static void cache_events(gg_cached_events *ce)
{
    gg_thread_events = ce;
    pthread_setspecific(gg_events_key, ce);
}

/* The thread's events for a session of this kind, opened on first use. */
static int take_events(gg_perf_thread **out, bool wall, uint64_t interval_ns)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, create_key);
    gg_cached_events *ce = gg_thread_events;
    int idle = GG_EV_IDLE, rc;
    if (ce && atomic_compare_exchange_strong(&ce->state, &idle, GG_EV_BUSY)) {
        if (ce->wall == wall) {
            *out = &ce->pt;
            if ((rc = gg_perf_set_interval(&ce->pt, interval_ns)))
                release_events(&ce->pt);
            return rc;
        }
        close_events(ce); /* the other kind: replaced below */
        cache_events(NULL);
    }
    bool cache = !gg_thread_events; /* else they are still held by an abandoned session */
    if ((rc = open_events(&ce, wall, interval_ns, cache)))
        return rc;
    if (cache)
        cache_events(ce);
    *out = &ce->pt;
    return 0;
}

bool gg_perfsrc_available(void)
{
    return gg_perf_level_probe() != GG_PERF_NONE;
}

/* ---- turning perf records into raw samples (under the collector lock) ---- */

/* When ev happened on the session clock: wall time, or the thread's CPU time. */
static uint64_t session_time(const struct gg_sampler *sp, const gg_perf_event *ev)
{
    if (sp->opt.clock == GARGALO_CLOCK_CPU)
        return ev->cpu_ns - sp->perf.cpu_start;
    return ev->time_ns > sp->mono_start ? ev->time_ns - sp->mono_start : 0;
}

static void add_on_cpu(struct gg_sampler *sp, const gg_perf_event *ev)
{
    gg_perf_run *pr = &sp->perf;
    uint64_t weight = ev->cpu_ns - pr->cpu_base;
    pr->cpu_base = ev->cpu_ns;
    pr->oncpu++;
    if (!ev->has_regs) {
        sp->raw.dropped++;
        return;
    }
    uint32_t depth = gg_unwind_into(&sp->raw, ev->regs, ev->stack, ev->stack_len);
    if (!depth)
        return;
    pr->last_offset = sp->raw.pcs_used, pr->last_depth = depth;
    gg_raw_commit(&sp->raw, session_time(sp, ev), weight, depth, GG_RAW_LEAF_IS_PC);
}

/* The thread left the CPU: where it was goes into the next raw slot, not yet counted. */
static void begin_off_cpu(struct gg_sampler *sp, const gg_perf_event *ev)
{
    gg_perf_run *pr = &sp->perf;
    pr->out_ns = ev->time_ns;
    pr->out_depth = 0;
    if (ev->has_regs)
        pr->out_depth = gg_unwind_into(&sp->raw, ev->regs, ev->stack, ev->stack_len);
}

/* Back on the CPU: the time away is one sample, at the stack it left from or, without
 * one (perf_event_paranoid 2), at the last on-CPU stack, marked as a guess. */
static void end_off_cpu(struct gg_sampler *sp, const gg_perf_event *ev)
{
    gg_perf_run *pr = &sp->perf;
    if (!pr->out_ns || ev->time_ns < pr->out_ns)
        return;
    uint64_t t = pr->out_ns > sp->mono_start ? pr->out_ns - sp->mono_start : 0;
    uint64_t weight = ev->time_ns - pr->out_ns;
    uint32_t depth = pr->out_depth, flags = GG_RAW_LEAF_IS_PC | GG_RAW_OFF_CPU;
    if (!depth && pr->last_depth && gg_raw_has_room(&sp->raw)) {
        depth = pr->last_depth;
        memcpy(gg_raw_next_pcs(&sp->raw), sp->raw.pcs + pr->last_offset, depth * sizeof(void *));
        flags |= GG_RAW_STACK_GUESSED;
    }
    if (depth)
        gg_raw_commit(&sp->raw, t, weight, depth, flags);
    else
        sp->raw.dropped++;
    pr->out_ns = 0;
}

static void on_event(void *ctx, const gg_perf_event *ev)
{
    struct gg_sampler *sp = ctx;
    if (ev->kind == GG_PERF_ON_CPU)
        add_on_cpu(sp, ev);
    else if (ev->kind == GG_PERF_SWITCH_OUT && sp->opt.clock == GARGALO_CLOCK_WALL)
        begin_off_cpu(sp, ev);
    else if (ev->kind == GG_PERF_SWITCH_IN && sp->opt.clock == GARGALO_CLOCK_WALL)
        end_off_cpu(sp, ev);
    else if (ev->kind == GG_PERF_LOST)
        sp->raw.dropped += ev->lost;
}

static void read_events(void *ctx)
{
    struct gg_sampler *sp = ctx;
    gg_perf_read(sp->perf.pt, on_event, sp);
}

/* Empties the buffer, then follows the adaptive interval. Under the collector lock. */
static void drain(void *ctx)
{
    struct gg_sampler *sp = ctx;
    gg_unwind_frozen(read_events, sp);
    unsigned next = gg_options_interval_us(&sp->opt, sp->perf.oncpu);
    if (next != sp->interval_us && gg_perf_set_interval(sp->perf.pt, next * 1000ull) == 0)
        sp->interval_us = next;
}

static void discard(void *ctx, const gg_perf_event *ev) {}

int gg_perfsrc_start(struct gg_sampler *sp)
{
    bool wall = sp->opt.clock == GARGALO_CLOCK_WALL;
    sp->interval_us = gg_options_interval_us(&sp->opt, 0);
    int rc = take_events(&sp->perf.pt, wall, sp->interval_us * 1000ull);
    if (rc)
        return rc;
    gg_perf_read(sp->perf.pt, discard, NULL); /* what an abandoned session left */
    sp->perf.cpu_base = sp->perf.cpu_start = gg_perf_clock_ns(sp->perf.pt);
    atomic_store(&sp->running, 1);
    rc = gg_collector_add(sp->perf.pt->clock_fd, drain, sp);
    if (!rc)
        rc = gg_perf_enable(sp->perf.pt);
    if (rc) {
        gg_collector_remove(sp);
        atomic_store(&sp->running, 0);
        release_events(sp->perf.pt);
    }
    return rc;
}

void gg_perfsrc_stop_source(struct gg_sampler *sp)
{
    atomic_store(&sp->running, 0);
    gg_perf_disable(sp->perf.pt);
    gg_collector_remove(sp);
    release_events(sp->perf.pt);
}

void gg_perfsrc_stop(struct gg_sampler *sp)
{
    atomic_store(&sp->running, 0);
    gg_perf_disable(sp->perf.pt);
    sp->perf.cpu_total = gg_perf_clock_ns(sp->perf.pt) - sp->perf.cpu_start;
    gg_collector_remove(sp);
    gg_collector_lock();
    drain(sp);
    gg_collector_unlock();
    release_events(sp->perf.pt);
}
