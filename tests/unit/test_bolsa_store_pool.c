/*
 * test_bolsa_store_pool.c: the connection pool over a fake backend: a database that goes
 * away and comes back (ping fails, then the next ping reconnects), connection failures,
 * threads queueing for a pool smaller than themselves, and the health check that pings
 * at most once per period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"

/* The fake database: "down" makes every call fail as a dropped server would. */
static atomic_int down, connects, disconnects, in_use, max_in_use;
/* Calls that reach the fake database: connection attempts and pings. */
static atomic_int db_calls;

typedef struct fake_conn {
    int generation; /* which connect made it */
} fake_conn;

static bolsa_errcode fake_connect(const char *url, void **conn, bolsa_error *err)
{
    atomic_fetch_add(&db_calls, 1);
    if (atomic_load(&down))
        return bolsa_error_set(err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL, "refused");
    fake_conn *c = malloc(sizeof(*c));
    c->generation = atomic_fetch_add(&connects, 1) + 1;
    *conn = c;
    return BOLSA_E_OK;
}

static void fake_disconnect(void *conn)
{
    atomic_fetch_add(&disconnects, 1);
    free(conn);
}

static bolsa_errcode fake_ok(void *conn, bolsa_error *err)
{
    return BOLSA_E_OK;
}

static bolsa_errcode fake_ping(void *conn, bolsa_error *err)
{
    atomic_fetch_add(&db_calls, 1);
    if (atomic_load(&down))
        return bolsa_error_set(err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL, "connection lost");
    return BOLSA_E_OK;
}

/* Counts how many connections are busy at once, holding each a little while. */
static bolsa_errcode fake_count(void *conn, int64_t *n, bolsa_error *err)
{
    if (atomic_load(&down))
        return bolsa_error_set(err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL, "connection lost");
    int now = atomic_fetch_add(&in_use, 1) + 1;
    int seen = atomic_load(&max_in_use);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_use, &seen, now))
        ;
    usleep(2000);
    atomic_fetch_sub(&in_use, 1);
    *n = ((fake_conn *)conn)->generation;
    return BOLSA_E_OK;
}

static const bolsa_store_backend fake = {
    .name = "fake",
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .migrate = fake_ok,
    .ping = fake_ping,
    .count = fake_count,
};

static int reset(void **state)
{
    atomic_store(&down, 0);
    atomic_store(&connects, 0);
    atomic_store(&disconnects, 0);
    atomic_store(&max_in_use, 0);
    atomic_store(&db_calls, 0);
    return 0;
}

static void test_health_recovers(void **state)
{
    bolsa_store *s;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open_backend(&s, &fake, "fake:", 1, &err), 0);
    assert_string_equal(bolsa_store_name(s), "fake");
    assert_int_equal(bolsa_store_ping(s, &err), 0);
    assert_int_equal(atomic_load(&connects), 1);

    atomic_store(&down, 1);
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_store_ping(s, &err), BOLSA_E_DB_UNAVAILABLE);
    assert_string_equal(err.msg, "refused"); /* the reconnect was tried, and failed */
    assert_int_equal(atomic_load(&disconnects), 1);

    atomic_store(&down, 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_store_ping(s, &err), 0); /* the first ping after recovery works */
    assert_int_equal(atomic_load(&connects), 2);
    int64_t gen = 0;
    assert_int_equal(bolsa_store_count(s, &gen, &err), 0);
    assert_int_equal(gen, 2); /* the pool now hands out the new connection */
    bolsa_store_close(s);
    assert_int_equal(atomic_load(&disconnects), 2);
}

#define MS 1000000ULL

static void test_health_check_is_cached(void **state)
{
    bolsa_store *s;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open_backend(&s, &fake, "fake:", 2, &err), 0);
    atomic_store(&db_calls, 0);
    assert_int_equal(bolsa_store_health(s, 200 * MS, &err), 0);
    assert_int_equal(bolsa_store_health(s, 200 * MS, &err), 0);
    assert_int_equal(atomic_load(&db_calls), 1); /* the second answer was the first's */
    usleep(250 * 1000);
    assert_int_equal(bolsa_store_health(s, 200 * MS, &err), 0);
    assert_int_equal(atomic_load(&db_calls), 2); /* out of date: checked again */
    /* Any call that finds the database gone outdates the success at once... */
    atomic_store(&down, 1);
    int64_t n;
    assert_int_equal(bolsa_store_count(s, &n, &err), BOLSA_E_DB_UNAVAILABLE);
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_store_health(s, 10000 * MS, &err), BOLSA_E_DB_UNAVAILABLE);
    int after_one = atomic_load(&db_calls);
    assert_true(after_one > 2);
    /* ...and a failure is never reused: each check tries the database again. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_store_health(s, 10000 * MS, &err), BOLSA_E_DB_UNAVAILABLE);
    assert_true(atomic_load(&db_calls) > after_one);
    atomic_store(&down, 0);
    assert_int_equal(bolsa_store_health(s, 10000 * MS, &err), 0);
    int back = atomic_load(&db_calls);
    assert_int_equal(bolsa_store_health(s, 10000 * MS, &err), 0);
    assert_int_equal(atomic_load(&db_calls), back);
    bolsa_store_close(s);
}

static double since_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Checks health without pause for 100 ms; returns how many checks it made. */
static void *health_many(void *arg)
{
    bolsa_store *s = arg;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = 0;
    for (; since_ms(&t0) < 100.0; n++) {
        bolsa_error err = {0};
        assert_int_equal(bolsa_store_health(s, 5 * MS, &err), 0);
    }
    return (void *)n;
}

/* Checks from many threads at once ping about once per period, not once per check. */
static void test_health_pings_once_per_period(void **state)
{
    bolsa_store *s;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open_backend(&s, &fake, "fake:", 4, &err), 0);
    atomic_store(&db_calls, 0);
    pthread_t th[4];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, health_many, s);
    long checks = 0;
    for (int i = 0; i < 4; i++) {
        void *n;
        pthread_join(th[i], &n);
        checks += (long)n;
    }
    double ms = since_ms(&t0);
    int pings = atomic_load(&db_calls);
    print_message("%ld checks in %.0f ms: %d pings\n", checks, ms, pings);
    assert_true(pings >= 1);
    /* One per 5 ms period, and one more per thread for a first connect. */
    assert_true(pings <= (int)(ms / 5.0) + 1 + 4);
    assert_true(checks > 10 * pings);
    bolsa_store_close(s);
}

static void test_open_fails_when_down(void **state)
{
    bolsa_store *s = NULL;
    bolsa_error err = {0};
    atomic_store(&down, 1);
    assert_int_equal(bolsa_store_open_backend(&s, &fake, "fake:", 2, &err), BOLSA_E_DB_UNAVAILABLE);
    assert_null(s);
}

static void *count_many(void *arg)
{
    bolsa_store *s = arg;
    for (int i = 0; i < 20; i++) {
        int64_t n;
        bolsa_error err = {0};
        if (bolsa_store_count(s, &n, &err))
            return (void *)1;
    }
    return NULL;
}

static void test_pool_bounds_concurrency(void **state)
{
    bolsa_store *s;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open_backend(&s, &fake, "fake:", 2, &err), 0);
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, count_many, s);
    for (int i = 0; i < 6; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    /* Never more connections in use than the pool has, and they are opened lazily. */
    assert_int_equal(atomic_load(&max_in_use), 2);
    assert_int_equal(atomic_load(&connects), 2);
    bolsa_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_health_recovers, reset),
        cmocka_unit_test_setup(test_health_check_is_cached, reset),
        cmocka_unit_test_setup(test_health_pings_once_per_period, reset),
        cmocka_unit_test_setup(test_open_fails_when_down, reset),
        cmocka_unit_test_setup(test_pool_bounds_concurrency, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
