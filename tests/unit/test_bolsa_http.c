/*
 * test_bolsa_http.c: the HTTP seam and the endpoints over real sockets: a server on a free
 * port, a middleware wrapping the routes, body limits, Server-Timing, and each endpoint
 * against a temporary SQLite database.
 */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "http.h"
#include "routes.h"
#include "store.h"

/* --- a tiny HTTP/1.1 client ---------------------------------------------------------- */

typedef struct reply {
    int status;
    char *raw;        /* whole response, NUL-terminated */
    const char *body; /* into raw */
} reply;

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return; /* the server may close early, e.g. after a 413 */
        p += w;
        n -= (size_t)w;
    }
}

/* Sends one request (body may be NULL; extra is more header lines) and reads the answer. */
static reply request(int port, const char *method, const char *target, const char *extra,
                     const char *body, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char head[1024];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s",
                     method, target, extra ? extra : "");
    if (body && !strstr(head, "Transfer-Encoding"))
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", len);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    send_all(fd, head, (size_t)n);
    if (body)
        send_all(fd, body, len);
    reply r = {0};
    size_t cap = 1 << 16, got = 0;
    r.raw = malloc(cap);
    ssize_t k;
    while ((k = read(fd, r.raw + got, cap - got - 1)) > 0) {
        got += (size_t)k;
        if (got + 1 == cap)
            r.raw = realloc(r.raw, cap *= 2);
    }
    close(fd);
    r.raw[got] = '\0';
    sscanf(r.raw, "HTTP/1.1 %d", &r.status);
    const char *sep = strstr(r.raw, "\r\n\r\n");
    r.body = sep ? sep + 4 : "";
    return r;
}

/* The value of a response header, name matched case-insensitively, copied into out. */
static const char *header(const reply *r, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *p = strcasestr(r->raw, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\r");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return out;
}

static void expect_header(const reply *r, const char *name, const char *want)
{
    char v[256];
    const char *got = header(r, name, v, sizeof(v));
    assert_non_null(got);
    assert_string_equal(got, want);
}

static json_t *body_json(const reply *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    return j;
}

/* --- the seam: a test endpoint and a middleware -------------------------------------- */

static void echo_handler(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    size_t len;
    const char *body = bolsa_request_body(req, &len);
    const char *q = bolsa_request_query(req, "q").p, *h = bolsa_request_header(req, "x-test");
    bolsa_timing_add(bolsa_response_timing(resp), "echo", 1500000);
    bolsa_response_set_header(resp, "X-Echo", "one");
    bolsa_response_set_header(resp, "x-echo", "two"); /* replaces, case-insensitively */
    bolsa_response_json(resp, 200,
                        json_pack("{s:s, s:s?, s:s?, s:s%}", "path", bolsa_request_path(req).p, "q",
                                  q, "h", h, "body", body, len));
}

/* Refuses ?mw=bad with a 422 from the error table; otherwise wraps the next endpoint. */
static void middleware(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    const bolsa_endpoint *next = ctx;
    if (bolsa_text_is(bolsa_request_query(req, "mw"), "bad")) {
        bolsa_error e = {0};
        bolsa_error_set(&e, BOLSA_E_QUERY_INVALID, "query", "mw", "mw must not be bad");
        bolsa_response_error(resp, &e);
        return;
    }
    bolsa_endpoint_call(next, req, resp);
    char v[32];
    snprintf(v, sizeof(v), "%d", bolsa_response_status(resp));
    bolsa_response_set_header(resp, "X-Wrapped-Status", v);
}

typedef struct server_fixture {
    bolsa_server *srv;
    bolsa_endpoint inner;
    bolsa_store *store;
    bolsa_app app;
    char dir[64];
} server_fixture;

static int start_echo(void **state)
{
    server_fixture *f = calloc(1, sizeof(*f));
    f->inner = (bolsa_endpoint){echo_handler, NULL};
    bolsa_server_options opt = {.host = "127.0.0.1",
                                .port = 0,
                                .threads = 2,
                                .max_body = 64,
                                .endpoint = {middleware, &f->inner}};
    bolsa_error err = {0};
    assert_int_equal(bolsa_server_start(&f->srv, &opt, &err), 0);
    assert_true(bolsa_server_port(f->srv) > 0);
    *state = f;
    return 0;
}

static int stop_server(void **state)
{
    server_fixture *f = *state;
    bolsa_server_stop(f->srv);
    bolsa_store_close(f->store);
    if (f->dir[0]) {
        char p[128];
        static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
            unlink(p);
        }
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

static void test_seam(void **state)
{
    server_fixture *f = *state;
    reply r = request(bolsa_server_port(f->srv), "POST", "/some/path?q=a%20b&q=ignored",
                      "X-Test: hi\r\n", "{\"k\":1}", 7);
    assert_int_equal(r.status, 200);
    expect_header(&r, "X-Echo", "two");
    expect_header(&r, "X-Wrapped-Status", "200");
    expect_header(&r, "Content-Type", "application/json");
    char v[256];
    assert_non_null(header(&r, "Server-Timing", v, sizeof(v)));
    assert_non_null(strstr(v, "echo;dur=1.500, total;dur="));
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/some/path");
    assert_string_equal(json_string_value(json_object_get(j, "q")), "a b");
    assert_string_equal(json_string_value(json_object_get(j, "h")), "hi");
    assert_string_equal(json_string_value(json_object_get(j, "body")), "{\"k\":1}");
    json_decref(j);
    free(r.raw);
}

/* What the request getters gave for decoded input, checked on the test's thread. */
static bolsa_text seen_path, seen_q, seen_upper;
static char seen_path_bytes[32], seen_bytes[32]; /* copies: the request's memory goes */

static void lengths_handler(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    seen_path = bolsa_request_path(req);
    seen_q = bolsa_request_query(req, "q");
    seen_upper = bolsa_request_query(req, "Q");
    if (seen_q.p && seen_q.len <= sizeof(seen_bytes))
        memcpy(seen_bytes, seen_q.p, seen_q.len);
    if (seen_path.len <= sizeof(seen_path_bytes))
        memcpy(seen_path_bytes, seen_path.p, seen_path.len);
    bolsa_response_json(resp, 200, json_object());
}

static int start_lengths(void **state)
{
    server_fixture *f = calloc(1, sizeof(*f));
    bolsa_server_options opt = {
        .host = "127.0.0.1", .threads = 1, .max_body = 64, .endpoint = {lengths_handler, NULL}};
    bolsa_error err = {0};
    assert_int_equal(bolsa_server_start(&f->srv, &opt, &err), BOLSA_E_OK);
    *state = f;
    return 0;
}

/* A decoded NUL is a byte of the value, not its end; names are matched exactly. */
static void test_decoded_lengths(void **state)
{
    server_fixture *f = *state;
    reply r = request(bolsa_server_port(f->srv), "GET", "/a%00b?Q=upper&q=x%00y", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.raw);
    assert_int_equal(seen_path.len, 4);
    assert_memory_equal(seen_path_bytes, "/a\0b", 4);
    assert_int_equal(seen_q.len, 3);
    assert_memory_equal(seen_bytes, "x\0y", 3);
    assert_int_equal(seen_upper.len, 5); /* "Q" is its own parameter, not "q" */
}

static void test_middleware_error(void **state)
{
    server_fixture *f = *state;
    reply r = request(bolsa_server_port(f->srv), "GET", "/x?mw=bad", NULL, NULL, 0);
    assert_int_equal(r.status, 422);
    char v[256];
    assert_null(header(&r, "X-Echo", v, sizeof(v)));
    assert_non_null(header(&r, "Server-Timing", v, sizeof(v)));
    json_t *j = body_json(&r);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "type")), "query_invalid");
    assert_string_equal(json_string_value(json_array_get(json_object_get(item, "loc"), 1)), "mw");
    json_decref(j);
    free(r.raw);
}

static void test_body_limit(void **state)
{
    server_fixture *f = *state;
    char big[200];
    memset(big, 'x', sizeof(big));
    /* Declared too large: refused before reading. */
    reply r = request(bolsa_server_port(f->srv), "POST", "/x", NULL, big, sizeof(big));
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "body_too_large"));
    free(r.raw);
    /* Chunked, so only known once read: read, dropped past the cap, then refused. */
    char chunked[300];
    int n = snprintf(chunked, sizeof(chunked), "%x\r\n%.*s\r\n0\r\n\r\n", 150, 150, big);
    r = request(bolsa_server_port(f->srv), "POST", "/x", "Transfer-Encoding: chunked\r\n", chunked,
                (size_t)n);
    assert_int_equal(r.status, 413);
    free(r.raw);
    /* Exactly at the cap is fine. */
    r = request(bolsa_server_port(f->srv), "POST", "/x", NULL, big, 64);
    assert_int_equal(r.status, 200);
    free(r.raw);
}

static void test_port_in_use(void **state)
{
    server_fixture *f = *state;
    bolsa_server_options opt = {.host = "127.0.0.1",
                                .port = bolsa_server_port(f->srv),
                                .threads = 1,
                                .max_body = 64,
                                .endpoint = f->inner};
    bolsa_server *other = NULL;
    bolsa_error err = {0};
    assert_int_equal(bolsa_server_start(&other, &opt, &err), BOLSA_E_INTERNAL);
    assert_null(other);
    assert_non_null(strstr(err.msg, "in use"));
    /* Not a numeric address: a setting to fix, not a failure of the machine. */
    opt = (bolsa_server_options){
        .host = "not-an-address", .port = 0, .threads = 1, .max_body = 64, .endpoint = f->inner};
    memset(&err, 0, sizeof(err));
    assert_int_equal(bolsa_server_start(&other, &opt, &err), BOLSA_E_CONFIG);
    assert_null(other);
    assert_non_null(strstr(err.msg, "bad host 'not-an-address'"));
}

/* What the response setters returned inside a handler, checked on the test's thread. */
#define SETTER_HEADERS 17 /* one past the response's room */
static bolsa_errcode header_codes[SETTER_HEADERS], replace_code, null_json_code;

static void setters_handler(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    char name[32];
    for (int i = 0; i < SETTER_HEADERS; i++) {
        snprintf(name, sizeof(name), "X-H%d", i);
        header_codes[i] = bolsa_response_set_header(resp, name, "v");
    }
    replace_code = bolsa_response_set_header(resp, "x-h0", "again"); /* full, but replaces */
    null_json_code = bolsa_response_json(resp, 200, NULL);           /* a json_pack that failed */
}

static int start_setters(void **state)
{
    server_fixture *f = calloc(1, sizeof(*f));
    bolsa_server_options opt = {.host = "127.0.0.1",
                                .port = 0,
                                .threads = 1,
                                .max_body = 64,
                                .endpoint = {setters_handler, NULL}};
    bolsa_error err = {0};
    assert_int_equal(bolsa_server_start(&f->srv, &opt, &err), BOLSA_E_OK);
    *state = f;
    return 0;
}

static void test_setter_codes(void **state)
{
    server_fixture *f = *state;
    reply r = request(bolsa_server_port(f->srv), "GET", "/", NULL, NULL, 0);
    for (int i = 0; i < SETTER_HEADERS - 1; i++)
        assert_int_equal(header_codes[i], BOLSA_E_OK);
    assert_int_equal(header_codes[SETTER_HEADERS - 1], BOLSA_E_INTERNAL);
    assert_int_equal(replace_code, BOLSA_E_OK);
    assert_int_equal(null_json_code, BOLSA_E_NOMEM);
    /* The failed JSON body became the out-of-memory error; the headers that fit went out. */
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "out_of_memory"));
    expect_header(&r, "X-H0", "again");
    expect_header(&r, "X-H15", "v");
    char v[64];
    assert_null(header(&r, "X-H16", v, sizeof(v)));
    free(r.raw);
}

/* --- the endpoints over a real store ------------------------------------------------- */

static int start_app(void **state)
{
    server_fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/bolsa-http-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_open(&f->store, url, 2, &err), 0);
    f->app = (bolsa_app){f->store, 5000};
    bolsa_server_options opt = {.host = "127.0.0.1",
                                .port = 0,
                                .threads = 2,
                                .max_body = 1 << 20,
                                .endpoint = {bolsa_routes_handle, &f->app}};
    assert_int_equal(bolsa_server_start(&f->srv, &opt, &err), 0);
    *state = f;
    return 0;
}

static reply post(server_fixture *f, const char *target, const char *body)
{
    return request(bolsa_server_port(f->srv), "POST", target, "Content-Type: application/json\r\n",
                   body, strlen(body));
}

static reply get(server_fixture *f, const char *target)
{
    return request(bolsa_server_port(f->srv), "GET", target, NULL, NULL, 0);
}

static int64_t stored_rows(server_fixture *f)
{
    int64_t n = -1;
    bolsa_error err = {0};
    assert_int_equal(bolsa_store_count(f->store, &n, &err), 0);
    return n;
}

static void test_post_and_read_back(void **state)
{
    server_fixture *f = *state;
    reply r = post(f, "/api/v1/transaction",
                   "{\"ativos\": [\"PETR4\", \"VALE3\"], \"quantidadeAtivos\": 1234, \"seed\": 7}");
    assert_int_equal(r.status, 201);
    char v[256];
    assert_non_null(header(&r, "Server-Timing", v, sizeof(v)));
    assert_non_null(strstr(v, "parse;dur="));
    assert_non_null(strstr(v, "generate;dur="));
    assert_non_null(strstr(v, "db;dur="));
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "saved")), 1234);
    assert_string_equal(json_string_value(json_object_get(j, "strategy")), "chunked");
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 7);
    assert_true(json_is_number(json_object_get(j, "elapsed_ms")));
    json_decref(j);
    free(r.raw);
    assert_int_equal(stored_rows(f), 1234);

    r = get(f, "/api/v1/transaction?limit=1000&ativo=VALE3");
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) > 500 && json_array_size(items) < 734);
    json_t *first = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(first, "ativo")), "VALE3");
    double valor = json_number_value(json_object_get(first, "valor"));
    assert_true(valor >= 1.0 && valor <= 100.0);
    assert_true(json_is_null(json_object_get(j, "next_after_id")));
    json_decref(j);
    free(r.raw);
}

static void test_same_seed_same_rows(void **state)
{
    server_fixture *f = *state;
    const char *body =
        "{\"ativos\": [\"A1\", \"B2\", \"C3\"], \"quantidadeAtivos\": 50, \"seed\": 99}";
    for (int i = 0; i < 2; i++)
        free(post(f, "/api/v1/transaction?save_strategy=naive", body).raw);
    reply r = get(f, "/api/v1/transaction?limit=100");
    json_t *j = body_json(&r), *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 100);
    for (size_t i = 0; i < 50; i++) {
        json_t *a = json_array_get(items, i), *b = json_array_get(items, i + 50);
        assert_string_equal(json_string_value(json_object_get(a, "ativo")),
                            json_string_value(json_object_get(b, "ativo")));
        assert_true(json_equal(json_object_get(a, "valor"), json_object_get(b, "valor")));
    }
    /* A full page points at its last id. */
    assert_int_equal(json_integer_value(json_object_get(j, "next_after_id")),
                     json_integer_value(json_object_get(json_array_get(items, 99), "id")));
    json_decref(j);
    free(r.raw);
}

/* Posts a bad request and checks status, error type and that nothing was written. */
static void expect_refused(server_fixture *f, const char *target, const char *body, int status,
                           const char *type)
{
    reply r = body ? post(f, target, body) : get(f, target);
    assert_int_equal(r.status, status);
    json_t *j = body_json(&r);
    json_t *item = json_array_get(json_object_get(j, "detail"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "type")), type);
    json_decref(j);
    free(r.raw);
    assert_int_equal(stored_rows(f), 0);
}

static void test_refusals(void **state)
{
    server_fixture *f = *state;
    const char *tx = "/api/v1/transaction";
    expect_refused(f, tx, "{oops", 400, "json_invalid");
    expect_refused(f, tx, "{\"ativos\": [\"A\"], \"quantidadeAtivos\": 5001}", 422,
                   "less_than_equal");
    expect_refused(f, tx, "{\"ativos\": [\"a\"], \"quantidadeAtivos\": 5}", 422,
                   "string_pattern_mismatch");
    expect_refused(f, "/api/v1/transaction?save_strategy=bulk",
                   "{\"ativos\": [\"A\"], \"quantidadeAtivos\": 5}", 422, "enum");
    expect_refused(f, "/api/v1/transaction?limit=0", NULL, 422, "greater_than");
    expect_refused(f, "/api/v1/transaction?after_id=x", NULL, 422, "int_type");
    expect_refused(f, "/nowhere", NULL, 404, "not_found");
    expect_refused(f, "/health", "{}", 405, "method_not_allowed");
}

static void test_summary_and_health(void **state)
{
    server_fixture *f = *state;
    free(post(f, "/api/v1/transaction", "{\"ativos\": [\"X\"], \"quantidadeAtivos\": 10}").raw);
    reply r = get(f, "/api/v1/transaction/summary");
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r), *item = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "ativo")), "X");
    assert_int_equal(json_integer_value(json_object_get(item, "count")), 10);
    double min = json_number_value(json_object_get(item, "min"));
    double mean = json_number_value(json_object_get(item, "mean"));
    double max = json_number_value(json_object_get(item, "max"));
    assert_true(min >= 1.0 && min <= mean && mean <= max && max <= 100.0);
    json_decref(j);
    free(r.raw);
    r = get(f, "/health");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\",\"database\":\"sqlite\"}");
    free(r.raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seam, start_echo, stop_server),
        cmocka_unit_test_setup_teardown(test_middleware_error, start_echo, stop_server),
        cmocka_unit_test_setup_teardown(test_decoded_lengths, start_lengths, stop_server),
        cmocka_unit_test_setup_teardown(test_body_limit, start_echo, stop_server),
        cmocka_unit_test_setup_teardown(test_port_in_use, start_echo, stop_server),
        cmocka_unit_test_setup_teardown(test_setter_codes, start_setters, stop_server),
        cmocka_unit_test_setup_teardown(test_post_and_read_back, start_app, stop_server),
        cmocka_unit_test_setup_teardown(test_same_seed_same_rows, start_app, stop_server),
        cmocka_unit_test_setup_teardown(test_refusals, start_app, stop_server),
        cmocka_unit_test_setup_teardown(test_summary_and_health, start_app, stop_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
