/*
 * http.h: the HTTP server (libmicrohttpd underneath) and the seam every request goes
 * through: one handler, called on the worker thread that received the whole request.
 *
 * The seam. The server calls one bolsa_endpoint per request, once the body has been read
 * completely, synchronously, on the MHD pool thread that owns the connection; the answer
 * is sent when the handler returns. A middleware is just an endpoint whose ctx holds the
 * next endpoint: it may look at the request, call the next one on the same thread, and
 * then change the response, or answer by itself without calling it:
 *
 *     static void profiled(bolsa_request *req, bolsa_response *resp, void *ctx)
 *     {
 *         const bolsa_endpoint *next = ctx;
 *         bolsa_text p = bolsa_request_query(req, "profile");
 *         if (p.p && !bolsa_text_is(p, "1")) {
 *             bolsa_error e = {0};
 *             bolsa_error_set(&e, BOLSA_E_QUERY_INVALID, "query", "profile", "must be 1");
 *             bolsa_response_error(resp, &e);   (status and body from the error table)
 *             return;
 *         }
 *         ... start profiling this thread ...
 *         bolsa_endpoint_call(next, req, resp);
 *         ... stop; bolsa_response_set_header(resp, "X-Profile", path); ...
 *     }
 *
 * Request and response live for one call of the handler chain; strings returned by the
 * bolsa_request_* getters stay valid until then. Decoded input (the path, query values)
 * comes as bolsa_text, with its length: it may hold NUL bytes (text.h). None of these functions is
 * thread-safe on the same request, and none needs to be: a request belongs to one thread. After the
 * chain returns, the server adds Server-Timing (from bolsa_response_timing) and Content-Type,
 * queues the answer and logs one line to stderr.
 */
#ifndef BOLSA_HTTP_H
#define BOLSA_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "errors.h"
#include "text.h"
#include "timing.h"

typedef struct bolsa_request bolsa_request;
typedef struct bolsa_response bolsa_response;

/* Handles one request by filling resp. ctx is the endpoint's own. */
typedef void (*bolsa_handler)(bolsa_request *req, bolsa_response *resp, void *ctx);

typedef struct bolsa_endpoint {
    bolsa_handler handle;
    void *ctx;
} bolsa_endpoint;

/* Calls e->handle(req, resp, e->ctx): how a middleware hands over to the next one. */
void bolsa_endpoint_call(const bolsa_endpoint *e, bolsa_request *req, bolsa_response *resp);

/* "GET", "POST", ... */
const char *bolsa_request_method(const bolsa_request *req);
/* The path without the query string, percent-decoded: "/api/v1/transaction". */
bolsa_text bolsa_request_path(const bolsa_request *req);
/* The first value of query parameter name (matched exactly, case included), URL-decoded;
 * .p is NULL when absent or given without "=". */
bolsa_text bolsa_request_query(const bolsa_request *req, const char *name);
/* A request header's value, name matched case-insensitively; NULL when absent. */
const char *bolsa_request_header(const bolsa_request *req, const char *name);
/* The body (not NUL-terminated; *len may be 0). */
const char *bolsa_request_body(const bolsa_request *req, size_t *len);
/* The route the router matched, as its pattern ("/api/v1/transaction", never the path as
 * sent): set by the router for the middlewares around it; NULL when none matched. route
 * must outlive the request (a string of the route table). */
void bolsa_request_set_route(bolsa_request *req, const char *route);
const char *bolsa_request_route(const bolsa_request *req);

/* Sets a header, replacing an earlier one of the same name. Returns BOLSA_E_OK, or
 * BOLSA_E_NOMEM, or BOLSA_E_INTERNAL past 16 headers (the response is left as it was).
 * Content-Type is set by the body setters below. */
bolsa_errcode bolsa_response_set_header(bolsa_response *resp, const char *name, const char *value);
/* Replaces status and body. body is malloc'd and owned by the response from now on
 * (also on failure); content_type is copied. A NULL body (an allocation that failed) is
 * BOLSA_E_NOMEM, and the response then has no body. */
bolsa_errcode bolsa_response_set_body(bolsa_response *resp, int status, const char *content_type,
                                      char *body, size_t len);
/* Replaces status and body with body serialised as JSON; takes the reference to body. A
 * NULL body (a json_pack that failed) or no memory to serialise it is BOLSA_E_NOMEM, and
 * the response is then a 500 error. */
bolsa_errcode bolsa_response_json(bolsa_response *resp, int status, json_t *body);
/* Replaces status and body with the error's, from the table in errors.h:
 * {"detail": [{"loc": [...], "msg": ..., "type": ...}]}. */
void bolsa_response_error(bolsa_response *resp, const bolsa_error *err);
/* The status so far (0 before any handler set one) and the body so far (NULL if none). */
int bolsa_response_status(const bolsa_response *resp);
const char *bolsa_response_body(const bolsa_response *resp, size_t *len);
/* The request's phase timings: add phases to them; the server adds "total". */
bolsa_timing *bolsa_response_timing(bolsa_response *resp);
/* Leaves this request out of the request log: for answers nobody needs a line for (a
 * health check that succeeded), whose log write was most of their cost. */
void bolsa_response_unlogged(bolsa_response *resp);

/* --- answers given later, from another thread ------------------------------------------ */

/* A request whose answer takes seconds to make (a whole-process profile) and does not need
 * its worker thread meanwhile: the handler calls bolsa_request_defer and returns; the
 * connection is set aside (the worker serves its other connections) until another thread
 * fills bolsa_deferred_response and calls bolsa_deferred_answer, which sends it. What the
 * handler put in its own resp is dropped, but for its timing, which the answer keeps. The
 * server's graceful stop waits for deferred requests like any other: answer each within
 * the shutdown timeout. A client that disconnects meanwhile is noticed only at the
 * answer. */
typedef struct bolsa_deferred bolsa_deferred;

/* Only from a handler, once per request. NULL when out of memory: answer at once. */
bolsa_deferred *bolsa_request_defer(bolsa_request *req, bolsa_response *resp);
/* The response to fill; from any one thread at a time, until bolsa_deferred_answer. */
bolsa_response *bolsa_deferred_response(bolsa_deferred *d);
/* Sends the response; d belongs to the server from then on. From any thread. */
void bolsa_deferred_answer(bolsa_deferred *d);

/* --- the server ---------------------------------------------------------------------- */

typedef struct bolsa_server bolsa_server;

typedef struct bolsa_server_options {
    const char *host; /* numeric address to listen on, e.g. "127.0.0.1" or "::1" */
    int port;         /* 0: any free port, see bolsa_server_port */
    int threads;      /* MHD worker threads, each handling its connections */
    size_t max_body;  /* larger bodies are answered 413 without being buffered */
    bolsa_endpoint endpoint;
    /* 0 in any of these: libmicrohttpd's default (about 1,000 connections), no limit per
     * address, no request deadline. */
    unsigned max_connections; /* open at once; past it, new ones wait in the listen queue */
    unsigned max_per_address; /* open at once from one client address; past it, closed */
    unsigned request_timeout; /* s a connection may take to send a whole request, from its
                                 opening or its previous answer; then it is closed */
} bolsa_server_options;

/* Binds, listens and starts the worker threads. On failure err says why (e.g. the port is
 * in use, BOLSA_E_INTERNAL; a host that is not a numeric address, BOLSA_E_CONFIG) and
 * nothing is left running. */
bolsa_errcode bolsa_server_start(bolsa_server **out, const bolsa_server_options *opt,
                                 bolsa_error *err);
/* The port actually bound. */
int bolsa_server_port(const bolsa_server *s);

/* Stopping gracefully, in this order:
 * bolsa_server_quiesce: closes the listening socket (new connections are refused) and
 *   marks every answer from then on "Connection: close", so each open connection ends
 *   with the answer to the request it is sending, if any.
 * bolsa_server_pending: requests begun (request line received) and not yet ended (answer
 *   sent, or connection closed); wait for it to reach 0.
 * bolsa_server_hold: from then on a request whose handler has not started is not run,
 *   its connection closed without an answer; a handler that started just before still
 *   answers, so wait for bolsa_server_pending to reach 0 again.
 * bolsa_server_stop: closes whatever connections are left (idle ones), frees s. */
void bolsa_server_quiesce(bolsa_server *s);
unsigned bolsa_server_pending(const bolsa_server *s);
void bolsa_server_hold(bolsa_server *s);
/* Waits for the worker threads (and so for any handler still running), closes every
 * connection, frees s. NULL is a no-op. */
void bolsa_server_stop(bolsa_server *s);

#endif
