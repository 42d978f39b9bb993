/*
 * store.h: where transactions live. One small interface, two backends: SQLite (the
 * embedded default, store_sqlite.c) and PostgreSQL and the databases that speak its
 * protocol (store_pg.c). store.c picks the backend from the URL and keeps a pool of
 * connections, one per concurrent request.
 */
#ifndef BOLSA_STORE_H
#define BOLSA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define BOLSA_TICKER_MAX 12

typedef struct bolsa_row {
    char ativo[BOLSA_TICKER_MAX + 1];
    int64_t valor_cents; /* 100..10000: R$ 1.00 to R$ 100.00 */
} bolsa_row;

typedef enum bolsa_strategy {
    BOLSA_SAVE_CHUNKED, /* one transaction, multi-row prepared INSERTs or COPY: all or nothing */
    BOLSA_SAVE_NAIVE    /* one INSERT per row, each its own commit: slow, not atomic */
} bolsa_strategy;

/* Produces the rows to save on demand, so memory stays flat whatever the count.
 * next() fills up to cap rows and returns how many (0 when there are no more). */
typedef struct bolsa_row_source {
    size_t (*next)(void *ctx, bolsa_row *rows, size_t cap);
    void *ctx;
} bolsa_row_source;

typedef struct bolsa_save_result {
    uint64_t saved;       /* rows committed */
    uint64_t generate_ns; /* time spent in source->next() */
    uint64_t db_ns;       /* time spent in the database */
} bolsa_save_result;

/* Pulls the next chunk (up to BOLSA_CHUNK_ROWS rows) from src, adding the time it took to
 * res->generate_ns so that generating and saving are timed apart. Returns the count. */
size_t bolsa_row_source_pull(const bolsa_row_source *src, bolsa_row *rows, bolsa_save_result *res);

typedef struct bolsa_list_query {
    const char *ativo; /* NULL: every ticker */
    int64_t after_id;  /* rows with id > after_id, in id order */
    int limit;         /* 1..1000 */
} bolsa_list_query;

typedef struct bolsa_tx {
    int64_t id;
    char ativo[BOLSA_TICKER_MAX + 1];
    int64_t valor_cents;
    char created_at[40]; /* ISO 8601, UTC: 2026-11-25T08:00:00.123Z */
} bolsa_tx;

typedef struct bolsa_summary_row {
    char ativo[BOLSA_TICKER_MAX + 1];
    int64_t count;
    int64_t min_cents, max_cents;
    double mean; /* reais */
} bolsa_summary_row;

/* What each backend implements, on one connection that only one thread uses at a time.
 * Every operation but disconnect returns BOLSA_E_OK or the error it filled err with:
 * BOLSA_E_DB_UNAVAILABLE when the database cannot be reached (the pool then drops the
 * connection), BOLSA_E_DB_ERROR or BOLSA_E_NOMEM otherwise. */
typedef struct bolsa_store_backend {
    const char *name; /* "sqlite", "postgresql" */
    /* Opens a connection for url (the full database URL). */
    bolsa_errcode (*connect)(const char *url, void **conn, bolsa_error *err);
    void (*disconnect)(void *conn);
    /* Creates or upgrades the schema; idempotent, versioned. */
    bolsa_errcode (*migrate)(void *conn, bolsa_error *err);
    bolsa_errcode (*save)(void *conn, bolsa_strategy strategy, const bolsa_row_source *src,
                          bolsa_save_result *res, bolsa_error *err);
    /* Fills out[0..query->limit) and sets *n. */
    bolsa_errcode (*list)(void *conn, const bolsa_list_query *query, bolsa_tx *out, size_t *n,
                          bolsa_error *err);
    /* *out is malloc'd (caller frees), ordered by ticker. */
    bolsa_errcode (*summary)(void *conn, bolsa_summary_row **out, size_t *n, bolsa_error *err);
    /* BOLSA_E_OK when the database answers a trivial query. */
    bolsa_errcode (*ping)(void *conn, bolsa_error *err);
    /* Rows in the table (tests and start-up log). */
    bolsa_errcode (*count)(void *conn, int64_t *n, bolsa_error *err);
    /* Optional periodic work off the request path (upkeep.c), on a connection of its own;
     * a failure closes that connection. NULL: none. */
    bolsa_errcode (*maintain)(void *conn, bolsa_error *err);
} bolsa_store_backend;

/* The operations every backend has, taken from the functions it names prefix_connect,
 * prefix_disconnect, ... prefix_count: a backend that lacks one fails to compile instead
 * of leaving a NULL to crash on. maintain, being optional, is set on its own. */
#define BOLSA_STORE_OPERATIONS(prefix)                                                             \
    .connect = prefix##_connect, .disconnect = prefix##_disconnect, .migrate = prefix##_migrate,   \
    .save = prefix##_save, .list = prefix##_list, .summary = prefix##_summary,                     \
    .ping = prefix##_ping, .count = prefix##_count

extern const bolsa_store_backend bolsa_store_sqlite;
extern const bolsa_store_backend bolsa_store_pg;

/* Rows per chunk: generated, then saved, then reused. */
#define BOLSA_CHUNK_ROWS 500

/* The store (store.c): picks the backend from the database URL, creates or upgrades the
 * schema once, and keeps a pool of connections, each used by one request at a time.
 * Every call below checks a connection out for its duration and may block until one is
 * free. A connection whose database went away is reconnected on its next use. */
typedef struct bolsa_store bolsa_store;

/* The backend for a URL: "sqlite:PATH" (relative or absolute), "postgresql://..." or
 * "postgres://...". Returns BOLSA_E_OK or BOLSA_E_CONFIG with err saying why. */
bolsa_errcode bolsa_store_backend_for(const char *url, const bolsa_store_backend **out,
                                      bolsa_error *err);
/* Connects once and migrates; the other pool_size - 1 connections open on first use.
 * On success *out is owned by the caller (bolsa_store_close). */
bolsa_errcode bolsa_store_open(bolsa_store **out, const char *url, int pool_size, bolsa_error *err);
/* The same with a given backend, whatever the URL says: for tests and fault injection. */
bolsa_errcode bolsa_store_open_backend(bolsa_store **out, const bolsa_store_backend *be,
                                       const char *url, int pool_size, bolsa_error *err);
/* Closes every connection. No call may be in progress. NULL is a no-op. */
void bolsa_store_close(bolsa_store *s);
/* The backend's name: "sqlite", "postgresql". */
const char *bolsa_store_name(const bolsa_store *s);
/* The backend operations of the same names, on a pooled connection. Thread-safe. */
bolsa_errcode bolsa_store_save(bolsa_store *s, bolsa_strategy strategy, const bolsa_row_source *src,
                               bolsa_save_result *res, bolsa_error *err);
bolsa_errcode bolsa_store_list(bolsa_store *s, const bolsa_list_query *query, bolsa_tx *out,
                               size_t *n, bolsa_error *err);
bolsa_errcode bolsa_store_summary(bolsa_store *s, bolsa_summary_row **out, size_t *n,
                                  bolsa_error *err);
bolsa_errcode bolsa_store_count(bolsa_store *s, int64_t *n, bolsa_error *err);
/* Pings; on failure reconnects once and pings again, so /health recovers as soon as the
 * database is back. */
bolsa_errcode bolsa_store_ping(bolsa_store *s, bolsa_error *err);
/* A health check that pings at most once per max_age_ns: BOLSA_E_OK without touching the
 * database while the last successful ping started less than max_age_ns ago and no call
 * has found the database unavailable since. Otherwise it pings; when another request is
 * already doing so, the last success stands for up to ten times max_age_ns. A failure is
 * never reused: every check after one pings again. */
bolsa_errcode bolsa_store_health(bolsa_store *s, uint64_t max_age_ns, bolsa_error *err);

#endif
