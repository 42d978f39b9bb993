/*
 * test_bolsa_sqlmark.c: the statement markers' text cache: each statement normalized
 * once, found again by its SQL whatever its address, the oldest entry making room; and
 * the markers a session records from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gargalo.h"
#include "sqlmark.h"

static void test_cached_once(void **state)
{
    bolsa_sqlmark_cache cache = {0};
    const char *a = bolsa_sqlmark_text(&cache, "SELECT 'PETR4' FROM t", BOLSA_SQL_SQLITE);
    assert_string_equal(a, "SELECT ? FROM t");
    char copy[] = "SELECT 'PETR4' FROM t"; /* the same statement elsewhere: the same entry */
    assert_ptr_equal(bolsa_sqlmark_text(&cache, copy, BOLSA_SQL_SQLITE), a);
    bolsa_sqlmark_cache_free(&cache);
    bolsa_sqlmark_cache_free(&cache); /* emptied: freeing again is harmless */
}

/* A buffer that held one statement and now holds another gets the other's text. */
static void test_found_by_text_not_address(void **state)
{
    bolsa_sqlmark_cache cache = {0};
    char buf[64];
    strcpy(buf, "INSERT INTO v VALUES (1)");
    assert_string_equal(bolsa_sqlmark_text(&cache, buf, BOLSA_SQL_POSTGRES),
                        "INSERT INTO v VALUES (?)");
    strcpy(buf, "DELETE FROM t WHERE x = 'a'");
    assert_string_equal(bolsa_sqlmark_text(&cache, buf, BOLSA_SQL_POSTGRES),
                        "DELETE FROM t WHERE x = ?");
    bolsa_sqlmark_cache_free(&cache);
}

/* More statements than entries: every text still right, the oldest made room. */
static void test_oldest_makes_room(void **state)
{
    bolsa_sqlmark_cache cache = {0};
    char sql[64], want[64];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3 * BOLSA_SQLMARK_CACHE; i++) {
            snprintf(sql, sizeof(sql), "SELECT c%d FROM t WHERE x = %d", i, i);
            snprintf(want, sizeof(want), "SELECT c%d FROM t WHERE x = ?", i);
            assert_string_equal(bolsa_sqlmark_text(&cache, sql, BOLSA_SQL_SQLITE), want);
        }
    for (int i = 0; i < BOLSA_SQLMARK_CACHE; i++)
        assert_non_null(cache.entry[i].text);
    bolsa_sqlmark_cache_free(&cache);
}

/* With a session on the thread, markers carry the normalized texts and nest. */
static void test_markers_recorded(void **state)
{
    bolsa_sqlmark_cache cache = {0};
    gargalo_session *s;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    bolsa_sqlmark_begin_cached(&cache, "COPY t FROM STDIN", BOLSA_SQL_POSTGRES);
    bolsa_sqlmark_call("PQputCopyData");
    bolsa_sqlmark_end();
    bolsa_sqlmark_end();
    bolsa_sqlmark_begin("SELECT 42", BOLSA_SQL_SQLITE);
    bolsa_sqlmark_end();
    bolsa_sqlmark_begin_text(NULL);
    bolsa_sqlmark_end();
    assert_int_equal(gargalo_stop(s), 0);
    char *json;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_JSON, NULL, &json, &len), 0);
    static const char *const want[] = {"\"libpq\",\"PQputCopyData\"",
                                       "\"sql\",\"COPY t FROM STDIN\"", "\"sql\",\"SELECT ?\"",
                                       "\"sql\",\"?\""};
    const char *at = strstr(json, "\"markers\"");
    assert_non_null(at);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *found = strstr(at, want[i]);
        if (!found)
            fail_msg("%s not after the previous marker in %s", want[i],
                     strstr(json, "\"markers\""));
        at = found;
    }
    assert_null(strstr(json, "SELECT 42"));
    free(json);
    gargalo_session_free(s);
    bolsa_sqlmark_cache_free(&cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cached_once),
        cmocka_unit_test(test_found_by_text_not_address),
        cmocka_unit_test(test_oldest_makes_room),
        cmocka_unit_test(test_markers_recorded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
