/*
 * test_bolsa_profile_name.c: the names bolsa gives its profiles say what each is, read back
 * exactly; nothing but such a name is taken for one (the page of profiles serves only
 * those), and names of earlier versions are still bolsa's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "profile_name.h"

static void test_made_and_read_back(void **state)
{
    char name[BOLSA_PROFILE_NAME_MAX];
    bolsa_profile_meta meta = {"slow", "POST", "/api/v1/transaction", 201, 2345, 812};
    assert_int_equal(
        bolsa_profile_name_make(name, sizeof(name), 1764491234567ULL, 12, &meta, "html"), 0);
    assert_string_equal(name, "profile-1764491234567-12-slow-POST-api_v1_transaction-201-2345ms-"
                              "812samples.html");
    bolsa_profile_info info;
    assert_int_equal(bolsa_profile_name_parse(name, &info), 1);
    assert_true(info.described && info.ms == 1764491234567ULL && info.n == 12);
    assert_string_equal(info.how, "slow");
    assert_string_equal(info.method, "POST");
    assert_string_equal(info.route, "/api/v1/transaction");
    assert_int_equal(info.status, 201);
    assert_true(info.duration_ms == 2345 && info.samples == 812);
    assert_string_equal(info.ext, "html");
}

/* What a request may bring that a name must not carry: odd methods, no route, a route with
 * other characters, a status out of range. */
static void test_odd_requests_make_safe_names(void **state)
{
    char name[BOLSA_PROFILE_NAME_MAX];
    bolsa_profile_info info;
    bolsa_profile_meta meta = {"asked", "get/../x", NULL, 404, 1, 2};
    assert_int_equal(bolsa_profile_name_make(name, sizeof(name), 1, 2, &meta, "pb.gz"), 0);
    assert_string_equal(name, "profile-1-2-asked-OTHER-unmatched-404-1ms-2samples.pb.gz");
    assert_int_equal(bolsa_profile_name_parse(name, &info), 1);
    assert_string_equal(info.route, "");
    meta = (bolsa_profile_meta){"anything", "GET", "/a-b/c d", 999, 0, 0};
    assert_int_equal(bolsa_profile_name_make(name, sizeof(name), 1, 2, &meta, "speedscope.json"),
                     0);
    assert_string_equal(name, "profile-1-2-asked-GET-a_b_c_d-500-0ms-0samples.speedscope.json");
    assert_int_equal(bolsa_profile_name_make(name, 20, 1, 2, &meta, "txt"), -1);
}

static void test_earlier_names_are_still_bolsas(void **state)
{
    bolsa_profile_info info;
    assert_int_equal(bolsa_profile_name_parse("profile-1732523456789-3.json", &info), 1);
    assert_false(info.described);
    assert_true(info.ms == 1732523456789ULL && info.n == 3);
    assert_string_equal(info.ext, "json");
}

static void test_nothing_else_is(void **state)
{
    static const char *const bad[] = {
        "profile.html",
        "notes.txt",
        "profile-1-1.pdf",
        "profile-1-1.txt.bak",
        "profile-1-1.html/../x",
        "../profile-1-1.html",
        "profile--1.html",
        "profile-1-.html",
        "profile-x-1.html",
        "profile-1-1",
        "profile-1-1-asked-GET-health-200-1ms-1samples",
        "profile-1-1-other-GET-health-200-1ms-1samples.txt",
        "profile-1-1-asked-GET-health-099-1ms-1samples.txt",
        "profile-1-1-asked-GET-health-600-1ms-1samples.txt",
        "profile-1-1-asked-GET-he/lth-200-1ms-1samples.txt",
        "profile-1-1-asked-GET-he.lth-200-1ms-1samples.txt",
        "profile-1-1-asked-GET-health-200-1s-1samples.txt",
        "profile-1-1-asked-GET-health-200-1ms-1samples.txt ",
        "profile-1-1-asked-GET--200-1ms-1samples.txt",
        "profile-1-1-asked-GET-health-200-1ms-samples.txt",
        "profile-12345678901234567890-1.txt",
        "profile-1-1-asked-GET-health-200-1ms-1samples.txt.tmp",
        ".profile-1-1.txt.tmp",
        "",
    };
    bolsa_profile_info info;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bolsa_profile_name_parse(bad[i], &info))
            fail_msg("taken for a profile: '%s'", bad[i]);
    }
}

static void test_content_types(void **state)
{
    assert_string_equal(bolsa_profile_content_type("html"), "text/html; charset=utf-8");
    assert_string_equal(bolsa_profile_content_type("txt"), "text/plain; charset=utf-8");
    assert_string_equal(bolsa_profile_content_type("folded"), "text/plain; charset=utf-8");
    assert_string_equal(bolsa_profile_content_type("json"), "application/json");
    assert_string_equal(bolsa_profile_content_type("speedscope.json"), "application/json");
    assert_string_equal(bolsa_profile_content_type("pb.gz"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_made_and_read_back),
        cmocka_unit_test(test_odd_requests_make_safe_names),
        cmocka_unit_test(test_earlier_names_are_still_bolsas),
        cmocka_unit_test(test_nothing_else_is),
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
