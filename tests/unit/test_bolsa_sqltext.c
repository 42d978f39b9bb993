/*
 * test_bolsa_sqltext.c: statement texts as profiles show them: bolsa's own statements,
 * literals of every form replaced, comments and white space, placeholders and
 * identifiers kept, repeated rows and IN lists collapsed, long texts cut; and hostile
 * inputs (quotes never closed, escaped quotes, dollar quotes, nested comments) that must
 * never let a value through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqltext.h"

#define LITE BOLSA_SQL_SQLITE
#define PG BOLSA_SQL_POSTGRES

static void expect_text(bolsa_sql_dialect d, const char *sql, const char *want)
{
    char out[BOLSA_SQLTEXT_MAX + 1];
    size_t n = bolsa_sqltext_normalize(sql, d, out);
    if (strcmp(out, want) != 0)
        fail_msg("normalize(%s)\n  got  [%s]\n  want [%s]", sql, out, want);
    assert_int_equal(n, strlen(out));
}

/* "INSERT ... VALUES  (?1,?,?),(?1,?,?),..." as store_sqlite.c builds it for n rows. */
static char *bolsa_insert(size_t n)
{
    static const char head[] = "INSERT INTO transactions (created_at, ativo, valor) VALUES  ";
    char *sql = malloc(sizeof(head) + n * 9);
    strcpy(sql, head);
    for (size_t i = 0; i < n; i++)
        strcat(sql, i ? ",(?1,?,?)" : "(?1,?,?)");
    return sql;
}

static void test_bolsa_statements(void **state)
{
    char *one = bolsa_insert(1), *chunk = bolsa_insert(500);
    expect_text(LITE, one, "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?)");
    expect_text(LITE, chunk,
                "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?) "
                "/* 500 rows */");
    free(one);
    free(chunk);
    expect_text(LITE, "BEGIN IMMEDIATE", "BEGIN IMMEDIATE");
    expect_text(LITE, "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=67108864;",
                "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=?;");
    expect_text(LITE,
                "SELECT id, ativo, valor, created_at FROM transactions WHERE id > ?1 AND "
                "ativo = ?3 ORDER BY id LIMIT ?2",
                "SELECT id, ativo, valor, created_at FROM transactions WHERE id > ?1 AND "
                "ativo = ?3 ORDER BY id LIMIT ?2");
    expect_text(PG, "COPY transactions (ativo, valor) FROM STDIN",
                "COPY transactions (ativo, valor) FROM STDIN");
    expect_text(PG, "INSERT INTO transactions (ativo, valor) VALUES ($1, $2)",
                "INSERT INTO transactions (ativo, valor) VALUES ($1, $2)");
    expect_text(PG, "SELECT pg_advisory_xact_lock(422776173409)",
                "SELECT pg_advisory_xact_lock(?)");
    expect_text(LITE,
                "CREATE TABLE t (created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', "
                "'now')))",
                "CREATE TABLE t (created_at TEXT NOT NULL DEFAULT (strftime(?, ?)))");
}

static void test_strings(void **state)
{
    expect_text(LITE, "SELECT * FROM t WHERE a = 'PETR4' AND b = 'it''s' AND c = ''",
                "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?");
    expect_text(LITE, "SELECT X'0aFF', x 'a', x'', n", "SELECT ?, x ?, ?, n");
    /* SQLite has no backslash escapes: 'a\' is a whole literal. */
    expect_text(LITE, "SELECT 'a\\', 'b'", "SELECT ?, ?");
    /* PostgreSQL: E'' strings have them; standard ones do not. */
    expect_text(PG, "SELECT E'a\\'b PETR4', 'c\\' , 'd'", "SELECT ?, ? , ?");
    expect_text(PG, "SELECT e'\\\\', B'0101', N'x', U&'d\\0061t', u&'x' UESCAPE '!'",
                "SELECT ?, ?, ?, ?, ? UESCAPE ?");
    expect_text(PG, "SELECT 'one''two''' || 'three'", "SELECT ? || ?");
}

static void test_numbers(void **state)
{
    expect_text(LITE, "SELECT 10, 2.5e3, 0x1F, .5, 1e-5, 1E+10, 12abc, 3.",
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?");
    expect_text(LITE, "SELECT col1, t2.x3, _9 FROM t4 WHERE a-1 > -5",
                "SELECT col1, t2.x3, _9 FROM t4 WHERE a-? > -?");
    expect_text(PG, "SELECT 1_000_000, '1'::int4, $1::numeric(12,2)",
                "SELECT ?, ?::int4, $1::numeric(?,?)");
}

static void test_placeholders_and_identifiers(void **state)
{
    expect_text(LITE, "SELECT ?, ?1, ?23, :name, @v, $x, $1 FROM t",
                "SELECT ?, ?1, ?23, :name, @v, $x, $1 FROM t");
    expect_text(LITE, "SELECT \"Weird \"\"Name\"\"\", [a b], `c``d` FROM \"t 1\"",
                "SELECT \"Weird \"\"Name\"\"\", [a b], `c``d` FROM \"t 1\"");
    expect_text(LITE, "SELECT \"a\tb\nc\"", "SELECT \"a b c\"");
    /* In PostgreSQL [ is an array subscript, not a quote. */
    expect_text(PG, "SELECT a[1], \"x\"\"y\", foo$bar FROM t",
                "SELECT a[?], \"x\"\"y\", foo$bar FROM t");
    expect_text(LITE, "SELECT café, naïve1 FROM données", "SELECT café, naïve1 FROM données");
}

static void test_comments_and_space(void **state)
{
    expect_text(LITE, "SELECT 1 -- secret 42\nFROM t /* 'x' 7 */ WHERE a",
                "SELECT ? FROM t WHERE a");
    expect_text(LITE,
                "  SELECT\t\n  a,\r\n b\x01"
                "FROM t  \n",
                "SELECT a, b FROM t");
    expect_text(LITE, "SELECT a--x", "SELECT a");
    expect_text(PG, "/* a /* b 1 */ c 2 */ SELECT /**/ x", "SELECT x");
    /* SQLite's comments do not nest: the first close ends it. */
    expect_text(LITE, "/* a /* b */ SELECT x", "SELECT x");
    expect_text(LITE, "SELECT a /* never closed 'PETR4' 42", "SELECT a");
    expect_text(LITE, "SELECT a -- last line, no newline 'PETR4'", "SELECT a");
}

static void test_dollar_quotes(void **state)
{
    expect_text(PG, "SELECT $$it's 42$$, $tag$ x $$ y $tag$, $1, $a1$b$a1$", "SELECT ?, ?, $1, ?");
    expect_text(PG, "DO $body$ BEGIN PERFORM 'PETR4'; END $body$", "DO ?");
    /* SQLite has no dollar quotes: $a is a parameter there. */
    expect_text(LITE, "SELECT $a, $$", "SELECT $a, $$");
}

static void test_rows_and_in_lists(void **state)
{
    expect_text(LITE, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3,'c')",
                "INSERT INTO t VALUES (?, ?) /* 2 rows */, (?,?)");
    expect_text(LITE,
                "INSERT INTO t VALUES (?, ?), (?, ?), (?, DEFAULT), (?, DEFAULT) RETURNING id",
                "INSERT INTO t VALUES (?, ?) /* 2 rows */, (?, DEFAULT) /* 2 rows */ RETURNING id");
    expect_text(LITE, "INSERT INTO t VALUES (?, lower(?)),(?, lower(?)) ON CONFLICT DO NOTHING",
                "INSERT INTO t VALUES (?, lower(?)) /* 2 rows */ ON CONFLICT DO NOTHING");
    expect_text(LITE, "insert into t values (?)", "insert into t values (?)");
    expect_text(LITE, "SELECT * FROM t WHERE id IN (?, ?, ?) AND x in (1,2)",
                "SELECT * FROM t WHERE id IN (? /*, ... */) AND x in (? /*, ... */)");
    expect_text(PG, "SELECT * FROM t WHERE id IN ($1, $2) OR id IN ($3)",
                "SELECT * FROM t WHERE id IN ($1 /*, ... */) OR id IN ($3)");
    expect_text(LITE, "SELECT * FROM t WHERE id IN (SELECT a FROM u) AND b IN (?, c)",
                "SELECT * FROM t WHERE id IN (SELECT a FROM u) AND b IN (?, c)");
    /* Unbalanced or odd lists are left as they are. */
    expect_text(LITE, "VALUES (?, ?", "VALUES (?, ?");
    expect_text(LITE, "VALUES", "VALUES");
    expect_text(LITE, "SELECT a IN", "SELECT a IN");
    expect_text(LITE, "INSERT INTO \"VALUES\" VALUES ((?)),((?))",
                "INSERT INTO \"VALUES\" VALUES ((?)) /* 2 rows */");
}

static void test_quotes_never_closed(void **state)
{
    expect_text(LITE, "SELECT 'PETR4 secret", "SELECT ?");
    expect_text(LITE, "SELECT 'PETR4''", "SELECT ?");
    expect_text(LITE, "SELECT \"abc, 'PETR4'", "SELECT ?");
    expect_text(LITE, "SELECT \"abc\"\"", "SELECT ?");
    expect_text(LITE, "SELECT [abc 'PETR4'", "SELECT ?");
    expect_text(LITE, "SELECT `abc 42", "SELECT ?");
    expect_text(PG, "SELECT $x$ secret $y$", "SELECT ?");
    expect_text(PG, "SELECT E'secret\\'", "SELECT ?");
    expect_text(PG, "SELECT 'a' 'PETR4", "SELECT ? ?");
}

static void test_empty(void **state)
{
    expect_text(LITE, NULL, "");
    expect_text(LITE, "", "");
    expect_text(PG, " \n\t ", "");
    expect_text(LITE, "-- only a comment", "");
}

/* Whether s[0..n) is whole UTF-8 characters. */
static int whole_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

static void test_long_texts_are_cut(void **state)
{
    char out[BOLSA_SQLTEXT_MAX + 1];
    for (size_t extra = 0; extra < 4; extra++) { /* every alignment of a 2-byte character */
        char *sql = malloc(8000);
        size_t n = (size_t)sprintf(sql, "SELECT %.*s", (int)extra, "xxx");
        for (int i = 0; i < 3000; i++)
            n += (size_t)sprintf(sql + n, "é");
        strcpy(sql + n, " FROM t WHERE a = 'PETR4'");
        size_t len = bolsa_sqltext_normalize(sql, LITE, out);
        assert_true(len <= BOLSA_SQLTEXT_MAX && len > BOLSA_SQLTEXT_MAX - 8);
        assert_int_equal(strlen(out), len);
        assert_string_equal(out + len - 3, "...");
        assert_true(whole_utf8((const unsigned char *)out, len));
        assert_null(strstr(out, "PETR4"));
        free(sql);
    }
    /* Long statements that shrink below the limit are not cut. */
    char *sql = bolsa_insert(20000);
    assert_true(bolsa_sqltext_normalize(sql, LITE, out) < 100);
    assert_non_null(strstr(out, "/* 20000 rows */"));
    free(sql);
}

/* Every literal form of a dialect, around a value, in many contexts: the value never
 * comes out. A form never closed hides the rest of the statement, and is the last thing
 * in it (twice, the second would close the first and leave the value between them). */
static void test_values_never_leak(void **state)
{
    enum {
        BOTH = 0,
        PG_ONLY = 1,
        LITE_ONLY = 2,
        OPEN = 4
    }; /* each dialect reads the other's
         quotes otherwise */
    static const struct {
        const char *form;
        int kind;
    } forms[] = {{"'%s'", BOTH},
                 {"'%s''x'", BOTH},
                 {"'x''%s'", BOTH},
                 {"X'%s'", BOTH},
                 {"/* %s */", BOTH},
                 {"-- %s\n", BOTH},
                 {"'%s", OPEN},
                 {"/* %s", OPEN},
                 {"\"%s", OPEN},
                 {"[%s", LITE_ONLY | OPEN},
                 {"`%s", LITE_ONLY | OPEN},
                 {"E'\\'%s'", PG_ONLY},
                 {"$$%s$$", PG_ONLY},
                 {"$q$%s$q$", PG_ONLY},
                 {"$t$%s", PG_ONLY | OPEN},
                 {"U&'%s'", PG_ONLY},
                 {"e'%s\\''", PG_ONLY},
                 {"b'%s'", PG_ONLY}};
    static const char *const around[] = {
        "SELECT a IN (?, %s", "INSERT INTO t VALUES (%s", "%s",
        "SELECT %s, %s",      "VALUES (%s, 1), (%s, 2)",  "SELECT a IN (%s, %s)"};
    char lit[64], sql[256], out[BOLSA_SQLTEXT_MAX + 1];
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        snprintf(lit, sizeof(lit), forms[f].form, "PETR4 4242");
        size_t contexts = forms[f].kind & OPEN ? 3 : sizeof(around) / sizeof(around[0]);
        for (size_t a = 0; a < contexts; a++) {
            snprintf(sql, sizeof(sql), around[a], lit, lit);
            for (int d = forms[f].kind & PG_ONLY; d < (forms[f].kind & LITE_ONLY ? 1 : 2); d++) {
                bolsa_sqltext_normalize(sql, d ? PG : LITE, out);
                if (strstr(out, "PETR4") || strstr(out, "4242"))
                    fail_msg("value leaked: [%s] -> [%s] (%s)", sql, out, d ? "pg" : "sqlite");
            }
        }
    }
}

/* An n-row INSERT's text, from its one-row statement, is the text of the n-row one. */
static void test_rows_from_one_row(void **state)
{
    char one[BOLSA_SQLTEXT_MAX + 1], all[BOLSA_SQLTEXT_MAX + 1];
    char *sql1 = bolsa_insert(1);
    static const size_t counts[] = {1, 2, 234, 500, 20000};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        char *sqln = bolsa_insert(counts[i]);
        size_t len = bolsa_sqltext_normalize_rows(sql1, counts[i], LITE, one);
        bolsa_sqltext_normalize(sqln, LITE, all);
        assert_string_equal(one, all);
        assert_int_equal(len, strlen(all));
        free(sqln);
    }
    free(sql1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bolsa_statements),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_placeholders_and_identifiers),
        cmocka_unit_test(test_comments_and_space),
        cmocka_unit_test(test_dollar_quotes),
        cmocka_unit_test(test_rows_and_in_lists),
        cmocka_unit_test(test_quotes_never_closed),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_long_texts_are_cut),
        cmocka_unit_test(test_values_never_leak),
        cmocka_unit_test(test_rows_from_one_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
