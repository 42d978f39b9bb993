/*
 * process.c: process-wide sessions (process.h), with perf events. Each thread running at
 * the start gets events that also follow the threads it creates (inherit), so a thread
 * started during the session is sampled from its first instruction. The kernel lets
 * inherited events write to a buffer only when they are bound to one CPU, so each thread
 * gets one event per CPU, and all the events of a CPU write into one buffer: as many
 * buffers as CPUs, whatever the number of threads. The collector empties them together,
 * merged in time order (a thread leaves the CPU in one buffer and comes back in another),
 * and the stop, from any thread, resolves as resolve.c does.
 *
 * With signals there is no process-wide session (GARGALO_EUNAVAIL): a handler on a thread
 * that no session prepared would have nowhere to write.
 */
#define _GNU_SOURCE
#include "process.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "collector.h"
#include "convert.h"
#include "events.h"
#include "grow.h"
#include "options.h"
#include "parked.h"
#include "perfsrc.h"
#include "raw.h"
#include "resolve.h"
#include "thread.h"
#include "unwind.h"

/* The default interval of a process-wide session. Sampling follows CPU time, so with any
 * number of threads this is at most a thousand samples a second per CPU. */
#define GG_PROCESS_INTERVAL_US 1000u
/* The buffer of each CPU: 2 MiB, as for a per-thread session. */
#define GG_PROCESS_RING_PAGES 512u
/* Threads created while the first ones were being watched are caught by looking again. */
#define GG_PROCESS_SCANS 4

struct gg_process;

typedef struct gg_watched {
    pid_t tid;
    int cpu;
    gg_perf_thread pt;
} gg_watched;

typedef struct gg_named {
    pid_t tid;
    char name[16];
} gg_named;

struct gg_process {
    gargalo_options opt;
    uint64_t mono_start;
    uint64_t end_ns; /* CLOCK_MONOTONIC when stopping began; 0 while running */
    gg_watched **w;  /* one per (thread running at the start, CPU) */
    size_t nw, wcap;
    gg_perf_thread **owners; /* per CPU: the first event opened there, whose buffer it is */
    gg_perf_thread **rings;  /* the owners that exist, to read */
    int ncpus;
    size_t nrings;
    gg_thread_run *runs; /* one per thread the records name */
    size_t nruns, runs_cap;
    gg_named *names; /* from the COMM records: names given during the session */
    size_t nnames, names_cap;
    gg_eventlog events;
    gg_raw raw;
    int tick_fd;          /* wall clock: the timer at which blocked threads are looked at */
    unsigned char *stack; /* a blocked thread's stack, read at a tick (GG_STACK_COPY) */
};

static pthread_mutex_t gg_process_lock = PTHREAD_MUTEX_INITIALIZER;
static bool gg_process_running; /* under the lock: one process-wide session at a time */

/* ---- under the collector lock ---- */

static gg_thread_run *run_of(struct gg_process *p, pid_t tid)
{
    for (size_t i = 0; i < p->nruns; i++) /* tens of threads: a scan will do */
        if (p->runs[i].tid == tid)
            return &p->runs[i];
    if (GG_GROW(&p->runs, &p->runs_cap, p->nruns + 1))
        return NULL;
    p->runs[p->nruns] = (gg_thread_run){.tid = tid};
    return &p->runs[p->nruns++];
}

static void remember_name(struct gg_process *p, const gg_perf_event *ev)
{
    if (GG_GROW(&p->names, &p->names_cap, p->nnames + 1))
        return;
    p->names[p->nnames].tid = ev->tid;
    memcpy(p->names[p->nnames++].name, ev->name, sizeof(ev->name));
}

/* How this session's records become samples; records after end_ns (if not 0) are left. */
static gg_convert converter(const struct gg_process *p, uint64_t end_ns)
{
    return (gg_convert){.raw = (gg_raw *)&p->raw,
                        .wall = p->opt.clock == GARGALO_CLOCK_WALL,
                        .mono_start = p->mono_start,
                        .end_ns = end_ns,
                        .merge_ns = 1000ull * p->opt.interval_us};
}

static void on_event(void *ctx, const gg_perf_event *ev)
{
    struct gg_process *p = ctx;
    gg_convert cv = converter(p, p->end_ns);
    if (ev->kind == GG_PERF_COMM) {
        remember_name(p, ev);
        return;
    }
    gg_thread_run *run = run_of(p, ev->tid);
    if (run)
        gg_convert_event(&cv, run, ev);
    else
        p->raw.dropped++;
}

static void read_rings(void *ctx)
{
    struct gg_process *p = ctx;
    gg_perf_read_merged(p->rings, p->nrings, on_event, p);
}

/* Any buffer woke the collector: all of them are read, so that the merge sees each
 * thread's records in order. */
static void drain_all_rings(void *ctx)
{
    gg_unwind_frozen(read_rings, ctx);
}

/* ---- ticking (wall clock) ----
 *
 * A stack at every switch-out, as a thread's own session takes, would cost a server a
 * sample at every wait of every thread: tens of thousands a second. A process-wide
 * session has switch records alone, and at each tick looks at the threads that are off
 * the CPU, blocked for at least an interval, and not yet looked at in this wait: their
 * call and stack, read from /proc, are where the whole wait goes. A shorter wait has no
 * stack of its own: its time goes under the thread's last stack, below a leaf that says
 * so. Reading a thread costs about what a sample does, so this bounds the reads to one per
 * interval of waiting: 8 workers that sleep 1 ms after every 200 us of work cost +20% of
 * their CPU time when every wait was read, +6-11% since (bench/process_threads.c). A
 * thread preempted was running where its last sample was taken. */

static void capture_blocked(void *ctx)
{
    struct gg_process *p = ctx;
    gg_convert cv = converter(p, p->end_ns);
    read_rings(p); /* who is off the CPU now */
    uint64_t interval_ns = 1000ull * p->opt.interval_us;
    uint64_t settled = gg_clock_ns(CLOCK_MONOTONIC) - interval_ns; /* left by then: read */
    for (size_t i = 0; p->stack && i < p->nruns; i++) {
        gg_thread_run *run = &p->runs[i];
        gg_parked pk;
        if (run->out_ns && run->out_ns <= settled && !run->out_rec && !run->out_preempted &&
            gg_parked_read(run->tid, &pk, p->stack))
            gg_convert_capture(&cv, run, pk.regs, (int32_t)pk.regs[GG_REG_AX], p->stack,
                               pk.stack_len);
    }
}

static void tick(void *ctx)
{
    struct gg_process *p = ctx;
    uint64_t expirations;
    if (read(p->tick_fd, &expirations, sizeof(expirations)) < 0) {
        /* not yet due: a drain of the rings woke the collector first */
    }
    gg_unwind_frozen(capture_blocked, p);
}

static int start_ticking(struct gg_process *p)
{
    long ns = 1000L * (long)p->opt.interval_us;
    struct itimerspec every = {{ns / 1000000000L, ns % 1000000000L},
                               {ns / 1000000000L, ns % 1000000000L}};
    p->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (p->tick_fd < 0 || timerfd_settime(p->tick_fd, 0, &every, NULL))
        return GARGALO_ETIMER;
    return gg_collector_add(p->tick_fd, tick, p);
}

/* ---- starting ---- */

static bool watched_already(const struct gg_process *p, pid_t tid)
{
    for (size_t i = 0; i < p->nw; i++)
        if (p->w[i]->tid == tid)
            return true;
    return false;
}

/* A CPU's first event owns its buffer: the collector watches it. */
static int own_ring(struct gg_process *p, gg_watched *w)
{
    p->owners[w->cpu] = &w->pt;
    p->rings[p->nrings++] = &w->pt;
    return gg_collector_add(w->pt.clock_fd, drain_all_rings, p);
}

static bool thread_alive(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
    return access(path, F_OK) == 0;
}

/* Opens and starts the events of one thread on one CPU. A thread that exits in between
 * is no error: it is simply not there to sample. */
static int watch_on(struct gg_process *p, pid_t tid, int cpu)
{
    gg_perf_config cfg = {.wall = p->opt.clock == GARGALO_CLOCK_WALL,
                          .switch_stacks = false, /* blocked threads are read at ticks */
                          .inherit = true,
                          .interval_ns = 1000ull * p->opt.interval_us,
                          .level = gg_perf_level_probe(),
                          .ring_pages = GG_PROCESS_RING_PAGES,
                          .cpu = cpu,
                          .output = p->owners[cpu]};
    gg_watched *w = calloc(1, sizeof(*w));
    int rc = !w || GG_GROW(&p->w, &p->wcap, p->nw + 1) ? GARGALO_ENOMEM : 0;
    if (!rc)
        rc = gg_perf_open(&w->pt, tid, &cfg);
    if (rc) {
        free(w);
        return rc && thread_alive(tid) && rc != GARGALO_ETIMER ? rc : 0;
    }
    w->tid = tid, w->cpu = cpu;
    p->w[p->nw++] = w;
    rc = cfg.output ? 0 : own_ring(p, w);
    return rc ? rc : gg_perf_enable(&w->pt);
}

/* A CPU offline, or a thread gone, refuses its events: only a refusal everywhere fails. */
static int watch(struct gg_process *p, pid_t tid)
{
    int rc = 0;
    for (int cpu = 0; cpu < p->ncpus && !rc; cpu++)
        rc = watch_on(p, tid, cpu);
    return rc;
}

/* One pass over /proc/self/task; *added counts the threads watched for the first time. */
static int scan_threads(struct gg_process *p, size_t *added)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int rc = d ? 0 : GARGALO_EIO;
    while (!rc && d && (e = readdir(d))) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || watched_already(p, tid) || gg_thread_is_helper(tid))
            continue;
        rc = watch(p, tid);
        *added += 1;
    }
    if (d)
        closedir(d);
    return rc;
}

static int watch_all(struct gg_process *p)
{
    int rc = 0;
    size_t added = 1;
    for (int i = 0; i < GG_PROCESS_SCANS && added && !rc; i++) {
        added = 0;
        rc = scan_threads(p, &added);
    }
    return rc;
}

/* ---- stopping ---- */

static bool seen_thread(const struct gg_process *p, pid_t tid, size_t nruns)
{
    for (size_t i = 0; i < nruns; i++)
        if (p->runs[i].tid == tid)
            return true;
    return false;
}

/* A thread that never ran during the session sat in one system call all along: one
 * sample, off the CPU, of the whole session, where it sits. */
static void add_parked(struct gg_process *p, pid_t tid, uint64_t end_ns)
{
    gg_parked pk;
    if (!p->stack || !gg_parked_read(tid, &pk, p->stack))
        return;
    uint32_t depth = gg_unwind_into(&p->raw, pk.regs, p->stack, pk.stack_len);
    if (depth)
        gg_raw_commit(&p->raw, (gg_raw_sample){.weight_ns = end_ns - p->mono_start,
                                               .mono_ns = p->mono_start,
                                               .depth = depth,
                                               .flags = GG_RAW_LEAF_IS_PC | GG_RAW_OFF_CPU,
                                               .tid = tid});
}

typedef struct gg_ending {
    struct gg_process *p;
    uint64_t end_ns;
} gg_ending;

/* Inside gg_unwind_frozen: threads still off the CPU at the end get the time since they
 * left; threads never seen, the whole session (wall clock only). */
static void finish_threads(void *ctx)
{
    gg_ending *e = ctx;
    struct gg_process *p = e->p;
    gg_convert cv = converter(p, 0); /* finish: nothing to cut */
    size_t seen = p->nruns;
    for (size_t i = 0; i < seen; i++)
        gg_convert_finish(&cv, &p->runs[i], e->end_ns);
    for (size_t i = 0; i < p->nw; i++)
        if (p->w[i]->cpu == 0 && !seen_thread(p, p->w[i]->tid, seen))
            add_parked(p, p->w[i]->tid, e->end_ns);
}

static void unwatch_all(struct gg_process *p)
{
    for (size_t i = 0; i < p->nw; i++)
        gg_perf_disable(&p->w[i]->pt);
    gg_collector_remove(p); /* every buffer's watch has p for context */
}

static void drain_all(struct gg_process *p)
{
    gg_collector_lock();
    drain_all_rings(p);
    gg_collector_unlock();
}

static void process_free(struct gg_process *p)
{
    for (size_t i = 0; i < p->nw; i++) {
        gg_perf_close(&p->w[i]->pt);
        free(p->w[i]);
    }
    free(p->w);
    free(p->owners);
    free(p->rings);
    free(p->runs);
    free(p->names);
    gg_eventlog_free(&p->events);
    gg_raw_free(&p->raw);
    if (p->tick_fd >= 0)
        close(p->tick_fd);
    free(p->stack);
    free(p);
}

/* The name a thread gave itself during the session, else the one it has now. */
static void name_thread(const struct gg_process *p, gg_thread *t)
{
    for (size_t i = p->nnames; i-- > 0;) {
        if (p->names[i].tid == t->tid) {
            snprintf(t->name, sizeof(t->name), "%s", p->names[i].name);
            return;
        }
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)t->tid);
    FILE *f = fopen(path, "re");
    if (f && fgets(t->name, sizeof(t->name), f))
        t->name[strcspn(t->name, "\n")] = '\0';
    if (f)
        fclose(f);
}

/* No more samples, and no more labels or markers logged: from here p is ours alone. */
static void quiesce(struct gg_process *p)
{
    unwatch_all(p);
    gg_events_attach_process(NULL);
    pthread_mutex_lock(&gg_process_lock);
    gg_process_running = false;
    pthread_mutex_unlock(&gg_process_lock);
}

int gg_process_stop(gargalo_session *s)
{
    struct gg_process *p = s->process_run;
    gg_ending end = {p, gg_clock_ns(CLOCK_MONOTONIC)};
    gg_collector_lock(); /* the collector reads it while draining */
    p->end_ns = end.end_ns;
    gg_collector_unlock();
    quiesce(p);
    drain_all(p);
    if (p->opt.clock == GARGALO_CLOCK_WALL)
        gg_unwind_frozen(finish_threads, &end);
    s->duration_ns = end.end_ns - p->mono_start;
    s->dropped = p->raw.dropped;
    int rc = gg_resolve(s, &p->raw, p->opt.max_depth, 0, &p->events, p->mono_start);
    for (size_t i = 0; !rc && i < s->nthreads; i++) {
        name_thread(p, &s->threads[i]);
        s->cpu_ns += s->threads[i].cpu_ns;
    }
    s->process_run = NULL;
    s->state = GG_STOPPED;
    process_free(p);
    if (rc)
        gg_session_free_resolved(s);
    gg_session_finish(s);
    return rc;
}

void gg_process_discard(gargalo_session *s)
{
    quiesce(s->process_run);
    process_free(s->process_run);
    s->process_run = NULL;
}

/* ---- gargalo_start_process ---- */

/* One process-wide session at a time, with perf events only. */
static int claim(const gargalo_options *opt, gargalo_options *o)
{
    int rc = gg_options_check(opt, o);
    if (!rc && (o->mechanism == GARGALO_MECHANISM_SIGNAL || !gg_perfsrc_available()))
        rc = GARGALO_EUNAVAIL;
    pthread_mutex_lock(&gg_process_lock);
    if (!rc && gg_process_running)
        rc = GARGALO_EBUSY;
    if (!rc)
        gg_process_running = true;
    pthread_mutex_unlock(&gg_process_lock);
    return rc;
}

static struct gg_process *process_new(const gargalo_options *o)
{
    struct gg_process *p = calloc(1, sizeof(*p));
    long ncpus = sysconf(_SC_NPROCESSORS_CONF);
    if (p) {
        p->ncpus = ncpus > 0 ? (int)ncpus : 1;
        p->owners = calloc((size_t)p->ncpus, sizeof(*p->owners));
        p->rings = calloc((size_t)p->ncpus, sizeof(*p->rings));
    }
    if (!p || !p->owners || !p->rings ||
        gg_raw_init(&p->raw, o->max_frames, o->max_depth + GG_DEPTH_SLACK)) {
        if (p)
            free(p->owners), free(p->rings);
        free(p);
        return NULL;
    }
    p->opt = *o;
    p->tick_fd = -1;
    p->stack = malloc(GG_STACK_COPY);
    if (!p->opt.interval_us)
        p->opt.interval_us = GG_PROCESS_INTERVAL_US;
    gg_eventlog_init(&p->events);
    return p;
}

static void describe(gargalo_session *s, const struct gg_process *p)
{
    s->opt = p->opt;
    s->process = true;
    s->mechanism = GARGALO_MECHANISM_PERF;
    s->tid = gettid();
    snprintf(s->thread_name, sizeof(s->thread_name), "process %d", (int)getpid());
    s->start_unix_ns = gg_clock_ns(CLOCK_REALTIME);
}

int gargalo_start_process(gargalo_session **out, const gargalo_options *opt)
{
    gargalo_options o;
    if (!out)
        return GARGALO_EINVAL;
    *out = NULL;
    int rc = claim(opt, &o);
    if (!rc)
        rc = gg_collector_prepare(); /* before the scan, so it knows the collector is ours */
    if (rc)
        return rc;
    gargalo_session *s = gg_session_new();
    struct gg_process *p = s ? process_new(&o) : NULL;
    if (!p) {
        free(s);
        pthread_mutex_lock(&gg_process_lock);
        gg_process_running = false;
        pthread_mutex_unlock(&gg_process_lock);
        return GARGALO_ENOMEM;
    }
    describe(s, p);
    s->process_run = p;
    s->state = GG_RUNNING;
    p->mono_start = gg_clock_ns(CLOCK_MONOTONIC);
    gg_events_attach_process(&p->events);
    gg_events_log_current_labels(&p->events, p->mono_start, 0);
    rc = watch_all(p);
    if (!rc && p->opt.clock == GARGALO_CLOCK_WALL)
        rc = start_ticking(p);
    if (rc) {
        gg_process_discard(s); /* what gargalo_session_free would do, without the cycle */
        gg_session_free_resolved(s);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}
