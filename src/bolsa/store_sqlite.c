/*
 * store_sqlite.c: the SQLite backend, the embedded default. WAL journal, synchronous=NORMAL
 * (or FULL, from the URL: sqlite:PATH?synchronous=full) and a busy handler with a deadline
 * (sqlite_busy.c), so readers never block the writer and concurrent writers queue. One
 * connection per pool slot; prepared statements are cached on the connection. Every
 * statement's execution is marked for profiles (sqlmark.h).
 */
#include "sqlite_busy.h"
#include "sqlmark.h"
#include "store.h"
#include "timing.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOLSA_SQLITE_BUSY_MS 30000

/* A prepared statement, and its text as its markers show it. */
typedef struct bolsa_sqlite_stmt {
    sqlite3_stmt *st;
    char *text; /* normalized once (sqltext.h); NULL when there was no memory for it */
} bolsa_sqlite_stmt;

typedef struct bolsa_sqlite {
    sqlite3 *db;
    bolsa_sqlite_busy busy;         /* how long a statement waits for another writer's lock */
    bolsa_sqlite_stmt insert_chunk; /* BOLSA_CHUNK_ROWS rows */
    bolsa_sqlite_stmt insert_one;
    bolsa_sqlite_stmt list_all;
    bolsa_sqlite_stmt list_ativo;
    bolsa_sqlite_stmt ping;
    bolsa_sqlmark_cache marks; /* the other statements' marker texts */
    /* A save's chunk of rows. Here rather than on the request's stack (12 KiB), which
     * would put the frames above the store beyond a profiler's copy of the stack. */
    bolsa_row rows[BOLSA_CHUNK_ROWS];
} bolsa_sqlite;

/* Each entry upgrades the schema by one version (PRAGMA user_version). Only append. */
static const char *const bolsa_sqlite_migrations[] = {
    /* 1: the table. No index on ativo: with a handful of tickers a filtered page scans
     * only a few times its size in id order, and an index would slow every insert. */
    "CREATE TABLE transactions ("
    " id INTEGER PRIMARY KEY,"
    " ativo TEXT NOT NULL CHECK (length(ativo) BETWEEN 1 AND 12),"
    " valor REAL NOT NULL,"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
};

#define BOLSA_SQLITE_VERSION                                                                       \
    (int)(sizeof(bolsa_sqlite_migrations) / sizeof(bolsa_sqlite_migrations[0]))

/* Records a failed SQLite call. Busy and unopenable databases are "unavailable" (503,
 * worth retrying); everything else is a database error (500). */
static bolsa_errcode bolsa_sqlite_fail(sqlite3 *db, int src, const char *what, bolsa_error *err)
{
    int prim = src & 0xff;
    bolsa_errcode code = (prim == SQLITE_BUSY || prim == SQLITE_LOCKED || prim == SQLITE_CANTOPEN ||
                          prim == SQLITE_NOTADB)
                             ? BOLSA_E_DB_UNAVAILABLE
                             : BOLSA_E_DB_ERROR;
    return bolsa_error_set(err, code, NULL, NULL, "sqlite: %s: %s", what,
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
}

/* Runs sql (one statement or several), marked as one. */
static int bolsa_sqlite_exec_marked(bolsa_sqlite *c, const char *sql)
{
    bolsa_sqlmark_begin_cached(&c->marks, sql, BOLSA_SQL_SQLITE);
    int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    bolsa_sqlmark_end();
    return src;
}

static bolsa_errcode bolsa_sqlite_exec(bolsa_sqlite *c, const char *sql, bolsa_error *err)
{
    int src = bolsa_sqlite_exec_marked(c, sql);
    return src == SQLITE_OK ? BOLSA_E_OK : bolsa_sqlite_fail(c->db, src, sql, err);
}

/* Prepares sql into *stmt once, with its marker text (text, normalized already, or else
 * sql's); later calls reuse both. */
static bolsa_errcode bolsa_sqlite_prepare_text(bolsa_sqlite *c, bolsa_sqlite_stmt *stmt,
                                               const char *sql, const char *text, bolsa_error *err)
{
    if (stmt->st)
        return BOLSA_E_OK;
    int src = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt->st, NULL);
    if (src != SQLITE_OK)
        return bolsa_sqlite_fail(c->db, src, "prepare", err);
    if (!text)
        text = bolsa_sqlmark_text(&c->marks, sql, BOLSA_SQL_SQLITE);
    stmt->text = text ? strdup(text) : NULL; /* NULL: marked "?" */
    return BOLSA_E_OK;
}

static bolsa_errcode bolsa_sqlite_prepare(bolsa_sqlite *c, bolsa_sqlite_stmt *stmt, const char *sql,
                                          bolsa_error *err)
{
    return bolsa_sqlite_prepare_text(c, stmt, sql, NULL, err);
}

static void bolsa_sqlite_finalize(bolsa_sqlite_stmt *stmt)
{
    sqlite3_finalize(stmt->st);
    free(stmt->text);
    *stmt = (bolsa_sqlite_stmt){0};
}

/* Undoes the open transaction, if any, after a failure. */
static void bolsa_sqlite_rollback(bolsa_sqlite *c)
{
    if (!sqlite3_get_autocommit(c->db))
        bolsa_sqlite_exec_marked(c, "ROLLBACK");
}

/* --- connection ---------------------------------------------------------------------- */

static void bolsa_sqlite_disconnect(void *conn)
{
    bolsa_sqlite *c = conn;
    if (!c)
        return;
    bolsa_sqlite_finalize(&c->insert_chunk);
    bolsa_sqlite_finalize(&c->insert_one);
    bolsa_sqlite_finalize(&c->list_all);
    bolsa_sqlite_finalize(&c->list_ativo);
    bolsa_sqlite_finalize(&c->ping);
    bolsa_sqlmark_cache_free(&c->marks);
    sqlite3_close_v2(c->db);
    free(c);
}

/* Opens the file, creating it if missing. */
static bolsa_errcode bolsa_sqlite_open(bolsa_sqlite *c, const char *path, bolsa_error *err)
{
    /* NOMUTEX: the pool guarantees one thread per connection at a time. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int src = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (src != SQLITE_OK)
        return bolsa_error_set(err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL,
                               "sqlite: cannot open '%s': %s", path,
                               c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
    return BOLSA_E_OK;
}

/* Turns a new file to WAL. That needs the file to itself, and SQLite does not wait for it
 * (the busy handler is skipped, lest two connections wait for each other): two processes
 * opening the same new file at once would see "database is locked". So this waits, for
 * as long as the busy timeout. The first real I/O happens here, so an unusable file
 * fails now, not later. */
static bolsa_errcode bolsa_sqlite_wal(bolsa_sqlite *c, bolsa_error *err)
{
    static const char sql[] = "PRAGMA journal_mode=WAL";
    uint64_t deadline = bolsa_now_ns() + (uint64_t)BOLSA_SQLITE_BUSY_MS * 1000000u;
    int src;
    while ((src = bolsa_sqlite_exec_marked(c, sql)) == SQLITE_BUSY && bolsa_now_ns() < deadline)
        sqlite3_sleep(10);
    return src == SQLITE_OK ? BOLSA_E_OK : bolsa_sqlite_fail(c->db, src, sql, err);
}

/* The connection's settings: WAL, busy handler, checkpoints left to upkeep, and how
 * durable a commit is: NORMAL syncs the log at checkpoints only (a commit survives a
 * crash of bolsa, not of the machine); FULL syncs it at every commit. */
static bolsa_errcode bolsa_sqlite_configure(bolsa_sqlite *c, int full_sync, bolsa_error *err)
{
    /* Not sqlite3_busy_timeout: signals (a profiled request's samples) cut its sleeps
     * short and it counts them whole, so its 30 s ran out in milliseconds. */
    bolsa_sqlite_busy_install(c->db, &c->busy, BOLSA_SQLITE_BUSY_MS);
    /* Checkpoints run in the store's upkeep thread (bolsa_sqlite_maintain), not in
     * whichever request's COMMIT finds the log past 1000 pages. */
    sqlite3_wal_autocheckpoint(c->db, 0);
    bolsa_errcode rc = bolsa_sqlite_wal(c, err);
    /* journal_size_limit: after a huge request the log file shrinks back to 64 MiB
     * once checkpointed, instead of keeping its largest size for good. */
    if (!rc)
        rc = bolsa_sqlite_exec(
            c,
            full_sync ? "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=67108864;"
                      : "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=67108864;",
            err);
    return rc;
}

/* The file's path in a "sqlite:PATH[?synchronous=normal|full]" URL, malloc'd into *path,
 * and whether it asks for FULL. */
static bolsa_errcode bolsa_sqlite_parse_url(const char *url, char **path, int *full_sync,
                                            bolsa_error *err)
{
    const char *p = !strncmp(url, "sqlite:", 7) ? url + 7 : url, *query = strchr(p, '?');
    size_t len = query ? (size_t)(query - p) : strlen(p);
    *full_sync = query && !strcasecmp(query, "?synchronous=full");
    if (query && !*full_sync && strcasecmp(query, "?synchronous=normal"))
        return bolsa_error_set(err, BOLSA_E_CONFIG, NULL, NULL,
                               "sqlite: the database URL's only parameter is "
                               "synchronous=normal or synchronous=full, not '%s'",
                               query + 1);
    if (!(*path = malloc(len + 1)))
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    memcpy(*path, p, len);
    (*path)[len] = '\0';
    return BOLSA_E_OK;
}

static bolsa_errcode bolsa_sqlite_connect(const char *url, void **out, bolsa_error *err)
{
    char *path = NULL;
    int full_sync;
    bolsa_errcode rc = bolsa_sqlite_parse_url(url, &path, &full_sync, err);
    bolsa_sqlite *c = rc ? NULL : calloc(1, sizeof(*c));
    if (!rc && !c)
        rc = bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    if (!rc)
        rc = bolsa_sqlite_open(c, path, err);
    if (!rc)
        rc = bolsa_sqlite_configure(c, full_sync, err);
    free(path);
    if (rc) {
        bolsa_sqlite_disconnect(c);
        return rc;
    }
    *out = c;
    return BOLSA_E_OK;
}

/* --- schema -------------------------------------------------------------------------- */

/* Runs a one-value query ("PRAGMA user_version", "SELECT COUNT(*) ...") into *value. */
static bolsa_errcode bolsa_sqlite_scalar(bolsa_sqlite *c, const char *sql, int64_t *value,
                                         bolsa_error *err)
{
    bolsa_sqlite_stmt st = {0};
    bolsa_errcode rc = bolsa_sqlite_prepare(c, &st, sql, err);
    if (rc)
        return rc;
    bolsa_sqlmark_begin_text(st.text);
    int src = sqlite3_step(st.st);
    if (src == SQLITE_ROW)
        *value = sqlite3_column_int64(st.st, 0);
    else
        rc = bolsa_sqlite_fail(c->db, src, sql, err);
    bolsa_sqlite_finalize(&st);
    bolsa_sqlmark_end();
    return rc;
}

static bolsa_errcode bolsa_sqlite_user_version(bolsa_sqlite *c, int *version, bolsa_error *err)
{
    int64_t v = 0;
    bolsa_errcode rc = bolsa_sqlite_scalar(c, "PRAGMA user_version", &v, err);
    *version = (int)v;
    return rc;
}

static bolsa_errcode bolsa_sqlite_upgrade(bolsa_sqlite *c, bolsa_error *err)
{
    int version;
    bolsa_errcode rc = bolsa_sqlite_user_version(c, &version, err);
    if (rc)
        return rc;
    if (version > BOLSA_SQLITE_VERSION)
        return bolsa_error_set(err, BOLSA_E_DB_ERROR, NULL, NULL,
                               "sqlite: schema version %d is newer than this program's %d", version,
                               BOLSA_SQLITE_VERSION);
    for (; version < BOLSA_SQLITE_VERSION && !rc; version++)
        rc = bolsa_sqlite_exec(c, bolsa_sqlite_migrations[version], err);
    if (rc)
        return rc;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", BOLSA_SQLITE_VERSION);
    return bolsa_sqlite_exec(c, sql, err);
}

static bolsa_errcode bolsa_sqlite_migrate(void *conn, bolsa_error *err)
{
    bolsa_sqlite *c = conn;
    /* IMMEDIATE: two processes starting at once take turns instead of both migrating. */
    bolsa_errcode rc = bolsa_sqlite_exec(c, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    rc = bolsa_sqlite_upgrade(c, err);
    if (!rc)
        rc = bolsa_sqlite_exec(c, "COMMIT", err);
    if (rc)
        bolsa_sqlite_rollback(c);
    return rc;
}

/* --- saving -------------------------------------------------------------------------- */

#define BOLSA_SQLITE_INSERT_HEAD "INSERT INTO transactions (created_at, ativo, valor) VALUES "
#define BOLSA_SQLITE_INSERT_ROW "(?1,?,?)"

/* Prepares "INSERT ... VALUES (?,?),(?,?),..." for n rows into *stmt. Its marker text
 * comes from the one-row statement: the last chunk's differs from save to save, and
 * normalizing its SQL each time would cost microseconds. */
static bolsa_errcode bolsa_sqlite_prepare_insert(bolsa_sqlite *c, size_t n, bolsa_sqlite_stmt *stmt,
                                                 bolsa_error *err)
{
    /* ?1 is the request's timestamp, bound once: evaluating the column's strftime()
     * default for every row costs more than the rest of the insert. Each plain "?" then
     * numbers on from the largest so far, so row i binds ativo at 2i+2, valor at 2i+3. */
    static const char head[] = BOLSA_SQLITE_INSERT_HEAD;
    static const char row[] = "," BOLSA_SQLITE_INSERT_ROW;
    char text[BOLSA_SQLTEXT_MAX + 1];
    if (stmt->st)
        return BOLSA_E_OK;
    size_t size = sizeof(head) + n * (sizeof(row) - 1);
    char *sql = malloc(size);
    if (!sql)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    memcpy(sql, head, sizeof(head));
    char *p = sql + sizeof(head) - 1;
    for (size_t i = 0; i < n; i++, p += sizeof(row) - 1)
        memcpy(p, row, sizeof(row) - 1);
    *p = '\0';
    sql[sizeof(head) - 1] = ' '; /* the first row has no leading comma */
    bolsa_sqltext_normalize_rows(BOLSA_SQLITE_INSERT_HEAD BOLSA_SQLITE_INSERT_ROW, n,
                                 BOLSA_SQL_SQLITE, text);
    bolsa_errcode rc = bolsa_sqlite_prepare_text(c, stmt, sql, text, err);
    free(sql);
    return rc;
}

/* Binds rows[0..n) and their timestamp to stmt, runs it once and resets it for reuse.
 * Its marker spans the binding too: SQLite copies the values then. */
static bolsa_errcode bolsa_sqlite_insert(bolsa_sqlite *c, bolsa_sqlite_stmt *stmt,
                                         const bolsa_row *rows, size_t n, const char *created_at,
                                         bolsa_error *err)
{
    bolsa_sqlmark_begin_text(stmt->text);
    /* STATIC: rows and the timestamp stay untouched until the statement has run. */
    sqlite3_bind_text(stmt->st, 1, created_at, -1, SQLITE_STATIC);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(stmt->st, (int)(2 * i + 2), rows[i].ativo, -1, SQLITE_STATIC);
        sqlite3_bind_double(stmt->st, (int)(2 * i + 3), (double)rows[i].valor_cents / 100.0);
    }
    int src = sqlite3_step(stmt->st);
    sqlite3_reset(stmt->st);
    bolsa_sqlmark_end();
    return src == SQLITE_DONE ? BOLSA_E_OK : bolsa_sqlite_fail(c->db, src, "insert", err);
}

/* One chunk of rows: the cached full-chunk statement, or a one-off one for the tail. */
static bolsa_errcode bolsa_sqlite_insert_chunk(bolsa_sqlite *c, const bolsa_row *rows, size_t n,
                                               const char *created_at, bolsa_error *err)
{
    bolsa_sqlite_stmt tail = {0}, *stmt = n == BOLSA_CHUNK_ROWS ? &c->insert_chunk : &tail;
    bolsa_errcode rc = bolsa_sqlite_prepare_insert(c, n, stmt, err);
    if (!rc)
        rc = bolsa_sqlite_insert(c, stmt, rows, n, created_at, err);
    bolsa_sqlite_finalize(&tail);
    return rc;
}

/* All or nothing: one transaction, 500-row INSERTs, rolled back on any failure. */
static bolsa_errcode bolsa_sqlite_save_chunked(bolsa_sqlite *c, const bolsa_row_source *src,
                                               bolsa_save_result *res, bolsa_error *err)
{
    bolsa_row *rows = c->rows;
    /* The save's timestamp, in the format of the column's default. */
    char created_at[BOLSA_TIMESTAMP_SIZE];
    uint64_t saved = 0;
    bolsa_timestamp_now(created_at, sizeof(created_at));
    bolsa_errcode rc = bolsa_sqlite_exec(c, "BEGIN IMMEDIATE", err);
    while (!rc) {
        size_t n = bolsa_row_source_pull(src, rows, res);
        if (n == 0)
            break;
        rc = bolsa_sqlite_insert_chunk(c, rows, n, created_at, err);
        saved += rc ? 0 : n;
    }
    if (!rc)
        rc = bolsa_sqlite_exec(c, "COMMIT", err);
    if (rc)
        bolsa_sqlite_rollback(c);
    res->saved = rc ? 0 : saved;
    return rc;
}

/* The article's slow path, kept on purpose for comparison: one single-row INSERT per row,
 * each in autocommit, so every row is its own transaction and commit. It is slow (a
 * journal commit per row) and not atomic: a failure part-way leaves the rows before it
 * saved, and res->saved says how many. */
static bolsa_errcode bolsa_sqlite_save_naive(bolsa_sqlite *c, const bolsa_row_source *src,
                                             bolsa_save_result *res, bolsa_error *err)
{
    bolsa_row *rows = c->rows;
    char created_at[BOLSA_TIMESTAMP_SIZE];
    bolsa_timestamp_now(created_at, sizeof(created_at));
    bolsa_errcode rc = bolsa_sqlite_prepare_insert(c, 1, &c->insert_one, err);
    while (!rc) {
        size_t n = bolsa_row_source_pull(src, rows, res);
        if (n == 0)
            break;
        for (size_t i = 0; i < n && !rc; i++) {
            rc = bolsa_sqlite_insert(c, &c->insert_one, &rows[i], 1, created_at, err);
            res->saved += rc ? 0 : 1;
        }
    }
    return rc;
}

static bolsa_errcode bolsa_sqlite_save(void *conn, bolsa_strategy strategy,
                                       const bolsa_row_source *src, bolsa_save_result *res,
                                       bolsa_error *err)
{
    memset(res, 0, sizeof(*res));
    uint64_t t0 = bolsa_now_ns();
    bolsa_errcode rc = strategy == BOLSA_SAVE_NAIVE
                           ? bolsa_sqlite_save_naive(conn, src, res, err)
                           : bolsa_sqlite_save_chunked(conn, src, res, err);
    res->db_ns = bolsa_now_ns() - t0 - res->generate_ns;
    return rc;
}

/* --- reading ------------------------------------------------------------------------- */

static int64_t bolsa_sqlite_cents(double reais)
{
    return llround(reais * 100.0);
}

static void bolsa_sqlite_copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", s ? (const char *)s : "");
}

static bolsa_errcode bolsa_sqlite_list(void *conn, const bolsa_list_query *q, bolsa_tx *out,
                                       size_t *n, bolsa_error *err)
{
    bolsa_sqlite *c = conn;
    bolsa_sqlite_stmt *stmt = q->ativo ? &c->list_ativo : &c->list_all;
    bolsa_errcode rc =
        bolsa_sqlite_prepare(c, stmt,
                             q->ativo ? "SELECT id, ativo, valor, created_at FROM "
                                        "transactions WHERE id > ?1 AND ativo = ?3 "
                                        "ORDER BY id LIMIT ?2"
                                      : "SELECT id, ativo, valor, created_at FROM "
                                        "transactions WHERE id > ?1 ORDER BY id LIMIT ?2",
                             err);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt->st;
    bolsa_sqlmark_begin_text(stmt->text);
    sqlite3_bind_int64(st, 1, q->after_id);
    sqlite3_bind_int(st, 2, q->limit);
    if (q->ativo)
        sqlite3_bind_text(st, 3, q->ativo, -1, SQLITE_STATIC);
    int src = SQLITE_DONE;
    for (*n = 0; *n < (size_t)q->limit && (src = sqlite3_step(st)) == SQLITE_ROW; ++*n) {
        bolsa_tx *tx = &out[*n];
        tx->id = sqlite3_column_int64(st, 0);
        bolsa_sqlite_copy_text(tx->ativo, sizeof(tx->ativo), st, 1);
        tx->valor_cents = bolsa_sqlite_cents(sqlite3_column_double(st, 2));
        bolsa_sqlite_copy_text(tx->created_at, sizeof(tx->created_at), st, 3);
    }
    if (*n < (size_t)q->limit && src != SQLITE_DONE)
        rc = bolsa_sqlite_fail(c->db, src, "list", err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    bolsa_sqlmark_end();
    return rc;
}

/* Appends the current row of st to *rows, growing it as needed. */
static bolsa_errcode bolsa_sqlite_summary_row(sqlite3_stmt *st, bolsa_summary_row **rows, size_t *n,
                                              size_t *cap, bolsa_error *err)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        bolsa_summary_row *p = realloc(*rows, ncap * sizeof(*p));
        if (!p)
            return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
        *rows = p;
        *cap = ncap;
    }
    bolsa_summary_row *r = &(*rows)[(*n)++];
    bolsa_sqlite_copy_text(r->ativo, sizeof(r->ativo), st, 0);
    r->count = sqlite3_column_int64(st, 1);
    r->min_cents = bolsa_sqlite_cents(sqlite3_column_double(st, 2));
    r->max_cents = bolsa_sqlite_cents(sqlite3_column_double(st, 3));
    r->mean = sqlite3_column_double(st, 4);
    return BOLSA_E_OK;
}

static bolsa_errcode bolsa_sqlite_summary(void *conn, bolsa_summary_row **out, size_t *n,
                                          bolsa_error *err)
{
    bolsa_sqlite *c = conn;
    bolsa_sqlite_stmt st = {0};
    bolsa_errcode rc =
        bolsa_sqlite_prepare(c, &st,
                             "SELECT ativo, COUNT(*), MIN(valor), MAX(valor), AVG(valor) "
                             "FROM transactions GROUP BY ativo ORDER BY ativo",
                             err);
    size_t cap = 0;
    int src = SQLITE_DONE;
    *out = NULL;
    *n = 0;
    bolsa_sqlmark_begin_text(st.text);
    while (!rc && (src = sqlite3_step(st.st)) == SQLITE_ROW)
        rc = bolsa_sqlite_summary_row(st.st, out, n, &cap, err);
    if (!rc && src != SQLITE_DONE)
        rc = bolsa_sqlite_fail(c->db, src, "summary", err);
    bolsa_sqlite_finalize(&st);
    bolsa_sqlmark_end();
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static bolsa_errcode bolsa_sqlite_ping(void *conn, bolsa_error *err)
{
    bolsa_sqlite *c = conn;
    /* Reading the schema, not just "SELECT 1": that touches the file itself. Prepared
     * once per connection: /health is called often and parsing showed in its profile. */
    static const char sql[] = "SELECT COUNT(*) FROM sqlite_schema";
    bolsa_errcode rc = bolsa_sqlite_prepare(c, &c->ping, sql, err);
    if (rc)
        return rc;
    bolsa_sqlmark_begin_text(c->ping.text);
    int src = sqlite3_step(c->ping.st);
    sqlite3_reset(c->ping.st);
    bolsa_sqlmark_end();
    return src == SQLITE_ROW ? BOLSA_E_OK : bolsa_sqlite_fail(c->db, src, sql, err);
}

static bolsa_errcode bolsa_sqlite_count(void *conn, int64_t *n, bolsa_error *err)
{
    return bolsa_sqlite_scalar(conn, "SELECT COUNT(*) FROM transactions", n, err);
}

/* Copies the write-ahead log into the database file. PASSIVE: it never waits for, nor
 * blocks, the requests writing and reading meanwhile; what it cannot copy yet waits for
 * the next period. Marked as the statement that does the same, for a profile of every
 * thread. */
static bolsa_errcode bolsa_sqlite_maintain(void *conn, bolsa_error *err)
{
    bolsa_sqlite *c = conn;
    bolsa_sqlmark_begin("PRAGMA wal_checkpoint(PASSIVE)", BOLSA_SQL_SQLITE);
    int src = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    bolsa_sqlmark_end();
    if (src == SQLITE_OK || src == SQLITE_BUSY) /* busy: another checkpoint is running */
        return BOLSA_E_OK;
    return bolsa_sqlite_fail(c->db, src, "checkpoint", err);
}

const bolsa_store_backend bolsa_store_sqlite = {
    .name = "sqlite",
    BOLSA_STORE_OPERATIONS(bolsa_sqlite),
    .maintain = bolsa_sqlite_maintain,
};
