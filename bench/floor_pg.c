/*
 * floor_pg.c: the fastest known way to save N rows in PostgreSQL from C, the floor the
 * service's default save strategy is measured against: one COPY ... FROM STDIN in text
 * format, rows streamed in large buffers through libpq.
 *
 *     floor_pg DATABASE_URL ROWS [SEED]
 *
 * Drops and recreates its own table (bench_floor: the columns of the service's table),
 * warms the connection up with a small COPY and a TRUNCATE (a server's pooled connection
 * has its catalog caches filled too), then a CHECKPOINT, as the harness does before each
 * of the service's saves, so both start from the same state. Times only the COPY and
 * prints one JSON line: {"rows": N, "save_ms": T}.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "rows.h"

#define BUF_BYTES (256 * 1024)

/* Keep in step with the service's PostgreSQL schema (src/bolsa/store_pg.c). */
static const char schema[] = "DROP TABLE IF EXISTS bench_floor;"
                             "CREATE TABLE bench_floor ("
                             " id BIGSERIAL PRIMARY KEY,"
                             " ativo VARCHAR(12) NOT NULL,"
                             " valor NUMERIC(12,2) NOT NULL,"
                             " created_at TIMESTAMPTZ NOT NULL DEFAULT now())";

static void die(PGconn *pg, const char *what)
{
    fprintf(stderr, "floor_pg: %s: %s", what, pg ? PQerrorMessage(pg) : "?\n");
    exit(1);
}

static void exec_ok(PGconn *pg, const char *sql, ExecStatusType want)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != want)
        die(pg, sql);
    PQclear(r);
}

static void put(PGconn *pg, const char *buf, size_t len)
{
    if (len && PQputCopyData(pg, buf, (int)len) != 1)
        die(pg, "PQputCopyData");
}

static void copy_rows(PGconn *pg, const bench_row *rows, size_t n)
{
    static char buf[BUF_BYTES];
    size_t len = 0;
    exec_ok(pg, "COPY bench_floor (ativo, valor) FROM STDIN", PGRES_COPY_IN);
    for (size_t i = 0; i < n; i++) {
        if (len > BUF_BYTES - 64) {
            put(pg, buf, len);
            len = 0;
        }
        long long c = rows[i].valor_cents;
        len += (size_t)sprintf(buf + len, "%s\t%lld.%02lld\n", rows[i].ativo, c / 100, c % 100);
    }
    put(pg, buf, len);
    if (PQputCopyEnd(pg, NULL) != 1)
        die(pg, "PQputCopyEnd");
    PGresult *r = PQgetResult(pg);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(pg, "COPY");
    PQclear(r);
    while ((r = PQgetResult(pg)))
        PQclear(r);
}

int main(int argc, char **argv)
{
    static const char usage[] = "usage: floor_pg DATABASE_URL ROWS [SEED]\n";
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    size_t n = bench_parse_count(argv[2], usage);
    uint64_t seed = argc == 4 ? strtoull(argv[3], NULL, 10) : 42;
    bench_row *rows = bench_rows_make(n, seed);

    PGconn *pg = PQconnectdb(argv[1]);
    if (PQstatus(pg) != CONNECTION_OK)
        die(pg, "connect");
    exec_ok(pg, "SET client_min_messages = warning", PGRES_COMMAND_OK);
    exec_ok(pg, schema, PGRES_COMMAND_OK);
    copy_rows(pg, rows, n < 100 ? n : 100);
    exec_ok(pg, "TRUNCATE bench_floor", PGRES_COMMAND_OK);
    PQclear(PQexec(pg, "CHECKPOINT")); /* superusers only: without it, just go on */

    double t0 = bench_now_ms();
    copy_rows(pg, rows, n);
    double ms = bench_now_ms() - t0;

    exec_ok(pg, "DROP TABLE bench_floor", PGRES_COMMAND_OK);
    PQfinish(pg);
    free(rows);
    printf("{\"rows\": %zu, \"save_ms\": %.3f}\n", n, ms);
    return 0;
}
