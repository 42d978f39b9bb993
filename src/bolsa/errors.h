/*
 * errors.h: the one error type of the service, and the one table that maps each error
 * to its HTTP status and to the "type" of a FastAPI-shaped JSON body:
 *     {"detail": [{"loc": ["body", "quantidadeAtivos"], "msg": "...", "type": "..."}]}
 *
 * The one error style of bolsa: every function that can fail returns a bolsa_errcode,
 * BOLSA_E_OK (0) meaning success, and when it can say why it also fills the caller's
 * bolsa_error. The caller passes both on unchanged:
 *     bolsa_errcode rc = bolsa_store_open(&store, url, threads, err);
 *     if (rc)
 *         return rc;
 * Handlers turn an error into the response (bolsa_response_error); main prints its msg.
 */
#ifndef BOLSA_ERRORS_H
#define BOLSA_ERRORS_H

#include <jansson.h>

/* X(name, http status, type string) */
#define BOLSA_ERROR_MAP(X)                                                                         \
    X(OK, 200, "ok")                                                                               \
    X(JSON_INVALID, 400, "json_invalid")                                                           \
    X(MISSING, 422, "missing")                                                                     \
    X(INT_TYPE, 422, "int_type")                                                                   \
    X(LIST_TYPE, 422, "list_type")                                                                 \
    X(STRING_TYPE, 422, "string_type")                                                             \
    X(OBJECT_TYPE, 422, "model_type")                                                              \
    X(TOO_SHORT, 422, "too_short")                                                                 \
    X(PATTERN, 422, "string_pattern_mismatch")                                                     \
    X(GREATER_THAN, 422, "greater_than")                                                           \
    X(LESS_EQUAL, 422, "less_than_equal")                                                          \
    X(ENUM, 422, "enum")                                                                           \
    X(EXTRA, 422, "extra_forbidden")                                                               \
    X(QUERY_INVALID, 422, "query_invalid")                                                         \
    X(UNAUTHORIZED, 403, "profile_token")                                                          \
    X(NOT_FOUND, 404, "not_found")                                                                 \
    X(METHOD, 405, "method_not_allowed")                                                           \
    X(TOO_LARGE, 413, "body_too_large")                                                            \
    X(UNSUPPORTED_MEDIA, 415, "unsupported_media_type")                                            \
    X(CROSS_ORIGIN, 403, "cross_origin")                                                           \
    X(PROFILE_BUSY, 409, "profile_in_progress")                                                    \
    X(PROFILE_UNAVAILABLE, 503, "profiling_unavailable")                                           \
    X(URI_TOO_LONG, 414, "uri_too_long")                                                           \
    X(HEADERS_TOO_LARGE, 431, "headers_too_large")                                                 \
    X(TRANSFER_ENCODING, 501, "transfer_encoding_unsupported")                                     \
    X(DB_UNAVAILABLE, 503, "database_unavailable")                                                 \
    X(DB_ERROR, 500, "database_error")                                                             \
    X(NOMEM, 500, "out_of_memory")                                                                 \
    X(INTERNAL, 500, "internal_error")                                                             \
    X(CONFIG, 500, "invalid_setting")

typedef enum bolsa_errcode {
#define BOLSA_ERROR_ENUM(name, status, type) BOLSA_E_##name,
    BOLSA_ERROR_MAP(BOLSA_ERROR_ENUM)
#undef BOLSA_ERROR_ENUM
} bolsa_errcode;

/* Room for a start-up message naming a setting's whole value (a path of up to 1023 bytes)
 * as well as what is wrong with it. */
#define BOLSA_ERROR_MSG_MAX 1280

/* An error id: 16 hex digits and the NUL. */
#define BOLSA_ERROR_ID_SIZE 17

/* An error with where it happened (FastAPI's "loc": up to 3 parts, e.g. "body",
 * "ativos", "2") and a human message. Zeroed means no error. */
typedef struct bolsa_error {
    bolsa_errcode code;
    char loc[3][48];
    char msg[BOLSA_ERROR_MSG_MAX];
    /* Set by bolsa_error_conceal: the id under which the server logged what msg said. */
    char id[BOLSA_ERROR_ID_SIZE];
} bolsa_error;

/* Sets *err (if not already set) and returns code. loc parts may be NULL. */
bolsa_errcode bolsa_error_set(bolsa_error *err, bolsa_errcode code, const char *loc0,
                              const char *loc1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Puts what the failed call was for in front of err's message: "cannot open the
 * database sqlite:x.db: " + "sqlite: cannot open ...". Nothing when err holds no error. */
void bolsa_error_context(bolsa_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int bolsa_error_status(bolsa_errcode code);
const char *bolsa_error_type(bolsa_errcode code);

/* For a server-side error (status 500 and up), whose msg may name hosts, ports, files or
 * a driver's words: logs msg to stderr on one line, "bolsa: error <id>: <request>:
 * <type>: <msg>", and leaves in err a plain message for the client ("The database is
 * unavailable") and the id, which the answer carries so a report can be matched to the
 * log. request says what was being answered ("GET /health"). Errors below 500 describe
 * the client's own input and are left as they are. */
void bolsa_error_conceal(bolsa_error *err, const char *request);
/* One item of FastAPI's "detail" list: {"loc": [...], "msg": ..., "type": ...}, and when
 * err has an id, "ctx": {"error_id": id} with " (error id <id>)" after the message
 * (pydantic puts an error's parameters in "ctx"). A new reference; NULL when out of
 * memory. */
json_t *bolsa_error_item(const bolsa_error *err);
/* The error's JSON body, {"detail": [item]}: malloc'd, NUL-terminated, caller frees;
 * NULL only when out of memory. */
char *bolsa_error_json(const bolsa_error *err);

#endif
