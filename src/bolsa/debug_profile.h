/*
 * debug_profile.h: GET /debug/gargalo/profile?seconds=N&format=F&clock=C, a profile of the
 * whole server for N seconds while it serves, on the model of Go's /debug/pprof/profile.
 *
 *   seconds  1 to 60, default 10
 *   format   pprof (default, as Go's: `go tool pprof URL` reads it), html, speedscope,
 *            text, json or folded
 *   clock    wall (default) or cpu
 *
 * One gargalo process-wide session (gargalo_start_process: every thread, perf events only)
 * runs for N seconds; the answer is the profile itself, Content-Disposition: attachment;
 * filename="gargalo-<UTC time>.<ext>", with X-Profile-Samples. Its worker thread is not
 * held meanwhile: the request is deferred (bolsa_request_defer) and a thread of its own
 * waits, stops the session, renders it and answers. One at a time: 409 while one runs
 * (this or any other process-wide session of the process); 503 where perf events are
 * refused (with signals only, gargalo has no process-wide session); 422 for a bad
 * parameter. Requests profiled as asked, and slow-request capture, go on meanwhile: their
 * per-thread sessions run beside the process-wide one.
 */
#ifndef BOLSA_DEBUG_PROFILE_H
#define BOLSA_DEBUG_PROFILE_H

#include <pthread.h>
#include <stdatomic.h>

#include "http.h"

typedef struct bolsa_debug_profile {
    atomic_int busy;      /* a profile runs */
    pthread_mutex_t lock; /* over cutting */
    pthread_cond_t wake;  /* CLOCK_MONOTONIC: a cut ends the wait */
    int cutting;          /* the server is stopping: end the profile now */
} bolsa_debug_profile;

void bolsa_debug_profile_init(bolsa_debug_profile *w);

/* Answers GET /debug/gargalo/profile (access already checked). */
void bolsa_debug_profile_handle(bolsa_debug_profile *w, bolsa_request *req, bolsa_response *resp);

/* At a graceful stop: a profile still running ends now and answers with what it has, so
 * the stop does not wait up to a minute for it; later ones end at once too. */
void bolsa_debug_profile_cut(bolsa_debug_profile *w);

#endif
