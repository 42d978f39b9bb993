/*
 * fuzz_tx_body.c: the POST /api/v1/transaction body parser, bolsa_input_tx_body, on any
 * bytes. Besides not crashing, leaking or invoking undefined behaviour, every answer must
 * hold what the API promises:
 *   - a success is a valid input: 1..max_rows rows and at least one well-formed ticker;
 *     a body accepted under a lower limit is accepted under a higher one, and one refused
 *     under the higher limit is refused under the lower;
 *   - a failure fills the error it returns, whose JSON body has FastAPI's shape and the
 *     type of its code in errors.h, with a 400 only for a body jansson cannot parse;
 *   - what jansson cannot parse (other than a too-big integer, which is a 422 on its
 *     field) is always that 400, and a JSON value that is not an object a 422.
 */
#include <jansson.h>

#include "errors.h"
#include "fuzz.h"
#include "input.h"

#define SMALL_MAX 1000
#define LARGE_MAX 10000000

/* The error body: {"detail": [{"loc": [...], "msg": "...", "type": <the code's type>}]}. */
static void check_error_body(const bolsa_error *err)
{
    char *text = bolsa_error_json(err);
    FUZZ_CHECK(text != NULL, "no error body for code %d", err->code);
    json_t *body = json_loads(text, 0, NULL);
    json_t *d = json_array_get(json_object_get(body, "detail"), 0);
    FUZZ_CHECK(d && json_is_array(json_object_get(d, "loc")), "bad error body %s", text);
    FUZZ_CHECK(json_string_length(json_object_get(d, "msg")) > 0, "no msg in %s", text);
    const char *type = json_string_value(json_object_get(d, "type"));
    FUZZ_CHECK(type && !strcmp(type, bolsa_error_type(err->code)), "type in %s", text);
    json_decref(body);
    free(text);
}

static void check_accepted(const bolsa_tx_input *in, int64_t max_rows)
{
    FUZZ_CHECK(in->count >= 1 && in->count <= max_rows, "count %lld", (long long)in->count);
    FUZZ_CHECK(in->n_tickers >= 1 && in->tickers, "%zu tickers", in->n_tickers);
    for (size_t i = 0; i < in->n_tickers; i++)
        FUZZ_CHECK(bolsa_input_is_ticker(in->tickers[i], strlen(in->tickers[i])), "ticker %zu", i);
}

/* What jansson alone says of the body, with the flags the parser documents. */
static void check_against_jansson(const uint8_t *data, size_t size, bolsa_errcode rc)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v && size > 0 && json_error_code(&jerr) != json_error_numeric_overflow)
        FUZZ_CHECK(rc == BOLSA_E_JSON_INVALID, "unparseable body answered %d", rc);
    if (v && !json_is_object(v))
        FUZZ_CHECK(rc == BOLSA_E_OBJECT_TYPE, "non-object body answered %d", rc);
    if (rc == BOLSA_E_JSON_INVALID)
        FUZZ_CHECK(!v, "parseable body answered 400");
    json_decref(v);
}

static bolsa_errcode parse_once(const uint8_t *data, size_t size, int64_t max_rows)
{
    bolsa_tx_input in;
    bolsa_error err = {0};
    bolsa_errcode rc = bolsa_input_tx_body((const char *)data, size, max_rows, &in, &err);
    if (rc == BOLSA_E_OK) {
        FUZZ_CHECK(err.code == BOLSA_E_OK, "success with an error set");
        check_accepted(&in, max_rows);
        bolsa_tx_input_free(&in);
    } else {
        FUZZ_CHECK(err.code == rc, "returned %d, error says %d", rc, err.code);
        FUZZ_CHECK(err.msg[0] != '\0', "error %d without a message", rc);
        FUZZ_CHECK(!strcmp(err.loc[0], "body"), "error %d at loc %s", rc, err.loc[0]);
        int status = bolsa_error_status(rc);
        FUZZ_CHECK(status == 400 || status == 422 || status == 500, "status %d", status);
        FUZZ_CHECK(in.tickers == NULL && in.n_tickers == 0, "failure left a parsed input");
        check_error_body(&err);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bolsa_errcode small = parse_once(data, size, SMALL_MAX);
    bolsa_errcode large = parse_once(data, size, LARGE_MAX);
    if (small == BOLSA_E_OK)
        FUZZ_CHECK(large == BOLSA_E_OK, "accepted under %d rows, refused (%d) under %d", SMALL_MAX,
                   large, LARGE_MAX);
    if (large != BOLSA_E_OK)
        FUZZ_CHECK(small != BOLSA_E_OK, "refused (%d) under %d rows, accepted under %d", large,
                   LARGE_MAX, SMALL_MAX);
    check_against_jansson(data, size, large);
    return 0;
}
