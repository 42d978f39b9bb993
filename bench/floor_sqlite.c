/*
 * floor_sqlite.c: the fastest known way to save N rows in SQLite, the floor the service's
 * default save strategy is measured against: WAL, synchronous=NORMAL, one transaction,
 * one prepared 500-row INSERT reused for every full chunk.
 *
 *     floor_sqlite [--row-default] DB_PATH ROWS [SEED]
 *
 * Starts from a fresh database file with the service's table, generates the rows first,
 * times only the save, and prints one JSON line: {"rows": N, "save_ms": T}.
 *
 * created_at is bound once per save (the time the save began, which is also what
 * PostgreSQL's now() gives every row of a transaction). --row-default leaves it to the
 * column's DEFAULT instead, evaluated by SQLite for every row, to show what that costs.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rows.h"

#define CHUNK 500

/* Keep in step with the service's SQLite schema (src/bolsa/store_sqlite.c). */
static const char schema[] =
    "CREATE TABLE transactions ("
    " id INTEGER PRIMARY KEY,"
    " ativo TEXT NOT NULL CHECK (length(ativo) BETWEEN 1 AND 12),"
    " valor REAL NOT NULL,"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))";

typedef struct floor_save {
    sqlite3 *db;
    bool row_default; /* leave created_at to the DEFAULT */
    char now[40];     /* else this, bound to every row */
} floor_save;

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "floor_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(db, sql);
}

/* "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?),(?1,?,?),...":
 * ?1 is the one timestamp, bound once per statement; each plain ? takes the next number. */
static sqlite3_stmt *prepare_insert(const floor_save *f, size_t n)
{
    const char *head = f->row_default
                           ? "INSERT INTO transactions (ativo, valor) VALUES "
                           : "INSERT INTO transactions (created_at, ativo, valor) VALUES ";
    const char *tuple = f->row_default ? "(?,?)" : "(?1,?,?)";
    char *sql = malloc(strlen(head) + n * (strlen(tuple) + 1) + 1), *p = sql;
    sqlite3_stmt *st;
    if (!sql)
        die(NULL, "out of memory");
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", tuple);
    if (sqlite3_prepare_v3(f->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        die(f->db, "prepare");
    free(sql);
    return st;
}

static void insert_chunk(const floor_save *f, sqlite3_stmt *st, const bench_row *rows, size_t n)
{
    int first = 1; /* the parameter number of the first row's ativo */
    if (!f->row_default) {
        sqlite3_bind_text(st, 1, f->now, -1, SQLITE_STATIC);
        first = 2;
    }
    for (size_t i = 0; i < n; i++) {
        int c = first + (int)i * 2;
        sqlite3_bind_text(st, c, rows[i].ativo, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, c + 1, (double)rows[i].valor_cents / 100.0);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        die(f->db, "insert");
    sqlite3_reset(st);
}

/* The same text the column's DEFAULT would give: 2026-11-25T08:00:00.123Z */
static void stamp_now(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t len = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, size - len, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void save(floor_save *f, const bench_row *rows, size_t n)
{
    stamp_now(f->now, sizeof f->now);
    sqlite3_stmt *full = prepare_insert(f, CHUNK), *tail = NULL;
    exec(f->db, "BEGIN IMMEDIATE");
    size_t i = 0;
    for (; i + CHUNK <= n; i += CHUNK)
        insert_chunk(f, full, rows + i, CHUNK);
    if (i < n) {
        tail = prepare_insert(f, n - i);
        insert_chunk(f, tail, rows + i, n - i);
    }
    exec(f->db, "COMMIT");
    sqlite3_finalize(full);
    sqlite3_finalize(tail);
}

static void remove_db(const char *path)
{
    char side[4096];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(int argc, char **argv)
{
    static const char usage[] = "usage: floor_sqlite [--row-default] DB_PATH ROWS [SEED]\n";
    floor_save f = {0};
    if (argc > 1 && strcmp(argv[1], "--row-default") == 0) {
        f.row_default = true;
        argv++;
        argc--;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    size_t n = bench_parse_count(argv[2], usage);
    uint64_t seed = argc == 4 ? strtoull(argv[3], NULL, 10) : 42;
    bench_row *rows = bench_rows_make(n, seed);

    remove_db(argv[1]);
    if (sqlite3_open(argv[1], &f.db) != SQLITE_OK)
        die(f.db, "open");
    exec(f.db, "PRAGMA journal_mode=WAL");
    exec(f.db, "PRAGMA synchronous=NORMAL");
    exec(f.db, schema);

    double t0 = bench_now_ms();
    save(&f, rows, n);
    double ms = bench_now_ms() - t0;

    sqlite3_close(f.db);
    free(rows);
    printf("{\"rows\": %zu, \"save_ms\": %.3f}\n", n, ms);
    return 0;
}
