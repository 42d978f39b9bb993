/*
 * test_sampler_rewind.c: one session kept across many units of work (gargalo_rewind,
 * gargalo_pause): a rewind forgets what came before, samples, markers and label changes,
 * and keeps the thread's labels; a paused session records nothing and, with signals,
 * interrupts nothing; thousands of rewinds leave a session as good as new. Run with both
 * mechanisms (scripts/test.sh), and under TSan.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "isolate.h"
#include "sampler_testlib.h"

static volatile int which;

/* Three burners that differ, so the compiler does not fold them into one function. */
static GG_NOINLINE void before_rewind(uint64_t ns)
{
    which = 1;
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, ns);
}

static GG_NOINLINE void after_rewind(uint64_t ns)
{
    which = 2;
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, ns);
}

static GG_NOINLINE void while_paused(uint64_t ns)
{
    which = 3;
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, ns);
}

static gargalo_session *start_fixed(unsigned interval_us)
{
    gargalo_session *s;
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = interval_us;
    assert_int_equal(gargalo_start(&s, &o), 0);
    return s;
}

/* What came before the rewind is gone; the session lasts from the rewind to the stop. */
static void test_rewind_forgets_what_came_before(void **state)
{
    gargalo_session *s = start_fixed(200);
    before_rewind(20000000);
    gargalo_mark_begin("sql", "SELECT before");
    gargalo_mark_end();
    uint64_t t0 = tl_now_ns(CLOCK_MONOTONIC);
    assert_int_equal(gargalo_rewind(s), 0);
    after_rewind(20000000);
    gargalo_mark_begin("sql", "SELECT after");
    gargalo_mark_end();
    assert_int_equal(gargalo_stop(s), 0);
    uint64_t wall = tl_now_ns(CLOCK_MONOTONIC) - t0;
    gargalo_stats st;
    assert_int_equal(gargalo_session_stats(s, &st), 0);
    printf("rewound: %zu samples, %zu after the rewind, %zu before; %.1f ms of %.1f ms\n",
           st.samples, tl_count(s, "after_rewind"), tl_count(s, "before_rewind"),
           st.duration_ns / 1e6, wall / 1e6);
    assert_true(st.duration_ns <= wall);
    assert_true(st.samples > 0);
    /* the CPU time is the rewound session's too (with signals, from its first sample) */
    printf("cpu %.1f ms of %.1f ms\n", st.cpu_ns / 1e6, st.duration_ns / 1e6);
    assert_true(st.cpu_ns > 10000000 || GG_TEST_TSAN);
    assert_true(st.cpu_ns <= st.duration_ns + 1000000);
    assert_int_equal(tl_count(s, "before_rewind"), 0);
    assert_true(tl_count(s, "after_rewind") > 0 || tl_late_signals(s));
    assert_int_equal(s->nmarkers, 1);
    assert_string_equal(s->markers[0].text, "SELECT after");
    gargalo_session_free(s);
}

/* A paused session keeps nothing of the pause, and cannot be stopped until rewound. */
static void test_pause_records_nothing(void **state)
{
    gargalo_session *s = start_fixed(200);
    assert_int_equal(gargalo_pause(s), 0);
    assert_int_equal(gargalo_pause(s), 0); /* twice is once */
    while_paused(20000000);
    assert_int_equal(gargalo_stop(s), GARGALO_ESTATE);
    assert_int_equal(gargalo_rewind(s), 0);
    after_rewind(10000000);
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(tl_count(s, "while_paused"), 0);
    assert_true(tl_count(s, "after_rewind") > 0 || tl_late_signals(s));
    gargalo_session_free(s);
}

/* Sleeps in 1 ms steps for ms milliseconds of the monotonic clock; returns how many of
 * the sleeps a signal cut short. */
static unsigned interrupted_sleeps(unsigned ms)
{
    unsigned eintr = 0;
    uint64_t end = tl_now_ns(CLOCK_MONOTONIC) + ms * 1000000ull;
    while (tl_now_ns(CLOCK_MONOTONIC) < end) {
        struct timespec ts = {0, 1000000};
        eintr += clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR;
    }
    return eintr;
}

/* With signals, a paused thread is not interrupted: a worker waiting for its next request
 * sleeps on. Rewound, the ticker signals it again, however long it slept meanwhile: longer
 * than the ticker looks at closed gates (100 ms), so the rewind has to wake it. */
static void test_paused_thread_gets_no_signals(void **state)
{
    gargalo_session *s;
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = 200;
    o.mechanism = GARGALO_MECHANISM_SIGNAL;
    assert_int_equal(gargalo_start(&s, &o), 0);
    assert_int_equal(gargalo_pause(s), 0);
    tl_sleep_ns(5000000); /* a signal sent just before the pause has arrived by now */
    unsigned paused = interrupted_sleeps(150);
    assert_int_equal(gargalo_rewind(s), 0);
    unsigned running = interrupted_sleeps(50);
    printf("sleeps cut short: %u paused, %u running\n", paused, running);
    assert_int_equal(paused, 0);
    assert_true(running > 0 || GG_TEST_TSAN);
    gargalo_session_free(s);
}

/* The labels in effect at the rewind carry over; those set after it are seen too. */
static void test_labels_carry_over(void **state)
{
    gargalo_session *s = start_fixed(200);
    assert_int_equal(gargalo_label_set("route", "/kept"), 0);
    assert_int_equal(gargalo_rewind(s), 0);
    after_rewind(10000000);
    assert_int_equal(gargalo_stop(s), 0);
    size_t with = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        uint32_t n;
        const gg_label *l = gg_labelset_labels(s, s->samples[i].labels, &n);
        with += n == 1 && !strcmp(l[0].key, "route") && !strcmp(l[0].value, "/kept");
    }
    assert_true(s->nsamples > 0);
    assert_int_equal(with, s->nsamples);
    gargalo_label_clear(NULL);
    gargalo_session_free(s);
}

/* A server's worker: thousands of requests, each labelled and marked, rewound at its
 * start and paused at its end; the last one kept holds only its own. */
static void test_many_rewinds(void **state)
{
    gargalo_session *s = start_fixed(1000);
    char route[32];
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(gargalo_rewind(s), 0);
        snprintf(route, sizeof(route), "/r%d", i);
        gargalo_label_set("route", route);
        gargalo_mark_begin("sql", route);
        gargalo_mark_end();
        gargalo_label_clear(NULL);
        assert_int_equal(gargalo_pause(s), 0);
    }
    assert_int_equal(gargalo_rewind(s), 0);
    gargalo_label_set("route", "/last");
    after_rewind(5000000);
    gargalo_label_clear(NULL);
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_stats st;
    assert_int_equal(gargalo_session_stats(s, &st), 0);
    assert_int_equal(st.markers, 0);
    assert_int_equal(st.markers_dropped, 0);
    assert_int_equal(st.dropped, 0);
    assert_true(s->nlabelsets <= 1);
    gargalo_session_free(s);
}

static void *rewind_elsewhere(void *arg)
{
    return (void *)(intptr_t)(gargalo_rewind(arg) * 100 + gargalo_pause(arg));
}

static void test_wrong_calls(void **state)
{
    assert_int_equal(gargalo_rewind(NULL), GARGALO_EINVAL);
    assert_int_equal(gargalo_pause(NULL), GARGALO_EINVAL);
    gargalo_session *s = start_fixed(1000);
    pthread_t t;
    void *rc;
    pthread_create(&t, NULL, rewind_elsewhere, s);
    pthread_join(t, &rc);
    assert_int_equal((int)(intptr_t)rc, GARGALO_ESTATE * 100 + GARGALO_ESTATE);
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(gargalo_rewind(s), GARGALO_ESTATE);
    assert_int_equal(gargalo_pause(s), GARGALO_ESTATE);
    gargalo_session_free(s);
    /* a paused session is freed like a running one, and the thread is free again */
    s = start_fixed(1000);
    assert_int_equal(gargalo_pause(s), 0);
    gargalo_session_free(s);
    s = start_fixed(1000);
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewind_forgets_what_came_before),
        cmocka_unit_test(test_pause_records_nothing),
        cmocka_unit_test(test_paused_thread_gets_no_signals),
        cmocka_unit_test(test_labels_carry_over),
        cmocka_unit_test(test_many_rewinds),
        cmocka_unit_test(test_wrong_calls),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
