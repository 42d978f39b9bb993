/*
 * test_bolsa_store_sqlite.c: the SQLite backend and the pool on a temporary file: both
 * save strategies, all-or-nothing chunked saves, naive saves' partial commits, keyset
 * pagination, the summary, migrations, and concurrent saves through the pool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gargalo.h"
#include "generate.h"
#include "store.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    char url[160];
    void *conn;
} fixture;

static const char tickers[3][BOLSA_TICKER_MAX + 1] = {"PETR4", "VALE3", "B3SA3"};
static const bolsa_store_backend *be = &bolsa_store_sqlite;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/bolsa-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
    bolsa_error err = {0};
    assert_int_equal(be->connect(f->url, &f->conn, &err), 0);
    assert_int_equal(be->migrate(f->conn, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->conn)
        be->disconnect(f->conn);
    char p[200];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int64_t count_rows(fixture *f)
{
    int64_t n = -1;
    bolsa_error err = {0};
    assert_int_equal(be->count(f->conn, &n, &err), 0);
    return n;
}

static int save_generated(fixture *f, bolsa_strategy s, uint64_t n, bolsa_save_result *res)
{
    bolsa_gen g;
    bolsa_gen_init(&g, tickers, 3, n, 42);
    bolsa_row_source src = bolsa_gen_source(&g);
    bolsa_error err = {0};
    return be->save(f->conn, s, &src, res, &err);
}

static void test_chunked_saves_all(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    /* Two full chunks and a tail. */
    assert_int_equal(save_generated(f, BOLSA_SAVE_CHUNKED, 1234, &res), 0);
    assert_true(res.saved == 1234);
    assert_int_equal(count_rows(f), 1234);
    assert_int_equal(save_generated(f, BOLSA_SAVE_CHUNKED, 500, &res), 0);
    assert_int_equal(count_rows(f), 1734);
}

static void test_naive_saves_all(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    assert_int_equal(save_generated(f, BOLSA_SAVE_NAIVE, 777, &res), 0);
    assert_true(res.saved == 777);
    assert_int_equal(count_rows(f), 777);
}

/* A source that produces good rows, except a bad one (empty ticker, refused by the
 * table's CHECK) at index bad_at. */
typedef struct faulty {
    uint64_t next_index, total, bad_at;
} faulty;

static size_t faulty_next(void *ctx, bolsa_row *rows, size_t cap)
{
    faulty *s = ctx;
    size_t n = 0;
    for (; n < cap && s->next_index < s->total; n++, s->next_index++) {
        strcpy(rows[n].ativo, s->next_index == s->bad_at ? "" : "PETR4");
        rows[n].valor_cents = 1234;
    }
    return n;
}

static int save_faulty(fixture *f, bolsa_strategy s, uint64_t total, uint64_t bad_at,
                       bolsa_save_result *res, bolsa_error *err)
{
    faulty ctx = {0, total, bad_at};
    bolsa_row_source src = {faulty_next, &ctx};
    return be->save(f->conn, s, &src, res, err);
}

static void test_chunked_failure_saves_nothing(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    bolsa_error err = {0};
    /* Fails in the third full chunk, after 1000 rows were inserted in the transaction. */
    assert_int_equal(save_faulty(f, BOLSA_SAVE_CHUNKED, 2000, 1200, &res, &err), BOLSA_E_DB_ERROR);
    assert_non_null(strstr(err.msg, "CHECK"));
    assert_true(res.saved == 0);
    assert_int_equal(count_rows(f), 0);
    /* And in the tail. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(save_faulty(f, BOLSA_SAVE_CHUNKED, 1100, 1050, &res, &err), BOLSA_E_DB_ERROR);
    assert_int_equal(count_rows(f), 0);
    /* The connection is usable afterwards: no transaction was left open. */
    assert_int_equal(save_faulty(f, BOLSA_SAVE_CHUNKED, 10, 99, &res, &err), 0);
    assert_int_equal(count_rows(f), 10);
}

static void test_naive_failure_keeps_earlier_rows(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    bolsa_error err = {0};
    /* Not atomic, by design: each row was committed on its own before the bad one. */
    assert_int_equal(save_faulty(f, BOLSA_SAVE_NAIVE, 1000, 700, &res, &err), BOLSA_E_DB_ERROR);
    assert_true(res.saved == 700);
    assert_int_equal(count_rows(f), 700);
}

static size_t list_page(fixture *f, const char *ativo, int64_t after, int limit, bolsa_tx *out)
{
    bolsa_list_query q = {ativo, after, limit};
    size_t n = 0;
    bolsa_error err = {0};
    assert_int_equal(be->list(f->conn, &q, out, &n, &err), 0);
    return n;
}

static void test_list_pagination(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    assert_int_equal(save_generated(f, BOLSA_SAVE_CHUNKED, 250, &res), 0);
    static bolsa_tx page[100];
    int64_t after = 0, seen = 0;
    size_t n, pages = 0;
    while ((n = list_page(f, NULL, after, 100, page)) > 0) {
        for (size_t i = 0; i < n; i++) {
            assert_true(page[i].id > after); /* strictly increasing, none repeated */
            after = page[i].id;
            assert_in_range(page[i].valor_cents, 100, 10000);
            assert_int_equal(strlen(page[i].created_at), 24); /* 2026-11-25T08:00:00.123Z */
            assert_int_equal(page[i].created_at[10], 'T');
            assert_int_equal(page[i].created_at[23], 'Z');
        }
        seen += (int64_t)n;
        pages++;
    }
    assert_int_equal(seen, 250);
    assert_int_equal(pages, 3);
}

static void test_list_filter(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    assert_int_equal(save_generated(f, BOLSA_SAVE_CHUNKED, 300, &res), 0);
    static bolsa_tx page[1000];
    int64_t total = 0;
    for (int k = 0; k < 3; k++) {
        size_t n = list_page(f, tickers[k], 0, 1000, page);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(page[i].ativo, tickers[k]);
        total += (int64_t)n;
        /* after_id skips exactly the rows at or below it. */
        if (n > 1)
            assert_int_equal(list_page(f, tickers[k], page[0].id, 1000, page), n - 1);
    }
    assert_int_equal(total, 300);
    assert_int_equal(list_page(f, "NONE", 0, 10, page), 0);
}

/* Rows with known values: A at R$1.00 and R$3.01, B at R$100.00. */
static size_t known_next(void *ctx, bolsa_row *rows, size_t cap)
{
    int *done = ctx;
    if (*done)
        return 0;
    *done = 1;
    rows[0] = (bolsa_row){"A", 100};
    rows[1] = (bolsa_row){"B", 10000};
    rows[2] = (bolsa_row){"A", 301};
    return 3;
}

static void test_summary_and_cents(void **state)
{
    fixture *f = *state;
    int done = 0;
    bolsa_row_source src = {known_next, &done};
    bolsa_save_result res;
    bolsa_error err = {0};
    assert_int_equal(be->save(f->conn, BOLSA_SAVE_CHUNKED, &src, &res, &err), 0);
    bolsa_summary_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(be->summary(f->conn, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].ativo, "A");
    assert_int_equal(rows[0].count, 2);
    assert_int_equal(rows[0].min_cents, 100);
    assert_int_equal(rows[0].max_cents, 301);
    assert_float_equal(rows[0].mean, 2.005, 1e-9);
    assert_string_equal(rows[1].ativo, "B");
    assert_int_equal(rows[1].max_cents, 10000);
    free(rows);
    bolsa_tx page[3];
    assert_int_equal(list_page(f, "A", 0, 3, page), 2);
    assert_int_equal(page[1].valor_cents, 301);
}

static void test_summary_empty(void **state)
{
    fixture *f = *state;
    bolsa_summary_row *rows = (bolsa_summary_row *)1;
    size_t n = 9;
    bolsa_error err = {0};
    assert_int_equal(be->summary(f->conn, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    free(rows);
}

static int user_version(fixture *f)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_migrate_idempotent_and_versioned(void **state)
{
    fixture *f = *state;
    bolsa_error err = {0};
    int v = user_version(f);
    assert_true(v >= 1);
    bolsa_save_result res;
    assert_int_equal(save_generated(f, BOLSA_SAVE_CHUNKED, 10, &res), 0);
    assert_int_equal(be->migrate(f->conn, &err), 0);
    assert_int_equal(user_version(f), v);
    assert_int_equal(count_rows(f), 10);
    /* A database from a newer program is refused rather than misused. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(be->migrate(f->conn, &err), BOLSA_E_DB_ERROR);
    assert_non_null(strstr(err.msg, "newer"));
}

static void test_ping_and_open_failure(void **state)
{
    fixture *f = *state;
    bolsa_error err = {0};
    assert_int_equal(be->ping(f->conn, &err), 0);
    void *conn = NULL;
    assert_int_equal(be->connect("sqlite:/nonexistent-dir/x/y.db", &conn, &err),
                     BOLSA_E_DB_UNAVAILABLE);
    assert_null(conn);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/y.db"));
}

static void test_backend_for_url(void **state)
{
    const bolsa_store_backend *b = NULL;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_backend_for("sqlite:bolsa.db", &b, &err), 0);
    assert_ptr_equal(b, &bolsa_store_sqlite);
    assert_int_equal(bolsa_store_backend_for("sqlite:/abs/x.db", &b, &err), 0);
    assert_ptr_equal(b, &bolsa_store_sqlite);
    assert_int_equal(bolsa_store_backend_for("postgresql://u@h/db", &b, &err), 0);
    assert_ptr_equal(b, &bolsa_store_pg);
    assert_int_equal(bolsa_store_backend_for("postgres://h/db", &b, &err), 0);
    assert_ptr_equal(b, &bolsa_store_pg);
    assert_int_equal(bolsa_store_backend_for("mysql://h/db", &b, &err), BOLSA_E_CONFIG);
    assert_non_null(strstr(err.msg, "mysql://h/db"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_store_backend_for("sqlite:", &b, &err), BOLSA_E_CONFIG);
}

/* "?synchronous=full" or "=normal" after the path sets how commits sync; the file is the
 * path without it; anything else after a '?' is refused. */
static void test_synchronous_in_url(void **state)
{
    fixture *f = *state;
    static const char *const good[] = {"?synchronous=full", "?synchronous=NORMAL"};
    char url[256];
    struct stat st;
    for (int i = 0; i < 2; i++) {
        void *conn = NULL;
        bolsa_error err = {0};
        snprintf(url, sizeof(url), "sqlite:%s/s%d.db%s", f->dir, i, good[i]);
        assert_int_equal(be->connect(url, &conn, &err), 0);
        be->disconnect(conn);
        snprintf(url, sizeof(url), "%s/s%d.db", f->dir, i);
        assert_int_equal(stat(url, &st), 0);
        unlink(url);
        strcat(url, "-wal");
        unlink(url);
        strcpy(url + strlen(url) - 4, "-shm");
        unlink(url);
    }
    static const char *const bad[] = {"?synchronous=off", "?journal_mode=delete", "?"};
    for (int i = 0; i < 3; i++) {
        void *conn = NULL;
        bolsa_error err = {0};
        snprintf(url, sizeof(url), "sqlite:%s/bad.db%s", f->dir, bad[i]);
        assert_int_equal(be->connect(url, &conn, &err), BOLSA_E_CONFIG);
        assert_null(conn);
        assert_non_null(strstr(err.msg, "synchronous=normal or synchronous=full"));
    }
}

/* How many markers of the "sql" category a session has per text, as a JSON object the
 * caller frees; fails the test if two overlap (statements run one after another) or if a
 * bound value is anywhere in the session. */
static json_t *sql_markers(const gargalo_session *s)
{
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_JSON, NULL, &out, &len), 0);
    assert_null(strstr(out, "PETR4")); /* no bound value, anywhere */
    json_t *root = json_loadb(out, len, 0, NULL), *counts = json_object(), *m;
    free(out);
    size_t i;
    int64_t last_end = 0;
    json_array_foreach(json_object_get(root, "markers"), i, m)
    {
        if (strcmp(json_string_value(json_array_get(m, 3)), "sql") != 0)
            continue;
        const char *text = json_string_value(json_array_get(m, 4));
        json_int_t n = json_integer_value(json_object_get(counts, text));
        json_object_set_new(counts, text, json_integer(n + 1));
        assert_true(json_integer_value(json_array_get(m, 0)) >= last_end);
        last_end = json_integer_value(json_array_get(m, 1));
    }
    json_decref(root);
    return counts;
}

static void expect_count(json_t *counts, const char *text, json_int_t n)
{
    json_int_t got = json_integer_value(json_object_get(counts, text));
    if (got != n)
        fail_msg("%s: %lld markers, want %lld", text, (long long)got, (long long)n);
}

/* A session on the thread sees each statement the store runs as one "sql" marker, its
 * text normalized, in order. */
static void test_statements_are_marked(void **state)
{
    fixture *f = *state;
    bolsa_save_result res;
    bolsa_tx out[5];
    size_t n;
    bolsa_error err = {0};
    gargalo_session *s;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    assert_int_equal(save_generated(f, BOLSA_SAVE_CHUNKED, 1234, &res), 0);
    assert_int_equal(save_generated(f, BOLSA_SAVE_NAIVE, 3, &res), 0);
    bolsa_list_query q = {.ativo = "PETR4", .after_id = 0, .limit = 5};
    assert_int_equal(be->list(f->conn, &q, out, &n, &err), 0);
    assert_int_equal(be->ping(f->conn, &err), 0);
    assert_int_equal(gargalo_stop(s), 0);
    json_t *counts = sql_markers(s);
    static const char insert[] =
        "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?)";
    expect_count(counts, "BEGIN IMMEDIATE", 1);
    expect_count(
        counts,
        "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?) /* 500 rows */", 2);
    expect_count(
        counts,
        "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?) /* 234 rows */", 1);
    expect_count(counts, "COMMIT", 1);
    expect_count(counts, insert, 3);
    expect_count(counts,
                 "SELECT id, ativo, valor, created_at FROM transactions WHERE id > ?1 AND ativo = "
                 "?3 ORDER BY id LIMIT ?2",
                 1);
    expect_count(counts, "SELECT COUNT(*) FROM sqlite_schema", 1);
    assert_int_equal(json_object_size(counts), 7);
    json_decref(counts);
    gargalo_session_free(s);
}

typedef struct saver {
    bolsa_store *store;
    uint64_t seed;
    bolsa_errcode rc;
} saver;

static void *saver_run(void *arg)
{
    saver *s = arg;
    for (int i = 0; i < 5 && !s->rc; i++) {
        bolsa_gen g;
        bolsa_gen_init(&g, tickers, 3, 700, s->seed + (uint64_t)i);
        bolsa_row_source src = bolsa_gen_source(&g);
        bolsa_save_result res;
        bolsa_error err = {0};
        s->rc = bolsa_store_save(s->store, i % 2 ? BOLSA_SAVE_NAIVE : BOLSA_SAVE_CHUNKED, &src,
                                 &res, &err);
    }
    return NULL;
}

static void test_pool_concurrent_saves(void **state)
{
    /* Four threads over a pool of two: writers wait for each other (busy timeout) and for
     * a free connection, and every row arrives. */
    fixture *f = *state;
    bolsa_store *store;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open(&store, f->url, 2, &err), 0);
    assert_string_equal(bolsa_store_name(store), "sqlite");
    pthread_t th[4];
    saver sv[4];
    for (int i = 0; i < 4; i++) {
        sv[i] = (saver){store, (uint64_t)i * 100, 0};
        pthread_create(&th[i], NULL, saver_run, &sv[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(sv[i].rc, 0);
    }
    int64_t n = 0;
    assert_int_equal(bolsa_store_count(store, &n, &err), 0);
    assert_int_equal(n, 4 * 5 * 700);
    assert_int_equal(bolsa_store_ping(store, &err), 0);
    bolsa_list_query q = {NULL, 0, 5};
    bolsa_tx page[5];
    size_t got = 0;
    assert_int_equal(bolsa_store_list(store, &q, page, &got, &err), 0);
    assert_int_equal(got, 5);
    bolsa_summary_row *rows;
    assert_int_equal(bolsa_store_summary(store, &rows, &got, &err), 0);
    assert_int_equal(got, 3);
    free(rows);
    bolsa_store_close(store);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Saves leave their pages in the write-ahead log; the store's upkeep thread, not the
 * saving request, copies them into the database file soon after. */
static void test_upkeep_checkpoints_in_background(void **state)
{
    fixture *f = *state;
    bolsa_store *store;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open(&store, f->url, 1, &err), 0);
    off_t before = file_size(f->path);
    saver sv = {store, 0, 0};
    saver_run(&sv);
    assert_int_equal(sv.rc, 0);
    off_t after = before;
    for (int i = 0; i < 100 && after <= before; i++) {
        usleep(20000);
        after = file_size(f->path);
    }
    assert_true(after > before);
    bolsa_store_close(store);
}

static void test_pool_open_failure(void **state)
{
    bolsa_store *store = NULL;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open(&store, "sqlite:/nonexistent-dir/x.db", 2, &err),
                     BOLSA_E_DB_UNAVAILABLE);
    assert_null(store);
    memset(&err, 0, sizeof(err));
    assert_int_not_equal(bolsa_store_open(&store, "redis://x", 2, &err), 0);
    bolsa_store_close(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_chunked_saves_all),
        T(test_naive_saves_all),
        T(test_chunked_failure_saves_nothing),
        T(test_naive_failure_keeps_earlier_rows),
        T(test_list_pagination),
        T(test_list_filter),
        T(test_summary_and_cents),
        T(test_summary_empty),
        T(test_migrate_idempotent_and_versioned),
        T(test_ping_and_open_failure),
        T(test_backend_for_url),
        T(test_synchronous_in_url),
        T(test_statements_are_marked),
        T(test_pool_concurrent_saves),
        T(test_upkeep_checkpoints_in_background),
        cmocka_unit_test(test_pool_open_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
