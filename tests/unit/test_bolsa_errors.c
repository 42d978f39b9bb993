/*
 * test_bolsa_errors.c: the error table (status and type of each code), bolsa_error_set's
 * first-error-wins rule, the FastAPI-shaped JSON body, and how a server-side error's
 * detail goes to the log under an id instead of to the client; also timing.h: Server-Timing
 * and the timestamps rows carry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "errors.h"
#include "timing.h"

static void test_table(void **state)
{
    assert_int_equal(bolsa_error_status(BOLSA_E_JSON_INVALID), 400);
    assert_string_equal(bolsa_error_type(BOLSA_E_JSON_INVALID), "json_invalid");
    assert_int_equal(bolsa_error_status(BOLSA_E_PATTERN), 422);
    assert_string_equal(bolsa_error_type(BOLSA_E_PATTERN), "string_pattern_mismatch");
    assert_int_equal(bolsa_error_status(BOLSA_E_EXTRA), 422);
    assert_string_equal(bolsa_error_type(BOLSA_E_EXTRA), "extra_forbidden");
    assert_int_equal(bolsa_error_status(BOLSA_E_NOT_FOUND), 404);
    assert_int_equal(bolsa_error_status(BOLSA_E_METHOD), 405);
    assert_int_equal(bolsa_error_status(BOLSA_E_TOO_LARGE), 413);
    assert_int_equal(bolsa_error_status(BOLSA_E_UNSUPPORTED_MEDIA), 415);
    assert_int_equal(bolsa_error_status(BOLSA_E_CROSS_ORIGIN), 403);
    assert_string_equal(bolsa_error_type(BOLSA_E_CROSS_ORIGIN), "cross_origin");
    assert_int_equal(bolsa_error_status(BOLSA_E_URI_TOO_LONG), 414);
    assert_int_equal(bolsa_error_status(BOLSA_E_HEADERS_TOO_LARGE), 431);
    assert_int_equal(bolsa_error_status(BOLSA_E_TRANSFER_ENCODING), 501);
    assert_int_equal(bolsa_error_status(BOLSA_E_DB_UNAVAILABLE), 503);
    assert_int_equal(bolsa_error_status(BOLSA_E_INTERNAL), 500);
    assert_int_equal(bolsa_error_status(BOLSA_E_CONFIG), 500);
    assert_string_equal(bolsa_error_type(BOLSA_E_CONFIG), "invalid_setting");
    assert_int_equal(bolsa_error_status((bolsa_errcode)999), 500);
    assert_string_equal(bolsa_error_type((bolsa_errcode)-1), "internal_error");
}

static void test_first_error_wins(void **state)
{
    bolsa_error err = {0};
    assert_int_equal(
        bolsa_error_set(&err, BOLSA_E_MISSING, "body", "ativos", "Field %s", "required"),
        BOLSA_E_MISSING);
    assert_int_equal(bolsa_error_set(&err, BOLSA_E_EXTRA, "body", "x", "later"), BOLSA_E_EXTRA);
    assert_int_equal(err.code, BOLSA_E_MISSING);
    assert_string_equal(err.loc[1], "ativos");
    assert_string_equal(err.msg, "Field required");
    assert_int_equal(bolsa_error_set(NULL, BOLSA_E_NOMEM, NULL, NULL, "x"), BOLSA_E_NOMEM);
}

static void test_context_goes_in_front(void **state)
{
    bolsa_error err = {0};
    bolsa_error_context(&err, "nothing to say");
    assert_string_equal(err.msg, ""); /* no error, no context */
    bolsa_error_set(&err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL, "sqlite: cannot open '%s'", "x.db");
    bolsa_error_context(&err, "cannot open the database %s", "sqlite:x.db");
    assert_string_equal(err.msg,
                        "cannot open the database sqlite:x.db: sqlite: cannot open 'x.db'");
    assert_int_equal(err.code, BOLSA_E_DB_UNAVAILABLE);
    /* A start-up message keeps a whole 1023-byte path. */
    char path[1024];
    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    bolsa_error big = {0};
    bolsa_error_set(&big, BOLSA_E_CONFIG, NULL, NULL, "'%s' is not a writable directory", path);
    assert_non_null(strstr(big.msg, path));
    assert_non_null(strstr(big.msg, "writable"));
    /* A context too long for the message keeps its start, cut and terminated. */
    bolsa_error_context(&big, "%s%s", path, path);
    assert_int_equal(strlen(big.msg), sizeof(big.msg) - 1);
    assert_int_equal(strspn(big.msg, "p"), sizeof(big.msg) - 1);
}

static void test_long_loc_truncated(void **state)
{
    char name[200];
    memset(name, 'k', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_EXTRA, "body", name, "Extra inputs are not permitted");
    assert_int_equal(strlen(err.loc[1]), sizeof(err.loc[1]) - 1);
}

static json_t *parse_error_json(const bolsa_error *err)
{
    char *text = bolsa_error_json(err);
    assert_non_null(text);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

static void test_json_shape(void **state)
{
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_PATTERN, "body", "ativos", "String should match");
    strcpy(err.loc[2], "2");
    json_t *j = parse_error_json(&err);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "detail")), 1);
    json_t *loc = json_object_get(item, "loc");
    assert_int_equal(json_array_size(loc), 3);
    assert_string_equal(json_string_value(json_array_get(loc, 0)), "body");
    assert_string_equal(json_string_value(json_array_get(loc, 1)), "ativos");
    /* A list index is a number in FastAPI's loc. */
    assert_true(json_is_integer(json_array_get(loc, 2)));
    assert_int_equal(json_integer_value(json_array_get(loc, 2)), 2);
    assert_string_equal(json_string_value(json_object_get(item, "msg")), "String should match");
    assert_string_equal(json_string_value(json_object_get(item, "type")),
                        "string_pattern_mismatch");
    json_decref(j);
}

static void test_json_invalid_utf8(void **state)
{
    /* A client's field name cut inside a UTF-8 sequence must not lose the error body. */
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_EXTRA, "body", "caf\xc3", "bad \xff name");
    json_t *j = parse_error_json(&err);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(item, "loc"), 1)), "caf?");
    assert_string_equal(json_string_value(json_object_get(item, "msg")), "bad ? name");
    json_decref(j);
}

static void test_json_empty_loc(void **state)
{
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_NOT_FOUND, NULL, NULL, "Not Found");
    json_t *j = parse_error_json(&err);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    assert_int_equal(json_array_size(json_object_get(item, "loc")), 0);
    assert_string_equal(json_string_value(json_object_get(item, "type")), "not_found");
    json_decref(j);
}

/* Runs bolsa_error_conceal with stderr going to a file, and returns what it logged. */
static void conceal_logged(bolsa_error *err, const char *request, char *log, size_t size)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(f), STDERR_FILENO);
    bolsa_error_conceal(err, request);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);
    size_t n = fread(log, 1, size - 1, f);
    log[n] = '\0';
    fclose(f);
}

static void test_conceal_server_errors(void **state)
{
    static const char secret[] = "connection to server at \"10.1.2.3\", port 5433 failed:\n"
                                 "\tIs the server running?";
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL, "postgresql connect: %s", secret);
    char log[2048];
    conceal_logged(&err, "GET /health", log, sizeof(log));
    /* The client's message is plain, the id 16 hex digits. */
    assert_string_equal(err.msg, "The database is unavailable");
    assert_int_equal(strlen(err.id), 16);
    assert_int_equal(strspn(err.id, "0123456789abcdef"), 16);
    /* The log has it all, on one line, under the id. */
    assert_non_null(strstr(log, err.id));
    assert_non_null(strstr(log, "GET /health: database_unavailable: postgresql connect"));
    assert_non_null(strstr(log, "10.1.2.3"));
    assert_non_null(strstr(log, "Is the server running?"));
    assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
    /* Concealing twice changes nothing: the first id stays the one logged. */
    char id[BOLSA_ERROR_ID_SIZE];
    strcpy(id, err.id);
    conceal_logged(&err, "GET /health", log, sizeof(log));
    assert_string_equal(err.id, id);
    assert_string_equal(log, "");
    /* Another error gets another id. */
    bolsa_error other = {0};
    bolsa_error_set(&other, BOLSA_E_DB_ERROR, NULL, NULL, "sqlite: insert: disk I/O error");
    conceal_logged(&other, "POST /api/v1/transaction", log, sizeof(log));
    assert_string_equal(other.msg, "The database could not complete the request");
    assert_string_not_equal(other.id, id);
}

static void test_conceal_leaves_client_errors(void **state)
{
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_GREATER_THAN, "body", "quantidadeAtivos",
                    "Input should be greater than 0");
    char log[256];
    conceal_logged(&err, "POST /api/v1/transaction", log, sizeof(log));
    assert_string_equal(err.msg, "Input should be greater than 0");
    assert_string_equal(err.id, "");
    assert_string_equal(log, "");
    json_t *j = parse_error_json(&err);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    assert_null(json_object_get(item, "ctx"));
    json_decref(j);
}

static void test_json_of_concealed_error(void **state)
{
    bolsa_error err = {0};
    char log[2048];
    bolsa_error_set(&err, BOLSA_E_DB_UNAVAILABLE, NULL, NULL, "postgresql: secret host");
    conceal_logged(&err, "GET /api/v1/transaction", log, sizeof(log));
    json_t *j = parse_error_json(&err);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    char want[128];
    snprintf(want, sizeof(want), "The database is unavailable (error id %s)", err.id);
    assert_string_equal(json_string_value(json_object_get(item, "msg")), want);
    assert_string_equal(json_string_value(json_object_get(item, "type")), "database_unavailable");
    assert_int_equal(json_array_size(json_object_get(item, "loc")), 0);
    json_t *ctx = json_object_get(item, "ctx");
    assert_string_equal(json_string_value(json_object_get(ctx, "error_id")), err.id);
    char *text = bolsa_error_json(&err);
    assert_null(strstr(text, "secret"));
    free(text);
    json_decref(j);
}

static void test_timing_header(void **state)
{
    bolsa_timing t;
    bolsa_timing_start(&t);
    bolsa_timing_add(&t, "parse", 100000);
    bolsa_timing_add(&t, "db", 5000000);
    bolsa_timing_add(&t, "parse", 50000);
    char h[256];
    bolsa_timing_header(&t, h, sizeof(h));
    assert_non_null(strstr(h, "parse;dur=0.150, db;dur=5.000, total;dur="));
    /* Milliseconds with three decimals, rounded to the microsecond, any size. */
    bolsa_timing big = {.start_ns = bolsa_now_ns(), .n = 3};
    big.phase[0].name = "a", big.phase[0].ns = 0;
    big.phase[1].name = "b", big.phase[1].ns = 1499;
    big.phase[2].name = "c", big.phase[2].ns = 123456789012ULL;
    bolsa_timing_header(&big, h, sizeof(h));
    assert_non_null(strstr(h, "a;dur=0.000, b;dur=0.001, c;dur=123456.789, total;dur="));
    char tiny[10];
    bolsa_timing_header(&t, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    for (int i = 0; i < 20; i++)
        bolsa_timing_add(&t, i % 2 ? "a" : "b", 1);
    assert_true(t.n <= BOLSA_TIMING_MAX);
}

static void test_timestamp_format(void **state)
{
    char ts[BOLSA_TIMESTAMP_SIZE];
    bolsa_timestamp_format(0, 5, ts, sizeof(ts));
    assert_string_equal(ts, "1970-01-01T00:00:00.005Z");
    bolsa_timestamp_format(1764057600, 123, ts, sizeof(ts));
    assert_string_equal(ts, "2025-11-25T08:00:00.123Z");
    bolsa_timestamp_format(951782399, 1999, ts, sizeof(ts)); /* ms wraps: 999 */
    assert_string_equal(ts, "2000-02-28T23:59:59.999Z");
    char small[11];
    bolsa_timestamp_format(1764057600, 123, small, sizeof(small));
    assert_string_equal(small, "2025-11-25"); /* cut to size, still terminated */
}

static void test_timestamp_now(void **state)
{
    char before[BOLSA_TIMESTAMP_SIZE], now[BOLSA_TIMESTAMP_SIZE];
    bolsa_timestamp_format(time(NULL), 0, before, sizeof(before));
    bolsa_timestamp_now(now, sizeof(now));
    assert_int_equal(strlen(now), BOLSA_TIMESTAMP_SIZE - 1);
    assert_int_equal(now[10], 'T');
    assert_int_equal(now[23], 'Z');
    /* Same format, so text order is time order. */
    assert_true(strncmp(before, now, 19) <= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_context_goes_in_front),
        cmocka_unit_test(test_long_loc_truncated),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_json_empty_loc),
        cmocka_unit_test(test_conceal_server_errors),
        cmocka_unit_test(test_conceal_leaves_client_errors),
        cmocka_unit_test(test_json_of_concealed_error),
        cmocka_unit_test(test_timing_header),
        cmocka_unit_test(test_timestamp_format),
        cmocka_unit_test(test_timestamp_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
