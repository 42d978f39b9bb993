/*
 * test_sampler_threads.c: per-thread sessions. Profiled and unprofiled threads side by
 * side: only the profiled ones are interrupted, and each session holds only its own
 * thread's code. Then hundreds of sessions running at the same time.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sampler_testlib.h"
#include "isolate.h"

#define NTHREADS 16
#define NKINDS 4

static __thread volatile uint64_t sink;

/* Four distinct functions, so a stack says which thread it came from. */
#define KIND(n)                                                                                    \
    static GG_NOINLINE void kind_##n(uint64_t ns)                                                  \
    {                                                                                              \
        tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, ns);                                                   \
        sink += n;                                                                                 \
    }
KIND(0)
KIND(1)
KIND(2)
KIND(3)
static void (*const kinds[NKINDS])(uint64_t) = {kind_0, kind_1, kind_2, kind_3};
static const char *const kind_names[NKINDS] = {"kind_0", "kind_1", "kind_2", "kind_3"};

typedef struct worker {
    pthread_t thread;
    int index;
    bool profiled;
    int rc;
    size_t samples, foreign, own;
    int interrupted; /* EINTRs seen by an unprofiled thread's sleeps: must stay 0 */
} worker;

static pthread_barrier_t start_line;

/* Counts relative sleeps cut short: any signal reaching this thread would show here. */
static int sleep_counting_eintr(int rounds)
{
    int eintr = 0;
    for (int i = 0; i < rounds; i++) {
        struct timespec ts = {0, 1000000};
        if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            eintr++;
    }
    return eintr;
}

static void check_own_stacks(worker *w, const gargalo_session *s)
{
    w->samples = s->nsamples;
    for (size_t i = 0; i < s->nsamples; i++) {
        for (int k = 0; k < NKINDS; k++) {
            bool has = tl_stack_has(s, s->samples[i].stack, kind_names[k]);
            if (has && k == w->index % NKINDS)
                w->own++;
            else if (has)
                w->foreign++;
        }
    }
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(&start_line);
    if (!w->profiled) {
        for (int i = 0; i < 5; i++) {
            kinds[w->index % NKINDS](4000000);
            w->interrupted += sleep_counting_eintr(10);
        }
        return NULL;
    }
    gargalo_session *s;
    if ((w->rc = gargalo_start(&s, NULL)) != 0)
        return NULL;
    for (int i = 0; i < 5; i++) {
        kinds[w->index % NKINDS](4000000);
        tl_sleep_ns(1000000);
    }
    w->rc = gargalo_stop(s);
    if (w->rc == 0)
        check_own_stacks(w, s);
    gargalo_session_free(s);
    return NULL;
}

static void test_mixed_threads(void **state)
{
    worker w[NTHREADS];
    memset(w, 0, sizeof(w));
    pthread_barrier_init(&start_line, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].index = i;
        w[i].profiled = i % 3 != 0;
        pthread_create(&w[i].thread, NULL, run_worker, &w[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(w[i].thread, NULL);
    pthread_barrier_destroy(&start_line);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].profiled)
            printf("thread %2d profiled: %zu samples, %zu in its own function, %zu foreign\n", i,
                   w[i].samples, w[i].own, w[i].foreign);
        else
            printf("thread %2d not profiled: %d interrupted sleeps\n", i, w[i].interrupted);
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].foreign, 0);
        assert_int_equal(w[i].interrupted, 0);
        if (w[i].profiled && !GG_TEST_TSAN)
            assert_true(w[i].samples > 0 && w[i].own > 0);
    }
}

#define MANY 200

typedef struct many_arg {
    int index;
    int rc_start, rc_stop;
    size_t foreign;
} many_arg;

static void *run_many(void *arg)
{
    many_arg *a = arg;
    gargalo_session *s;
    gargalo_options o;
    gargalo_options_init(&o);
    o.clock = GARGALO_CLOCK_CPU; /* waiting at the barrier costs no signals */
    o.max_frames = 64 << 10;
    a->rc_start = gargalo_start(&s, &o);
    pthread_barrier_wait(&start_line); /* every session is running now */
    if (a->rc_start)
        return NULL;
    kinds[a->index % NKINDS](500000);
    a->rc_stop = gargalo_stop(s);
    for (size_t i = 0; a->rc_stop == 0 && i < s->nsamples; i++)
        for (int k = 0; k < NKINDS; k++)
            if (k != a->index % NKINDS && tl_stack_has(s, s->samples[i].stack, kind_names[k]))
                a->foreign++;
    gargalo_session_free(s);
    return NULL;
}

static void test_hundreds_of_sessions(void **state)
{
    static many_arg args[MANY];
    pthread_t t[MANY];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_barrier_init(&start_line, NULL, MANY);
    for (int i = 0; i < MANY; i++) {
        args[i] = (many_arg){.index = i};
        assert_int_equal(pthread_create(&t[i], &attr, run_many, &args[i]), 0);
    }
    int started = 0;
    for (int i = 0; i < MANY; i++) {
        pthread_join(t[i], NULL);
        started += args[i].rc_start == 0;
        assert_int_equal(args[i].rc_start, 0);
        assert_int_equal(args[i].rc_stop, 0);
        assert_int_equal(args[i].foreign, 0);
    }
    printf("%d sessions running at once\n", started);
    pthread_barrier_destroy(&start_line);
    pthread_attr_destroy(&attr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_threads),
        cmocka_unit_test(test_hundreds_of_sessions),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
