/*
 * input.h: checks what clients send, the POST body and the query parameters, and turns
 * it into typed values or one FastAPI-style error (first problem found). No I/O here.
 */
#ifndef BOLSA_INPUT_H
#define BOLSA_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "store.h"
#include "text.h"

#define BOLSA_LIST_LIMIT_DEFAULT 100
#define BOLSA_LIST_LIMIT_MAX 1000

/* A validated POST /api/v1/transaction body. */
typedef struct bolsa_tx_input {
    char (*tickers)[BOLSA_TICKER_MAX + 1]; /* malloc'd, n_tickers entries */
    size_t n_tickers;
    int64_t count; /* quantidadeAtivos: 1..max_rows */
    int has_seed;
    uint64_t seed;
} bolsa_tx_input;

/* Parses and validates a body of len bytes (need not be NUL-terminated). On success fills
 * *in (free it with bolsa_tx_input_free) and returns BOLSA_E_OK; otherwise sets *err and
 * returns its code, and *in holds nothing to free. */
bolsa_errcode bolsa_input_tx_body(const char *body, size_t len, int64_t max_rows,
                                  bolsa_tx_input *in, bolsa_error *err);
void bolsa_tx_input_free(bolsa_tx_input *in);

/* 1 when s is a ticker: 1 to BOLSA_TICKER_MAX characters of A-Z and 0-9. */
int bolsa_input_is_ticker(const char *s, size_t len);

/* save_strategy: absent means the default, chunked. */
bolsa_errcode bolsa_input_strategy(bolsa_text value, bolsa_strategy *out, bolsa_error *err);
const char *bolsa_strategy_name(bolsa_strategy s);

/* The GET list parameters, each absent or not. q->ativo points into ativo. */
bolsa_errcode bolsa_input_list_query(bolsa_text ativo, bolsa_text limit, bolsa_text after_id,
                                     bolsa_list_query *q, bolsa_error *err);

/* An integer query parameter from min to max, left as *out when absent; otherwise
 * BOLSA_E_INT_TYPE, BOLSA_E_GREATER_THAN or BOLSA_E_LESS_EQUAL, loc ["query", name]. */
bolsa_errcode bolsa_input_query_int(const char *name, bolsa_text value, int64_t min, int64_t max,
                                    int64_t *out, bolsa_error *err);

/* A POST body's Content-Type (NULL when absent) must be application/json, in any case,
 * with or without parameters ("; charset=utf-8"). Otherwise BOLSA_E_UNSUPPORTED_MEDIA,
 * loc ["header", "content-type"]. */
bolsa_errcode bolsa_input_content_type(const char *value, bolsa_error *err);

/* Strict base-10 integer of len bytes: optional sign, digits only, no spaces, no overflow.
 * Returns BOLSA_E_OK and sets *out, or BOLSA_E_INT_TYPE. */
bolsa_errcode bolsa_input_parse_int(const char *s, size_t len, int64_t *out);

/* Strict decimal number of len bytes: digits, then optionally '.' and digits; no sign,
 * exponent, spaces, hexadecimal, "inf" or "nan" (all of which strtod takes). Returns
 * BOLSA_E_OK and sets *out, or BOLSA_E_QUERY_INVALID. */
bolsa_errcode bolsa_input_parse_decimal(const char *s, size_t len, double *out);

/* The words of a yes-or-no value, for messages that list them. */
#define BOLSA_INPUT_BOOL_WORDS "'1', 'true', 'yes', 'on', '0', 'false', 'no' or 'off'"
/* A yes-or-no value of len bytes, the same for settings (--profile) and queries
 * (?profile=): one of BOLSA_INPUT_BOOL_WORDS in any case. Returns BOLSA_E_OK and sets *out
 * to 1 or 0, or BOLSA_E_ENUM. */
bolsa_errcode bolsa_input_parse_bool(const char *s, size_t len, int *out);

#endif
