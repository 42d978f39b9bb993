/*
 * test_sampler_accuracy.c: does the profile say where the time went? Two CPU-bound
 * functions doing the same work split 70/30 (CPU and wall clock), and a thread blocked
 * in read() and in nanosleep (wall clock). Each share must be within 5 points of the time
 * measured around the calls. Prints the numbers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler_testlib.h"
#include "isolate.h"

#define TOLERANCE 0.05

static volatile uint64_t sink;
static uint64_t iters_per_ms;

/* The same arithmetic for both functions, so a share is a share of work. */
static inline __attribute__((always_inline)) uint64_t mix(uint64_t n, uint64_t x)
{
    for (uint64_t i = 0; i < n; i++)
        x = x * 6364136223846793005u + 1442695040888963407u + (x >> 17);
    return x;
}

static GG_NOINLINE void work_a(uint64_t n)
{
    sink = mix(n, sink);
}

static GG_NOINLINE void work_b(uint64_t n)
{
    sink = mix(n, sink + 1);
}

static void calibrate(void)
{
    uint64_t n = 100000, t0 = tl_now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (;;) {
        work_a(n);
        uint64_t dt = tl_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
        if (dt > 20000000) {
            iters_per_ms = n * 1000000 / dt;
            return;
        }
        n *= 2;
        t0 = tl_now_ns(CLOCK_THREAD_CPUTIME_ID);
    }
}

/* Runs work_a/work_b for total_ms of work split 70/30 in two rounds, profiled on clock;
 * long blocks keep the error to the few samples at each switch. */
static void check_split(gargalo_clock clock, uint64_t total_ms)
{
    clockid_t c = clock == GARGALO_CLOCK_CPU ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    gargalo_options o;
    gargalo_session *s;
    uint64_t ta = 0, tb = 0, t0, t1;
    if (!iters_per_ms)
        calibrate();
    gargalo_options_init(&o);
    o.clock = clock;
    assert_int_equal(gargalo_start(&s, &o), 0);
    for (int round = 0; round < 2; round++) {
        t0 = tl_now_ns(c);
        work_a(iters_per_ms * total_ms * 7 / 20);
        t1 = tl_now_ns(c);
        work_b(iters_per_ms * total_ms * 3 / 20);
        ta += t1 - t0;
        tb += tl_now_ns(c) - t1;
    }
    assert_int_equal(gargalo_stop(s), 0);
    double truth_a = (double)ta / (double)(ta + tb), truth_b = 1 - truth_a;
    double a = tl_share(s, "work_a"), b = tl_share(s, "work_b");
    printf("accuracy %s: %zu samples; work_a %.1f%% (measured %.1f%%), work_b %.1f%% "
           "(measured %.1f%%), nominal 70/30\n",
           clock == GARGALO_CLOCK_CPU ? "cpu" : "wall", s->nsamples, 100 * a, 100 * truth_a,
           100 * b, 100 * truth_b);
    if (!GG_TEST_TSAN) {
        assert_true(fabs(a - truth_a) <= TOLERANCE);
        assert_true(fabs(b - truth_b) <= TOLERANCE);
    }
    gargalo_session_free(s);
}

static void test_split_cpu_clock(void **state)
{
    check_split(GARGALO_CLOCK_CPU, 300);
}

static void test_split_wall_clock(void **state)
{
    check_split(GARGALO_CLOCK_WALL, 200);
}

typedef struct pipe_writer {
    int fd;
    uint64_t delay_ns;
} pipe_writer;

static void *write_later(void *arg)
{
    pipe_writer *w = arg;
    tl_sleep_ns(w->delay_ns);
    char c = 'x';
    assert_int_equal(write(w->fd, &c, 1), 1);
    return NULL;
}

/* Blocks in read() until another thread writes (SA_RESTART restarts the read). */
static GG_NOINLINE void wait_for_pipe(int fd)
{
    char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) < 0) {
    }
    assert_int_equal(n, 1);
}

static GG_NOINLINE void sleep_a_while(uint64_t ns)
{
    tl_sleep_ns(ns);
}

static GG_NOINLINE void compute(uint64_t ms)
{
    work_a(iters_per_ms * ms);
}

static void report_blocking(const gargalo_session *s, const char *fn, uint64_t t, uint64_t all)
{
    double share = tl_share(s, fn), truth = (double)t / (double)all;
    printf("accuracy wall, blocked: %s %.1f%% (measured %.1f%%)\n", fn, 100 * share, 100 * truth);
    if (!GG_TEST_TSAN)
        assert_true(fabs(share - truth) <= TOLERANCE);
}

static void test_blocking_wall_clock(void **state)
{
    int fds[2];
    pthread_t writer;
    gargalo_session *s;
    if (!iters_per_ms)
        calibrate();
    assert_int_equal(pipe(fds), 0);
    pipe_writer w = {fds[1], 100000000};
    assert_int_equal(gargalo_start(&s, NULL), 0);
    uint64_t t0 = tl_now_ns(CLOCK_MONOTONIC);
    compute(30);
    uint64_t t1 = tl_now_ns(CLOCK_MONOTONIC);
    pthread_create(&writer, NULL, write_later, &w);
    wait_for_pipe(fds[0]);
    uint64_t t2 = tl_now_ns(CLOCK_MONOTONIC);
    sleep_a_while(50000000);
    uint64_t t3 = tl_now_ns(CLOCK_MONOTONIC);
    compute(20);
    uint64_t all = tl_now_ns(CLOCK_MONOTONIC) - t0;
    assert_int_equal(gargalo_stop(s), 0);
    pthread_join(writer, NULL);
    printf("accuracy wall, blocked: %zu samples over %.1f ms\n", s->nsamples, all / 1e6);
    report_blocking(s, "wait_for_pipe", t2 - t1, all);
    report_blocking(s, "sleep_a_while", t3 - t2, all);
    gargalo_session_free(s);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_cpu_clock),
        cmocka_unit_test(test_split_wall_clock),
        cmocka_unit_test(test_blocking_wall_clock),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
