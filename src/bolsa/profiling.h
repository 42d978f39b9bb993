/*
 * profiling.h: the ?profile=true middleware. With profiling enabled in the settings, a
 * request that asks for it runs under gargalo, and its profile file is written (atomically,
 * complete) before the response is sent. Disabled, it costs one branch per request.
 */
#ifndef BOLSA_PROFILING_H
#define BOLSA_PROFILING_H

#include <stddef.h>

#include "capture.h"
#include "config.h"
#include "http.h"
#include "profile_files.h"

typedef struct bolsa_profiling {
    int enabled;
    const char *dir;           /* where profile files go */
    const char *token;         /* "" when none is configured */
    int require_token;         /* listening beyond loopback: no token, no profiling */
    bolsa_endpoint next;       /* the endpoint being profiled */
    bolsa_profile_files files; /* the profiles written so far, kept within limits */
    bolsa_capture capture;     /* slow-request capture, for requests that do not ask */
} bolsa_profiling;

/* Sets p up from the configuration, wrapping next. cfg must outlive p. */
void bolsa_profiling_init(bolsa_profiling *p, const bolsa_config *cfg, bolsa_endpoint next);

/* When enabled: makes the profile directory ready (bolsa_profile_files_open: created
 * 0700 if missing; BOLSA_E_CONFIG, err naming it, if unusable or writable by every user;
 * old profiles past the limits removed), and loads symbols and debug information now, at
 * start-up, so the first profiled request does not wait for them. BOLSA_E_OK: bolsa can
 * go on. */
bolsa_errcode bolsa_profiling_prepare(bolsa_profiling *p, bolsa_error *err);

/* Whether req may have profiling's answers (a profile of itself, or the debug endpoints):
 * the token when one is configured or bolsa listens beyond loopback (BOLSA_E_UNAUTHORIZED
 * otherwise, loc ["header", "X-Profile-Token"]), and no page of another site
 * (bolsa_origin_check). Profiling enabled is the caller's to check. */
bolsa_errcode bolsa_profiling_allowed(const bolsa_profiling *p, const bolsa_request *req,
                                      bolsa_error *err);

/* The endpoint to give the server: p wrapped around its next endpoint. */
bolsa_endpoint bolsa_profiling_endpoint(bolsa_profiling *p);

/* 1 when host ("127.0.0.1", "::1", "localhost", ...) only accepts local connections. */
int bolsa_host_is_loopback(const char *host);

#endif
