/*
 * routes.h: the service's endpoints and the dispatch from method and path to them. This
 * is the innermost handler of the chain in http.h; it knows nothing about MHD.
 */
#ifndef BOLSA_ROUTES_H
#define BOLSA_ROUTES_H

#include <stdint.h>

#include "http.h"
#include "store.h"

/* What the handlers share; lives as long as the server. */
typedef struct bolsa_app {
    bolsa_store *store;
    int64_t max_rows; /* largest quantidadeAtivos */
} bolsa_app;

/* A bolsa_handler: ctx is a bolsa_app. Unknown paths get 404, known paths with another
 * method 405 (with Allow), both as JSON errors. */
void bolsa_routes_handle(bolsa_request *req, bolsa_response *resp, void *ctx);

/* Marks req as served by route (its pattern, a string that outlives the request) and
 * labels the calling thread with it, so that every session sampling the thread (this
 * request's profile, a whole-process one) can tell whose samples are whose. The route is
 * labelled before the method: a sample taken between the two calls still says whose it
 * is. Any router's endpoints (these, the debug ones) enter their route this way and leave
 * it when they return: the worker thread serves other requests next. */
void bolsa_routes_enter(bolsa_request *req, const char *method, const char *route);
void bolsa_routes_leave(void);

#endif
