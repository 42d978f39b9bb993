/*
 * sqlite_busy.h: how a SQLite connection waits for a lock another connection holds.
 *
 * SQLite's own busy timeout (sqlite3_busy_timeout) adds up the sleeps it asked for, not
 * the time that passed: each signal that cuts a sleep short (a profiler's SIGPROF, every
 * sample) still counts it whole, so under a sampling profiler a 30 s timeout ran out in
 * milliseconds and writers got "database is locked". This handler measures the wait on
 * CLOCK_MONOTONIC against a deadline, and sleeps again after any interruption.
 */
#ifndef BOLSA_SQLITE_BUSY_H
#define BOLSA_SQLITE_BUSY_H

#include <sqlite3.h>
#include <stdint.h>

/* One connection's waiting state; lives as long as the connection. */
typedef struct bolsa_sqlite_busy {
    uint64_t budget_ns;   /* the longest wait for one lock */
    uint64_t deadline_ns; /* of the wait in progress, on bolsa_now_ns()'s clock */
} bolsa_sqlite_busy;

/* Makes db wait up to budget_ms for each lock, in sleeps of 1 ms growing to 10 ms, before
 * a statement fails with SQLITE_BUSY. b must outlive db's use. */
void bolsa_sqlite_busy_install(sqlite3 *db, bolsa_sqlite_busy *b, unsigned budget_ms);

/* The sqlite3_busy_handler callback itself (ctx is a bolsa_sqlite_busy): 1 to try the
 * lock again after a sleep, 0 once the deadline has passed. */
int bolsa_sqlite_busy_handler(void *ctx, int count);

#endif
