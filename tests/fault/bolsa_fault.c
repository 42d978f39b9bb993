/*
 * bolsa_fault.c: what makes the fault-injection build of bolsa (FAULT_BOLSA in the
 * Makefile), a test program apart from build/bolsa: bolsa's own main and objects, linked
 * with failalloc.c and with --wrap=bolsa_server_start, which puts one middleware in front
 * of the request chain main builds. A request carrying
 *     X-Fault-Alloc: N
 * runs the whole chain (profiling middleware, routes, parsers, store, database client,
 * gargalo) with the worker thread armed: its Nth allocation fails. After the chain the
 * answer says what happened, in X-Fault-Fired (1: allocation N failed; 0: the request
 * needed fewer) and X-Fault-Allocs (how many it made). Requests without the header run
 * untouched. What libmicrohttpd does before and after the chain (reading the request,
 * queueing the answer) is not armed: its failures are its own, and close the connection.
 *
 * FAULT_SPARE, a colon-separated list of library names ("/libpq.so:/libdw.so"), names
 * the libraries whose own allocations are never failed (failalloc_spare); unset, those
 * of elfutils, which aborts the process when one fails (tests/fault/README.md). The
 * answer's X-Fault-Spared says how many allocations were spared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "http.h"

bolsa_errcode __real_bolsa_server_start(bolsa_server **out, const bolsa_server_options *opt,
                                        bolsa_error *err);

/* The chain main asked the server to run; set once, before the server starts. */
static bolsa_endpoint fault_next;

#define FAULT_SPARE_MAX 16
static char fault_spare_text[1024];
static const char *fault_spare[FAULT_SPARE_MAX + 1] = {"/libdw.so", "/libelf.so", NULL};

/* Reads FAULT_SPARE into fault_spare, once, before any thread is armed. */
static void fault_read_spare(void)
{
    const char *v = getenv("FAULT_SPARE");
    if (!v)
        return;
    snprintf(fault_spare_text, sizeof(fault_spare_text), "%s", v);
    int n = 0;
    for (char *save, *p = strtok_r(fault_spare_text, ":", &save); p && n < FAULT_SPARE_MAX;
         p = strtok_r(NULL, ":", &save))
        fault_spare[n++] = p;
    fault_spare[n] = NULL;
}

static void fault_handle(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    const char *v = bolsa_request_header(req, "X-Fault-Alloc");
    char *end;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    if (!n || *end) {
        bolsa_endpoint_call(&fault_next, req, resp);
        return;
    }
    failalloc_arm(n);
    bolsa_endpoint_call(&fault_next, req, resp);
    int fired;
    char seen[32], spared[32];
    snprintf(seen, sizeof(seen), "%lu", failalloc_disarm(&fired));
    snprintf(spared, sizeof(spared), "%lu", failalloc_spared());
    bolsa_response_set_header(resp, "X-Fault-Fired", fired ? "1" : "0");
    bolsa_response_set_header(resp, "X-Fault-Allocs", seen);
    bolsa_response_set_header(resp, "X-Fault-Spared", spared);
}

bolsa_errcode __wrap_bolsa_server_start(bolsa_server **out, const bolsa_server_options *opt,
                                        bolsa_error *err)
{
    bolsa_server_options o = *opt;
    fault_read_spare();
    failalloc_spare(fault_spare);
    fault_next = o.endpoint;
    o.endpoint = (bolsa_endpoint){fault_handle, NULL};
    return __real_bolsa_server_start(out, &o, err);
}
