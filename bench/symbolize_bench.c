/*
 * symbolize_bench.c: how long gargalo_stop spends resolving addresses for a profile of
 * the article's slow path, here reproduced in-process: one INSERT and one commit per row
 * into a WAL-mode SQLite file (synchronous=NORMAL), profiled at the default settings.
 *
 *     symbolize_bench DB_PATH [ROWS]
 *
 * Runs two sessions of ROWS rows each (default 20,000): the first in a fresh process, so
 * nothing is cached yet (the first profiled request of a server), the second after it
 * (every later request). Prints one JSON object with each session's samples, distinct
 * frames and symbolization time in milliseconds.
 */
#include <gargalo.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rows.h"

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "symbolize_bench: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

/* The slow path: every row its own statement execution and its own commit. */
static void __attribute__((noinline))
save_naive(sqlite3 *db, sqlite3_stmt *ins, const bench_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(ins, 1, rows[i].ativo, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, rows[i].valor_cents);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die(db, "insert");
        sqlite3_reset(ins);
    }
}

static void profile_once(sqlite3 *db, sqlite3_stmt *ins, size_t n, uint64_t seed, gargalo_stats *st)
{
    bench_row *rows = bench_rows_make(n, seed);
    gargalo_session *s;
    int rc = gargalo_start(&s, NULL);
    if (rc == 0) {
        save_naive(db, ins, rows, n);
        rc = gargalo_stop(s);
    }
    if (rc == 0)
        rc = gargalo_session_stats(s, st);
    if (rc) {
        fprintf(stderr, "symbolize_bench: %s\n", gargalo_strerror(rc));
        exit(1);
    }
    gargalo_session_free(s);
    free(rows);
}

static sqlite3 *open_db(const char *path, sqlite3_stmt **ins)
{
    char side[4096];
    sqlite3 *db;
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE transactions (id INTEGER PRIMARY KEY, ativo TEXT NOT NULL,"
                     " valor_cents INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK)
        die(db, "open");
    if (sqlite3_prepare_v2(db, "INSERT INTO transactions (ativo, valor_cents) VALUES (?, ?)", -1,
                           ins, NULL) != SQLITE_OK)
        die(db, "prepare");
    return db;
}

static void print_session(const char *name, const gargalo_stats *st)
{
    printf("\"%s\": {\"samples\": %zu, \"frames\": %zu, \"duration_ms\": %.1f,"
           " \"symbolize_ms\": %.3f}",
           name, st->samples, st->frames, st->duration_ns / 1e6, st->symbolize_ns / 1e6);
}

int main(int argc, char **argv)
{
    static const char usage[] = "usage: symbolize_bench DB_PATH [ROWS]\n";
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    size_t n = argc == 3 ? bench_parse_count(argv[2], usage) : 20000;
    sqlite3_stmt *ins;
    sqlite3 *db = open_db(argv[1], &ins);
    gargalo_stats cold, warm;

    profile_once(db, ins, n, 1, &cold);
    profile_once(db, ins, n, 2, &warm);

    sqlite3_finalize(ins);
    sqlite3_close(db);
    printf("{\"rows\": %zu, ", n);
    print_session("cold", &cold);
    printf(", ");
    print_session("warm", &warm);
    printf("}\n");
    return 0;
}
