/*
 * test_process.c: process-wide sessions: every thread sampled, those created during the
 * session too, each with its name, its CPU time, its labels and markers; a thread parked
 * all along shown where it waits; gargalo's own threads left out; one such session at a
 * time; signals refused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "isolate.h"
#include "sampler_testlib.h"

typedef struct worker {
    uint64_t cpu_ms;
    char name[16];
    uint64_t used_ns; /* the CPU time it measured itself, all its life */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    pthread_setname_np(pthread_self(), w->name);
    gargalo_label_set("job", w->name);
    gargalo_mark_begin("job", w->name);
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, w->cpu_ms * 1000000);
    gargalo_mark_end();
    w->used_ns = tl_now_ns(CLOCK_THREAD_CPUTIME_ID);
    return NULL;
}

static void *park(void *arg)
{
    pthread_setname_np(pthread_self(), "parked");
    tl_sleep_ns(1500000000ull);
    return NULL;
}

static const gg_thread *thread_named(const gargalo_session *s, const char *name)
{
    for (size_t i = 0; i < s->nthreads; i++)
        if (strcmp(s->threads[i].name, name) == 0)
            return &s->threads[i];
    return NULL;
}

/* The label value of sample i's "job", or NULL. */
static const char *job_of(const gargalo_session *s, size_t i)
{
    uint32_t n;
    const gg_label *l = gg_labelset_labels(s, s->samples[i].labels, &n);
    for (uint32_t k = 0; k < n; k++)
        if (strcmp(l[k].key, "job") == 0)
            return l[k].value;
    return NULL;
}

static gargalo_session *record_workers(worker *w, int n)
{
    gargalo_session *s;
    pthread_t th[8], parker;
    pthread_create(&parker, NULL, park, NULL);
    tl_sleep_ns(20000000); /* parked before the session starts */
    assert_int_equal(gargalo_start_process(&s, NULL), 0);
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, work, &w[i]);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(gargalo_stop(s), 0);
    pthread_join(parker, NULL);
    return s;
}

/* Each worker's CPU time within 15% of what it measured; samples labelled with its job
 * and only its own; one marker each; the parked thread in its sleep; no helper thread. */
static void test_threads_names_labels(void **state)
{
    worker w[3] = {{60, "w60", 0}, {120, "w120", 0}, {180, "w180", 0}};
    gargalo_session *s = record_workers(w, 3);
    assert_true(s->process);
    for (int i = 0; i < 3; i++) {
        const gg_thread *t = thread_named(s, w[i].name);
        assert_non_null(t);
        printf("%s: %.1f ms sampled, %.1f ms measured\n", w[i].name, t->cpu_ns / 1e6,
               w[i].used_ns / 1e6);
        /* Counted by the sample: one period each, from an event per CPU, each keeping its
         * own remainder; on a loaded machine that is within 15%. */
        assert_true(t->cpu_ns >= w[i].used_ns * 85 / 100 && t->cpu_ns <= w[i].used_ns * 115 / 100);
        for (size_t k = 0; k < s->nsamples; k++) {
            const char *job = job_of(s, k);
            if (s->samples[k].thread == (uint32_t)(t - s->threads) && job)
                assert_string_equal(job, w[i].name);
        }
    }
    assert_int_equal(s->nmarkers, 3);
    assert_non_null(thread_named(s, "parked"));
    uint32_t parked = (uint32_t)(thread_named(s, "parked") - s->threads);
    size_t in_sleep = 0;
    for (size_t k = 0; k < s->nsamples; k++)
        if (s->samples[k].thread == parked && tl_stack_has(s, s->samples[k].stack, "park"))
            in_sleep++;
    assert_true(in_sleep >= 1);
    for (size_t i = 0; i < s->nthreads; i++)
        assert_true(strncmp(s->threads[i].name, "gargalo-", 8) != 0);
    gargalo_session_free(s);
}

/* One process-wide session at a time; a per-thread session runs beside it. */
static void test_one_at_a_time(void **state)
{
    gargalo_session *a, *b, *t;
    assert_int_equal(gargalo_start_process(&a, NULL), 0);
    assert_int_equal(gargalo_start_process(&b, NULL), GARGALO_EBUSY);
    assert_null(b);
    assert_int_equal(gargalo_start(&t, NULL), 0);
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, 20000000);
    assert_int_equal(gargalo_stop(t), 0);
    assert_int_equal(gargalo_stop(a), 0);
    assert_true(a->nsamples > 0 && t->nsamples > 0);
    gargalo_session_free(t);
    gargalo_session_free(a);
    assert_int_equal(gargalo_start_process(&b, NULL), 0);
    gargalo_session_free(b); /* freed while running: stopped, nothing kept */
    assert_int_equal(gargalo_start_process(&b, NULL), 0);
    gargalo_session_free(b);
}

static void *stop_it(void *arg)
{
    return (void *)(intptr_t)gargalo_stop(arg);
}

/* gargalo_stop from another thread than the one that started it. */
static void test_stop_from_another_thread(void **state)
{
    gargalo_session *s;
    pthread_t th;
    void *rc;
    assert_int_equal(gargalo_start_process(&s, NULL), 0);
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, 20000000);
    pthread_create(&th, NULL, stop_it, s);
    pthread_join(th, &rc);
    assert_int_equal((intptr_t)rc, 0);
    assert_true(s->nsamples > 0);
    gargalo_session_free(s);
}

/* Signals cannot follow every thread: refused, and nothing left running. */
static void test_signals_refused(void **state)
{
    gargalo_options o;
    gargalo_session *s = NULL;
    gargalo_options_init(&o);
    o.mechanism = GARGALO_MECHANISM_SIGNAL;
    assert_int_equal(gargalo_start_process(&s, &o), GARGALO_EUNAVAIL);
    assert_null(s);
    assert_int_equal(gargalo_start_process(NULL, NULL), GARGALO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_names_labels),
        cmocka_unit_test(test_one_at_a_time),
        cmocka_unit_test(test_stop_from_another_thread),
        cmocka_unit_test(test_signals_refused),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
