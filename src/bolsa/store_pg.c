/*
 * store_pg.c: the PostgreSQL backend, over libpq. The same code is meant for the
 * databases that speak PostgreSQL's protocol (Citus, YugabyteDB, CockroachDB), so the SQL
 * sticks to what they all accept; the few places where they differ are commented.
 * Not thread-safe per connection: store.c hands each connection to one thread at a time.
 * Every round trip is marked for profiles (sqlmark.h): a statement from sending it to
 * reading its result; a COPY as one statement, with its libpq calls inside it.
 */
#include "sqlmark.h"
#include "store.h"
#include "timing.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of COPY text buffered before each PQputCopyData: big enough that the per-call
 * cost vanishes, small enough to keep memory flat (~20 bytes a row, ~13,000 rows). */
#define PG_COPY_BUF (256 * 1024)
/* Longest COPY text line: escaped ticker (2 bytes per char), tab, valor, newline. */
#define PG_COPY_LINE_MAX (2 * BOLSA_TICKER_MAX + 32)

#define PG_COPY_SQL "COPY transactions (ativo, valor) FROM STDIN"
#define PG_INSERT_SQL "INSERT INTO transactions (ativo, valor) VALUES ($1, $2)"

typedef struct pg_conn {
    PGconn *pg;
    bool insert_prepared;      /* the naive INSERT is prepared on this session */
    bolsa_sqlmark_cache marks; /* the statements' marker texts */
    /* A save's chunk of rows. Here rather than on the request's stack (12 KiB), which
     * would put the frames above the store beyond a profiler's copy of the stack. */
    bolsa_row rows[BOLSA_CHUNK_ROWS];
} pg_conn;

/* --- errors ------------------------------------------------------------------------ */

/* libpq's messages span lines ("ERROR: ...\nDETAIL: ..."); the first says what failed. */
static const char *pg_first_line(const char *msg, char *buf, size_t size)
{
    if (!msg || !*msg)
        return "no message from libpq";
    size_t n = strcspn(msg, "\r\n");
    if (n >= size)
        n = size - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

/* A lost or refused connection is the database being unavailable (503, worth retrying);
 * so are the SQLSTATEs of a server shutting down (57P01-57P03) or a broken link (08xxx).
 * Anything else is an error in what we asked (500). */
static bool pg_is_unavailable(const pg_conn *c, const PGresult *res)
{
    if (PQstatus(c->pg) != CONNECTION_OK)
        return true;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return false;
    return strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0;
}

/* Records what went wrong during `what`, from res if there is one, else the connection. */
static bolsa_errcode pg_fail(pg_conn *c, const PGresult *res, const char *what, bolsa_error *err)
{
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(c->pg);
    char line[200];
    bolsa_errcode code = pg_is_unavailable(c, res) ? BOLSA_E_DB_UNAVAILABLE : BOLSA_E_DB_ERROR;
    return bolsa_error_set(err, code, NULL, NULL, "postgresql %s: %s", what,
                           pg_first_line(msg, line, sizeof(line)));
}

/* --- connection ---------------------------------------------------------------------- */

/* libpq prints notices on stderr by default; the only ones we cause are the expected
 * "already exists, skipping" of an idempotent migration. */
static void pg_ignore_notice(void *arg, const char *message) {}

static bolsa_errcode pg_connect(const char *url, void **out, bolsa_error *err)
{
    /* The URL comes last, so its own connect_timeout (or any other key) wins over ours. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {"5", "bolsa", url, NULL};
    pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg) {
        free(c);
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    }
    PQsetNoticeProcessor(c->pg, pg_ignore_notice, NULL);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        bolsa_errcode rc = pg_fail(c, NULL, "connect", err);
        PQfinish(c->pg);
        free(c);
        return rc;
    }
    *out = c;
    return BOLSA_E_OK;
}

static void pg_disconnect(void *conn)
{
    pg_conn *c = conn;
    if (!c)
        return;
    PQfinish(c->pg);
    bolsa_sqlmark_cache_free(&c->marks);
    free(c);
}

/* PQexec, marked. The result is the caller's to PQclear. */
static PGresult *pg_exec(pg_conn *c, const char *sql)
{
    bolsa_sqlmark_begin_cached(&c->marks, sql, BOLSA_SQL_POSTGRES);
    PGresult *res = PQexec(c->pg, sql);
    bolsa_sqlmark_end();
    return res;
}

/* Brings the session back to idle before each operation: a connection that died while
 * the server was down is reopened (so /health recovers by itself), and one left inside a
 * transaction by an earlier failure is rolled back. */
static bolsa_errcode pg_reopen(pg_conn *c, bolsa_error *err)
{
    bolsa_sqlmark_call("PQreset");
    PQreset(c->pg);
    bolsa_sqlmark_end();
    c->insert_prepared = false; /* prepared statements die with the session */
    return PQstatus(c->pg) == CONNECTION_OK ? BOLSA_E_OK : pg_fail(c, NULL, "reconnect", err);
}

static bolsa_errcode pg_ready(pg_conn *c, bolsa_error *err)
{
    bolsa_errcode rc = PQstatus(c->pg) == CONNECTION_OK ? BOLSA_E_OK : pg_reopen(c, err);
    if (rc)
        return rc;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(pg_exec(c, "ROLLBACK"));
    return BOLSA_E_OK;
}

/* Runs a command that returns no rows (BEGIN, COMMIT, DDL). */
static bolsa_errcode pg_command(pg_conn *c, const char *sql, bolsa_error *err)
{
    PGresult *res = pg_exec(c, sql);
    bolsa_errcode rc = BOLSA_E_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail(c, res, "command", err);
    PQclear(res);
    return rc;
}

/* Runs a read-only query with text parameters. Reads are safe to repeat, so when the
 * connection turns out to be dead (the server restarted since it was last used), it is
 * reopened and the query tried once more. *out is the caller's to PQclear. */
static bolsa_errcode pg_query(pg_conn *c, const char *sql, int nparams, const char *const *params,
                              PGresult **out, bolsa_error *err)
{
    for (int attempt = 0;; attempt++) {
        bolsa_errcode rc = pg_ready(c, err);
        if (rc)
            return rc;
        bolsa_sqlmark_begin_cached(&c->marks, sql, BOLSA_SQL_POSTGRES);
        PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
        bolsa_sqlmark_end();
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            *out = res;
            return BOLSA_E_OK;
        }
        if (attempt == 0 && PQstatus(c->pg) != CONNECTION_OK) {
            PQclear(res);
            continue;
        }
        rc = pg_fail(c, res, "query", err);
        PQclear(res);
        return rc;
    }
}

/* --- schema -------------------------------------------------------------------------- */

/* Each entry moves the schema up one version; append, never edit, so every database
 * replays the same history. BIGSERIAL rather than GENERATED ... AS IDENTITY: every
 * target accepts it (identity columns came late to CockroachDB and to Citus distributed
 * tables). On CockroachDB it draws from unique_rowid(): ids grow but are not dense, and
 * keyset pagination only needs them ordered. */
static const char *const pg_migrations[] = {
    /* No index on ativo: it doubled the time of a 50,000-row COPY here, and writes are
     * what this service measures. GET ?ativo= walks the primary key and filters, which
     * reads about limit x tickers rows (a ticker that is absent reads the table). */
    "CREATE TABLE IF NOT EXISTS transactions ("
    " id BIGSERIAL PRIMARY KEY,"
    " ativo VARCHAR(12) NOT NULL,"
    " valor NUMERIC(12,2) NOT NULL,"
    " created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
};
#define PG_MIGRATIONS (int)(sizeof(pg_migrations) / sizeof(pg_migrations[0]))

/* Serialises concurrent migrations (two servers starting at once would otherwise race
 * on CREATE TABLE IF NOT EXISTS, which is not atomic in PostgreSQL). CockroachDB and
 * older YugabyteDB have no advisory locks: the savepoint lets the transaction go on
 * without one, and pg_migrate retries if the race then bites. */
static void pg_migration_lock(pg_conn *c)
{
    if (pg_command(c, "SAVEPOINT bolsa_lock", &(bolsa_error){0}) != BOLSA_E_OK)
        return;
    /* 0x626f6c7361 is "bolsa": any constant works, as long as every server uses it. */
    if (pg_command(c, "SELECT pg_advisory_xact_lock(422776173409)", &(bolsa_error){0}))
        pg_command(c, "ROLLBACK TO SAVEPOINT bolsa_lock", &(bolsa_error){0});
    else
        pg_command(c, "RELEASE SAVEPOINT bolsa_lock", &(bolsa_error){0});
}

static bolsa_errcode pg_schema_version(pg_conn *c, int *version, bolsa_error *err)
{
    PGresult *res = pg_exec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
    bolsa_errcode rc = BOLSA_E_OK;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        *version = atoi(PQgetvalue(res, 0, 0));
    else
        rc = pg_fail(c, res, "schema_version", err);
    PQclear(res);
    return rc;
}

/* Applies the missing migrations inside the current transaction. */
static bolsa_errcode pg_migrate_steps(pg_conn *c, bolsa_error *err)
{
    int version = 0;
    bolsa_errcode rc = pg_command(c,
                                  "CREATE TABLE IF NOT EXISTS schema_version ("
                                  " version INTEGER PRIMARY KEY,"
                                  " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                                  err);
    if (!rc)
        rc = pg_schema_version(c, &version, err);
    if (!rc && version > PG_MIGRATIONS)
        rc = bolsa_error_set(err, BOLSA_E_DB_ERROR, NULL, NULL,
                             "postgresql: schema version %d is newer than this program's %d",
                             version, PG_MIGRATIONS);
    for (int v = version; !rc && v < PG_MIGRATIONS; v++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)", v + 1);
        rc = pg_command(c, pg_migrations[v], err);
        if (!rc)
            rc = pg_command(c, sql, err);
    }
    return rc;
}

static bolsa_errcode pg_migrate_once(pg_conn *c, bolsa_error *err)
{
    bolsa_errcode rc = pg_command(c, "BEGIN", err);
    if (rc)
        return rc;
    pg_migration_lock(c);
    rc = pg_migrate_steps(c, err);
    if (!rc)
        rc = pg_command(c, "COMMIT", err);
    if (rc && PQstatus(c->pg) == CONNECTION_OK)
        PQclear(pg_exec(c, "ROLLBACK"));
    return rc;
}

static bolsa_errcode pg_migrate(void *conn, bolsa_error *err)
{
    pg_conn *c = conn;
    bolsa_errcode rc = pg_ready(c, err);
    /* Without an advisory lock a concurrent server can win the race to create a table
     * or a version row; its work is then ours too, so another pass finds nothing to do. */
    for (int attempt = 0; !rc; attempt++) {
        bolsa_error e = {0};
        rc = pg_migrate_once(c, &e);
        if (!rc)
            return BOLSA_E_OK;
        if (e.code == BOLSA_E_DB_UNAVAILABLE || attempt == 2)
            return bolsa_error_set(err, e.code, NULL, NULL, "%s", e.msg);
        rc = pg_ready(c, err);
    }
    return rc;
}

/* --- save ---------------------------------------------------------------------------- */

/* Appends a COPY text field: the four characters COPY treats specially are escaped, so
 * the store stays correct even if validation upstream ever lets one through. */
static size_t pg_copy_text(char *dst, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        char ch = *s;
        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            dst[n++] = '\\';
            ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
        }
        dst[n++] = ch;
    }
    return n;
}

/* Writes cents as a decimal ("1234" -> "12.34") and returns its length. */
static size_t pg_cents_text(char *dst, int64_t cents)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t v = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
        if (n == 2)
            tmp[n++] = '.';
    } while (v || n < 4);
    if (cents < 0)
        dst[len++] = '-';
    while (n)
        dst[len++] = tmp[--n];
    return len;
}

static size_t pg_copy_line(char *dst, const bolsa_row *row)
{
    size_t n = pg_copy_text(dst, row->ativo);
    dst[n++] = '\t';
    n += pg_cents_text(dst + n, row->valor_cents);
    dst[n++] = '\n';
    return n;
}

/* Sends one buffer of COPY text; libpq may wait for room on the socket. */
static bolsa_errcode pg_put_copy_data(pg_conn *c, const char *buf, size_t used, bolsa_error *err)
{
    bolsa_sqlmark_call("PQputCopyData");
    int sent = PQputCopyData(c->pg, buf, (int)used);
    bolsa_sqlmark_end();
    return sent == 1 ? BOLSA_E_OK : pg_fail(c, NULL, "COPY", err);
}

/* Streams every row into an open COPY; *rows_sent counts what went out. */
static bolsa_errcode pg_copy_rows(pg_conn *c, const bolsa_row_source *src, bolsa_save_result *res,
                                  uint64_t *rows_sent, bolsa_error *err)
{
    bolsa_row *rows = c->rows;
    char *buf = malloc(PG_COPY_BUF + PG_COPY_LINE_MAX);
    if (!buf)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    size_t used = 0, n;
    bolsa_errcode rc = BOLSA_E_OK;
    while (!rc && (n = bolsa_row_source_pull(src, rows, res)) > 0) {
        for (size_t i = 0; i < n; i++)
            used += pg_copy_line(buf + used, &rows[i]);
        *rows_sent += n;
        if (used + BOLSA_CHUNK_ROWS * PG_COPY_LINE_MAX > PG_COPY_BUF) {
            rc = pg_put_copy_data(c, buf, used, err);
            used = 0;
        }
    }
    if (!rc && used)
        rc = pg_put_copy_data(c, buf, used, err);
    free(buf);
    return rc;
}

/* Waits for the server's next result: the end of a COPY is when it has done the work. */
static PGresult *pg_get_result(pg_conn *c)
{
    bolsa_sqlmark_call("PQgetResult");
    PGresult *res = PQgetResult(c->pg);
    bolsa_sqlmark_end();
    return res;
}

/* Ends the COPY (aborting it when rc says so) and reads the server's verdict. */
static bolsa_errcode pg_copy_finish(pg_conn *c, bolsa_errcode rc, bolsa_error *err)
{
    bolsa_sqlmark_call("PQputCopyEnd");
    int ended = PQputCopyEnd(c->pg, rc ? "bolsa: save aborted" : NULL);
    bolsa_sqlmark_end();
    if (ended != 1 && !rc)
        rc = pg_fail(c, NULL, "COPY end", err);
    PGresult *res;
    while ((res = pg_get_result(c)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (!rc && st != PGRES_COMMAND_OK)
            rc = pg_fail(c, res, "COPY", err);
        PQclear(res);
        /* Still in COPY after the end was refused: libpq would hand this back forever. */
        if (st == PGRES_COPY_IN || PQstatus(c->pg) != CONNECTION_OK)
            break;
    }
    return rc;
}

/* A pooled connection looks fine until its first command after a server restart fails.
 * Nothing has been written at that point, so the first command of a save may run once
 * more: true when rc was that lost connection and it is now open again (err cleared). */
static bool pg_reconnected_after_drop(pg_conn *c, bolsa_errcode rc, bolsa_error *err)
{
    if (rc != BOLSA_E_DB_UNAVAILABLE)
        return false;
    /* Reopened even when libpq still calls it open: a server that was shut down may have
     * sent its "terminating connection" error before libpq saw the socket close. */
    memset(err, 0, sizeof(*err));
    return pg_reopen(c, err) == BOLSA_E_OK && pg_ready(c, err) == BOLSA_E_OK;
}

/* The COPY itself: start it, stream the rows, end it, read the verdict. Its marker spans
 * all of it, the libpq calls inside marked on their own. */
static bolsa_errcode pg_copy(pg_conn *c, const bolsa_row_source *src, bolsa_save_result *res,
                             uint64_t *sent, bolsa_error *err)
{
    bolsa_errcode rc = BOLSA_E_OK;
    bolsa_sqlmark_begin_cached(&c->marks, PG_COPY_SQL, BOLSA_SQL_POSTGRES);
    bolsa_sqlmark_call("PQexec");
    PGresult *start = PQexec(c->pg, PG_COPY_SQL);
    bolsa_sqlmark_end();
    if (PQresultStatus(start) != PGRES_COPY_IN)
        rc = pg_fail(c, start, "COPY", err);
    PQclear(start);
    if (!rc)
        rc = pg_copy_finish(c, pg_copy_rows(c, src, res, sent, err), err);
    bolsa_sqlmark_end();
    return rc;
}

/* One transaction, one COPY: the rows all land or none do. If the connection dies half
 * way, the server rolls the transaction back itself. */
static bolsa_errcode pg_save_chunked(pg_conn *c, const bolsa_row_source *src,
                                     bolsa_save_result *res, bolsa_error *err)
{
    uint64_t sent = 0;
    bolsa_errcode rc = pg_command(c, "BEGIN", err);
    if (rc && pg_reconnected_after_drop(c, rc, err))
        rc = pg_command(c, "BEGIN", err);
    if (rc)
        return rc;
    rc = pg_copy(c, src, res, &sent, err);
    if (!rc)
        rc = pg_command(c, "COMMIT", err);
    if (rc) {
        if (PQstatus(c->pg) == CONNECTION_OK)
            PQclear(pg_exec(c, "ROLLBACK"));
        return rc;
    }
    res->saved = sent;
    return BOLSA_E_OK;
}

static bolsa_errcode pg_prepare_insert(pg_conn *c, bolsa_error *err)
{
    if (c->insert_prepared)
        return BOLSA_E_OK;
    /* Marked as the statement that does the same as PQprepare. */
    bolsa_sqlmark_begin_cached(&c->marks, "PREPARE bolsa_insert AS " PG_INSERT_SQL,
                               BOLSA_SQL_POSTGRES);
    PGresult *res = PQprepare(c->pg, "bolsa_insert", PG_INSERT_SQL, 2, NULL);
    bolsa_sqlmark_end();
    bolsa_errcode rc = BOLSA_E_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail(c, res, "prepare", err);
    else
        c->insert_prepared = true;
    PQclear(res);
    return rc;
}

/* One execution of the prepared INSERT, marked from formatting its values on. */
static bolsa_errcode pg_insert_one(pg_conn *c, const bolsa_row *row, bolsa_error *err)
{
    char valor[32];
    bolsa_sqlmark_begin_cached(&c->marks, PG_INSERT_SQL, BOLSA_SQL_POSTGRES);
    valor[pg_cents_text(valor, row->valor_cents)] = '\0';
    const char *params[2] = {row->ativo, valor};
    PGresult *res = PQexecPrepared(c->pg, "bolsa_insert", 2, params, NULL, NULL, 0);
    bolsa_sqlmark_end();
    bolsa_errcode rc = BOLSA_E_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail(c, res, "INSERT", err);
    PQclear(res);
    return rc;
}

/* One row of the naive save: the INSERT, prepared first if this session has not yet. */
static bolsa_errcode pg_insert_row(pg_conn *c, const bolsa_row *row, bolsa_error *err)
{
    bolsa_errcode rc = pg_prepare_insert(c, err);
    return rc ? rc : pg_insert_one(c, row, err);
}

/* The slow path, kept on purpose to measure against: one INSERT per row, each its own
 * transaction, so every row pays a round trip and a commit (a WAL flush). Not atomic
 * either: a failure half way leaves the rows before it saved, and res->saved says how
 * many. */
static bolsa_errcode pg_save_naive(pg_conn *c, const bolsa_row_source *src, bolsa_save_result *res,
                                   bolsa_error *err)
{
    bolsa_row *rows = c->rows;
    bolsa_errcode rc = BOLSA_E_OK;
    size_t n;
    while (!rc && (n = bolsa_row_source_pull(src, rows, res)) > 0) {
        for (size_t i = 0; i < n && !rc; i++) {
            rc = pg_insert_row(c, &rows[i], err);
            /* The first row holds the save's first command (the PREPARE, or the INSERT on a
             * session that has it prepared): it may run once more. */
            if (rc && res->saved == 0 && pg_reconnected_after_drop(c, rc, err))
                rc = pg_insert_row(c, &rows[i], err);
            if (!rc)
                res->saved++;
        }
    }
    return rc;
}

static bolsa_errcode pg_save(void *conn, bolsa_strategy strategy, const bolsa_row_source *src,
                             bolsa_save_result *res, bolsa_error *err)
{
    pg_conn *c = conn;
    uint64_t t0 = bolsa_now_ns();
    memset(res, 0, sizeof(*res));
    bolsa_errcode rc = pg_ready(c, err);
    if (!rc)
        rc = strategy == BOLSA_SAVE_NAIVE ? pg_save_naive(c, src, res, err)
                                          : pg_save_chunked(c, src, res, err);
    res->db_ns = bolsa_now_ns() - t0 - res->generate_ns;
    return rc;
}

/* --- reads --------------------------------------------------------------------------- */

/* Parses NUMERIC text ("12.3", "-0.50", "100") into cents; the column has two decimals. */
static int64_t pg_parse_cents(const char *s)
{
    bool neg = *s == '-';
    if (neg || *s == '+')
        s++;
    int64_t whole = 0, frac = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        whole = whole * 10 + (*s - '0');
    if (*s == '.') {
        s++;
        for (int i = 0; i < 2; i++) {
            frac *= 10;
            if (*s >= '0' && *s <= '9')
                frac += *s++ - '0';
        }
    }
    int64_t cents = whole * 100 + frac;
    return neg ? -cents : cents;
}

/* Turns epoch seconds as text ("1764057600.123456") into "2025-11-25T08:00:00.123Z".
 * Reading the epoch rather than the timestamp's text keeps us clear of the session's
 * DateStyle and TimeZone, whatever the server's defaults. */
static void pg_format_epoch(const char *s, char *out, size_t size)
{
    char *end;
    time_t secs = (time_t)strtoll(s, &end, 10);
    unsigned ms = 0;
    if (*end == '.')
        for (int i = 1; i <= 3; i++)
            ms = ms * 10 + ((end[i] >= '0' && end[i] <= '9') ? (unsigned)(end[i] - '0') : 0);
    bolsa_timestamp_format(secs, ms, out, size);
}

static void pg_copy_ticker(char *dst, const char *src)
{
    snprintf(dst, BOLSA_TICKER_MAX + 1, "%s", src);
}

static bolsa_errcode pg_list(void *conn, const bolsa_list_query *q, bolsa_tx *out, size_t *n,
                             bolsa_error *err)
{
    char after[24], limit[16];
    snprintf(after, sizeof(after), "%lld", (long long)q->after_id);
    snprintf(limit, sizeof(limit), "%d", q->limit);
    const char *params[3] = {after, limit, q->ativo};
    const char *sql =
        q->ativo ? "SELECT id, ativo, valor, extract(epoch FROM created_at) FROM transactions"
                   " WHERE id > $1 AND ativo = $3 ORDER BY id LIMIT $2"
                 : "SELECT id, ativo, valor, extract(epoch FROM created_at) FROM transactions"
                   " WHERE id > $1 ORDER BY id LIMIT $2";
    PGresult *res;
    bolsa_errcode rc = pg_query(conn, sql, q->ativo ? 3 : 2, params, &res, err);
    if (rc)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    for (size_t i = 0; i < rows && i < (size_t)q->limit; i++) {
        out[i].id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
        pg_copy_ticker(out[i].ativo, PQgetvalue(res, (int)i, 1));
        out[i].valor_cents = pg_parse_cents(PQgetvalue(res, (int)i, 2));
        pg_format_epoch(PQgetvalue(res, (int)i, 3), out[i].created_at, sizeof(out[i].created_at));
    }
    *n = rows < (size_t)q->limit ? rows : (size_t)q->limit;
    PQclear(res);
    return BOLSA_E_OK;
}

static int pg_summary_cmp(const void *a, const void *b)
{
    return strcmp(((const bolsa_summary_row *)a)->ativo, ((const bolsa_summary_row *)b)->ativo);
}

/* Ordered in C, not with ORDER BY: the server's collation may not sort bytewise, and
 * the answer should not depend on how the cluster was initialised. */
static bolsa_errcode pg_summary(void *conn, bolsa_summary_row **out, size_t *n, bolsa_error *err)
{
    PGresult *res;
    bolsa_errcode rc = pg_query(conn,
                                "SELECT ativo, count(*), min(valor), max(valor), avg(valor)"
                                " FROM transactions GROUP BY ativo",
                                0, NULL, &res, err);
    if (rc)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    bolsa_summary_row *s = calloc(rows ? rows : 1, sizeof(*s));
    if (!s) {
        PQclear(res);
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    }
    for (size_t i = 0; i < rows; i++) {
        pg_copy_ticker(s[i].ativo, PQgetvalue(res, (int)i, 0));
        s[i].count = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        s[i].min_cents = pg_parse_cents(PQgetvalue(res, (int)i, 2));
        s[i].max_cents = pg_parse_cents(PQgetvalue(res, (int)i, 3));
        s[i].mean = strtod(PQgetvalue(res, (int)i, 4), NULL);
    }
    PQclear(res);
    qsort(s, rows, sizeof(*s), pg_summary_cmp);
    *out = s;
    *n = rows;
    return BOLSA_E_OK;
}

static bolsa_errcode pg_ping(void *conn, bolsa_error *err)
{
    PGresult *res;
    bolsa_errcode rc = pg_query(conn, "SELECT 1", 0, NULL, &res, err);
    if (!rc)
        PQclear(res);
    return rc;
}

static bolsa_errcode pg_count(void *conn, int64_t *n, bolsa_error *err)
{
    PGresult *res;
    bolsa_errcode rc = pg_query(conn, "SELECT count(*) FROM transactions", 0, NULL, &res, err);
    if (rc)
        return rc;
    *n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return BOLSA_E_OK;
}

/* No maintain: the server checkpoints and vacuums by itself. */
const bolsa_store_backend bolsa_store_pg = {
    .name = "postgresql",
    BOLSA_STORE_OPERATIONS(pg),
};
