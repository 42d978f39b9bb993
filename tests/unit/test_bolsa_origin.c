/*
 * test_bolsa_origin.c: which Origin is the server's own for a given Host header, and
 * which Content-Type a body that writes may have.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "input.h"
#include "origin.h"

static void test_own_origin(void **state)
{
    assert_true(bolsa_origin_is_own("http://127.0.0.1:8000", "127.0.0.1:8000"));
    assert_true(bolsa_origin_is_own("http://bolsa.example", "bolsa.example"));
    assert_true(bolsa_origin_is_own("http://bolsa.example:80", "bolsa.example"));
    assert_true(bolsa_origin_is_own("https://bolsa.example", "bolsa.example"));
    assert_true(bolsa_origin_is_own("https://Bolsa.Example", "bolsa.example:443"));
    assert_true(bolsa_origin_is_own("HTTP://[::1]:8000", "[::1]:8000"));
    /* The loopback server's names stand for one another, on the same port. */
    assert_true(bolsa_origin_is_own("http://localhost:8000", "127.0.0.1:8000"));
    assert_true(bolsa_origin_is_own("http://127.0.0.1:8000", "localhost:8000"));
    assert_true(bolsa_origin_is_own("http://[::1]:8000", "127.0.0.1:8000"));
}

static void test_other_origins(void **state)
{
    static const char *const origins[] = {"http://evil.example",
                                          "http://127.0.0.1:8001",
                                          "http://127.0.0.1",
                                          "null",
                                          "file://",
                                          "ftp://127.0.0.1:8000",
                                          "http://127.0.0.1:8000/x",
                                          "http://u@127.0.0.1:8000",
                                          "http://127.0.0.2:8000",
                                          "http://127.0.0.1:8000:1",
                                          "http://127.0.0.1:x",
                                          "http://:8000",
                                          "http://[::1:8000",
                                          "http://127.0.0.1:99999",
                                          "",
                                          "http://localhost.evil:8000"};
    for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
        if (bolsa_origin_is_own(origins[i], "127.0.0.1:8000"))
            fail_msg("%s taken as the server's own", origins[i]);
    }
    /* Another port of the same host is another origin, even on loopback. */
    assert_false(bolsa_origin_is_own("http://localhost:3000", "localhost:8000"));
    assert_false(bolsa_origin_is_own("https://bolsa.example", "bolsa.example:80"));
    /* Without a Host header there is nothing to be the same as. */
    assert_false(bolsa_origin_is_own("http://127.0.0.1:8000", NULL));
    assert_false(bolsa_origin_is_own("http://127.0.0.1:8000", ""));
}

static void test_content_type(void **state)
{
    static const char *const good[] = {"application/json", "application/json; charset=utf-8",
                                       "Application/JSON", " application/json ;charset=UTF-8",
                                       "application/json;"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        bolsa_error err = {0};
        assert_int_equal(bolsa_input_content_type(good[i], &err), BOLSA_E_OK);
    }
    static const char *const bad[] = {"text/plain",
                                      "text/plain; charset=utf-8",
                                      "application/x-www-form-urlencoded",
                                      "multipart/form-data; boundary=x",
                                      "application/jsonx",
                                      "application/json-seq",
                                      "text/json",
                                      "",
                                      "application"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bolsa_error err = {0};
        assert_int_equal(bolsa_input_content_type(bad[i], &err), BOLSA_E_UNSUPPORTED_MEDIA);
        assert_string_equal(err.loc[0], "header");
        assert_string_equal(err.loc[1], "content-type");
    }
    bolsa_error err = {0};
    assert_int_equal(bolsa_input_content_type(NULL, &err), BOLSA_E_UNSUPPORTED_MEDIA);
    assert_int_equal(bolsa_error_status(err.code), 415);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_origin),
        cmocka_unit_test(test_other_origins),
        cmocka_unit_test(test_content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
