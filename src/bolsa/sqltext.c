/*
 * sqltext.c: normalized statement texts (sqltext.h), in two passes. The first reads the
 * statement token by token and writes what may be shown: literals as "?", no comments,
 * one space for any white space. It never writes more than it reads, so its buffer is
 * the statement's length. The second collapses repeated rows and IN lists, which needs
 * the first's tokens whole, and cuts the result to BOLSA_SQLTEXT_MAX bytes.
 */
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements up to this length are normalized without allocating. */
#define SQ_STACK 1024
/* What the scanners return for a quote never closed: past the end, so that it can be told
 * from one closed by the last byte. */
#define SQ_OPEN(len) ((len) + 1)
#define SQ_MIN(a, b) ((a) < (b) ? (a) : (b))

typedef struct sq_out {
    char *p;
    size_t n, cap; /* bytes written; room for them, without the NUL */
    int space;     /* white space since the last token: one space before the next one */
    int cut;       /* something did not fit */
} sq_out;

static int is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Both dialects allow '$' inside an identifier, after its first character. */
static int is_ident_char(unsigned char c)
{
    return is_ident_start(c) || is_digit(c) || c == '$';
}

static size_t ident_end(const char *s, size_t i, size_t len)
{
    while (i < len && is_ident_char((unsigned char)s[i]))
        i++;
    return i;
}

/* Writes the space owed before the next token, if any. */
static void pay_space(sq_out *o)
{
    if (o->space && o->n > 0) {
        if (o->n < o->cap)
            o->p[o->n++] = ' ';
        else
            o->cut = 1;
    }
    o->space = 0;
}

/* Appends n bytes, after the space owed; sets cut for what does not fit. */
static void put(sq_out *o, const char *p, size_t n)
{
    pay_space(o);
    size_t room = o->cap - o->n;
    if (n > room) {
        o->cut = 1;
        n = room;
    }
    memcpy(o->p + o->n, p, n);
    o->n += n;
}

/* ---- the first pass: literals, comments and white space ---- */

/* The end of a quoted run opened at s[i] and closed by close (doubled, it stands for
 * itself); with backslash, '\' escapes the next byte. SQ_OPEN(len) when unterminated. */
static size_t quoted_end(const char *s, size_t i, size_t len, char close, int backslash)
{
    for (i++; i < len; i++) {
        if (backslash && s[i] == '\\')
            i++;
        else if (s[i] == close && i + 1 < len && s[i + 1] == close)
            i++;
        else if (s[i] == close)
            return i + 1;
    }
    return SQ_OPEN(len);
}

/* The end of a comment starting at s[i] ("--" or a slash-star one; PostgreSQL's nest). */
static size_t comment_end(const char *s, size_t i, size_t len, int nested)
{
    if (s[i] == '-') {
        const char *nl = memchr(s + i, '\n', len - i);
        return nl ? (size_t)(nl - s) + 1 : len;
    }
    int depth = 0;
    for (; i + 1 < len; i++) {
        if (s[i] == '/' && s[i + 1] == '*' && (nested || depth == 0))
            depth++, i++;
        else if (s[i] == '*' && s[i + 1] == '/' && --depth == 0)
            return i + 2;
    }
    return len;
}

/* The length of a PostgreSQL dollar-quote opener at s[i] ("$$", "$tag$"), or 0. */
static size_t dollar_tag(const char *s, size_t i, size_t len)
{
    size_t j = i + 1;
    if (j < len && is_ident_start((unsigned char)s[j]))
        while (j < len && (is_ident_start((unsigned char)s[j]) || is_digit((unsigned char)s[j])))
            j++;
    return j < len && s[j] == '$' ? j + 1 - i : 0;
}

/* The end of a dollar-quoted string whose opener, tag bytes long, is at s[i]. */
static size_t dollar_end(const char *s, size_t i, size_t len, size_t tag)
{
    for (size_t j = i + tag; j + tag <= len; j++)
        if (s[j] == '$' && memcmp(s + j, s + i, tag) == 0)
            return j + tag;
    return len;
}

/* The end of a number at s[i]: digits, a point, an exponent with its sign, and any
 * letters stuck to it (0x1F, 1_000, 12abc), so that no digit of it is left over. */
static size_t number_end(const char *s, size_t i, size_t len)
{
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        int sign = (c == '+' || c == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E') && i + 1 < len &&
                   is_digit((unsigned char)s[i + 1]);
        if (!is_ident_char(c) && c != '.' && !sign)
            break;
        i++;
    }
    return i;
}

/* Copies a quoted identifier, control characters as spaces, so the text stays one line.
 * One never closed could hold anything that follows it, values too: it is "?". */
static void put_ident(sq_out *o, const char *s, size_t n, int open)
{
    pay_space(o);
    if (open) {
        put(o, "?", 1);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (o->n == o->cap) {
            o->cut = 1;
            return;
        }
        o->p[o->n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
}

/* A word at s[i]; a string literal's prefix takes it along: SQLite's X'' (a blob), and
 * PostgreSQL's E'', X'', B'', N'' and U&''. */
static size_t scan_word(const char *s, size_t i, size_t len, bolsa_sql_dialect d, sq_out *o)
{
    size_t j = ident_end(s, i, len);
    int one = j == i + 1;
    char c = (char)(s[i] | 0x20); /* lower case, for letters */
    if (one && j < len && s[j] == '\'' && strchr(d == BOLSA_SQL_POSTGRES ? "xebn" : "x", c)) {
        put(o, "?", 1);
        return SQ_MIN(quoted_end(s, j, len, '\'', c == 'e' && d == BOLSA_SQL_POSTGRES), len);
    }
    if (one && c == 'u' && d == BOLSA_SQL_POSTGRES && j + 1 < len && s[j] == '&' &&
        s[j + 1] == '\'') {
        put(o, "?", 1);
        return SQ_MIN(quoted_end(s, j + 1, len, '\'', 0), len);
    }
    put(o, s + i, j - i);
    return j;
}

/* '$' at s[i]: "$1" stays, and so does SQLite's "$name"; a PostgreSQL dollar quote is "?". */
static size_t scan_dollar(const char *s, size_t i, size_t len, bolsa_sql_dialect d, sq_out *o)
{
    size_t j = i + 1, tag = d == BOLSA_SQL_POSTGRES ? dollar_tag(s, i, len) : 0;
    if (tag) {
        put(o, "?", 1);
        return dollar_end(s, i, len, tag);
    }
    if (j < len && is_digit((unsigned char)s[j]))
        while (j < len && is_digit((unsigned char)s[j]))
            j++;
    else if (d == BOLSA_SQL_SQLITE)
        j = ident_end(s, j, len);
    put(o, s + i, j - i);
    return j;
}

/* The end of a quoted identifier at s[i] ("x", and SQLite's [x] and `x`), SQ_OPEN(len)
 * for one never closed, or 0 if none starts there. */
static size_t quoted_ident_end(const char *s, size_t i, size_t len, bolsa_sql_dialect d)
{
    if (s[i] == '"')
        return quoted_end(s, i, len, '"', 0);
    if (d == BOLSA_SQL_SQLITE && s[i] == '`')
        return quoted_end(s, i, len, '`', 0);
    if (d == BOLSA_SQL_SQLITE && s[i] == '[') {
        const char *close = memchr(s + i, ']', len - i);
        return close ? (size_t)(close - s) + 1 : SQ_OPEN(len);
    }
    return 0;
}

/* One token at s[i], written to o; returns where the next one starts. */
static size_t scan_token(const char *s, size_t i, size_t len, bolsa_sql_dialect d, sq_out *o)
{
    unsigned char c = (unsigned char)s[i], next = i + 1 < len ? (unsigned char)s[i + 1] : 0;
    size_t j;
    if (c <= ' ' || c == 0x7f) {
        o->space = 1;
        return i + 1;
    }
    if ((c == '-' && next == '-') || (c == '/' && next == '*')) {
        o->space = 1;
        return comment_end(s, i, len, d == BOLSA_SQL_POSTGRES);
    }
    if (c == '\'') {
        put(o, "?", 1);
        return SQ_MIN(quoted_end(s, i, len, '\'', 0), len);
    }
    if ((j = quoted_ident_end(s, i, len, d)) != 0) {
        put_ident(o, s + i, SQ_MIN(j, len) - i, j > len);
        return SQ_MIN(j, len);
    }
    if (c == '$')
        return scan_dollar(s, i, len, d, o);
    if (is_digit(c) || (c == '.' && is_digit(next))) {
        put(o, "?", 1);
        return number_end(s, i, len);
    }
    if (is_ident_start(c))
        return scan_word(s, i, len, d, o);
    for (j = i + 1; c == '?' && j < len && is_digit((unsigned char)s[j]); j++)
        ;
    put(o, s + i, j - i);
    return j;
}

/* ---- the second pass: repeated rows, IN lists, the cut ---- */

/* The end of the token of already normalized text at t[i]: a word, a quoted identifier
 * or one byte. */
static size_t token_end(const char *t, size_t i, size_t m, bolsa_sql_dialect d)
{
    size_t j = quoted_ident_end(t, i, m, d);
    if (j)
        return SQ_MIN(j, m);
    if (is_ident_start((unsigned char)t[i]))
        return ident_end(t, i, m);
    return i + 1;
}

/* Just after the ')' matching the '(' at t[i], or 0 when it has none. */
static size_t group_end(const char *t, size_t i, size_t m, bolsa_sql_dialect d)
{
    int depth = 0;
    for (; i < m; i = token_end(t, i, m, d)) {
        if (t[i] == '(')
            depth++;
        else if (t[i] == ')' && --depth == 0)
            return i + 1;
    }
    return 0;
}

/* Past an optional space and then want at t[i]: the index after them, or 0. */
static size_t expect(const char *t, size_t i, size_t m, char want)
{
    if (i < m && t[i] == ' ')
        i++;
    return i < m && t[i] == want ? i + 1 : 0;
}

static int is_word(const char *t, size_t i, size_t j, const char *word)
{
    return j - i == strlen(word) && strncasecmp(t + i, word, j - i) == 0;
}

/* How many rows equal to the one in t[open..*end) follow it, each after a comma; *end
 * moves past the last of them. */
static size_t same_rows(const char *t, size_t open, size_t *end, size_t m, bolsa_sql_dialect d)
{
    size_t len = *end - open, count = 1, k, at;
    while ((k = expect(t, *end, m, ',')) != 0 && (at = expect(t, k, m, '(')) != 0 &&
           group_end(t, at - 1, m, d) == at - 1 + len && memcmp(t + at - 1, t + open, len) == 0) {
        *end = at - 1 + len;
        count++;
    }
    return count;
}

/* The rows after VALUES, from t[i]: each run of equal ones written once, with a comment
 * giving its count. Returns where the rows end. */
static size_t put_rows(const char *t, size_t i, size_t m, bolsa_sql_dialect d, sq_out *o)
{
    size_t at = expect(t, i, m, '('), end;
    while (at && (end = group_end(t, at - 1, m, d)) != 0) {
        size_t first = end, count = same_rows(t, at - 1, &end, m, d), comma;
        put(o, t + i, first - i);
        if (count > 1) {
            char note[48];
            put(o, note, (size_t)snprintf(note, sizeof(note), " /* %zu rows */", count));
        }
        i = end;
        comma = expect(t, end, m, ',');
        at = comma ? expect(t, comma, m, '(') : 0;
        if (at) {
            put(o, t + end, comma - end);
            i = comma;
        }
    }
    return i;
}

/* The end of a placeholder ("?", "?1", "$1") at t[i], or 0. */
static size_t placeholder_end(const char *t, size_t i, size_t m)
{
    if (i >= m || (t[i] != '?' && t[i] != '$'))
        return 0;
    size_t j = i + 1;
    while (j < m && is_digit((unsigned char)t[j]))
        j++;
    return t[i] == '$' && j == i + 1 ? 0 : j;
}

/* An IN list from t[i]: two or more placeholders are written as the first one and a
 * comment. Returns where the list ends (i when it is not such a list). */
static size_t put_in_list(const char *t, size_t i, size_t m, sq_out *o)
{
    size_t k = expect(t, i, m, '('), first = 0, close;
    for (size_t n = 1; k; n++) {
        size_t end = placeholder_end(t, k < m && t[k] == ' ' ? k + 1 : k, m);
        if (!end)
            return i;
        first = first ? first : end;
        if ((close = expect(t, end, m, ')')) != 0) {
            if (n < 2)
                return i;
            put(o, t + i, first - i);
            put(o, " /*, ... */)", 12);
            return close;
        }
        k = expect(t, end, m, ',');
    }
    return i;
}

static void collapse(const char *t, size_t m, bolsa_sql_dialect d, sq_out *o)
{
    for (size_t i = 0, j; i < m && !o->cut; i = j) {
        j = token_end(t, i, m, d);
        put(o, t + i, j - i);
        if (is_word(t, i, j, "VALUES"))
            j = put_rows(t, j, m, d, o);
        else if (is_word(t, i, j, "IN"))
            j = put_in_list(t, j, m, o);
    }
}

/* Ends a text that was cut with "...", not inside a UTF-8 character. */
static void mark_cut(sq_out *o)
{
    size_t n = o->n < o->cap - 3 ? o->n : o->cap - 3;
    while (n > 0 && ((unsigned char)o->p[n] & 0xc0) == 0x80)
        n--;
    memcpy(o->p + n, "...", 3);
    o->n = n + 3;
}

size_t bolsa_sqltext_normalize(const char *sql, bolsa_sql_dialect dialect, char *out)
{
    size_t len = sql ? strlen(sql) : 0;
    char stack[SQ_STACK], *work = len < SQ_STACK ? stack : malloc(len + 1);
    if (!work)
        return (size_t)snprintf(out, BOLSA_SQLTEXT_MAX + 1, "?");
    sq_out first = {work, 0, len, 0, 0}, last = {out, 0, BOLSA_SQLTEXT_MAX, 0, 0};
    for (size_t i = 0; i < len;)
        i = scan_token(sql, i, len, dialect, &first);
    collapse(work, first.n, dialect, &last);
    if (last.cut)
        mark_cut(&last);
    out[last.n] = '\0';
    if (work != stack)
        free(work);
    return last.n;
}

size_t bolsa_sqltext_normalize_rows(const char *sql, size_t rows, bolsa_sql_dialect dialect,
                                    char *out)
{
    sq_out o = {out, bolsa_sqltext_normalize(sql, dialect, out), BOLSA_SQLTEXT_MAX, 0, 0};
    int cut = o.n >= 3 && memcmp(out + o.n - 3, "...", 3) == 0; /* no row left to count */
    char note[48];
    if (rows > 1 && !cut)
        put(&o, note, (size_t)snprintf(note, sizeof(note), " /* %zu rows */", rows));
    if (o.cut)
        mark_cut(&o);
    out[o.n] = '\0';
    return o.n;
}
