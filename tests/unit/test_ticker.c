/*
 * test_ticker.c: the ticker thread that paces wall-clock sessions: it signals exactly the
 * registered thread, with the registered key, at about the asked interval, and nothing
 * after the key is removed.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ticker.h"
#include "isolate.h"

static volatile sig_atomic_t hits, strangers;
static int key_a, key_b;

static void on_sigprof(int sig, siginfo_t *si, void *uc)
{
    if (si->si_code == SI_QUEUE && si->si_value.sival_ptr == &key_a)
        hits++;
    else
        strangers++;
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
}

static void busy_ms(unsigned ms)
{
    uint64_t end = gg_clock_ns(CLOCK_MONOTONIC) + ms * 1000000ull;
    while (gg_clock_ns(CLOCK_MONOTONIC) < end)
        ;
}

static void test_signals_registered_thread_at_interval(void **state)
{
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = 500;
    install();
    hits = strangers = 0;
    assert_int_equal(gg_ticker_add(&key_a, gettid(), &o), 0);
    busy_ms(50);
    gg_ticker_remove(&key_a);
    int got = hits;
    /* 100 at exactly 500 us, none early. Fewer when the machine is loaded: a thread that
     * waits for a CPU gets the signals sent meanwhile as one (SIGPROF does not queue). */
    assert_in_range(got, 10, 101);
    assert_int_equal(strangers, 0);
    hits = 0;
    busy_ms(20);
    assert_int_equal(hits, 0);
}

static void *sleeper(void *arg)
{
    intptr_t interrupted = 0;
    for (int i = 0; i < 20; i++) {
        struct timespec ts = {0, 2000000};
        interrupted += nanosleep(&ts, NULL) != 0 && errno == EINTR;
    }
    return (void *)interrupted;
}

static void test_other_threads_never_signalled(void **state)
{
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = 100;
    install();
    pthread_t th;
    pthread_create(&th, NULL, sleeper, NULL);
    assert_int_equal(gg_ticker_add(&key_a, gettid(), &o), 0);
    busy_ms(40);
    gg_ticker_remove(&key_a);
    void *interrupted;
    pthread_join(th, &interrupted);
    assert_int_equal((intptr_t)interrupted, 0);
}

static void test_remove_only_its_key(void **state)
{
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = 1000;
    install();
    hits = strangers = 0;
    assert_int_equal(gg_ticker_add(&key_b, gettid(), &o), 0);
    assert_int_equal(gg_ticker_add(&key_a, gettid(), &o), 0);
    gg_ticker_remove(&key_b);
    gg_ticker_remove(&key_b); /* unknown now: ignored */
    strangers = 0;
    busy_ms(20);
    gg_ticker_remove(&key_a);
    assert_true(hits > 0);
    assert_int_equal(strangers, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_registered_thread_at_interval),
        cmocka_unit_test(test_other_threads_never_signalled),
        cmocka_unit_test(test_remove_only_its_key),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
