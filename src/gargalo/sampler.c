/*
 * sampler.c: a session's life on its thread: gargalo_start, gargalo_stop,
 * gargalo_session_free, gargalo_preload, and the hand-over when a session and its thread
 * part ways. Sampling itself is a source's (perfsrc.c where the kernel allows perf events,
 * else sigprof.c); turning addresses into frames is resolve.c's.
 *
 * Who frees a sampler whose session was freed on another thread (orphaned) or whose thread
 * exited first (gone)? Whichever side comes second. The owner field decides it:
 *
 *   LIVE --session freed elsewhere--> HANDING --source stopped--> ORPHANED --thread's
 *        next start or exit--> freed by the thread
 *   LIVE --thread exits--> GONE --session freed--> freed by gargalo_session_free
 *
 * Only one side stops the source: a deleted timer's id may be reused at once.
 */
#define _GNU_SOURCE
#include "source.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibrate.h"
#include "clock.h"
#include "collector.h"
#include "options.h"
#include "perfsrc.h"
#include "process.h"
#include "resolve.h"
#include "session.h"
#include "sigprof.h"
#include "symbols.h"
#include "thread.h"
#include "ticker.h"
#include "unwind.h"

enum { GG_LIVE, GG_HANDING, GG_ORPHANED, GG_GONE };

static pthread_key_t gg_exit_key; /* its destructor runs when a thread exits with a sampler */
static int gg_exit_key_err;

static void sampler_free(struct gg_sampler *sp)
{
    if (sp->mechanism == GARGALO_MECHANISM_SIGNAL)
        gg_sigprof_release(sp);
    gg_raw_free(&sp->raw);
    gg_eventlog_free(&sp->events);
    free(sp);
}

/* Stops whatever takes sp's samples; from any thread. */
static void stop_source(struct gg_sampler *sp)
{
    if (sp->mechanism == GARGALO_MECHANISM_PERF)
        gg_perfsrc_stop_source(sp);
    else
        gg_sigprof_stop_source(sp);
}

/* Waits out a session being freed on another thread right now. */
static int settled_owner(struct gg_sampler *sp)
{
    int st;
    while ((st = atomic_load(&sp->owner)) == GG_HANDING)
        sched_yield();
    return st;
}

/* Runs on a thread that exits while it still has a sampler: a session never stopped (its
 * signals would go on forever) or one orphaned since. */
static void on_thread_exit(void *arg)
{
    struct gg_sampler *sp = arg;
    int live = GG_LIVE;
    atomic_store(&sp->running, 0);
    gg_thread_set_sampler(NULL);
    gg_events_attach_thread(NULL);
    if (atomic_compare_exchange_strong(&sp->owner, &live, GG_GONE)) {
        stop_source(sp); /* the session still holds sp and frees it */
        return;
    }
    settled_owner(sp);
    sampler_free(sp);
}

static void create_exit_key(void)
{
    if (pthread_key_create(&gg_exit_key, on_thread_exit) != 0)
        gg_exit_key_err = GARGALO_ENOMEM;
}

/* A thread whose session was freed elsewhere still points at its sampler (a late signal
 * may read it); the thread itself frees it at its next start. */
static int claim_thread(void)
{
    struct gg_sampler *sp = gg_thread_sampler();
    if (!sp)
        return 0;
    if (settled_owner(sp) != GG_ORPHANED)
        return GARGALO_EBUSY;
    gg_thread_set_sampler(NULL);
    gg_events_attach_thread(NULL);
    pthread_setspecific(gg_exit_key, NULL);
    sampler_free(sp);
    return 0;
}

static int sampler_new(const gargalo_options *o, struct gg_sampler **out)
{
    struct gg_sampler *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return GARGALO_ENOMEM;
    int rc = gg_raw_init(&sp->raw, o->max_frames, o->max_depth + GG_DEPTH_SLACK);
    if (rc) {
        free(sp);
        return rc;
    }
    sp->opt = *o;
    sp->tid = gettid();
    gg_eventlog_init(&sp->events);
    sp->clock = o->clock == GARGALO_CLOCK_CPU ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    /* wall clock: the ticker's queued signals, or a timer of the thread's own where the
     * calibration found that cheaper */
    sp->ticked = o->clock == GARGALO_CLOCK_WALL && !gg_calibrated_own_timer();
    *out = sp;
    return 0;
}

static void describe_thread(gargalo_session *s, const gargalo_options *o)
{
    s->opt = *o;
    s->tid = gettid();
    pthread_getname_np(pthread_self(), s->thread_name, sizeof(s->thread_name));
    s->start_unix_ns = gg_clock_ns(CLOCK_REALTIME);
}

static void mark_start(struct gg_sampler *sp)
{
    sp->cpu_pending = false;
    sp->mono_start = gg_clock_ns(CLOCK_MONOTONIC);
    sp->cpu_start = gg_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    sp->start_ns = sp->last_ns = sp->clock == CLOCK_MONOTONIC ? sp->mono_start : sp->cpu_start;
}

/* Everything gargalo_start checks and claims before anything is allocated. */
static int start_checks(const gargalo_options *opt, gargalo_options *o)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, create_exit_key);
    int rc = gg_exit_key_err ? gg_exit_key_err : gg_options_check(opt, o);
    if (!rc && o->mechanism == GARGALO_MECHANISM_PERF && !gg_perfsrc_available())
        rc = GARGALO_EUNAVAIL;
    if (!rc)
        rc = claim_thread();
    return rc;
}

static int start_signals(struct gg_sampler *sp)
{
    int rc = gg_sigprof_install();
    if (rc)
        return rc;
    sp->mechanism = GARGALO_MECHANISM_SIGNAL;
    gg_sigprof_prepare_thread(sp);
    mark_start(sp);
    gg_thread_set_sampler(sp);
    if ((rc = gg_sigprof_start(sp)))
        gg_thread_set_sampler(NULL);
    return rc;
}

/* Perf events where allowed (a refusal at open falls back to signals unless perf was
 * asked for), else signals. */
static int start_source(struct gg_sampler *sp)
{
    if (sp->opt.mechanism != GARGALO_MECHANISM_SIGNAL && gg_perfsrc_available()) {
        sp->mechanism = GARGALO_MECHANISM_PERF;
        mark_start(sp);
        gg_thread_set_sampler(sp);
        int rc = gg_perfsrc_start(sp);
        if (!rc)
            return 0;
        gg_thread_set_sampler(NULL);
        if (sp->opt.mechanism == GARGALO_MECHANISM_PERF)
            return rc;
    }
    return start_signals(sp);
}

int gargalo_start(gargalo_session **out, const gargalo_options *opt)
{
    gargalo_options o;
    struct gg_sampler *sp = NULL;
    if (!out)
        return GARGALO_EINVAL;
    *out = NULL;
    int rc = start_checks(opt, &o);
    gargalo_session *s = rc ? NULL : gg_session_new();
    if (!rc && !s)
        rc = GARGALO_ENOMEM;
    if (!rc)
        rc = sampler_new(&o, &sp);
    if (!rc) {
        describe_thread(s, &o);
        rc = start_source(sp);
    }
    if (rc) {
        if (sp)
            sampler_free(sp);
        free(s);
        return rc;
    }
    pthread_setspecific(gg_exit_key, sp);
    gg_events_attach_thread(&sp->events);
    gg_events_log_current_labels(&sp->events, sp->mono_start, 1);
    s->mechanism = sp->mechanism;
    s->sampler = sp;
    s->state = GG_RUNNING;
    *out = s;
    return 0;
}

/* On the session's own thread: the thread forgets sp, no more samples are taken, and the
 * raw buffers hold all that was. */
static void disarm(struct gg_sampler *sp)
{
    gg_thread_set_sampler(NULL);
    gg_events_attach_thread(NULL);
    if (sp->mechanism == GARGALO_MECHANISM_PERF)
        gg_perfsrc_stop(sp);
    else
        gg_sigprof_stop(sp);
    pthread_setspecific(gg_exit_key, NULL);
}

int gargalo_stop(gargalo_session *s)
{
    if (!s)
        return GARGALO_EINVAL;
    if (s->process_run)
        return gg_process_stop(s);
    struct gg_sampler *sp = s->sampler;
    if (s->state != GG_RUNNING || !sp || s->tid != gettid() || gg_thread_sampler() != sp ||
        atomic_load(&sp->paused))
        return GARGALO_ESTATE;
    disarm(sp);
    s->duration_ns = gg_clock_ns(CLOCK_MONOTONIC) - sp->mono_start;
    /* With perf events, the CPU time their samples share out, to the nanosecond. */
    s->cpu_ns = sp->mechanism == GARGALO_MECHANISM_PERF ? sp->perf.cpu_total
                : sp->cpu_pending                       ? 0 /* rewound, and no sample since */
                                  : gg_clock_ns(CLOCK_THREAD_CPUTIME_ID) - sp->cpu_start;
    s->dropped = sp->raw.dropped;
    int rc = gg_resolve(s, &sp->raw, sp->opt.max_depth, gg_sigprof_handler_pc(), &sp->events,
                        sp->mono_start);
    if (!rc)
        s->threads[0].cpu_ns = s->cpu_ns;
    s->sampler = NULL;
    s->state = GG_STOPPED;
    sampler_free(sp);
    if (rc) /* a half-built profile would mislead: keep the statistics only */
        gg_session_free_resolved(s);
    gg_session_finish(s);
    return rc;
}

/* Freed on another thread: stop the signals (timer ids are process-wide) but leave the
 * sampler alive, since a signal may be running on its thread right now. */
static void orphan(struct gg_sampler *sp)
{
    int live = GG_LIVE;
    atomic_store(&sp->running, 0);
    if (atomic_compare_exchange_strong(&sp->owner, &live, GG_HANDING)) {
        stop_source(sp);
        atomic_store(&sp->owner, GG_ORPHANED);
    } else { /* GG_GONE: the thread has exited and stopped the source */
        sampler_free(sp);
    }
}

void gargalo_session_free(gargalo_session *s)
{
    if (!s)
        return;
    if (s->process_run)
        gg_process_discard(s);
    struct gg_sampler *sp = s->sampler;
    if (sp && s->tid == gettid() && gg_thread_sampler() == sp) {
        disarm(sp);
        sampler_free(sp);
    } else if (sp) {
        orphan(sp);
    }
    gg_session_free_resolved(s);
    free(s);
}

/* ---- one session across many requests: gargalo_pause and gargalo_rewind ---- */

/* s's sampler when s is a per-thread session running on the calling thread, else NULL.
 * Only the thread that started it names sp as its sampler: no gettid, a system call. */
static struct gg_sampler *own_sampler(const gargalo_session *s)
{
    struct gg_sampler *sp = s->sampler;
    if (s->process_run || s->state != GG_RUNNING || !sp || gg_thread_sampler() != sp)
        return NULL;
    return sp;
}

int gargalo_pause(gargalo_session *s)
{
    if (!s)
        return GARGALO_EINVAL;
    struct gg_sampler *sp = own_sampler(s);
    if (!sp)
        return GARGALO_ESTATE;
    /* The handler ignores signals and the ticker sends none; perf's collector drops what
     * the kernel still records instead of unwinding it. */
    atomic_store(&sp->paused, 1);
    atomic_store(&sp->running, 0);
    return 0;
}

/* mark_start without reading the thread's CPU clock, a system call that was the most a
 * rewind cost: a wall-clock session's samples do not need it, and its first sample reads it
 * for the statistics (gargalo_rewind's contract says what that leaves out). */
static void mark_rewound(struct gg_sampler *sp)
{
    sp->mono_start = gg_clock_ns(CLOCK_MONOTONIC);
    sp->cpu_start = 0;
    sp->cpu_pending = true;
    sp->start_ns = sp->last_ns = sp->mono_start;
}

/* The session clock starts again and what the source recorded so far is dropped, under
 * the collector lock: the collector converts with the start times. */
static void forget_samples(struct gg_sampler *sp)
{
    gg_collector_lock();
    if (sp->mechanism == GARGALO_MECHANISM_SIGNAL && sp->clock == CLOCK_MONOTONIC)
        mark_rewound(sp);
    else
        mark_start(sp);
    if (sp->mechanism == GARGALO_MECHANISM_PERF)
        gg_perfsrc_rewind(sp);
    else
        gg_sigprof_rewind(sp);
    sp->raw.pcs_used = sp->raw.nrecs = sp->raw.dropped = 0;
    atomic_store(&sp->paused, 0);
    gg_collector_unlock();
}

int gargalo_rewind(gargalo_session *s)
{
    if (!s)
        return GARGALO_EINVAL;
    struct gg_sampler *sp = own_sampler(s);
    if (!sp)
        return GARGALO_ESTATE;
    atomic_store(&sp->running, 0); /* a signal arriving now leaves the ring alone */
    forget_samples(sp);
    gg_eventlog_clear(&sp->events);
    gg_events_log_current_labels(&sp->events, sp->mono_start, 1);
    s->start_unix_ns = gg_clock_ns(CLOCK_REALTIME);
    atomic_store(&sp->rewound_ns, sp->mono_start);
    atomic_store(&sp->running, 1);
    if (sp->ticked && sp->mechanism == GARGALO_MECHANISM_SIGNAL)
        gg_ticker_opened();
    return 0;
}

/* Signals will sample: the ticker runs, and the cheaper source of signals is measured. */
static int prepare_signals(void)
{
    int rc = gg_sigprof_install();
    if (!rc)
        rc = gg_ticker_prepare();
    if (!rc)
        gg_calibrate_signals();
    return rc == GARGALO_ESIGNAL ? 0 : rc; /* another handler: sessions will say so */
}

/* Everything a first session would otherwise pay for: symbols, the probe of what perf
 * events the kernel allows, the unwinder's caches, the helper threads, and with signals
 * the measure of their cheaper source. */
int gargalo_preload(void)
{
    gargalo_options o;
    int rc = gg_symbols_preload();
    if (!rc)
        rc = gg_collector_prepare();
    gg_options_check(NULL, &o); /* the mechanism sessions will use by default */
    if (!rc && (o.mechanism == GARGALO_MECHANISM_SIGNAL || !gg_perfsrc_available()))
        rc = prepare_signals();
    if (!rc)
        gg_unwind_warm();
    return rc;
}
