/*
 * ticker.c: the sampling clock of wall-clock sessions: a thread that wakes at the next
 * due time of any session and queues SIGPROF to the threads that are due.
 *
 * The ticker holds its lock while it sends, so once gg_ticker_remove has taken and
 * released the lock, no signal for that session can be sent any more.
 */
#define _GNU_SOURCE
#include "ticker.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "grow.h"
#include "options.h"
#include "thread.h"

typedef struct gg_tick {
    void *key;
    pid_t tid;
    const gargalo_options *opt;
    gg_tick_gate gate;
    uint64_t since;   /* the gate's since when last looked at */
    bool idle;        /* the gate was closed when last looked at */
    uint64_t sent;    /* signals sent: drives the adaptive interval */
    uint64_t next_ns; /* CLOCK_MONOTONIC time of the next signal */
} gg_tick;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a session was added: the next wake-up may be sooner */
    gg_tick *ticks;
    size_t n, cap;
    int started;
    uint64_t open_ns; /* when a gate was last seen open */
    uint64_t poll_ns; /* the shortest interval of the sessions whose gate is closed */
} gg_ticker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0};

/* How long the ticker keeps looking at closed gates after it last saw one open, and how
 * often, before it sleeps until a rewind wakes it: each look is a wake-up of its thread
 * (about 20 us of CPU on the 2-core VM this was built on, 2% of one CPU at a look a
 * millisecond). */
#define GG_TICKER_LINGER_NS (100 * 1000000ull)
#define GG_TICKER_POLL_NS (5 * 1000000ull)

/* When the ticker wakes by itself next (CLOCK_MONOTONIC; UINT64_MAX while it looks at the
 * gates, or when it waits to be woken): gg_ticker_opened reads it without the lock. */
static _Atomic uint64_t gg_ticker_wake_ns = UINT64_MAX;

static uint64_t next_due(const gg_tick *t, uint64_t from)
{
    return from + 1000u * (uint64_t)gg_options_interval_us(t->opt, t->sent);
}

/* Queues SIGPROF with the session's key, so the handler can tell it from anyone else's. */
static void send_tick(const gg_tick *t)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGPROF;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_ptr = t->key;
    syscall(SYS_rt_tgsigqueueinfo, getpid(), t->tid, SIGPROF, &si);
}

/* The ticker looks at t again at its next poll: no wake-up of its own for t. */
static void poll_for(const gg_tick *t)
{
    uint64_t poll = 1000u * (uint64_t)gg_options_interval_us(t->opt, 0);
    gg_ticker.poll_ns = poll < gg_ticker.poll_ns ? poll : gg_ticker.poll_ns;
}

/* Whether t's gate is open. A session paused or rewound since the last look starts its
 * schedule over from its rewind; a closed one makes the ticker look again an interval on. */
static bool tick_open(gg_tick *t, uint64_t now)
{
    if (t->gate.active && !atomic_load(t->gate.active)) {
        poll_for(t);
        t->idle = true;
        return false;
    }
    uint64_t since = t->gate.since ? atomic_load(t->gate.since) : 0;
    if (t->gate.active)
        gg_ticker.open_ns = now;
    if (t->idle || since != t->since) {
        t->idle = false;
        t->since = since;
        t->sent = 0;
        t->next_ns = next_due(t, since && since < now ? since : now);
    }
    return true;
}

/* A rewound session (a server's worker, rewound per request) whose first signal is not
 * yet due: most requests end before it is, and waking for each would chase every request
 * of every worker (a look costs about 20 us of CPU: +20% of CPU on a 250 us request at a
 * look a millisecond). Its first signal waits for the next poll, at most
 * GG_TICKER_POLL_NS late, and its weight covers the time since the rewind. */
static bool rewound_waiting(const gg_tick *t)
{
    return t->since && t->sent == 0;
}

/* Signals every due session; returns the earliest next due time (UINT64_MAX: none). */
static uint64_t tick_due(uint64_t now)
{
    uint64_t earliest = UINT64_MAX;
    gg_ticker.poll_ns = UINT64_MAX;
    for (size_t i = 0; i < gg_ticker.n; i++) {
        gg_tick *t = &gg_ticker.ticks[i];
        if (!tick_open(t, now))
            continue;
        if (t->next_ns <= now) {
            send_tick(t);
            t->sent++;
            t->next_ns = next_due(t, t->next_ns);
            if (t->next_ns <= now) /* the ticker woke late: skip what was missed, no burst */
                t->next_ns = next_due(t, now);
        }
        if (rewound_waiting(t))
            poll_for(t);
        else if (t->next_ns < earliest)
            earliest = t->next_ns;
    }
    return earliest;
}

/* When to look again: the earliest due signal, or, while a gate was open lately, a poll of
 * the closed ones (a rewind then needs no wake-up). */
static uint64_t tick_next(uint64_t now)
{
    uint64_t next = tick_due(now);
    if (gg_ticker.poll_ns == UINT64_MAX || now - gg_ticker.open_ns >= GG_TICKER_LINGER_NS)
        return next;
    uint64_t poll = gg_ticker.poll_ns > GG_TICKER_POLL_NS ? gg_ticker.poll_ns : GG_TICKER_POLL_NS;
    return now + poll < next ? now + poll : next;
}

static void *ticker_main(void *arg)
{
    /* Wake-ups as precise as the kernel allows: the default 50 us slack would stretch a
     * 70 us interval by most of its length. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    gg_thread_mark_helper();
    /* Where the process may (root, or an RLIMIT_RTPRIO), the lowest real-time priority:
     * busy threads then cannot delay the ticks. It only ever sleeps or sends a signal.
     * Otherwise a saturated machine delays samples; their weights keep totals right. */
    struct sched_param prio = {.sched_priority = 1};
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &prio);
    pthread_mutex_lock(&gg_ticker.lock);
    for (;;) {
        /* Before the gates are read: a gate opened meanwhile then sees that the ticker
         * may sleep past its due time, and wakes it (gg_ticker_opened). */
        atomic_store(&gg_ticker_wake_ns, UINT64_MAX);
        uint64_t next = tick_next(gg_clock_ns(CLOCK_MONOTONIC));
        atomic_store(&gg_ticker_wake_ns, next);
        if (next == UINT64_MAX) {
            pthread_cond_wait(&gg_ticker.changed, &gg_ticker.lock);
            continue;
        }
        struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
        pthread_cond_timedwait(&gg_ticker.changed, &gg_ticker.lock, &ts);
    }
    return arg;
}

/* Under the lock. The thread blocks every signal, so SIGPROF and the application's own
 * signals never land on it. */
static int start_thread(void)
{
    pthread_condattr_t ca;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t th;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    /* Not destroyed first: after fork a condition variable may still count the parent's
     * waiter, and destroying it would wait for that waiter forever. */
    pthread_cond_init(&gg_ticker.changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, ticker_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return GARGALO_ETIMER;
    pthread_setname_np(th, "gargalo-ticker");
    gg_ticker.started = 1;
    return 0;
}

static void before_fork(void)
{
    pthread_mutex_lock(&gg_ticker.lock);
}

static void parent_after_fork(void)
{
    pthread_mutex_unlock(&gg_ticker.lock);
}

/* The child has no ticker thread and none of the parent's sessions: a session started in
 * it starts the thread again. */
static void child_after_fork(void)
{
    gg_ticker.n = 0;
    gg_ticker.started = 0;
    pthread_mutex_init(&gg_ticker.lock, NULL);
    gg_ticker.changed = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
}

static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

/* Under the lock: the thread, unless it runs already. */
static int ensure_thread(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handlers);
    return gg_ticker.started ? 0 : start_thread();
}

int gg_ticker_prepare(void)
{
    pthread_mutex_lock(&gg_ticker.lock);
    int rc = ensure_thread();
    pthread_mutex_unlock(&gg_ticker.lock);
    return rc;
}

int gg_ticker_add(void *key, pid_t tid, const gargalo_options *opt)
{
    return gg_ticker_add_gated(key, tid, opt, (gg_tick_gate){NULL, NULL});
}

int gg_ticker_add_gated(void *key, pid_t tid, const gargalo_options *opt, gg_tick_gate gate)
{
    pthread_mutex_lock(&gg_ticker.lock);
    int rc = ensure_thread();
    if (!rc)
        rc = GG_GROW(&gg_ticker.ticks, &gg_ticker.cap, gg_ticker.n + 1);
    if (!rc) {
        gg_tick *t = &gg_ticker.ticks[gg_ticker.n++];
        *t = (gg_tick){.key = key, .tid = tid, .opt = opt, .gate = gate};
        t->since = gate.since ? atomic_load(gate.since) : 0;
        t->next_ns = next_due(t, gg_clock_ns(CLOCK_MONOTONIC));
        pthread_cond_signal(&gg_ticker.changed);
    }
    pthread_mutex_unlock(&gg_ticker.lock);
    return rc;
}

void gg_ticker_opened(void)
{
    /* Sequentially consistent with the ticker's store before it reads the gates: either it
     * sees the gate open, or this sees that it may sleep until woken. While it lingers it
     * looks again soon anyway: no lock, no system call. */
    if (atomic_load(&gg_ticker_wake_ns) != UINT64_MAX)
        return;
    pthread_mutex_lock(&gg_ticker.lock);
    pthread_cond_signal(&gg_ticker.changed);
    pthread_mutex_unlock(&gg_ticker.lock);
}

void gg_ticker_remove(void *key)
{
    pthread_mutex_lock(&gg_ticker.lock);
    for (size_t i = 0; i < gg_ticker.n; i++) {
        if (gg_ticker.ticks[i].key == key) {
            gg_ticker.ticks[i] = gg_ticker.ticks[--gg_ticker.n];
            break;
        }
    }
    pthread_mutex_unlock(&gg_ticker.lock);
}
