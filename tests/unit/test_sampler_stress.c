/*
 * test_sampler_stress.c: robustness. A thousand short sessions in a row, and sessions
 * whose samples land inside malloc and free while other threads hammer the allocator:
 * the handler takes no lock, so nothing may deadlock. An alarm turns a hang into a failure.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler_testlib.h"
#include "isolate.h"

static volatile uint64_t sink;

static GG_NOINLINE void short_work(void)
{
    tl_spin_ns(CLOCK_MONOTONIC, 200000);
}

static void test_thousand_sessions(void **state)
{
    uint64_t t0 = tl_now_ns(CLOCK_MONOTONIC);
    size_t samples = 0;
    for (int i = 0; i < 1000; i++) {
        gargalo_session *s;
        gargalo_options o;
        gargalo_options_init(&o);
        o.clock = i % 2 ? GARGALO_CLOCK_CPU : GARGALO_CLOCK_WALL;
        o.max_frames = 16 << 10;
        assert_int_equal(gargalo_start(&s, &o), 0);
        short_work();
        assert_int_equal(gargalo_stop(s), 0);
        samples += s->nsamples;
        gargalo_session_free(s);
    }
    printf("1000 sessions in %.0f ms, %zu samples\n", (tl_now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
           samples);
}

static atomic_int stop_churn;

/* Allocation churn of many sizes, so the allocator's locks are often held. */
static GG_NOINLINE void churn_once(unsigned *seed)
{
    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = malloc(16 + (size_t)(rand_r(seed) % 8192));
        if (p[i])
            ((volatile char *)p[i])[0] = 1;
    }
    for (int i = 0; i < 64; i++)
        free(p[i]);
}

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&stop_churn))
        churn_once(&seed);
    return NULL;
}

/* Profiles its own churn: samples interrupt malloc/free; stop then allocates a lot. */
static void *profiled_churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    intptr_t failures = 0, empty = 0;
    for (int round = 0; round < 20; round++) {
        gargalo_session *s;
        if (gargalo_start(&s, NULL) != 0) {
            failures++;
            continue;
        }
        /* 5 ms of this thread's CPU: on a loaded machine 5 ms of wall time may be spent
           waiting for a core, and the ticker may wait as long, with no sample due. */
        uint64_t end = tl_now_ns(CLOCK_THREAD_CPUTIME_ID) + 5000000;
        while (tl_now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
            churn_once(&seed);
        failures += gargalo_stop(s) != 0;
        empty += s->nsamples == 0;
        gargalo_session_free(s);
    }
    /* Sessions still sample under churn: a few may be empty if the ticker was not scheduled
       in time (and TSan may drop them), most may not. */
    failures += empty > 5 && !GG_TEST_TSAN;
    return (void *)failures;
}

static void test_sessions_under_malloc_churn(void **state)
{
    pthread_t bg[2], prof[3];
    alarm(120);
    atomic_store(&stop_churn, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&bg[i], NULL, churn, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < 3; i++)
        pthread_create(&prof[i], NULL, profiled_churn, (void *)(uintptr_t)(i + 11));
    intptr_t failures = 0;
    for (int i = 0; i < 3; i++) {
        void *f;
        pthread_join(prof[i], &f);
        failures += (intptr_t)f;
    }
    atomic_store(&stop_churn, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(bg[i], NULL);
    alarm(0);
    assert_int_equal(failures, 0);
}

/* Sessions freed by another thread while running, then the owners start again. */
static void *start_and_hand_over(void *arg)
{
    gargalo_session **slot = arg;
    for (int i = 0; i < 50; i++) {
        gargalo_session *s;
        if (gargalo_start(&s, NULL) != 0)
            return (void *)1;
        short_work();
        __atomic_store_n(slot, s, __ATOMIC_RELEASE);
        while (__atomic_load_n(slot, __ATOMIC_ACQUIRE)) /* the main thread frees it */
            short_work();
    }
    return NULL;
}

static void test_free_from_other_thread_repeatedly(void **state)
{
    gargalo_session *slot = NULL;
    pthread_t t;
    void *rc;
    pthread_create(&t, NULL, start_and_hand_over, &slot);
    for (int freed = 0; freed < 50;) {
        gargalo_session *s = __atomic_load_n(&slot, __ATOMIC_ACQUIRE);
        if (!s) {
            usleep(100);
            continue;
        }
        usleep(500);
        gargalo_session_free(s);
        __atomic_store_n(&slot, NULL, __ATOMIC_RELEASE);
        freed++;
    }
    pthread_join(t, &rc);
    assert_null(rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_sessions),
        cmocka_unit_test(test_sessions_under_malloc_churn),
        cmocka_unit_test(test_free_from_other_thread_repeatedly),
    };
    (void)sink;
    return isolate_run_group_tests(tests, NULL, NULL);
}
