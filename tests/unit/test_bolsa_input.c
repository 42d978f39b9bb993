/*
 * test_bolsa_input.c: validation of the POST body and of the query parameters: every
 * kind of bad input gets the right error type and loc, good input the right values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "input.h"

#define MAX_ROWS 1000

/* Validates body and checks the error's code and loc (loc2 may be NULL). */
static void expect_body_error(const char *body, bolsa_errcode code, const char *loc1,
                              const char *loc2)
{
    bolsa_tx_input in;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_tx_body(body, strlen(body), MAX_ROWS, &in, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.loc[0], "body");
    assert_string_equal(err.loc[1], loc1 ? loc1 : "");
    assert_string_equal(err.loc[2], loc2 ? loc2 : "");
    assert_non_null(err.msg[0] ? err.msg : NULL);
    assert_null(in.tickers);
}

static void test_good_body(void **state)
{
    const char *body =
        "{\"ativos\": [\"PETR4\", \"VALE3\", \"B3SA3\"], \"quantidadeAtivos\": 50000}";
    bolsa_tx_input in;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_tx_body(body, strlen(body), 100000, &in, &err), BOLSA_E_OK);
    assert_int_equal(err.code, BOLSA_E_OK);
    assert_int_equal(in.n_tickers, 3);
    assert_string_equal(in.tickers[0], "PETR4");
    assert_string_equal(in.tickers[2], "B3SA3");
    assert_int_equal(in.count, 50000);
    assert_false(in.has_seed);
    bolsa_tx_input_free(&in);
}

static void test_seed(void **state)
{
    const char *body = "{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1, \"seed\": 42}";
    bolsa_tx_input in;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_tx_body(body, strlen(body), MAX_ROWS, &in, &err), 0);
    assert_true(in.has_seed);
    assert_int_equal(in.seed, 42);
    bolsa_tx_input_free(&in);
    body = "{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1, \"seed\": null}";
    assert_int_equal(bolsa_input_tx_body(body, strlen(body), MAX_ROWS, &in, &err), 0);
    assert_false(in.has_seed);
    bolsa_tx_input_free(&in);
}

static void test_limits_inclusive(void **state)
{
    const char *body = "{\"ativos\": [\"ABCDEFGHIJ12\"], \"quantidadeAtivos\": 1000}";
    bolsa_tx_input in;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_tx_body(body, strlen(body), MAX_ROWS, &in, &err), 0);
    assert_int_equal(in.count, MAX_ROWS);
    assert_string_equal(in.tickers[0], "ABCDEFGHIJ12");
    bolsa_tx_input_free(&in);
}

static void test_body_not_json(void **state)
{
    expect_body_error("{", BOLSA_E_JSON_INVALID, "1", NULL);
    expect_body_error("{\"ativos\": [\"A\"],}", BOLSA_E_JSON_INVALID, "18", NULL);
    expect_body_error("", BOLSA_E_MISSING, NULL, NULL);
    assert_int_equal(bolsa_error_status(BOLSA_E_JSON_INVALID), 400);
}

static void test_body_not_object(void **state)
{
    expect_body_error("[]", BOLSA_E_OBJECT_TYPE, NULL, NULL);
    expect_body_error("42", BOLSA_E_OBJECT_TYPE, NULL, NULL);
    expect_body_error("\"x\"", BOLSA_E_OBJECT_TYPE, NULL, NULL);
}

static void test_ativos_errors(void **state)
{
    expect_body_error("{\"quantidadeAtivos\": 1}", BOLSA_E_MISSING, "ativos", NULL);
    expect_body_error("{\"ativos\": \"PETR4\", \"quantidadeAtivos\": 1}", BOLSA_E_LIST_TYPE,
                      "ativos", NULL);
    expect_body_error("{\"ativos\": null, \"quantidadeAtivos\": 1}", BOLSA_E_LIST_TYPE, "ativos",
                      NULL);
    expect_body_error("{\"ativos\": [], \"quantidadeAtivos\": 1}", BOLSA_E_TOO_SHORT, "ativos",
                      NULL);
    expect_body_error("{\"ativos\": [\"A\", 7], \"quantidadeAtivos\": 1}", BOLSA_E_STRING_TYPE,
                      "ativos", "1");
}

static void test_ticker_pattern(void **state)
{
    static const char *const bad[] = {"petr4",        "",       "ABCDEFGHIJ123", "PE TR", "PETR-4",
                                      "PETR\\u00004", "\\u00c9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"ativos\": [\"OK\", \"%s\"], \"quantidadeAtivos\": 1}",
                 bad[i]);
        expect_body_error(body, BOLSA_E_PATTERN, "ativos", "1");
    }
    assert_true(bolsa_input_is_ticker("Z9", 2));
    assert_false(bolsa_input_is_ticker("Z9", 0));
}

static void test_count_errors(void **state)
{
    const char *f = "quantidadeAtivos";
    expect_body_error("{\"ativos\": [\"A\"]}", BOLSA_E_MISSING, f, NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1.5}", BOLSA_E_INT_TYPE, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 2.0}", BOLSA_E_INT_TYPE, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": true}", BOLSA_E_INT_TYPE, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": \"5\"}", BOLSA_E_INT_TYPE, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": null}", BOLSA_E_INT_TYPE, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 0}", BOLSA_E_GREATER_THAN, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": -3}", BOLSA_E_GREATER_THAN, f,
                      NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1001}", BOLSA_E_LESS_EQUAL, f,
                      NULL);
}

/* Integers past 64 bits are valid JSON: a 422 naming the field, never a 400. */
static void test_huge_integers(void **state)
{
    const char *f = "quantidadeAtivos";
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 99999999999999999999}",
                      BOLSA_E_LESS_EQUAL, f, NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": -99999999999999999999}",
                      BOLSA_E_GREATER_THAN, f, NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1, "
                      "\"seed\": 99999999999999999999}",
                      BOLSA_E_LESS_EQUAL, "seed", NULL);
    /* Another field too big does not make a fraction acceptable. */
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1.5, "
                      "\"zzz\": 99999999999999999999}",
                      BOLSA_E_INT_TYPE, f, NULL);
    bolsa_tx_input in;
    bolsa_error err = {0};
    const char *ok = "{\"ativos\": [\"A\"], \"quantidadeAtivos\": 7, "
                     "\"other\": 99999999999999999999}";
    assert_int_equal(bolsa_input_tx_body(ok, strlen(ok), MAX_ROWS, &in, &err), BOLSA_E_EXTRA);
    assert_string_equal(err.loc[1], "other");
}

static void test_seed_and_extra_errors(void **state)
{
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1, \"seed\": \"7\"}",
                      BOLSA_E_INT_TYPE, "seed", NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1, \"seed\": 1.5}",
                      BOLSA_E_INT_TYPE, "seed", NULL);
    expect_body_error("{\"ativos\": [\"A\"], \"quantidadeAtivos\": 1, \"extra\": 1}", BOLSA_E_EXTRA,
                      "extra", NULL);
    /* Field errors come before extra fields, as pydantic lists them. */
    expect_body_error("{\"zzz\": 1, \"ativos\": [], \"quantidadeAtivos\": 1}", BOLSA_E_TOO_SHORT,
                      "ativos", NULL);
}

/* A C string as decoded input, and a literal that may hold NUL bytes ("a\0b"). */
#define TEXT(s) bolsa_text_of(s)
#define BYTES(lit) ((bolsa_text){lit, sizeof(lit) - 1})

static void test_strategy(void **state)
{
    bolsa_strategy s;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_strategy(TEXT(NULL), &s, &err), 0);
    assert_int_equal(s, BOLSA_SAVE_CHUNKED);
    assert_int_equal(bolsa_input_strategy(TEXT("naive"), &s, &err), 0);
    assert_int_equal(s, BOLSA_SAVE_NAIVE);
    assert_string_equal(bolsa_strategy_name(s), "naive");
    assert_int_equal(bolsa_input_strategy(TEXT("chunked"), &s, &err), 0);
    assert_int_equal(s, BOLSA_SAVE_CHUNKED);
    assert_int_equal(bolsa_input_strategy(TEXT("Naive"), &s, &err), BOLSA_E_ENUM);
    assert_string_equal(err.loc[0], "query");
    assert_string_equal(err.loc[1], "save_strategy");
    /* ?save_strategy=naive%00x: the NUL does not end the value. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_input_strategy(BYTES("naive\0x"), &s, &err), BOLSA_E_ENUM);
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_input_strategy(BYTES("naive\0"), &s, &err), BOLSA_E_ENUM);
}

static void test_list_query_defaults(void **state)
{
    bolsa_list_query q;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_list_query(TEXT(NULL), TEXT(NULL), TEXT(NULL), &q, &err), 0);
    assert_null(q.ativo);
    assert_int_equal(q.limit, 100);
    assert_int_equal(q.after_id, 0);
    assert_int_equal(bolsa_input_list_query(TEXT("PETR4"), TEXT("1000"), TEXT("123"), &q, &err), 0);
    assert_string_equal(q.ativo, "PETR4");
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.after_id, 123);
    assert_int_equal(bolsa_input_list_query(TEXT(NULL), TEXT("1"), TEXT("0"), &q, &err), 0);
    assert_int_equal(q.limit, 1);
}

/* Checks one bad query: error code and loc ["query", name]. */
static void expect_query_error(bolsa_text ativo, bolsa_text limit, bolsa_text after_id,
                               bolsa_errcode code, const char *name)
{
    bolsa_list_query q;
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_list_query(ativo, limit, after_id, &q, &err), code);
    assert_string_equal(err.loc[0], "query");
    assert_string_equal(err.loc[1], name);
    assert_int_equal(bolsa_error_status(code), 422);
}

static void test_list_query_errors(void **state)
{
    bolsa_text none = TEXT(NULL);
    expect_query_error(none, TEXT("0"), none, BOLSA_E_GREATER_THAN, "limit");
    expect_query_error(none, TEXT("1001"), none, BOLSA_E_LESS_EQUAL, "limit");
    expect_query_error(none, TEXT("ten"), none, BOLSA_E_INT_TYPE, "limit");
    expect_query_error(none, TEXT(""), none, BOLSA_E_INT_TYPE, "limit");
    expect_query_error(none, TEXT(" 5"), none, BOLSA_E_INT_TYPE, "limit");
    expect_query_error(none, TEXT("5.0"), none, BOLSA_E_INT_TYPE, "limit");
    expect_query_error(none, TEXT("99999999999999999999"), none, BOLSA_E_INT_TYPE, "limit");
    expect_query_error(none, BYTES("5\0"), none, BOLSA_E_INT_TYPE, "limit");
    expect_query_error(none, none, TEXT("-1"), BOLSA_E_GREATER_THAN, "after_id");
    expect_query_error(none, none, TEXT("x1"), BOLSA_E_INT_TYPE, "after_id");
    expect_query_error(none, none,
                       BYTES("1\0"
                             "9"),
                       BOLSA_E_INT_TYPE, "after_id");
    expect_query_error(TEXT("petr4"), none, none, BOLSA_E_PATTERN, "ativo");
    expect_query_error(TEXT(""), none, none, BOLSA_E_PATTERN, "ativo");
    expect_query_error(BYTES("PETR4\0x"), none, none, BOLSA_E_PATTERN, "ativo");
}

static bolsa_errcode parse_int(const char *s, int64_t *v)
{
    return bolsa_input_parse_int(s, strlen(s), v);
}

static void test_parse_int(void **state)
{
    int64_t v;
    assert_int_equal(parse_int("-42", &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(parse_int("+7", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(parse_int("9223372036854775807", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(parse_int("-9223372036854775808", &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(parse_int("9223372036854775808", &v), BOLSA_E_INT_TYPE);
    assert_int_equal(parse_int("-9223372036854775809", &v), BOLSA_E_INT_TYPE);
    assert_int_equal(parse_int("-", &v), BOLSA_E_INT_TYPE);
    assert_int_equal(parse_int("12a", &v), BOLSA_E_INT_TYPE);
    assert_int_equal(parse_int("", &v), BOLSA_E_INT_TYPE);
    assert_int_equal(parse_int("0x10", &v), BOLSA_E_INT_TYPE);
    assert_int_equal(bolsa_input_parse_int("12\0", 3, &v), BOLSA_E_INT_TYPE);
    /* Only len bytes are read: the same text, cut short, is a number. */
    assert_int_equal(bolsa_input_parse_int("12\0", 2, &v), 0);
    assert_int_equal(v, 12);
}

static void test_parse_decimal(void **state)
{
    static const struct {
        const char *s;
        double v;
    } good[] = {{"16", 16}, {"0.05", 0.05}, {"100", 100}, {"007.50", 7.5}, {"0", 0}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        double v = -1;
        assert_int_equal(bolsa_input_parse_decimal(good[i].s, strlen(good[i].s), &v), BOLSA_E_OK);
        assert_true(v == good[i].v);
    }
    /* What strtod takes and a decimal is not, and what a NUL would hide. */
    static const char *const bad[] = {"0x10", "1e1", "inf", "nan",   "-1",  "+1",    " 1", "1 ",
                                      "1.",   ".5",  "",    "1.2.3", "1,5", "0x1p4", "INF"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double v = -1;
        assert_int_equal(bolsa_input_parse_decimal(bad[i], strlen(bad[i]), &v),
                         BOLSA_E_QUERY_INVALID);
        assert_true(v == -1);
    }
    double v = -1;
    assert_int_equal(bolsa_input_parse_decimal("16\0", 3, &v), BOLSA_E_QUERY_INVALID);
}

static void test_parse_bool(void **state)
{
    static const char *const yes[] = {"1", "true", "yes", "on", "TRUE", "Yes", "ON"};
    static const char *const no[] = {"0", "false", "no", "off", "FALSE", "No", "Off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        int v = -1;
        assert_int_equal(bolsa_input_parse_bool(yes[i], strlen(yes[i]), &v), BOLSA_E_OK);
        assert_int_equal(v, 1);
        assert_int_equal(bolsa_input_parse_bool(no[i], strlen(no[i]), &v), BOLSA_E_OK);
        assert_int_equal(v, 0);
    }
    static const char *const bad[] = {"", "2", "maybe", "y", "n", "truee", " on", "o"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int v = 7;
        assert_int_equal(bolsa_input_parse_bool(bad[i], strlen(bad[i]), &v), BOLSA_E_ENUM);
        assert_int_equal(v, 7); /* untouched on error */
    }
    int v = 7;
    assert_int_equal(bolsa_input_parse_bool("true\0x", 6, &v), BOLSA_E_ENUM);
    assert_int_equal(bolsa_input_parse_bool("on\0", 3, &v), BOLSA_E_ENUM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_body),         cmocka_unit_test(test_seed),
        cmocka_unit_test(test_limits_inclusive),  cmocka_unit_test(test_body_not_json),
        cmocka_unit_test(test_body_not_object),   cmocka_unit_test(test_ativos_errors),
        cmocka_unit_test(test_ticker_pattern),    cmocka_unit_test(test_count_errors),
        cmocka_unit_test(test_huge_integers),     cmocka_unit_test(test_seed_and_extra_errors),
        cmocka_unit_test(test_strategy),          cmocka_unit_test(test_list_query_defaults),
        cmocka_unit_test(test_list_query_errors), cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_parse_decimal),     cmocka_unit_test(test_parse_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
