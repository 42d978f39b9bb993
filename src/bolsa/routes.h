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

#endif
