/*
 * sqlite_busy.c: a busy handler that waits until a deadline on the monotonic clock,
 * whatever interrupts its sleeps (see sqlite_busy.h for why SQLite's own does not).
 */
#include "sqlite_busy.h"

#include <errno.h>
#include <time.h>

#include "timing.h"

#define BUSY_FIRST_SLEEP_NS 1000000ULL /* 1 ms: a short lock costs its waiter little */
#define BUSY_MAX_SLEEP_NS 10000000ULL  /* 10 ms: a long one is polled 100 times a second */

/* Sleeps until the monotonic clock reads until_ns. An absolute deadline makes a sleep
 * that a signal cut short resume for only the time that is left. */
static void busy_sleep_until(uint64_t until_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000ULL),
                          .tv_nsec = (long)(until_ns % 1000000000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int bolsa_sqlite_busy_handler(void *ctx, int count)
{
    bolsa_sqlite_busy *b = ctx;
    uint64_t now = bolsa_now_ns();
    /* SQLite counts the calls for one lock from 0: the first one starts the clock. */
    if (count == 0)
        b->deadline_ns = now + b->budget_ns;
    if (now >= b->deadline_ns)
        return 0;
    /* 1, 2, 4, 8, then 10 ms; never past the deadline. */
    uint64_t step = count < 4 ? BUSY_FIRST_SLEEP_NS << count : BUSY_MAX_SLEEP_NS;
    busy_sleep_until(now + step < b->deadline_ns ? now + step : b->deadline_ns);
    return 1;
}

void bolsa_sqlite_busy_install(sqlite3 *db, bolsa_sqlite_busy *b, unsigned budget_ms)
{
    b->budget_ns = (uint64_t)budget_ms * 1000000ULL;
    b->deadline_ns = 0;
    sqlite3_busy_handler(db, bolsa_sqlite_busy_handler, b);
}
