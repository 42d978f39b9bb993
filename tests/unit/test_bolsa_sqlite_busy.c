/*
 * test_bolsa_sqlite_busy.c: a SQLite connection waiting for another's write lock keeps
 * waiting while signals interrupt it (as a sampling profiler's do, thousands a second),
 * for as long as its budget says and no longer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "generate.h"
#include "sqlite_busy.h"
#include "store.h"
#include "timing.h"

#define SIGNAL_EVERY_US 50

typedef struct fixture {
    char dir[64];
    char path[128];
    char url[160];
} fixture;

/* Another connection that holds the write lock for hold_ms, then commits. */
typedef struct holder {
    const char *path;
    unsigned hold_ms;
    atomic_int locked;
    pthread_t thread;
} holder;

/* A thread that sends SIGUSR1 to target every SIGNAL_EVERY_US until told to stop. */
typedef struct hammer {
    pthread_t target, thread;
    atomic_int stop;
} hammer;

static atomic_long signals_received;

static void on_signal(int sig)
{
    atomic_fetch_add(&signals_received, 1);
}

static void sleep_ms(unsigned ms)
{
    uint64_t until = bolsa_now_ns() + (uint64_t)ms * 1000000ULL;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ULL),
                          .tv_nsec = (long)(until % 1000000000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
        ;
}

static void *holder_run(void *arg)
{
    holder *h = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open(h->path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        atomic_store(&h->locked, -1);
        sqlite3_close(db);
        return NULL;
    }
    atomic_store(&h->locked, 1);
    sleep_ms(h->hold_ms);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

static void holder_start(holder *h, const char *path, unsigned hold_ms)
{
    h->path = path;
    h->hold_ms = hold_ms;
    atomic_init(&h->locked, 0);
    assert_int_equal(pthread_create(&h->thread, NULL, holder_run, h), 0);
    while (atomic_load(&h->locked) == 0)
        sleep_ms(1);
    assert_int_equal(atomic_load(&h->locked), 1);
}

static void *hammer_run(void *arg)
{
    hammer *m = arg;
    while (!atomic_load(&m->stop)) {
        pthread_kill(m->target, SIGUSR1);
        usleep(SIGNAL_EVERY_US);
    }
    return NULL;
}

/* Signals the calling thread until hammer_stop. SA_RESTART, as gargalo installs its
 * handler: system calls that can restart do, sleeps are cut short anyway. */
static void hammer_start(hammer *m)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    atomic_store(&signals_received, 0);
    m->target = pthread_self();
    atomic_init(&m->stop, 0);
    assert_int_equal(pthread_create(&m->thread, NULL, hammer_run, m), 0);
}

static long hammer_stop(hammer *m)
{
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    return atomic_load(&signals_received);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/bolsa-busy-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[200];
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static const char tickers[1][BOLSA_TICKER_MAX + 1] = {"PETR4"};

/* The store's own connection, saving while another connection holds the write lock for
 * 300 ms and its thread takes a signal every 50 us: it waits, then saves. With SQLite's
 * busy timeout it gave up after a few milliseconds with "database is locked". */
static void test_save_waits_out_a_held_lock_under_signals(void **state)
{
    fixture *f = *state;
    const bolsa_store_backend *be = &bolsa_store_sqlite;
    void *conn = NULL;
    bolsa_error err = {0};
    assert_int_equal(be->connect(f->url, &conn, &err), BOLSA_E_OK);
    assert_int_equal(be->migrate(conn, &err), BOLSA_E_OK);
    holder h;
    hammer m;
    holder_start(&h, f->path, 300);
    hammer_start(&m);
    bolsa_gen g;
    bolsa_gen_init(&g, tickers, 1, 10, 1);
    bolsa_row_source src = bolsa_gen_source(&g);
    bolsa_save_result res;
    uint64_t t0 = bolsa_now_ns();
    bolsa_errcode rc = be->save(conn, BOLSA_SAVE_CHUNKED, &src, &res, &err);
    uint64_t waited_ms = (bolsa_now_ns() - t0) / 1000000;
    long signals = hammer_stop(&m);
    pthread_join(h.thread, NULL);
    print_message("waited %llu ms through %ld signals: %s\n", (unsigned long long)waited_ms,
                  signals, rc ? err.msg : "saved");
    assert_int_equal(rc, BOLSA_E_OK);
    assert_true(res.saved == 10);
    assert_true(waited_ms >= 250);
    assert_true(signals >= 200); /* the wait really was interrupted, many times */
    be->disconnect(conn);
}

/* The budget still ends the wait: 200 ms against a lock held for 1.5 s, signals or not. */
static void test_wait_ends_at_its_deadline_under_signals(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    bolsa_sqlite_busy busy;
    bolsa_sqlite_busy_install(db, &busy, 200);
    holder h;
    hammer m;
    holder_start(&h, f->path, 1500);
    hammer_start(&m);
    uint64_t t0 = bolsa_now_ns();
    int src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    uint64_t waited_ms = (bolsa_now_ns() - t0) / 1000000;
    long signals = hammer_stop(&m);
    print_message("gave up after %llu ms, %ld signals\n", (unsigned long long)waited_ms, signals);
    assert_int_equal(src, SQLITE_BUSY);
    assert_true(waited_ms >= 200);
    assert_true(waited_ms < 1000);
    /* The next lock is a new wait with a whole budget of its own. */
    t0 = bolsa_now_ns();
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
    assert_true((bolsa_now_ns() - t0) / 1000000 >= 200);
    pthread_join(h.thread, NULL);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_waits_out_a_held_lock_under_signals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wait_ends_at_its_deadline_under_signals, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
