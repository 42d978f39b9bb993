/*
 * sqltext.h: a SQL statement's text as a profile shows it. Executions of one statement
 * group together in the profile's SQL table only when their texts are equal, and a
 * profile must never hold the values a statement ran with, so the text is normalized:
 *
 * - literals become "?": strings ('it''s', E'\n' and other prefixed forms, PostgreSQL's
 *   $$dollar$$ and $tag$dollar$tag$ quoting), numbers (12, 1.5e3, 0x1F), blobs (X'00');
 *   an unterminated string or dollar quote hides everything after it;
 * - comments are dropped, and every run of white space or control characters is one space;
 * - placeholders (?, ?1, $1, :name, @name) and identifiers, quoted ones too, stay;
 * - a run of identical rows after VALUES is the first row followed by a comment giving
 *   their count ("500 rows"): a 500-row INSERT reads as one, and differs from a 20-row
 *   one; an IN list of two or more placeholders is the first followed by the comment
 *   ", ...", whatever its length, as PostgreSQL 18's pg_stat_statements squashes them;
 * - the result is cut to BOLSA_SQLTEXT_MAX bytes, ending with "...", never inside a
 *   UTF-8 character.
 *
 * Bound values are never part of a statement's text, so they cannot reach a profile.
 */
#ifndef BOLSA_SQLTEXT_H
#define BOLSA_SQLTEXT_H

#include <stddef.h>

/* Longest normalized text, in bytes, without its NUL; gargalo keeps markers up to 1 KiB. */
#define BOLSA_SQLTEXT_MAX 1000

typedef enum bolsa_sql_dialect {
    BOLSA_SQL_SQLITE,  /* [ident] and `ident`; $name is a parameter */
    BOLSA_SQL_POSTGRES /* $$ and $tag$ quoting; E'' strings with backslash escapes; nested comments
                        */
} bolsa_sql_dialect;

/* Writes the normalized text of sql into out (BOLSA_SQLTEXT_MAX + 1 bytes), NUL-terminated,
 * and returns its length. A NULL sql is the empty text. Needs memory only for statements
 * over 1 KiB; without it, the text is "?" and the return value 1. Thread-safe. */
size_t bolsa_sqltext_normalize(const char *sql, bolsa_sql_dialect dialect, char *out);

/* The text of sql as if the one row its VALUES ends with were repeated rows times: what
 * bolsa_sqltext_normalize gives the statement with them all, without building or reading
 * it (a 500-row INSERT is 4.5 KB of SQL). Returns the length. Thread-safe. */
size_t bolsa_sqltext_normalize_rows(const char *sql, size_t rows, bolsa_sql_dialect dialect,
                                    char *out);

#endif
