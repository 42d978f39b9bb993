/*
 * input.c: validation of the POST body and the query parameters, with FastAPI's error
 * types and messages so clients of the original service see the same answers.
 */
#include "input.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonalloc.h"

#define BOLSA_TICKER_PATTERN "^[A-Z0-9]{1,12}$"

int bolsa_input_is_ticker(const char *s, size_t len)
{
    if (len < 1 || len > BOLSA_TICKER_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

bolsa_errcode bolsa_input_parse_int(const char *s, size_t len, int64_t *out)
{
    int neg = len > 0 && s[0] == '-';
    size_t i = len > 0 && (s[0] == '-' || s[0] == '+');
    if (i == len)
        return BOLSA_E_INT_TYPE;
    /* Digit by digit over exactly len bytes: strtoll would stop at a NUL ("5\0x" is 5),
     * skip leading spaces and take an empty string for 0. */
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return BOLSA_E_INT_TYPE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return BOLSA_E_INT_TYPE;
        v = v * 10 + d;
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return BOLSA_E_OK;
}

/* The number of decimal digits at the start of s[0..len). */
static size_t bolsa_input_digits(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

bolsa_errcode bolsa_input_parse_decimal(const char *s, size_t len, double *out)
{
    size_t whole = bolsa_input_digits(s, len), n = whole;
    if (n > 0 && n < len && s[n] == '.') {
        size_t frac = bolsa_input_digits(s + n + 1, len - n - 1);
        n = frac ? n + 1 + frac : 0;
    }
    /* Checked first, so strtod below only ever sees plain decimal digits. */
    char copy[32];
    if (whole == 0 || n != len || len >= sizeof(copy))
        return BOLSA_E_QUERY_INVALID;
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = strtod(copy, NULL);
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_input_parse_bool(const char *s, size_t len, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        int is_yes = strlen(yes[i]) == len && !strncasecmp(s, yes[i], len);
        if (is_yes || (strlen(no[i]) == len && !strncasecmp(s, no[i], len))) {
            *out = is_yes;
            return BOLSA_E_OK;
        }
    }
    return BOLSA_E_ENUM;
}

/* An error about one item of a body list: loc ["body", field, index]. */
static bolsa_errcode bolsa_input_item_error(bolsa_error *err, bolsa_errcode code, const char *field,
                                            size_t index, const char *msg)
{
    if (err->code != BOLSA_E_OK)
        return err->code;
    bolsa_error_set(err, code, "body", field, "%s", msg);
    snprintf(err->loc[2], sizeof(err->loc[2]), "%zu", index);
    return code;
}

static bolsa_errcode bolsa_input_tickers(json_t *list, bolsa_tx_input *in, bolsa_error *err)
{
    if (!list)
        return bolsa_error_set(err, BOLSA_E_MISSING, "body", "ativos", "Field required");
    if (!json_is_array(list))
        return bolsa_error_set(err, BOLSA_E_LIST_TYPE, "body", "ativos",
                               "Input should be a valid list");
    size_t n = json_array_size(list);
    if (n == 0)
        return bolsa_error_set(err, BOLSA_E_TOO_SHORT, "body", "ativos",
                               "List should have at least 1 item after validation, not 0");
    in->tickers = calloc(n, sizeof(*in->tickers));
    if (!in->tickers)
        return bolsa_error_set(err, BOLSA_E_NOMEM, "body", "ativos", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(list, i);
        if (!json_is_string(t))
            return bolsa_input_item_error(err, BOLSA_E_STRING_TYPE, "ativos", i,
                                          "Input should be a valid string");
        size_t len = json_string_length(t);
        if (!bolsa_input_is_ticker(json_string_value(t), len))
            return bolsa_input_item_error(err, BOLSA_E_PATTERN, "ativos", i,
                                          "String should match pattern '" BOLSA_TICKER_PATTERN "'");
        memcpy(in->tickers[i], json_string_value(t), len);
    }
    in->n_tickers = n;
    return BOLSA_E_OK;
}

static bolsa_errcode bolsa_input_count(json_t *v, int64_t max_rows, bolsa_tx_input *in,
                                       bolsa_error *err)
{
    const char *f = "quantidadeAtivos";
    if (!v)
        return bolsa_error_set(err, BOLSA_E_MISSING, "body", f, "Field required");
    /* Floats, booleans and numeric strings are refused: a count is an integer. */
    if (!json_is_integer(v))
        return bolsa_error_set(err, BOLSA_E_INT_TYPE, "body", f, "Input should be a valid integer");
    json_int_t n = json_integer_value(v);
    if (n <= 0)
        return bolsa_error_set(err, BOLSA_E_GREATER_THAN, "body", f,
                               "Input should be greater than 0");
    if (n > max_rows)
        return bolsa_error_set(err, BOLSA_E_LESS_EQUAL, "body", f,
                               "Input should be less than or equal to %lld", (long long)max_rows);
    in->count = n;
    return BOLSA_E_OK;
}

static bolsa_errcode bolsa_input_seed(json_t *v, bolsa_tx_input *in, bolsa_error *err)
{
    if (!v || json_is_null(v))
        return BOLSA_E_OK;
    if (!json_is_integer(v))
        return bolsa_error_set(err, BOLSA_E_INT_TYPE, "body", "seed",
                               "Input should be a valid integer");
    in->has_seed = 1;
    in->seed = (uint64_t)json_integer_value(v);
    return BOLSA_E_OK;
}

static bolsa_errcode bolsa_input_no_extra(json_t *obj, bolsa_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "ativos") && strcmp(key, "quantidadeAtivos") && strcmp(key, "seed"))
            return bolsa_error_set(err, BOLSA_E_EXTRA, "body", key,
                                   "Extra inputs are not permitted");
    }
    return BOLSA_E_OK;
}

/* Fields in the model's order, then unknown ones, as pydantic reports them. */
static bolsa_errcode bolsa_input_fields(json_t *obj, int64_t max_rows, bolsa_tx_input *in,
                                        bolsa_error *err)
{
    bolsa_errcode rc = bolsa_input_tickers(json_object_get(obj, "ativos"), in, err);
    if (!rc)
        rc = bolsa_input_count(json_object_get(obj, "quantidadeAtivos"), max_rows, in, err);
    if (!rc)
        rc = bolsa_input_seed(json_object_get(obj, "seed"), in, err);
    if (!rc)
        rc = bolsa_input_no_extra(obj, err);
    return rc;
}

/* After a re-parse with every integer read as a real: puts field back as an integer.
 * A literal beyond 64 bits was valid JSON, just too big for the field: that is a 422
 * on the field, not a 400. The count is clamped so its range check names the limit. */
static bolsa_errcode bolsa_input_unreal(json_t *obj, const char *field, bolsa_error *err)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, field) : NULL;
    if (!json_is_real(v))
        return BOLSA_E_OK;
    double x = json_real_value(v);
    if (x != floor(x))
        return BOLSA_E_OK; /* a real fraction in the body: the field check refuses it */
    int fits = x > -9.2e18 && x < 9.2e18;
    if (!fits && strcmp(field, "seed") == 0)
        return bolsa_error_set(err, x < 0 ? BOLSA_E_GREATER_THAN : BOLSA_E_LESS_EQUAL, "body",
                               field, "Input should be a 64-bit integer");
    json_int_t n = fits ? (json_int_t)x : x < 0 ? INT64_MIN : INT64_MAX;
    if (json_object_set_new(obj, field, json_integer(n)))
        return bolsa_error_set(err, BOLSA_E_NOMEM, "body", field, "out of memory");
    return BOLSA_E_OK;
}

/* json_loadb, but a parse during which an allocation failed is BOLSA_E_NOMEM, whatever
 * jansson made of it: a good body refused as malformed (400), or read changed
 * (jsonalloc.h). BOLSA_E_JSON_INVALID (err untouched): *jerr says why. */
static bolsa_errcode bolsa_input_load(const char *body, size_t len, size_t flags, json_t **out,
                                      json_error_t *jerr, bolsa_error *err)
{
    bolsa_jsonalloc_watch();
    *out = json_loadb(body, len, flags, jerr);
    if (bolsa_jsonalloc_failed()) {
        json_decref(*out);
        *out = NULL;
        return bolsa_error_set(err, BOLSA_E_NOMEM, "body", NULL, "out of memory reading the body");
    }
    return *out ? BOLSA_E_OK : BOLSA_E_JSON_INVALID;
}

/* A body that is not JSON: where the parser stopped, and why. */
static bolsa_errcode bolsa_input_json_error(const json_error_t *jerr, bolsa_error *err)
{
    char pos[24];
    snprintf(pos, sizeof(pos), "%d", jerr->position);
    return bolsa_error_set(err, BOLSA_E_JSON_INVALID, "body", pos, "JSON decode error: %s",
                           jerr->text);
}

/* Any JSON value parses (a bare 42 is then "not an object", as in pydantic), and
 * "\u0000" is allowed so that a ticker containing it fails the pattern instead. */
#define BOLSA_INPUT_JSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Parses a body holding an integer literal too big for 64 bits again, with integers as
 * reals, so the field it belongs to can be named in the error. */
static bolsa_errcode bolsa_input_parse_big(const char *body, size_t len, json_t **out,
                                           bolsa_error *err)
{
    json_error_t jerr;
    json_t *obj;
    bolsa_errcode rc = bolsa_input_load(body, len, BOLSA_INPUT_JSON_FLAGS | JSON_DECODE_INT_AS_REAL,
                                        &obj, &jerr, err);
    if (rc == BOLSA_E_JSON_INVALID)
        return bolsa_input_json_error(&jerr, err);
    if (rc)
        return rc;
    rc = bolsa_input_unreal(obj, "quantidadeAtivos", err);
    if (!rc)
        rc = bolsa_input_unreal(obj, "seed", err);
    if (rc) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return BOLSA_E_OK;
}

/* Parses body into *out (the caller's reference). */
static bolsa_errcode bolsa_input_parse(const char *body, size_t len, json_t **out, bolsa_error *err)
{
    json_error_t jerr;
    bolsa_errcode rc = bolsa_input_load(body, len, BOLSA_INPUT_JSON_FLAGS, out, &jerr, err);
    if (rc == BOLSA_E_JSON_INVALID && json_error_code(&jerr) == json_error_numeric_overflow)
        return bolsa_input_parse_big(body, len, out, err);
    if (rc == BOLSA_E_JSON_INVALID)
        return bolsa_input_json_error(&jerr, err);
    return rc;
}

bolsa_errcode bolsa_input_tx_body(const char *body, size_t len, int64_t max_rows,
                                  bolsa_tx_input *in, bolsa_error *err)
{
    memset(in, 0, sizeof(*in));
    if (len == 0)
        return bolsa_error_set(err, BOLSA_E_MISSING, "body", NULL, "Field required");
    json_t *obj;
    bolsa_errcode rc = bolsa_input_parse(body, len, &obj, err);
    if (rc)
        return rc;
    if (!json_is_object(obj))
        rc = bolsa_error_set(err, BOLSA_E_OBJECT_TYPE, "body", NULL,
                             "Input should be a valid dictionary or object to extract fields "
                             "from");
    else
        rc = bolsa_input_fields(obj, max_rows, in, err);
    json_decref(obj);
    if (rc)
        bolsa_tx_input_free(in);
    return rc;
}

void bolsa_tx_input_free(bolsa_tx_input *in)
{
    free(in->tickers);
    memset(in, 0, sizeof(*in));
}

const char *bolsa_strategy_name(bolsa_strategy s)
{
    return s == BOLSA_SAVE_NAIVE ? "naive" : "chunked";
}

bolsa_errcode bolsa_input_strategy(bolsa_text value, bolsa_strategy *out, bolsa_error *err)
{
    if (!value.p || bolsa_text_is(value, "chunked"))
        *out = BOLSA_SAVE_CHUNKED;
    else if (bolsa_text_is(value, "naive"))
        *out = BOLSA_SAVE_NAIVE;
    else
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "save_strategy",
                               "Input should be 'chunked' or 'naive'");
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_input_content_type(const char *value, bolsa_error *err)
{
    static const char json[] = "application/json";
    const size_t n = sizeof(json) - 1;
    /* A browser page can send text/plain, a form or a typeless Blob to another site
     * without asking it first; a JSON body cannot be sent that way. */
    if (!value)
        return bolsa_error_set(err, BOLSA_E_UNSUPPORTED_MEDIA, "header", "content-type",
                               "Content-Type should be application/json, and is missing");
    const char *p = value + strspn(value, " \t");
    if (!strncasecmp(p, json, n)) {
        p += n + strspn(p + n, " \t");
        if (*p == '\0' || *p == ';')
            return BOLSA_E_OK;
    }
    return bolsa_error_set(err, BOLSA_E_UNSUPPORTED_MEDIA, "header", "content-type",
                           "Content-Type should be application/json, not '%.100s'", value);
}

/* An optional integer query parameter within [min, max]. */
bolsa_errcode bolsa_input_query_int(const char *name, bolsa_text value, int64_t min, int64_t max,
                                    int64_t *out, bolsa_error *err)
{
    if (!value.p)
        return BOLSA_E_OK;
    int64_t v;
    if (bolsa_input_parse_int(value.p, value.len, &v))
        return bolsa_error_set(err, BOLSA_E_INT_TYPE, "query", name,
                               "Input should be a valid integer, unable to parse string as "
                               "an integer");
    if (v < min)
        return bolsa_error_set(err, BOLSA_E_GREATER_THAN, "query", name,
                               "Input should be greater than or equal to %lld", (long long)min);
    if (v > max)
        return bolsa_error_set(err, BOLSA_E_LESS_EQUAL, "query", name,
                               "Input should be less than or equal to %lld", (long long)max);
    *out = v;
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_input_list_query(bolsa_text ativo, bolsa_text limit, bolsa_text after_id,
                                     bolsa_list_query *q, bolsa_error *err)
{
    q->ativo = NULL;
    q->after_id = 0;
    q->limit = BOLSA_LIST_LIMIT_DEFAULT;
    if (ativo.p && !bolsa_input_is_ticker(ativo.p, ativo.len))
        return bolsa_error_set(err, BOLSA_E_PATTERN, "query", "ativo",
                               "String should match pattern '" BOLSA_TICKER_PATTERN "'");
    q->ativo = ativo.p; /* a ticker: no NUL inside, and NUL-terminated after */
    int64_t lim = q->limit;
    bolsa_errcode rc = bolsa_input_query_int("limit", limit, 1, BOLSA_LIST_LIMIT_MAX, &lim, err);
    if (!rc)
        rc = bolsa_input_query_int("after_id", after_id, 0, INT64_MAX, &q->after_id, err);
    q->limit = (int)lim;
    return rc;
}
