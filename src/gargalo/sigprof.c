/*
 * sigprof.c: the signal sample source (sigprof.h). The ticker thread (wall clock) or a
 * CPU-time timer (CPU clock) sends SIGPROF to the profiled thread; the handler reads the
 * session clock, unwinds into the raw buffers mapped before the first signal, and cuts
 * its own frames off. See docs/sampling.md for what user code may observe.
 */
#define _GNU_SOURCE
#include "sigprof.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "clock.h"
#include "options.h"
#include "thread.h"
#include "ticker.h"

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

static __thread bool gg_thread_warm __attribute__((tls_model("initial-exec")));

/* ---- the signal handler: async-signal-safe code only down to the next marker ---- */

static uint64_t interrupted_pc(const void *ucv)
{
    const ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uint64_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
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

/* The current stack's return addresses, innermost first. unw_backtrace is the fast path
 * (a per-thread cache of frame layouts). Under TSan that cache's thread-exit destructor
 * locks a mutex after TSan has torn the thread down and crashes, so step uncached. */
static int unwind(void **buf, int max)
{
#if GG_TSAN
    unw_context_t ctx;
    unw_cursor_t cur;
    unw_word_t ip;
    int n = 0;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return 0;
    do {
        if (n >= max || unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
            break;
        buf[n++] = (void *)(uintptr_t)ip;
    } while (unw_step(&cur) > 0);
    return n;
#else
    return unw_backtrace(buf, max);
#endif
}

/* Unwinds into the raw buffer and cuts the handler's own frames: everything before the
 * interrupted pc. When the pc is not found (TSan delivers signals late, from its own
 * frames), keeps the whole stack; resolve.c cuts it by symbol instead. */
static void record_stack(struct gg_sampler *sp, uint64_t now, const void *uc)
{
    void **buf = gg_raw_next_pcs(&sp->raw);
    uint64_t pc = interrupted_pc(uc);
    int n = unwind(buf, (int)sp->raw.room);
    uint32_t flags = 0, depth = n > 0 ? (uint32_t)n : 0;
    for (uint32_t i = 0; pc && i < depth && i < GG_DEPTH_SLACK; i++) {
        if ((uint64_t)(uintptr_t)buf[i] != pc)
            continue;
        depth -= i;
        if (depth > sp->opt.max_depth)
            depth = sp->opt.max_depth;
        memmove(buf, buf + i, depth * sizeof(*buf));
        flags = GG_RAW_LEAF_IS_PC;
        break;
    }
    if (depth == 0 && pc) { /* unwinding failed: keep at least where the thread was */
        buf[0] = (void *)(uintptr_t)pc;
        depth = 1;
        flags = GG_RAW_LEAF_IS_PC;
    }
    gg_raw_commit(&sp->raw, now - sp->start_ns, now - sp->last_ns, depth, flags);
}

static void take_sample(struct gg_sampler *sp, const void *uc)
{
    uint64_t now = gg_clock_ns(sp->clock);
    if (gg_raw_has_room(&sp->raw))
        record_stack(sp, now, uc);
    else
        sp->raw.dropped++;
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
    if (!sp) {
        /* not profiled, or a signal still pending from a stopped session */
    } else if ((si->si_code == SI_TIMER || si->si_code == SI_QUEUE) &&
               si->si_value.sival_ptr == sp &&
               atomic_load_explicit(&sp->running, memory_order_relaxed)) {
        take_sample(sp, uc);
    } else if (sp->warming && si->si_code == SI_TKILL) {
        /* warm-up: the first unwind from a signal frame on this thread, outside any
         * lock the user code could hold; also faults in the buffer's first page */
        unwind(gg_raw_next_pcs(&sp->raw), (int)GG_DEPTH_SLACK);
    }
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

static void init_unwinding(void)
{
    void *warm[32];
#if !GG_TSAN
    /* The default, process-wide cache takes a lock and masks signals around every use;
     * one cache per thread needs neither, which matters inside a signal handler. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
#endif
    unwind(warm, 32); /* libunwind initializes itself here, not in a handler */
}

/* Checked at every start, not once: a host (or a library it uses) may have set SIGPROF
 * back to SIG_DFL, whose first signal would kill the process, or to SIG_IGN, which would
 * leave the session empty. Either way the handler goes back in. */
int gg_sigprof_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct sigaction cur, sa;
    int rc = 0;
    pthread_once(&once, init_unwinding);
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

/* Sends the thread one SIGPROF of its own, delivered before pthread_kill returns, so the
 * first unwind through a signal frame happens here and not inside user code. */
void gg_sigprof_prepare_thread(struct gg_sampler *sp)
{
    sigset_t old;
    sigprof_mask(SIG_UNBLOCK, &old);
    sp->reblock = sigismember(&old, SIGPROF) == 1;
    if (gg_thread_warm)
        return;
    sp->warming = true;
    gg_thread_set_sampler(sp);
    pthread_kill(pthread_self(), SIGPROF);
    gg_thread_set_sampler(NULL);
    sp->warming = false;
    gg_thread_warm = true;
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
        return gg_ticker_add(sp, gettid(), &sp->opt);
    return arm(sp, sp->interval_us) == 0 ? 0 : GARGALO_ETIMER;
}

int gg_sigprof_start(struct gg_sampler *sp)
{
    int rc = create_source(sp);
    if (rc)
        return rc;
    sp->interval_us = gg_options_interval_us(&sp->opt, 0);
    atomic_store(&sp->running, 1);
    if ((rc = start_source(sp))) {
        atomic_store(&sp->running, 0);
        if (!sp->ticked)
            timer_delete(sp->timer);
        if (sp->reblock)
            sigprof_mask(SIG_BLOCK, NULL);
    }
    return rc;
}

void gg_sigprof_stop_source(struct gg_sampler *sp)
{
    if (sp->ticked)
        gg_ticker_remove(sp);
    else
        timer_delete(sp->timer);
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
 * the caller) before its signals stop, and both before sp can be freed. */
void gg_sigprof_stop(struct gg_sampler *sp)
{
    atomic_store(&sp->running, 0);
    gg_sigprof_stop_source(sp);
    discard_pending();
    if (!sp->reblock)
        sigprof_mask(SIG_UNBLOCK, NULL);
}
