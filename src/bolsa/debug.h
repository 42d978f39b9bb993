/*
 * debug.h: profiling's own endpoints, under /debug/gargalo/:
 *
 *   GET /debug/gargalo/                   the page of profiles (debug_page.h)
 *   GET /debug/gargalo/profiles/<name>    one of them, to open or download (debug_files.h)
 *   GET /debug/gargalo/profile?seconds=N  the whole server for N seconds (debug_profile.h)
 *
 * They exist only with profiling enabled (404 otherwise, as any unknown path), and follow
 * the rules of ?profile=true (bolsa_profiling_allowed): the token when one is set or when
 * bolsa listens beyond loopback, and never for a page of another site (403). Another
 * method than GET is 405. A middleware in front of the profiling one: its own requests are
 * neither profiled nor captured (a ten-second whole-process profile is not a slow request).
 */
#ifndef BOLSA_DEBUG_H
#define BOLSA_DEBUG_H

#include "debug_profile.h"
#include "http.h"
#include "profiling.h"

typedef struct bolsa_debug {
    bolsa_profiling *profiling;
    bolsa_endpoint next;
    bolsa_debug_profile whole;
} bolsa_debug;

/* Sets d up in front of next; p must outlive d. */
void bolsa_debug_init(bolsa_debug *d, bolsa_profiling *p, bolsa_endpoint next);

/* The endpoint to give the server. */
bolsa_endpoint bolsa_debug_endpoint(bolsa_debug *d);

/* At a graceful stop (bolsa_debug_profile_cut): a whole-process profile still running
 * answers now. */
void bolsa_debug_cut(bolsa_debug *d);

#endif
