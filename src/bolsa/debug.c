/*
 * debug.c: the /debug/gargalo/ endpoints' dispatch and access rules (debug.h).
 */
#include "debug.h"

#include <string.h>

#include "debug_files.h"
#include "debug_page.h"
#include "routes.h"

#define DEBUG_PREFIX "/debug/gargalo"
#define DEBUG_FILES DEBUG_PREFIX "/profiles/"

/* Which endpoint a path is, with its route pattern (for the thread's labels). */
typedef enum { DEBUG_NONE, DEBUG_PAGE, DEBUG_WHOLE, DEBUG_FILE } debug_kind;

static debug_kind debug_match(bolsa_text path, const char **route)
{
    if (bolsa_text_is(path, DEBUG_PREFIX "/") || bolsa_text_is(path, DEBUG_PREFIX)) {
        *route = DEBUG_PREFIX "/";
        return DEBUG_PAGE;
    }
    if (bolsa_text_is(path, DEBUG_PREFIX "/profile")) {
        *route = DEBUG_PREFIX "/profile";
        return DEBUG_WHOLE;
    }
    size_t n = strlen(DEBUG_FILES);
    if (path.len > n && !memcmp(path.p, DEBUG_FILES, n)) {
        *route = DEBUG_FILES "{name}";
        return DEBUG_FILE;
    }
    return DEBUG_NONE;
}

/* A path under /debug/gargalo/ that is none of its endpoints: still this module's (404). */
static int debug_owns(bolsa_text path)
{
    size_t n = strlen(DEBUG_PREFIX);
    return path.len >= n && !memcmp(path.p, DEBUG_PREFIX, n) && (path.len == n || path.p[n] == '/');
}

static void debug_refuse(bolsa_response *resp, bolsa_errcode code, const char *msg)
{
    bolsa_error err = {0};
    bolsa_error_set(&err, code, NULL, NULL, "%s", msg);
    if (code == BOLSA_E_METHOD)
        bolsa_response_set_header(resp, "Allow", "GET");
    bolsa_response_error(resp, &err);
}

static void debug_run(bolsa_debug *d, debug_kind kind, bolsa_request *req, bolsa_response *resp)
{
    bolsa_text path = bolsa_request_path(req);
    size_t n = strlen(DEBUG_FILES);
    switch (kind) {
    case DEBUG_PAGE:
        bolsa_debug_page_handle(d->profiling, req, resp);
        break;
    case DEBUG_WHOLE:
        bolsa_debug_profile_handle(&d->whole, req, resp);
        break;
    default:
        bolsa_debug_files_handle(d->profiling->dir, (bolsa_text){path.p + n, path.len - n}, req,
                                 resp);
    }
}

/* The access rules, then the endpoint, its route entered as the service's routes enter
 * theirs (labelled, for the profiles that sample this thread). */
static void debug_serve(bolsa_debug *d, debug_kind kind, const char *route, bolsa_request *req,
                        bolsa_response *resp)
{
    bolsa_error err = {0};
    if (strcmp(bolsa_request_method(req), "GET")) {
        debug_refuse(resp, BOLSA_E_METHOD, "Method Not Allowed");
    } else if (bolsa_profiling_allowed(d->profiling, req, &err)) {
        bolsa_response_error(resp, &err);
    } else {
        bolsa_routes_enter(req, "GET", route);
        debug_run(d, kind, req, resp);
        bolsa_routes_leave();
    }
}

static void debug_handle(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    bolsa_debug *d = ctx;
    bolsa_text path = bolsa_request_path(req);
    const char *route = NULL;
    if (!d->profiling->enabled || !debug_owns(path)) {
        bolsa_endpoint_call(&d->next, req, resp);
        return;
    }
    debug_kind kind = debug_match(path, &route);
    if (kind == DEBUG_NONE)
        debug_refuse(resp, BOLSA_E_NOT_FOUND, "Not Found");
    else
        debug_serve(d, kind, route, req, resp);
}

void bolsa_debug_init(bolsa_debug *d, bolsa_profiling *p, bolsa_endpoint next)
{
    d->profiling = p;
    d->next = next;
    bolsa_debug_profile_init(&d->whole);
}

bolsa_endpoint bolsa_debug_endpoint(bolsa_debug *d)
{
    return (bolsa_endpoint){debug_handle, d};
}

void bolsa_debug_cut(bolsa_debug *d)
{
    bolsa_debug_profile_cut(&d->whole);
}
