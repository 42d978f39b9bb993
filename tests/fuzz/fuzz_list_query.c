/*
 * fuzz_list_query.c: the query parsers of the transaction endpoints, bolsa_input_list_query
 * (GET: ativo, limit, after_id) and bolsa_input_strategy (POST: save_strategy), checked
 * against a reference written from the README's rules rather than from the code:
 *   ativo     absent, or 1 to 12 characters of A-Z and 0-9
 *   limit     absent (100), or a base-10 integer (optional sign, digits only) in 1..1000
 *   after_id  absent (0), or such an integer in 0..2^63-1
 *   the first bad parameter in that order is the error, a 422 at ["query", name];
 *   save_strategy  absent or "chunked", or "naive"; anything else is a 422.
 * The input is up to four strings cut at NUL bytes, in that order; a missing string, or
 * one that is the single byte 0x7f, is an absent parameter.
 */
#include "errors.h"
#include "fuzz.h"
#include "input.h"

#define ABSENT "\x7f"

static const char *param(const fuzz_parts *p, size_t i)
{
    return i < p->n && strcmp(p->part[i], ABSENT) ? p->part[i] : NULL;
}

/* The reference integer: [+-]?[0-9]+ within 64 bits. Returns 0 when s is not one. */
static int ref_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    s += *s == '-' || *s == '+';
    if (!*s)
        return 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

static int ref_ticker(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 12)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* One integer parameter by the reference: its error code, or BOLSA_E_OK and *out. */
static bolsa_errcode ref_query_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
    int64_t x;
    if (!v)
        return BOLSA_E_OK;
    if (!ref_int(v, &x))
        return BOLSA_E_INT_TYPE;
    if (x < min)
        return BOLSA_E_GREATER_THAN;
    if (x > max)
        return BOLSA_E_LESS_EQUAL;
    *out = x;
    return BOLSA_E_OK;
}

/* The reference answer: code, and the parameter it names. */
static bolsa_errcode ref_list(const char *ativo, const char *limit, const char *after, int64_t *lim,
                              int64_t *aid, const char **bad)
{
    *lim = 100, *aid = 0;
    if (ativo && !ref_ticker(ativo))
        return *bad = "ativo", BOLSA_E_PATTERN;
    bolsa_errcode rc = ref_query_int(limit, 1, 1000, lim);
    if (rc)
        return *bad = "limit", rc;
    rc = ref_query_int(after, 0, INT64_MAX, aid);
    *bad = "after_id";
    return rc;
}

static void check_list(const char *ativo, const char *limit, const char *after)
{
    int64_t lim, aid;
    const char *bad = NULL;
    bolsa_errcode want = ref_list(ativo, limit, after, &lim, &aid, &bad);
    bolsa_list_query q;
    bolsa_error err = {0};
    bolsa_errcode rc = bolsa_input_list_query(bolsa_text_of(ativo), bolsa_text_of(limit),
                                              bolsa_text_of(after), &q, &err);
    FUZZ_CHECK(rc == want, "list query answered %d, want %d", rc, want);
    if (rc) {
        FUZZ_CHECK(err.code == rc && bolsa_error_status(rc) == 422, "error %d", err.code);
        FUZZ_CHECK(!strcmp(err.loc[0], "query") && !strcmp(err.loc[1], bad), "loc %s %s",
                   err.loc[0], err.loc[1]);
        return;
    }
    FUZZ_CHECK(q.limit == lim && q.after_id == aid, "limit %d after %lld", q.limit,
               (long long)q.after_id);
    FUZZ_CHECK(q.ativo == ativo, "ativo not the parameter given");
}

static void check_strategy(const char *v)
{
    bolsa_strategy s;
    bolsa_error err = {0};
    bolsa_errcode rc = bolsa_input_strategy(bolsa_text_of(v), &s, &err);
    if (!v || !strcmp(v, "chunked") || !strcmp(v, "naive")) {
        FUZZ_CHECK(rc == BOLSA_E_OK, "strategy '%s' refused", v ? v : "(absent)");
        FUZZ_CHECK(s == (v && !strcmp(v, "naive") ? BOLSA_SAVE_NAIVE : BOLSA_SAVE_CHUNKED),
                   "strategy '%s' read as %d", v ? v : "(absent)", s);
        FUZZ_CHECK(!strcmp(bolsa_strategy_name(s), v ? v : "chunked"), "name of %d", s);
    } else {
        FUZZ_CHECK(rc == BOLSA_E_ENUM && err.code == rc, "strategy '%s' answered %d", v, rc);
        FUZZ_CHECK(!strcmp(err.loc[1], "save_strategy"), "loc %s", err.loc[1]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parts p;
    fuzz_parts_split(&p, data, size);
    check_list(param(&p, 0), param(&p, 1), param(&p, 2));
    check_strategy(param(&p, 3));
    fuzz_parts_free(&p);
    return 0;
}
