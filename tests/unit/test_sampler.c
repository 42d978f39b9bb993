/*
 * test_sampler.c: the sampler's contract: option checks, error codes, the adaptive
 * interval (a 10 ms session gets 100+ samples), clean stacks (no sampler frames), stats.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"
#include "sampler_testlib.h"
#include "isolate.h"

static volatile uint64_t sink;

/* ns of the thread's CPU time, however busy the machine is. */
static GG_NOINLINE void busy_work(uint64_t ns)
{
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, ns);
}

static void test_options_rejected(void **state)
{
    gargalo_session *s = (gargalo_session *)1;
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = 49;
    assert_int_equal(gargalo_start(&s, &o), GARGALO_EINVAL);
    assert_null(s);
    o.interval_us = 1000001;
    assert_int_equal(gargalo_start(&s, &o), GARGALO_EINVAL);
    gargalo_options_init(&o);
    o.clock = (gargalo_clock)7;
    assert_int_equal(gargalo_start(&s, &o), GARGALO_EINVAL);
    gargalo_options_init(&o);
    o.max_interval_us = 10;
    assert_int_equal(gargalo_start(&s, &o), GARGALO_EINVAL);
    gargalo_options_init(&o);
    o.max_frames = 10; /* not room for one stack */
    assert_int_equal(gargalo_start(&s, &o), GARGALO_EINVAL);
    assert_int_equal(gargalo_start(NULL, NULL), GARGALO_EINVAL);
    assert_int_equal(gargalo_stop(NULL), GARGALO_EINVAL);
    gargalo_session_free(NULL);
}

static void test_fixed_interval_bounds_accepted(void **state)
{
    unsigned ok[] = {50, 1000000};
    for (size_t i = 0; i < 2; i++) {
        gargalo_session *s;
        gargalo_options o;
        gargalo_options_init(&o);
        o.interval_us = ok[i];
        assert_int_equal(gargalo_start(&s, &o), 0);
        busy_work(1000000);
        assert_int_equal(gargalo_stop(s), 0);
        gargalo_session_free(s);
    }
}

static void test_double_start_is_busy(void **state)
{
    gargalo_session *a, *b = NULL;
    assert_int_equal(gargalo_start(&a, NULL), 0);
    assert_int_equal(gargalo_start(&b, NULL), GARGALO_EBUSY);
    assert_null(b);
    assert_int_equal(gargalo_stop(a), 0);
    assert_int_equal(gargalo_stop(a), GARGALO_ESTATE); /* already stopped */
    gargalo_session_free(a);
    assert_int_equal(gargalo_start(&b, NULL), 0); /* the thread is free again */
    gargalo_session_free(b);                      /* frees a running session */
    assert_int_equal(gargalo_start(&b, NULL), 0);
    gargalo_session_free(b);
}

static void *stop_elsewhere(void *arg)
{
    return (void *)(intptr_t)gargalo_stop(arg);
}

static void *free_elsewhere(void *arg)
{
    gargalo_session_free(arg);
    return NULL;
}

static void test_stop_from_other_thread(void **state)
{
    gargalo_session *s;
    pthread_t t;
    void *rc;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    pthread_create(&t, NULL, stop_elsewhere, s);
    pthread_join(t, &rc);
    assert_int_equal((int)(intptr_t)rc, GARGALO_ESTATE);
    gargalo_stats st;
    assert_int_equal(gargalo_session_stats(s, &st), GARGALO_ESTATE); /* still running */
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_session_free(s);
}

/* Freeing a running session on another thread must not leave this thread stuck. */
static void test_free_running_from_other_thread(void **state)
{
    gargalo_session *s;
    pthread_t t;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    busy_work(2000000);
    pthread_create(&t, NULL, free_elsewhere, s);
    pthread_join(t, NULL);
    busy_work(2000000); /* a late signal must be harmless */
    assert_int_equal(gargalo_start(&s, NULL), 0);
    busy_work(2000000);
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_session_free(s);
}

static void *start_and_exit(void *arg)
{
    gargalo_session **out = arg;
    if (gargalo_start(out, NULL) == 0)
        busy_work(2000000);
    return NULL;
}

/* A thread that exits with its session running: the timer goes with it; the session can
 * no longer be stopped, only freed (from any thread). */
static void test_thread_exits_while_running(void **state)
{
    gargalo_session *s = NULL;
    pthread_t t;
    pthread_create(&t, NULL, start_and_exit, &s);
    pthread_join(t, NULL);
    assert_non_null(s);
    assert_int_equal(gargalo_stop(s), GARGALO_ESTATE);
    gargalo_session_free(s);
}

static void test_adaptive_schedule(void **state)
{
    gargalo_options o;
    gargalo_options_init(&o);
    assert_int_equal(gg_options_interval_us(&o, 0), GG_ADAPT_START_US);
    assert_int_equal(gg_options_interval_us(&o, GG_ADAPT_STEP - 1), GG_ADAPT_START_US);
    assert_int_equal(gg_options_interval_us(&o, GG_ADAPT_STEP), 2 * GG_ADAPT_START_US);
    assert_int_equal(gg_options_interval_us(&o, 100 * GG_ADAPT_STEP), o.max_interval_us);
    o.max_interval_us = 60;
    assert_int_equal(gg_options_interval_us(&o, 0), 60);
    o.max_interval_us = 5000;
    assert_int_equal(gg_options_interval_us(&o, 1000 * GG_ADAPT_STEP), 5000);
    o.interval_us = 333;
    assert_int_equal(gg_options_interval_us(&o, 12345), 333);
}

/* A 10 ms busy request must give a readable profile: at least 100 samples. */
static void test_short_session_gets_100_samples(void **state)
{
    size_t best = 0;
    for (int attempt = 0; attempt < 3 && best < 100; attempt++) {
        gargalo_session *s;
        gargalo_stats st;
        assert_int_equal(gargalo_start(&s, NULL), 0);
        busy_work(10000000);
        assert_int_equal(gargalo_stop(s), 0);
        assert_int_equal(gargalo_session_stats(s, &st), 0);
        printf("10 ms busy session: %zu samples, %.2f ms long, sampled %.2f ms\n", st.samples,
               st.duration_ns / 1e6, st.sampled_ns / 1e6);
        if (st.samples > best)
            best = st.samples;
        gargalo_session_free(s);
    }
    if (GG_TEST_TSAN)
        assert_true(best > 0);
    else
        assert_true(best >= 100);
}

/* The leaf is the interrupted code: no handler, trampoline or unwinder frames anywhere. */
static void test_stacks_are_clean(void **state)
{
    static const char *const banned[] = {"gg_sampler_on_signal", "take_sample",     "record_stack",
                                         "__restore_rt",         "_ULx86_64_trace", "unw_backtrace",
                                         "_Ux86_64_trace"};
    gargalo_session *s;
    gargalo_stats st;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    busy_work(20000000);
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(gargalo_session_stats(s, &st), 0);
    assert_true(st.samples > 0);
    for (size_t i = 0; i < s->nsamples; i++)
        for (size_t b = 0; b < sizeof(banned) / sizeof(banned[0]); b++)
            assert_false(tl_stack_has(s, s->samples[i].stack, banned[b]));
    size_t in_busy = tl_count(s, "busy_work"), in_main = tl_count(s, "main");
    printf("samples %zu, in busy_work %zu, reaching main %zu\n", s->nsamples, in_busy, in_main);
    assert_true(in_busy >= s->nsamples * 9 / 10 || tl_late_signals(s));
    assert_true(in_main >= s->nsamples * 9 / 10 || tl_late_signals(s)); /* complete stacks */
    /* the statistics agree with the samples */
    assert_true(st.duration_ns >= 20000000);
    /* Perf events measure time on the CPU and time away from it on two clocks, each
     * switch by a microsecond or two: on a busy machine the sum may pass the duration
     * by a little. */
    assert_true(st.sampled_ns <= st.duration_ns + st.duration_ns / 20);
    assert_true(st.sampled_ns >= st.duration_ns * 8 / 10 || GG_TEST_TSAN);
    assert_true(st.cpu_ns > 0 && st.cpu_ns <= st.duration_ns + 1000000);
    assert_int_equal(st.clock, GARGALO_CLOCK_WALL);
    /* Only a saturated machine, the collector late and a ring full, loses records. */
    assert_true(st.dropped <= st.samples / 20 || GG_TEST_TSAN);
    gargalo_session_free(s);
}

/* A tiny frame buffer fills up: later samples are counted as dropped, not recorded. */
static void test_full_buffer_drops(void **state)
{
    gargalo_session *s;
    gargalo_options o;
    gargalo_stats st;
    gargalo_options_init(&o);
    o.interval_us = 100;
    o.max_depth = 4;
    o.max_frames = 200;
    assert_int_equal(gargalo_start(&s, &o), 0);
    busy_work(30000000);
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(gargalo_session_stats(s, &st), 0);
    printf("tiny buffer: %zu samples, %zu dropped\n", st.samples, st.dropped);
    assert_true(st.samples > 0 && st.samples <= 200);
    assert_true(st.dropped > 0 || GG_TEST_TSAN);
    /* truncated stacks keep their innermost frames (inlined ones expand beyond 4); under
     * TSan a sample may land in its runtime, 4 frames below busy_work */
    size_t in_work = 0, n = tl_late_signals(s) ? 0 : s->nsamples;
    for (size_t i = 0; i < n; i++) {
        in_work += tl_stack_has(s, s->samples[i].stack, "busy_work");
        assert_false(tl_stack_has(s, s->samples[i].stack, "main"));
    }
    assert_true(GG_TEST_TSAN ? in_work * 2 >= n : in_work == n);
    gargalo_session_free(s);
}

/* CPU mode: blocked time does not count, the CPU time does. */
static void test_cpu_clock_ignores_sleep(void **state)
{
    gargalo_session *s;
    gargalo_options o;
    gargalo_stats st;
    gargalo_options_init(&o);
    o.clock = GARGALO_CLOCK_CPU;
    assert_int_equal(gargalo_start(&s, &o), 0);
    busy_work(20000000);
    tl_sleep_ns(30000000);
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(gargalo_session_stats(s, &st), 0);
    printf("cpu mode: %zu samples, sampled %.1f ms of %.1f ms cpu, %.1f ms wall\n", st.samples,
           st.sampled_ns / 1e6, st.cpu_ns / 1e6, st.duration_ns / 1e6);
    assert_int_equal(st.clock, GARGALO_CLOCK_CPU);
    assert_true(st.sampled_ns <= st.cpu_ns);
    assert_true(st.duration_ns >= 50000000);
    if (!GG_TEST_TSAN)
        assert_true(st.sampled_ns >= 10000000);
    gargalo_session_free(s);
}

static void ignore(int sig)
{
    (void)sig;
}

/* Someone else's SIGPROF handler: signals refuse to chain (GARGALO_ESIGNAL) and work
 * again once it is gone; perf events, where the kernel allows them, need no handler and
 * leave it alone. */
static void test_foreign_handler(void **state)
{
    gargalo_session *s = NULL;
    gargalo_options o;
    struct sigaction sa, old, now;
    gargalo_options_init(&o);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = ignore;
    sigaction(SIGPROF, &sa, &old);
    o.mechanism = GARGALO_MECHANISM_SIGNAL;
    assert_int_equal(gargalo_start(&s, &o), GARGALO_ESIGNAL);
    assert_null(s);
    o.mechanism = GARGALO_MECHANISM_PERF;
    int rc = gargalo_start(&s, &o);
    assert_true(rc == 0 || rc == GARGALO_EUNAVAIL);
    gargalo_session_free(s);
    sigaction(SIGPROF, NULL, &now);
    assert_ptr_equal(now.sa_handler, ignore);
    sigaction(SIGPROF, &old, NULL);
    o.mechanism = GARGALO_MECHANISM_SIGNAL;
    assert_int_equal(gargalo_start(&s, &o), 0);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_rejected),
        cmocka_unit_test(test_foreign_handler),
        cmocka_unit_test(test_fixed_interval_bounds_accepted),
        cmocka_unit_test(test_double_start_is_busy),
        cmocka_unit_test(test_stop_from_other_thread),
        cmocka_unit_test(test_free_running_from_other_thread),
        cmocka_unit_test(test_thread_exits_while_running),
        cmocka_unit_test(test_adaptive_schedule),
        cmocka_unit_test(test_short_session_gets_100_samples),
        cmocka_unit_test(test_stacks_are_clean),
        cmocka_unit_test(test_full_buffer_drops),
        cmocka_unit_test(test_cpu_clock_ignores_sleep),
    };
    (void)sink;
    return isolate_run_group_tests(tests, NULL, NULL);
}
