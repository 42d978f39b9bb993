/*
 * routes.c: the endpoints: POST and GET /api/v1/transaction, GET
 * /api/v1/transaction/summary and GET /health. Each parses its input, calls the store
 * and writes JSON, recording its phases for Server-Timing.
 */
#include "routes.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gargalo.h"
#include "generate.h"
#include "input.h"
#include "origin.h"
#include "timing.h"

static double bolsa_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double bolsa_reais(int64_t cents)
{
    return (double)cents / 100.0;
}

/* Adds the time since *t0 to phase name, and restarts *t0. */
static void bolsa_phase(bolsa_response *resp, const char *name, uint64_t *t0)
{
    uint64_t now = bolsa_now_ns();
    bolsa_timing_add(bolsa_response_timing(resp), name, now - *t0);
    *t0 = now;
}

/* Answers a failed call. A server-side error's own message (a database host and port, a
 * driver's words) goes to the log under an id; the client gets a plain message and the id. */
static void bolsa_answer_error(bolsa_request *req, bolsa_response *resp, bolsa_error *err)
{
    char request[160];
    bolsa_text path = bolsa_request_path(req);
    snprintf(request, sizeof(request), "%s %.*s", bolsa_request_method(req),
             path.len < 120 ? (int)path.len : 120, path.p ? path.p : "");
    bolsa_error_conceal(err, request);
    bolsa_response_error(resp, err);
}

/* --- POST /api/v1/transaction -------------------------------------------------------- */

/* Room for the answer to a POST when it has to be written by hand (bolsa_post_answer). */
#define BOLSA_POST_ANSWER_MAX 256

/* Parses the request and takes the memory its answer may need, before anything is saved:
 * on success *answer is the caller's. */
static bolsa_errcode bolsa_post_parse(bolsa_app *app, bolsa_request *req, bolsa_tx_input *in,
                                      bolsa_strategy *strategy, char **answer, bolsa_error *err)
{
    size_t len;
    const char *body = bolsa_request_body(req, &len);
    bolsa_errcode rc =
        bolsa_input_strategy(bolsa_request_query(req, "save_strategy"), strategy, err);
    if (!rc)
        rc = bolsa_input_tx_body(body, len, app->max_rows, in, err);
    if (!rc && !(*answer = malloc(BOLSA_POST_ANSWER_MAX))) {
        bolsa_tx_input_free(in);
        rc = bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    }
    return rc;
}

/* Once the rows are committed the answer must say so: when jansson cannot make it for
 * want of memory, it is written into the memory taken before saving. */
static void bolsa_post_answer(bolsa_response *resp, bolsa_strategy strategy, uint64_t seed,
                              const bolsa_save_result *res, char *answer)
{
    double elapsed = bolsa_ms(bolsa_timing_elapsed(bolsa_response_timing(resp)));
    double generate = bolsa_ms(res->generate_ns), db = bolsa_ms(res->db_ns);
    json_t *body = json_pack("{s:I, s:s, s:I, s:f, s:f, s:f}", "saved", (json_int_t)res->saved,
                             "strategy", bolsa_strategy_name(strategy), "seed", (json_int_t)seed,
                             "elapsed_ms", elapsed, "generate_ms", generate, "db_ms", db);
    if (bolsa_response_json(resp, 201, body) == BOLSA_E_OK) {
        free(answer);
        return;
    }
    int n =
        snprintf(answer, BOLSA_POST_ANSWER_MAX,
                 "{\"saved\":%" PRIu64 ",\"strategy\":\"%s\",\"seed\":%" PRId64
                 ",\"elapsed_ms\":%.3f,\"generate_ms\":%.3f,\"db_ms\":%.3f}",
                 res->saved, bolsa_strategy_name(strategy), (int64_t)seed, elapsed, generate, db);
    bolsa_response_set_body(resp, 201, "application/json", answer, (size_t)n);
}

/* n with a comma every three digits, "12,345", as counts are written for people. */
static const char *bolsa_count_text(uint64_t n, char out[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/* A save that failed says how many rows it had committed: none for the chunked strategy,
 * all or nothing; those before the failure for the naive one, which commits row by row.
 * In words after the message, and in detail[0].ctx.rows_saved. */
static void bolsa_post_failed(bolsa_request *req, bolsa_response *resp, bolsa_error *err,
                              uint64_t saved)
{
    char count[32];
    bolsa_answer_error(req, resp, err); /* conceals, and answers if what follows fails */
    size_t len = strlen(err->msg);
    if (saved)
        snprintf(err->msg + len, sizeof(err->msg) - len, "; %s %s saved before the failure",
                 bolsa_count_text(saved, count), saved == 1 ? "row was" : "rows were");
    else
        snprintf(err->msg + len, sizeof(err->msg) - len, "; no rows were saved");
    json_t *item = bolsa_error_item(err), *ctx = item ? json_object_get(item, "ctx") : NULL;
    if (item && !ctx)
        json_object_set_new(item, "ctx", ctx = json_object());
    if (json_object_set_new(ctx, "rows_saved", json_integer((json_int_t)saved))) {
        json_decref(item);
        return;
    }
    bolsa_response_json(resp, bolsa_error_status(err->code), json_pack("{s:[o]}", "detail", item));
}

static void bolsa_post_transaction(bolsa_app *app, bolsa_request *req, bolsa_response *resp)
{
    uint64_t t0 = bolsa_now_ns();
    bolsa_error err = {0};
    bolsa_tx_input in;
    bolsa_strategy strategy;
    char *answer = NULL;
    if (bolsa_post_parse(app, req, &in, &strategy, &answer, &err)) {
        bolsa_response_error(resp, &err);
        return;
    }
    gargalo_label_set("strategy", bolsa_strategy_name(strategy));
    bolsa_gen gen;
    uint64_t seed = in.has_seed ? in.seed : bolsa_rng_entropy();
    bolsa_gen_init(&gen, (const char(*)[BOLSA_TICKER_MAX + 1]) in.tickers, in.n_tickers,
                   (uint64_t)in.count, seed);
    bolsa_row_source src = bolsa_gen_source(&gen);
    bolsa_phase(resp, "parse", &t0);
    bolsa_save_result res = {0};
    bolsa_errcode rc = bolsa_store_save(app->store, strategy, &src, &res, &err);
    bolsa_timing_add(bolsa_response_timing(resp), "generate", res.generate_ns);
    bolsa_timing_add(bolsa_response_timing(resp), "db", res.db_ns);
    bolsa_tx_input_free(&in);
    if (rc) {
        free(answer);
        bolsa_post_failed(req, resp, &err, res.saved);
    } else {
        bolsa_post_answer(resp, strategy, seed, &res, answer);
    }
}

/* --- GET /api/v1/transaction --------------------------------------------------------- */

/* One item of a page, or NULL. Built key by key, not with json_pack: a page ran json_pack's
 * format scanner 100 times, and its copies of the token it has just stored stall by an
 * amount that depends on where the caller's stack frame falls. One more middleware frame
 * (slow-request capture's) made the same page cost 15% more CPU. */
static json_t *bolsa_tx_json(const bolsa_tx *t)
{
    json_t *o = json_object();
    if (o && (json_object_set_new(o, "id", json_integer((json_int_t)t->id)) ||
              json_object_set_new(o, "ativo", json_string(t->ativo)) ||
              json_object_set_new(o, "valor", json_real(bolsa_reais(t->valor_cents))) ||
              json_object_set_new(o, "created_at", json_string(t->created_at)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The page, or NULL when out of memory: an item that could not be made is not left out. */
static json_t *bolsa_list_json(const bolsa_tx *tx, size_t n, int limit)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n && items; i++)
        if (json_array_append_new(items, bolsa_tx_json(&tx[i]))) {
            json_decref(items);
            items = NULL;
        }
    /* A full page may have a next one; a short page is the last. */
    json_t *next = n == (size_t)limit && n ? json_integer(tx[n - 1].id) : json_null();
    return json_pack("{s:o, s:o}", "items", items, "next_after_id", next);
}

static void bolsa_list_transactions(bolsa_app *app, bolsa_request *req, bolsa_response *resp)
{
    uint64_t t0 = bolsa_now_ns();
    bolsa_error err = {0};
    bolsa_list_query q;
    bolsa_tx *tx = NULL;
    size_t n = 0;
    bolsa_errcode rc =
        bolsa_input_list_query(bolsa_request_query(req, "ativo"), bolsa_request_query(req, "limit"),
                               bolsa_request_query(req, "after_id"), &q, &err);
    bolsa_phase(resp, "parse", &t0);
    if (!rc && !(tx = malloc((size_t)q.limit * sizeof(*tx))))
        rc = bolsa_error_set(&err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    if (!rc)
        rc = bolsa_store_list(app->store, &q, tx, &n, &err);
    bolsa_phase(resp, "db", &t0);
    if (rc)
        bolsa_answer_error(req, resp, &err);
    else
        bolsa_response_json(resp, 200, bolsa_list_json(tx, n, q.limit));
    bolsa_phase(resp, "serialize", &t0);
    free(tx);
}

/* --- GET /api/v1/transaction/summary ------------------------------------------------- */

/* The summary, or NULL when out of memory: no ticker is left out. */
static json_t *bolsa_summary_json(const bolsa_summary_row *rows, size_t n)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n && items; i++)
        if (json_array_append_new(
                items, json_pack("{s:s, s:I, s:f, s:f, s:f}", "ativo", rows[i].ativo, "count",
                                 (json_int_t)rows[i].count, "min", bolsa_reais(rows[i].min_cents),
                                 "max", bolsa_reais(rows[i].max_cents), "mean",
                                 round(rows[i].mean * 100.0) / 100.0))) {
            json_decref(items);
            items = NULL;
        }
    return json_pack("{s:o}", "items", items);
}

static void bolsa_summary(bolsa_app *app, bolsa_request *req, bolsa_response *resp)
{
    uint64_t t0 = bolsa_now_ns();
    bolsa_error err = {0};
    bolsa_summary_row *rows = NULL;
    size_t n = 0;
    bolsa_errcode rc = bolsa_store_summary(app->store, &rows, &n, &err);
    bolsa_phase(resp, "db", &t0);
    if (rc)
        bolsa_answer_error(req, resp, &err);
    else
        bolsa_response_json(resp, 200, bolsa_summary_json(rows, n));
    bolsa_phase(resp, "serialize", &t0);
    free(rows);
}

/* --- GET /health --------------------------------------------------------------------- */

/* How long a successful database check answers /health for. Under a flood of checks the
 * ping was a sixth of bolsa's time (SQLite's file locks, taken for each read); a check
 * probe every second or so never sees the cache, and a failure is never cached. */
#define BOLSA_HEALTH_MAX_AGE_NS (10 * 1000000ULL)

static void bolsa_health(bolsa_app *app, bolsa_request *req, bolsa_response *resp)
{
    uint64_t t0 = bolsa_now_ns();
    bolsa_error err = {0};
    bolsa_errcode rc = bolsa_store_health(app->store, BOLSA_HEALTH_MAX_AGE_NS, &err);
    bolsa_phase(resp, "db", &t0);
    const char *db = bolsa_store_name(app->store);
    if (rc) {
        bolsa_error_conceal(&err, "GET /health");
        bolsa_response_json(resp, 503,
                            json_pack("{s:s, s:s, s:[o]}", "status", "unavailable", "database", db,
                                      "detail", bolsa_error_item(&err)));
        return;
    }
    /* The same bytes as json_pack and json_dumps would give, without building them. */
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"database\":\"%s\"}", db);
    char *copy = n > 0 && (size_t)n < sizeof(body) ? strdup(body) : NULL;
    if (bolsa_response_set_body(resp, 200, "application/json", copy, copy ? (size_t)n : 0)) {
        bolsa_response_json(resp, 200, NULL); /* out of memory: answered as an error */
        return;
    }
    /* Not in the request log: a probe every second would make most of it, and under a
     * flood of checks the log write was the largest cost left (9% of bolsa's CPU, the
     * threads queueing on the log file). A failed check is logged, with its error id. */
    bolsa_response_unlogged(resp);
}

/* --- dispatch ------------------------------------------------------------------------ */

typedef struct bolsa_route {
    const char *method;
    const char *path;
    void (*handle)(bolsa_app *app, bolsa_request *req, bolsa_response *resp);
} bolsa_route;

static const bolsa_route bolsa_routes[] = {
    {"POST", "/api/v1/transaction", bolsa_post_transaction},
    {"GET", "/api/v1/transaction", bolsa_list_transactions},
    {"GET", "/api/v1/transaction/summary", bolsa_summary},
    {"GET", "/health", bolsa_health},
};

#define BOLSA_ROUTE_COUNT (sizeof(bolsa_routes) / sizeof(bolsa_routes[0]))

/* 405 with the methods the path does take, or 404 when no route has the path. */
static void bolsa_routes_refuse(bolsa_request *req, bolsa_response *resp)
{
    char allow[64] = "";
    for (size_t i = 0; i < BOLSA_ROUTE_COUNT; i++) {
        if (bolsa_text_is(bolsa_request_path(req), bolsa_routes[i].path))
            snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", bolsa_routes[i].method);
    }
    bolsa_error err = {0};
    if (allow[0]) {
        bolsa_error_set(&err, BOLSA_E_METHOD, NULL, NULL, "Method Not Allowed");
        bolsa_response_set_header(resp, "Allow", allow);
    } else {
        bolsa_error_set(&err, BOLSA_E_NOT_FOUND, NULL, NULL, "Not Found");
    }
    bolsa_response_error(resp, &err);
}

/* A route other than GET (a POST: it writes) takes a JSON body from this server's own pages
 * or from clients that are not browser pages: another site's page could otherwise POST as
 * a "simple" request (text/plain, a form, a typeless Blob), sent without asking first. */
static bolsa_errcode bolsa_routes_guard(const bolsa_route *r, const bolsa_request *req,
                                        bolsa_error *err)
{
    if (!strcmp(r->method, "GET"))
        return BOLSA_E_OK;
    bolsa_errcode rc = bolsa_origin_check(req, err);
    if (!rc)
        rc = bolsa_input_content_type(bolsa_request_header(req, "Content-Type"), err);
    return rc;
}

void bolsa_routes_enter(bolsa_request *req, const char *method, const char *route)
{
    bolsa_request_set_route(req, route);
    gargalo_label_set("route", route);
    gargalo_label_set("method", method);
}

void bolsa_routes_leave(void)
{
    gargalo_label_clear(NULL);
}

/* Runs the route with its thread labelled: method and route pattern here, the POST's
 * strategy once parsed. */
static void bolsa_routes_run(const bolsa_route *r, bolsa_app *app, bolsa_request *req,
                             bolsa_response *resp)
{
    bolsa_routes_enter(req, r->method, r->path);
    bolsa_error err = {0};
    if (bolsa_routes_guard(r, req, &err))
        bolsa_response_error(resp, &err);
    else
        r->handle(app, req, resp);
    bolsa_routes_leave();
}

void bolsa_routes_handle(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    const char *method = bolsa_request_method(req);
    bolsa_text path = bolsa_request_path(req);
    for (size_t i = 0; i < BOLSA_ROUTE_COUNT; i++) {
        const bolsa_route *r = &bolsa_routes[i];
        /* With the path's length: "/health%00" decodes to "/health" and a NUL. */
        if (!strcmp(r->method, method) && bolsa_text_is(path, r->path)) {
            bolsa_routes_run(r, ctx, req, resp);
            return;
        }
    }
    bolsa_routes_refuse(req, resp);
}
