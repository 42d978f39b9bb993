/*
 * sigprof.c: the signal sample source (sigprof.h). The ticker thread (wall clock) or a
 * CPU-time timer (CPU clock) sends SIGPROF to the profiled thread; the handler reads the
 * session clock and copies the interrupted registers and the top of the stack into the
 * session's ring, as the kernel does for a perf sample. Unwinding happens later, in the
 * collector thread or at stop: a handler that never unwinds never asks the dynamic loader
 * for unwind tables, and so can never wait for a loader lock its own thread holds.
 * See docs/sampling.md for what user code may observe.
 */
#define _GNU_SOURCE
#include "sigprof.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "blocked.h"
#include "clock.h"
#include "collector.h"
#include "options.h"
#include "thread.h"
#include "ticker.h"
#include "unwind.h"

#if defined(__SANITIZE_THREAD__)
#define GG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GG_TSAN 1
#endif
#endif
#ifndef GG_TSAN
#define GG_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GG_ASAN 1
#endif
#endif
#ifndef GG_ASAN
#define GG_ASAN 0
#endif

#define GG_RING_BYTES ((size_t)1 << 20)

/* ---- the signal handler: async-signal-safe code only down to the next marker ---- */

/* Where to unwind from. Normally the interrupted context. TSan runs a handler late, when
 * the thread next enters its runtime, with a copy of a context whose stack has moved on
 * since: there the handler starts from its own registers, and resolve.c cuts the
 * handler's frames and the runtime's off by symbol. */
static uint32_t capture_regs(const void *ucv, uint64_t *regs)
{
#if GG_TSAN
    ucontext_t own;
    (void)ucv;
    getcontext(&own);
    gg_unwind_context_regs(&own, regs);
    return 0;
#else
    gg_unwind_context_regs(ucv, regs);
    return GG_RAW_LEAF_IS_PC;
#endif
}

static int arm(struct gg_sampler *sp, unsigned us)
{
    struct itimerspec its;
    its.it_interval.tv_sec = us / 1000000;
    its.it_interval.tv_nsec = (long)(us % 1000000) * 1000;
    its.it_value = its.it_interval;
    return timer_settime(sp->timer, 0, &its, NULL);
}

/* The stack holds other functions' locals, which ASan guards with poisoned red zones:
 * its memcpy would report reading them. This copy is not instrumented; the volatile
 * source keeps the compiler from turning it back into a memcpy call. */
#if GG_ASAN
__attribute__((no_sanitize_address)) static void copy_stack(void *dst, const void *src, size_t n)
{
    const volatile uint64_t *s = src;
    uint64_t *d = dst;
    for (size_t i = 0; i < n / 8; i++)
        d[i] = s[i];
}
#endif

/* Copies the top of the stack, never past the end of the thread's stack mapping. */
static void record(struct gg_sampler *sp, uint64_t now, const void *uc)
{
    gg_sigrec rec = {.time_ns = now - sp->start_ns, .weight_ns = now - sp->last_ns, .tid = sp->tid};
    rec.mono_ns = sp->clock == CLOCK_MONOTONIC ? now : gg_clock_ns(CLOCK_MONOTONIC);
    rec.flags = capture_regs(uc, rec.regs);
    uintptr_t top = (uintptr_t)rec.regs[GG_REG_SP];
    size_t len = 0;
    if (top >= sp->stack_lo && top < sp->stack_hi)
        len = sp->stack_hi - top < GG_STACK_COPY ? sp->stack_hi - top : GG_STACK_COPY;
    void *dst = gg_sigring_reserve(&sp->ring, &rec, len);
    if (!dst)
        return;
#if GG_ASAN
    copy_stack(dst, (const void *)top, len);
#else
    memcpy(dst, (const void *)top, len);
#endif
    gg_sigring_commit(&sp->ring);
}

static void take_sample(struct gg_sampler *sp, const void *uc)
{
    if (sp->cpu_pending) { /* the first sample since a rewind */
        sp->cpu_start = gg_clock_ns(CLOCK_THREAD_CPUTIME_ID);
        sp->cpu_pending = false;
    }
    uint64_t now = gg_clock_ns(sp->clock);
    record(sp, now, uc);
    sp->last_ns = now;
    if (!sp->ticked && !sp->opt.interval_us) { /* the ticker adapts its own interval */
        unsigned next = gg_options_interval_us(&sp->opt, ++sp->ticks);
        if (next != sp->interval_us) {
            sp->interval_us = next;
            arm(sp, next);
        }
    }
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    struct gg_sampler *sp = gg_thread_sampler();
    /* Not profiled, or a signal still pending from a stopped session: ignored. */
    if (sp && (si->si_code == SI_TIMER || si->si_code == SI_QUEUE) &&
        si->si_value.sival_ptr == sp && atomic_load_explicit(&sp->running, memory_order_relaxed))
        take_sample(sp, uc);
    errno = saved_errno;
}

/* ---- end of signal handler code ---- */

/* A foreign SIGPROF handler is not chained: its owner (another profiler, setitimer) would
 * get our timer signals and we its. So gargalo_start fails instead, and tries again next
 * time (the foreign handler may be gone by then). */
static bool foreign_handler(const struct sigaction *sa)
{
    if (sa->sa_flags & SA_SIGINFO)
        return sa->sa_sigaction != on_signal;
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

/* Checked at every start, not once: a host (or a library it uses) may have set SIGPROF
 * back to SIG_DFL, whose first signal would kill the process, or to SIG_IGN, which would
 * leave the session empty. Either way the handler goes back in. */
int gg_sigprof_install(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct sigaction cur, sa;
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (sigaction(SIGPROF, NULL, &cur) != 0 || foreign_handler(&cur)) {
        rc = GARGALO_ESIGNAL;
    } else if (!(cur.sa_flags & SA_SIGINFO)) { /* SIG_DFL or SIG_IGN */
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGPROF, &sa, NULL) != 0)
            rc = GARGALO_ESIGNAL;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

uintptr_t gg_sigprof_handler_pc(void)
{
    return (uintptr_t)on_signal;
}

static void sigprof_mask(int how, sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPROF);
    pthread_sigmask(how, &set, old);
}

/* The bounds of the calling thread's stack, which the handler never copies past. */
static void find_stack(struct gg_sampler *sp)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    sp->stack_lo = sp->stack_hi = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        sp->stack_lo = (uintptr_t)addr;
        sp->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

void gg_sigprof_prepare_thread(struct gg_sampler *sp)
{
    sigset_t old;
    sigprof_mask(SIG_UNBLOCK, &old);
    sp->reblock = sigismember(&old, SIGPROF) == 1;
    find_stack(sp);
}

/* ---- outside the handler: turning records into raw samples (collector lock held) ---- */

static void add_record(void *ctx, const gg_sigrec *rec, const void *stack)
{
    struct gg_sampler *sp = ctx;
    uint32_t depth = gg_unwind_into(&sp->raw, rec->regs, stack, rec->stack_len);
    if (!depth)
        return;
    gg_raw_sample raw = {.time_ns = rec->time_ns,
                         .weight_ns = rec->weight_ns,
                         .mono_ns = rec->mono_ns,
                         .depth = depth,
                         .flags = rec->flags,
                         .tid = rec->tid};
    /* a signal that found the thread inside a system call (wall clock: blocked time) */
    if ((rec->flags & GG_RAW_LEAF_IS_PC) && sp->opt.clock == GARGALO_CLOCK_WALL) {
        gg_blocked_call(rec->regs, stack, rec->stack_len, &raw.syscall_nr, &raw.fd);
        if (raw.syscall_nr != GG_NO_SYSCALL)
            raw.flags |= GG_RAW_BLOCKED;
    }
    gg_raw_commit(&sp->raw, raw);
}

static void read_ring(void *ctx)
{
    struct gg_sampler *sp = ctx;
    gg_sigring_read(&sp->ring, add_record, sp);
}

static void drain(void *ctx)
{
    gg_unwind_frozen(read_ring, ctx);
}

/* CPU-clock sessions get a timer on the thread's CPU clock; wall-clock ones need none:
 * the ticker thread signals them. */
static int create_source(struct gg_sampler *sp)
{
    if (sp->ticked)
        return 0;
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_value.sival_ptr = sp;
    sev._sigev_un._tid = gettid(); /* sigev_notify_thread_id, unnamed in glibc 2.36 */
    return timer_create(sp->clock, &sev, &sp->timer) == 0 ? 0 : GARGALO_ETIMER;
}

static int start_source(struct gg_sampler *sp)
{
    if (sp->ticked)
        return gg_ticker_add_gated(sp, gettid(), &sp->opt,
                                   (gg_tick_gate){&sp->running, &sp->rewound_ns});
    return arm(sp, sp->interval_us) == 0 ? 0 : GARGALO_ETIMER;
}

/* The ring, watched by the collector, then the signals. */
static int start_ring(struct gg_sampler *sp)
{
    int rc = gg_sigring_init(&sp->ring, GG_RING_BYTES);
    if (!rc && (rc = gg_collector_add(sp->ring.wake_fd, drain, sp)))
        gg_sigring_free(&sp->ring);
    return rc;
}

int gg_sigprof_start(struct gg_sampler *sp)
{
    int rc = start_ring(sp);
    if (rc)
        return rc;
    if ((rc = create_source(sp))) {
        gg_collector_remove(sp);
        gg_sigring_free(&sp->ring);
        return rc;
    }
    sp->interval_us = gg_options_interval_us(&sp->opt, 0);
    atomic_store(&sp->running, 1);
    if ((rc = start_source(sp))) {
        atomic_store(&sp->running, 0);
        if (!sp->ticked)
            timer_delete(sp->timer);
        gg_collector_remove(sp);
        gg_sigring_free(&sp->ring);
    }
    return rc;
}

void gg_sigprof_rewind(struct gg_sampler *sp)
{
    gg_sigring_discard(&sp->ring);
    sp->ticks = 0;
    unsigned first = gg_options_interval_us(&sp->opt, 0);
    if (first == sp->interval_us)
        return;
    sp->interval_us = first; /* the ticker restarts its own schedule (the gate's since) */
    if (!sp->ticked)
        arm(sp, first);
}

void gg_sigprof_stop_source(struct gg_sampler *sp)
{
    if (sp->ticked)
        gg_ticker_remove(sp);
    else
        timer_delete(sp->timer);
    gg_collector_remove(sp);
}

/* Takes off the queue any SIGPROF already sent to this thread, so none arrives after the
 * session is over, when the host may have set SIGPROF back to its default (death). */
static void discard_pending(void)
{
    sigset_t set;
    siginfo_t si;
    struct timespec zero = {0, 0};
    sigemptyset(&set);
    sigaddset(&set, SIGPROF);
    sigprof_mask(SIG_BLOCK, NULL);
    while (sigtimedwait(&set, &si, &zero) == SIGPROF) {
    }
}

/* Order matters: the handler must stop looking at sp (the thread's sampler cleared by
 * the caller) before its signals stop, and both before sp can be freed. Then what is
 * left in the ring is unwound. */
void gg_sigprof_stop(struct gg_sampler *sp)
{
    atomic_store(&sp->running, 0);
    gg_sigprof_stop_source(sp);
    discard_pending();
    if (!sp->reblock)
        sigprof_mask(SIG_UNBLOCK, NULL);
    gg_collector_lock();
    drain(sp);
    gg_collector_unlock();
    sp->raw.dropped += sp->ring.dropped;
}

void gg_sigprof_release(struct gg_sampler *sp)
{
    gg_sigring_free(&sp->ring);
}
