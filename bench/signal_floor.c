/*
 * signal_floor.c: what one SIGPROF costs the thread it interrupts, with no profiler.
 *
 *     signal_floor [--runs R] [--ms MS] [--interval US]
 *
 * A CPU-bound loop of about MS milliseconds of CPU time (default 40) is timed plain, then
 * timed again while SIGPROF arrives every 70 us, 100 us and 1000 us (or only every US) from
 * one of two sources:
 *   - "timer":  a per-thread POSIX timer (CLOCK_MONOTONIC, SIGEV_THREAD_ID to this very
 *               thread): the timer interrupt is taken on the loop's own CPU;
 *   - "queued": a pacer thread that sleeps until each due time and queues the signal with
 *               rt_tgsigqueueinfo, as gargalo's ticker does for wall-clock sessions;
 * each to
 *   - "empty":  a SA_SIGINFO handler that only counts the signal,
 *   - "copy":   one that also copies the interrupted registers and 16 KiB of stack from
 *               the interrupted stack pointer into a static buffer, as gargalo's does, and
 *   - "unwind": one that takes a backtrace with libunwind's unw_backtrace into a static
 *               buffer instead (what a profiler unwinding in its handler does at least).
 * Plain and timed runs alternate, R times each (default 9). The cost of one signal is
 * (median timed - median plain) / median signals received, in microseconds: the kernel's
 * timer interrupt, signal delivery, the handler and sigreturn, all paid by the loop.
 * It is measured on the thread's CPU time (CLOCK_THREAD_CPUTIME_ID; cost_us), and on wall
 * time too (wall_cost_us). On a shared machine the loop's wall time mostly says how long
 * it waited for a CPU; its CPU time counts what ran on its CPU while it was there, the
 * interrupt and the delivery included, as long as the kernel does not account interrupt
 * time apart (CONFIG_IRQ_TIME_ACCOUNTING, not set in Debian's kernels nor on the machines
 * measured).
 *
 * The loop runs 32 KiB down the stack, so that the copying handler copies a whole 16 KiB
 * as in a program with deep stacks, not what little lies above a shallow loop.
 *
 * Prints one JSON object; its top-level empty_us, copy_us, unwind_us, queued_*_us and
 * signals are those at 100 us, the interval a profiler needs for 100 samples in a 10 ms
 * request (or at the one interval asked for).
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "spin.h"

#define MAX_FRAMES 128

static const unsigned intervals_us[] = {70, 100, 1000};
#define N_INTERVALS (sizeof intervals_us / sizeof intervals_us[0])

#define STACK_COPY 16384u /* gargalo's GG_STACK_COPY */

static volatile sig_atomic_t signals;
static void *frames[MAX_FRAMES];
static greg_t regs_copy[NGREG];
static unsigned char stack_copy[STACK_COPY];
static uintptr_t stack_lo, stack_hi;

static void on_signal_empty(int sig, siginfo_t *si, void *uc)
{
    signals++;
}

static void on_signal_unwind(int sig, siginfo_t *si, void *uc)
{
    signals++;
    unw_backtrace(frames, MAX_FRAMES);
}

/* What gargalo's handler does: the interrupted registers, and the top of the stack from
 * the interrupted stack pointer, never past the end of the thread's stack. */
static void on_signal_copy(int sig, siginfo_t *si, void *ucv)
{
    const ucontext_t *uc = ucv;
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    signals++;
    memcpy(regs_copy, uc->uc_mcontext.gregs, sizeof(regs_copy));
    if (sp >= stack_lo && sp < stack_hi)
        memcpy(stack_copy, (const void *)sp,
               stack_hi - sp < STACK_COPY ? stack_hi - sp : STACK_COPY);
}

/* The bounds of this thread's stack, which the copying handler never reads past. */
static void find_stack(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        stack_lo = (uintptr_t)addr;
        stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

static void set_timer(timer_t timer, unsigned us)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_interval.tv_sec = us / 1000000;
    its.it_interval.tv_nsec = (long)(us % 1000000) * 1000;
    its.it_value = its.it_interval; /* all zero: disarmed */
    if (timer_settime(timer, 0, &its, NULL) != 0) {
        perror("timer_settime");
        exit(1);
    }
}

/* The queued source: a thread with the same settings as gargalo's ticker. */
typedef struct pacer {
    pid_t target;
    unsigned us;
    atomic_int stop;
} pacer;

static void *pacer_main(void *arg)
{
    pacer *p = arg;
    struct sched_param prio = {.sched_priority = 1};
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &prio); /* where permitted */
    struct timespec due;
    clock_gettime(CLOCK_MONOTONIC, &due);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGPROF;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    while (!atomic_load(&p->stop)) {
        due.tv_nsec += (long)p->us * 1000;
        while (due.tv_nsec >= 1000000000L) {
            due.tv_nsec -= 1000000000L;
            due.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
        syscall(SYS_rt_tgsigqueueinfo, getpid(), p->target, SIGPROF, &si);
    }
    return NULL;
}

/* One timed run: the loop while a source sends signals (timer NULL: the pacer thread);
 * stores the signals it received. */
static span time_spin_signalled(timer_t *timer, unsigned us, uint64_t iterations, long *received)
{
    pacer p = {(pid_t)syscall(SYS_gettid), us, 0};
    pthread_t th;
    sig_atomic_t before = signals;
    if (timer)
        set_timer(*timer, us);
    else if (pthread_create(&th, NULL, pacer_main, &p) != 0) {
        perror("pthread_create");
        exit(1);
    }
    span ms = time_spin(iterations);
    *received = signals - before;
    if (timer) {
        set_timer(*timer, 0);
    } else {
        atomic_store(&p.stop, 1);
        pthread_join(th, NULL);
    }
    return ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct result {
    double plain_ms, timed_ms, plain_cpu_ms, timed_cpu_ms, signals, cost_us, wall_cost_us;
} result;

static result measure(timer_t *timer, unsigned us, void (*handler)(int, siginfo_t *, void *),
                      uint64_t iterations, int runs)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) != 0) {
        perror("sigaction");
        exit(1);
    }
    double plain[runs], timed[runs], plain_cpu[runs], timed_cpu[runs], got[runs];
    for (int i = 0; i < runs; i++) {
        long n;
        span p = time_spin(iterations), t = time_spin_signalled(timer, us, iterations, &n);
        plain[i] = p.wall_ms, plain_cpu[i] = p.cpu_ms;
        timed[i] = t.wall_ms, timed_cpu[i] = t.cpu_ms;
        got[i] = (double)n;
    }
    result r = {0};
    r.plain_ms = median(plain, runs);
    r.timed_ms = median(timed, runs);
    r.plain_cpu_ms = median(plain_cpu, runs);
    r.timed_cpu_ms = median(timed_cpu, runs);
    r.signals = median(got, runs);
    if (r.signals > 0) {
        r.cost_us = (r.timed_cpu_ms - r.plain_cpu_ms) * 1000.0 / r.signals;
        r.wall_cost_us = (r.timed_ms - r.plain_ms) * 1000.0 / r.signals;
    }
    return r;
}

static void print_result(const char *name, const result *r, const char *after)
{
    printf("\"%s\": {\"cost_us\": %.2f, \"wall_cost_us\": %.2f, \"signals\": %.0f, "
           "\"plain_cpu_ms\": %.3f, \"timed_cpu_ms\": %.3f, \"plain_ms\": %.3f, "
           "\"timed_ms\": %.3f}%s",
           name, r->cost_us, r->wall_cost_us, r->signals, r->plain_cpu_ms, r->timed_cpu_ms,
           r->plain_ms, r->timed_ms, after);
}

/* The loop's iterations for about target_ms of CPU time, after a warm-up for the CPU's
 * clock. */
static uint64_t calibrate(double target_ms)
{
    uint64_t iterations = 1000000;
    time_spin(iterations);
    for (int i = 0; i < 5; i++) {
        if (time_spin(iterations).cpu_ms >= target_ms / 4)
            break;
        iterations *= 4;
    }
    double probe[3];
    for (int i = 0; i < 3; i++)
        probe[i] = time_spin(iterations).cpu_ms;
    return (uint64_t)(iterations * target_ms / median(probe, 3));
}

/* Every handler from both sources at one interval. */
typedef struct setting {
    unsigned interval_us;
    result r[3][2]; /* handler (empty, copy, unwind) x source (timer, queued) */
} setting;

static void (*const handlers[3])(int, siginfo_t *, void *) = {on_signal_empty, on_signal_copy,
                                                              on_signal_unwind};
static const char *const names[3][2] = {
    {"empty", "queued_empty"}, {"copy", "queued_copy"}, {"unwind", "queued_unwind"}};

static void measure_setting(setting *st, timer_t *timer, uint64_t iterations, int runs)
{
    for (int h = 0; h < 3; h++) {
        st->r[h][0] = measure(timer, st->interval_us, handlers[h], iterations, runs);
        st->r[h][1] = measure(NULL, st->interval_us, handlers[h], iterations, runs);
    }
}

static void print_setting(const setting *st, const char *after)
{
    printf("{\"interval_us\": %u, ", st->interval_us);
    for (int h = 0; h < 3; h++)
        for (int q = 0; q < 2; q++)
            print_result(names[h][q], &st->r[h][q], h == 2 && q == 1 ? "}" : ", ");
    printf("%s", after);
}

static void print_all(const setting *st, size_t n, size_t head, int runs)
{
    const setting *h = &st[head];
    printf("{\"runs\": %d, \"loop_ms\": %.3f, \"signals\": %.0f, \"interval_us\": %u, "
           "\"stack_copy\": %u, ",
           runs, h->r[0][0].plain_cpu_ms, h->r[0][0].signals, h->interval_us, STACK_COPY);
    for (int k = 0; k < 3; k++)
        for (int q = 0; q < 2; q++)
            printf("\"%s_us\": %.2f, ", names[k][q], h->r[k][q].cost_us);
    printf("\"intervals\": [");
    for (size_t k = 0; k < n; k++)
        print_setting(&st[k], k + 1 < n ? ", " : "");
    printf("]}\n");
}

static timer_t own_timer(void)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid); /* sigev_notify_thread_id */
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("timer_create");
        exit(1);
    }
    return timer;
}

typedef struct args {
    int runs;
    double target_ms;
    unsigned only_us;
} args;

static void run(const args *a)
{
    uint64_t iterations = calibrate(a->target_ms);
    find_stack();
    /* The first unw_backtrace loads and caches unwind tables: not in a signal handler. */
    unw_backtrace(frames, MAX_FRAMES);
    timer_t timer = own_timer();
    setting st[N_INTERVALS];
    size_t n = 0, head = 0;
    for (size_t k = 0; k < N_INTERVALS; k++) {
        if (a->only_us && intervals_us[k] != a->only_us)
            continue;
        if (intervals_us[k] == 100)
            head = n;
        st[n].interval_us = intervals_us[k];
        measure_setting(&st[n++], &timer, iterations, a->runs);
    }
    if (!n) { /* an interval not in the list */
        st[0].interval_us = a->only_us;
        measure_setting(&st[n++], &timer, iterations, a->runs);
    }
    timer_delete(timer);
    print_all(st, n, head, a->runs);
}

/* Runs the measurement 32 KiB below here: the copying handler then copies a whole 16 KiB,
 * as in a program with deep stacks, not what little lies above a shallow loop. */
static void __attribute__((noinline)) run_deep(const args *a)
{
    volatile char pad[32768];
    for (size_t i = sizeof(pad); i > 0; i -= 4096)
        pad[i - 1] = 0;
    run(a);
    pad[0] = 0;
}

int main(int argc, char **argv)
{
    args a = {9, 40, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            a.runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            a.target_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            a.only_us = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--runs R] [--ms MS] [--interval US]\n", argv[0]);
            return 2;
        }
    }
    if (a.runs < 1 || a.target_ms <= 0 || (a.only_us && a.only_us < 10)) {
        fprintf(stderr, "signal_floor: --runs and --ms must be positive, --interval >= 10\n");
        return 2;
    }
    run_deep(&a);
    return 0;
}
