/*
 * fuzz_sqltext.c: bolsa_sqltext_normalize, the statement texts profiles show. Whatever the
 * statement, the text is one line of at most BOLSA_SQLTEXT_MAX bytes, and
 * bolsa_sqltext_normalize_rows stays within it too. And a value quoted as a literal
 * never comes out: the input is a first byte (dialect, literal form), then up to three
 * strings cut at NUL bytes, a prefix, a value and a suffix. The value is quoted in the
 * chosen form, between the prefix and the suffix (each kept to letters, digits and
 * "(),.=_ ", so that they cannot open a quote or a comment around it), and when the value
 * holds a byte that none of those parts nor the text's own comments could produce, it
 * must not be in the text.
 */
#include "fuzz.h"
#include "sqltext.h"

#define SAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789(),.=_ "
/* What the text may hold without a leak: the safe parts, "?" and the comments it adds. */
#define PRODUCIBLE SAFE "?/*"

typedef struct buf {
    char *p;
    size_t n;
} buf;

static void add(buf *b, const char *s, size_t n)
{
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

/* The value as a literal of the form: 'standard' (quotes doubled), X'blob', E'escaped'
 * and $q$dollar$q$ (PostgreSQL). Returns 0 when the value cannot be quoted that way. */
static int add_literal(buf *b, const char *v, int form, bolsa_sql_dialect d)
{
    if (d == BOLSA_SQL_SQLITE)
        form &= 1;
    if (form == 3) {
        if (strstr(v, "$q$"))
            return 0;
        add(b, "$q$", 3), add(b, v, strlen(v)), add(b, "$q$", 3);
        return 1;
    }
    add(b, form == 1 ? "X'" : form == 2 ? "E'" : "'", form ? 2 : 1);
    for (; *v; v++) {
        if (*v == '\'' || (form == 2 && *v == '\\'))
            add(b, form == 2 ? "\\" : "'", 1);
        add(b, v, 1);
    }
    add(b, "'", 1);
    return 1;
}

static void add_safe(buf *b, const char *s)
{
    for (; *s; s++)
        add(b, strchr(SAFE, *s) ? s : " ", 1);
}

static void check_text(const char *out, size_t n)
{
    FUZZ_CHECK(n <= BOLSA_SQLTEXT_MAX && strlen(out) == n, "length %zu", n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f, "control byte at %zu", i);
}

/* Whether a value holds a byte the text could not hold without leaking it: printable
 * (a control byte would not come out as itself even if leaked) and none of the above. */
static int telling(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v > ' ' && *v != 0x7f && !strchr(PRODUCIBLE, *v))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bolsa_sql_dialect d = data[0] & 1 ? BOLSA_SQL_POSTGRES : BOLSA_SQL_SQLITE;
    char out[BOLSA_SQLTEXT_MAX + 1];
    fuzz_parts p;
    fuzz_parts_split(&p, data + 1, size - 1);
    const char *prefix = p.n > 0 ? p.part[0] : "", *value = p.n > 1 ? p.part[1] : "";
    const char *suffix = p.n > 2 ? p.part[2] : "";
    check_text(out, bolsa_sqltext_normalize(prefix, d, out));
    check_text(out, bolsa_sqltext_normalize_rows(prefix, (data[0] >> 3) * 97u, d, out));
    buf b = {malloc(3 * size + 16), 0};
    add_safe(&b, prefix), add(&b, " ", 1);
    if (add_literal(&b, value, (data[0] >> 1) & 3, d)) {
        add(&b, " ", 1), add_safe(&b, suffix), add(&b, "", 1);
        check_text(out, bolsa_sqltext_normalize(b.p, d, out));
        FUZZ_CHECK(!telling(value) || !strstr(out, value), "the value is in [%s]", out);
    }
    free(b.p);
    fuzz_parts_free(&p);
    return 0;
}
