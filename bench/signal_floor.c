/*
 * signal_floor.c: what one SIGPROF costs the thread it interrupts, with no profiler.
 *
 *     signal_floor [--runs R] [--ms MS]
 *
 * A CPU-bound loop of about MS milliseconds (default 40) is timed plain, then timed again
 * while SIGPROF arrives every 70 us, 100 us and 1000 us from one of two sources:
 *   - "timer":  a per-thread POSIX timer (CLOCK_MONOTONIC, SIGEV_THREAD_ID to this very
 *               thread): the timer interrupt is taken on the loop's own CPU;
 *   - "queued": a pacer thread that sleeps until each due time and queues the signal with
 *               rt_tgsigqueueinfo, as gargalo's ticker does for wall-clock sessions;
 * each to
 *   - "empty":  a SA_SIGINFO handler that only counts the signal, and
 *   - "unwind": the same handler that also takes a backtrace with libunwind's
 *               unw_backtrace into a static buffer (what a sampling profiler does at least).
 * Plain and timed runs alternate, R times each (default 9). The cost of one signal is
 * (median timed - median plain) / median signals received, in microseconds: the kernel's
 * timer interrupt, signal delivery, the handler and sigreturn, all paid by the loop.
 *
 * Prints one JSON object; its top-level empty_us, unwind_us and signals are those at
 * 100 us, the interval a profiler needs for 100 samples in a 10 ms request.
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
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define MAX_FRAMES 128

static const unsigned intervals_us[] = {70, 100, 1000};
#define N_INTERVALS (sizeof intervals_us / sizeof intervals_us[0])

static volatile sig_atomic_t signals;
static void *frames[MAX_FRAMES];
static volatile uint64_t sink;

static void on_signal_empty(int sig, siginfo_t *si, void *uc)
{
    signals++;
}

static void on_signal_unwind(int sig, siginfo_t *si, void *uc)
{
    signals++;
    unw_backtrace(frames, MAX_FRAMES);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The work being interrupted: a plain integer loop, no memory traffic, no system calls. */
static uint64_t __attribute__((noinline)) spin(uint64_t iterations)
{
    uint64_t x = sink + 1;
    for (uint64_t i = 0; i < iterations; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

static double time_spin(uint64_t iterations)
{
    double t0 = now_ms();
    sink = spin(iterations);
    return now_ms() - t0;
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
static double time_spin_signalled(timer_t *timer, unsigned us, uint64_t iterations, long *received)
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
    double ms = time_spin(iterations);
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
    double plain_ms, timed_ms, signals, cost_us;
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
    double plain[runs], timed[runs], got[runs];
    for (int i = 0; i < runs; i++) {
        long n;
        plain[i] = time_spin(iterations);
        timed[i] = time_spin_signalled(timer, us, iterations, &n);
        got[i] = (double)n;
    }
    result r;
    r.plain_ms = median(plain, runs);
    r.timed_ms = median(timed, runs);
    r.signals = median(got, runs);
    r.cost_us = r.signals > 0 ? (r.timed_ms - r.plain_ms) * 1000.0 / r.signals : 0;
    return r;
}

static void print_result(const char *name, const result *r, const char *after)
{
    printf("\"%s\": {\"cost_us\": %.2f, \"signals\": %.0f, \"plain_ms\": %.3f, "
           "\"timed_ms\": %.3f}%s",
           name, r->cost_us, r->signals, r->plain_ms, r->timed_ms, after);
}

int main(int argc, char **argv)
{
    int runs = 9;
    double target_ms = 40;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            target_ms = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--runs R] [--ms MS]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || target_ms <= 0) {
        fprintf(stderr, "signal_floor: --runs and --ms must be positive\n");
        return 2;
    }

    /* Calibrate the loop to about target_ms, after a warm-up for the CPU's clock. */
    uint64_t iterations = 1000000;
    time_spin(iterations);
    for (int i = 0; i < 5; i++) {
        double ms = time_spin(iterations);
        if (ms >= target_ms / 4)
            break;
        iterations *= 4;
    }
    double probe[3];
    for (int i = 0; i < 3; i++)
        probe[i] = time_spin(iterations);
    iterations = (uint64_t)(iterations * target_ms / median(probe, 3));

    /* The first unw_backtrace loads and caches unwind tables: not in a signal handler. */
    unw_backtrace(frames, MAX_FRAMES);

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid); /* sigev_notify_thread_id */
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("timer_create");
        return 1;
    }

    result empty[N_INTERVALS], unwind[N_INTERVALS], qempty[N_INTERVALS], qunwind[N_INTERVALS];
    for (size_t k = 0; k < N_INTERVALS; k++) {
        empty[k] = measure(&timer, intervals_us[k], on_signal_empty, iterations, runs);
        unwind[k] = measure(&timer, intervals_us[k], on_signal_unwind, iterations, runs);
        qempty[k] = measure(NULL, intervals_us[k], on_signal_empty, iterations, runs);
        qunwind[k] = measure(NULL, intervals_us[k], on_signal_unwind, iterations, runs);
    }
    timer_delete(timer);

    size_t head = 1; /* 100 us */
    printf("{\"runs\": %d, \"loop_ms\": %.3f, \"empty_us\": %.2f, \"unwind_us\": %.2f, "
           "\"queued_empty_us\": %.2f, \"queued_unwind_us\": %.2f, "
           "\"signals\": %.0f, \"interval_us\": %u, \"intervals\": [",
           runs, empty[head].plain_ms, empty[head].cost_us, unwind[head].cost_us,
           qempty[head].cost_us, qunwind[head].cost_us, empty[head].signals, intervals_us[head]);
    for (size_t k = 0; k < N_INTERVALS; k++) {
        printf("%s{\"interval_us\": %u, ", k ? ", " : "", intervals_us[k]);
        print_result("empty", &empty[k], ", ");
        print_result("unwind", &unwind[k], ", ");
        print_result("queued_empty", &qempty[k], ", ");
        print_result("queued_unwind", &qunwind[k], "}");
    }
    printf("]}\n");
    return 0;
}
