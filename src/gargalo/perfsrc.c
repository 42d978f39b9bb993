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

#include "clock.h"
#include "collector.h"
#include "convert.h"
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
    gg_perf_config cfg = {.wall = wall,
                          .switch_stacks = true, /* a request's every wait, where it waited */
                          .interval_ns = interval_ns,
                          .level = gg_perf_level_probe(),
                          .cpu = -1};
    int rc = gg_perf_open(&ce->pt, 0, &cfg);
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

/* ---- under the collector lock ---- */

static void on_event(void *ctx, const gg_perf_event *ev)
{
    struct gg_sampler *sp = ctx;
    gg_convert cv = {.raw = &sp->raw,
                     .wall = sp->opt.clock == GARGALO_CLOCK_WALL,
                     .mono_start = sp->mono_start,
                     .cpu_timeline = sp->opt.clock == GARGALO_CLOCK_CPU,
                     .cpu_start = sp->perf.cpu_start,
                     .end_ns = sp->perf.stop_ns,
                     .merge_ns = 1000ull * sp->interval_us};
    gg_convert_event(&cv, &sp->perf.run, ev);
}

static void read_events(void *ctx)
{
    struct gg_sampler *sp = ctx;
    gg_perf_read(sp->perf.pt, on_event, sp);
}

static void discard(void *ctx, const gg_perf_event *ev) {}

/* Empties the buffer, then follows the adaptive interval. Under the collector lock. A
 * paused session keeps none of what the kernel recorded: it is dropped unread, not
 * unwound. */
static void drain(void *ctx)
{
    struct gg_sampler *sp = ctx;
    if (atomic_load(&sp->paused)) {
        gg_perf_read(sp->perf.pt, discard, NULL);
        return;
    }
    gg_unwind_frozen(read_events, sp);
    unsigned next = gg_options_interval_us(&sp->opt, sp->perf.run.oncpu);
    if (next != sp->interval_us && gg_perf_set_interval(sp->perf.pt, next * 1000ull) == 0)
        sp->interval_us = next;
}

int gg_perfsrc_start(struct gg_sampler *sp)
{
    bool wall = sp->opt.clock == GARGALO_CLOCK_WALL;
    sp->interval_us = gg_options_interval_us(&sp->opt, 0);
    int rc = take_events(&sp->perf.pt, wall, sp->interval_us * 1000ull);
    if (rc)
        return rc;
    gg_perf_read(sp->perf.pt, discard, NULL); /* what an abandoned session left */
    sp->perf.run = (gg_thread_run){.tid = sp->tid};
    sp->perf.stop_ns = 0;
    sp->perf.run.cpu_base = sp->perf.cpu_start = gg_perf_clock_ns(sp->perf.pt);
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

/* The clock is read before the buffer is emptied: a sample the kernel takes in between is
 * dropped, but its time is not, since the next one weighs from the clock read. */
void gg_perfsrc_rewind(struct gg_sampler *sp)
{
    sp->perf.run = (gg_thread_run){.tid = sp->tid};
    sp->perf.run.cpu_base = sp->perf.cpu_start = gg_perf_clock_ns(sp->perf.pt);
    gg_perf_read(sp->perf.pt, discard, NULL);
    unsigned first = gg_options_interval_us(&sp->opt, 0);
    if (first != sp->interval_us && gg_perf_set_interval(sp->perf.pt, first * 1000ull) == 0)
        sp->interval_us = first;
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
    gg_collector_lock(); /* the collector reads it while draining */
    sp->perf.stop_ns = gg_clock_ns(CLOCK_MONOTONIC);
    gg_collector_unlock();
    atomic_store(&sp->running, 0);
    gg_perf_disable(sp->perf.pt);
    sp->perf.cpu_total = gg_perf_clock_ns(sp->perf.pt) - sp->perf.cpu_start;
    gg_collector_remove(sp);
    gg_collector_lock();
    drain(sp);
    gg_collector_unlock();
    release_events(sp->perf.pt);
}
