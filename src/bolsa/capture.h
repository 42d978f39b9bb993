/*
 * capture.h: slow-request capture. With profiling enabled and --profile-slow-ms set,
 * every request that does not ask for a profile of its own runs under a gargalo session
 * sampling its thread on the wall clock at --profile-slow-interval-us; a request whose
 * handler took longer than the threshold keeps its profile, written as ?profile=true
 * writes one (same directory, private, same retention), "slow" in its name; the others are
 * dropped before symbolization, which is most of what a profile costs.
 *
 * Each worker thread keeps one session for all its requests: rewound at a request's start,
 * paused at its end (gargalo_rewind, gargalo_pause), stopped and written when the request
 * was slow, then started anew at the thread's next request. Starting and freeing a session
 * per request would cost more than a small request itself. Signals sample it: with them a
 * rewind and a pause make no system call, and a paused worker is not interrupted while it
 * waits for work (perf events go on sampling a paused thread).
 *
 * The client did not ask, so no header of the answer names the profile and no token is
 * needed: the profile is said in the log ("bolsa: slow request profiled: ...").
 */
#ifndef BOLSA_CAPTURE_H
#define BOLSA_CAPTURE_H

#include <stdint.h>

#include "config.h"
#include "gargalo.h"
#include "http.h"
#include "profile_files.h"

typedef struct bolsa_capture {
    uint64_t slow_ns; /* a request taking longer keeps its profile; 0: capture off */
    gargalo_options options;
    gargalo_format format;
    bolsa_profile_files *files;
} bolsa_capture;

/* Sets c up from the configuration (capture off unless profiling is enabled too); files
 * must outlive c. */
void bolsa_capture_init(bolsa_capture *c, const bolsa_config *cfg, bolsa_profile_files *files);

/* 1 when slow-request capture is on. */
int bolsa_capture_on(const bolsa_capture *c);

/* Calls next under the thread's session, and writes the profile when the request was
 * slow. A session that cannot be started leaves the request unprofiled (said once in the
 * log); the thread tries again a second later. */
void bolsa_capture_run(bolsa_capture *c, const bolsa_endpoint *next, bolsa_request *req,
                       bolsa_response *resp);

/* Frees the calling thread's session, if it has one: a request profiled as asked needs
 * the thread for a session of its own. */
void bolsa_capture_release(void);

#endif
