/*
 * profile_name.h: the names bolsa gives its profile files. A name says what the profile
 * is, so that a listing of the directory (the page of profiles, ls) needs to open none:
 *
 *   profile-<ms>-<n>-<how>-<METHOD>-<route>-<status>-<duration>ms-<samples>samples.<ext>
 *   profile-1764491234567-12-slow-POST-api_v1_transaction-201-2345ms-812samples.html
 *
 * <ms> is the time it was written (ms since the epoch), <n> bolsa's count of profiles
 * (unique within a process), <how> "asked" (?profile=true) or "slow" (slow-request
 * capture), <METHOD> the request's method (A-Z; "OTHER" for anything else), <route> the
 * route pattern the request matched with its slashes as underscores and the leading one
 * dropped ("unmatched" when none did), <status> the response's, <duration> what the
 * profile covers, in whole ms, and <ext> the format's extension. Every part is made of
 * A-Z, a-z, 0-9 and '_' only, so no name holds a '/', a "..", a space or a quote.
 * Names of earlier versions, profile-<ms>-<n>.<ext>, are still bolsa's, with nothing said.
 */
#ifndef BOLSA_PROFILE_NAME_H
#define BOLSA_PROFILE_NAME_H

#include <stddef.h>
#include <stdint.h>

#define BOLSA_PROFILE_NAME_MAX 192 /* longer names are not bolsa's */
#define BOLSA_PROFILE_ROUTE_MAX 64 /* longer routes are cut in the name */

/* What a new profile's name tells. */
typedef struct bolsa_profile_meta {
    const char *how;    /* "asked" or "slow" */
    const char *method; /* the request's */
    const char *route;  /* the route pattern matched ("/api/v1/transaction"); NULL: none */
    int status;
    uint64_t duration_ms;
    uint64_t samples;
} bolsa_profile_meta;

/* What a name says. */
typedef struct bolsa_profile_info {
    unsigned long long ms, n;
    int described; /* 0: an earlier version's name, which says nothing of the request */
    char how[8];
    char method[17];
    char route[BOLSA_PROFILE_ROUTE_MAX + 2]; /* as a route: "/api/v1/transaction"; "" none */
    int status;
    unsigned long long duration_ms, samples;
    char ext[16]; /* "html", "speedscope.json", "txt", "json", "pb.gz", "folded" */
} bolsa_profile_info;

/* Writes the name of profile number n, made at ms, into out. Returns 0, or -1 when it
 * does not fit in size (at least BOLSA_PROFILE_NAME_MAX always fits). */
int bolsa_profile_name_make(char *out, size_t size, unsigned long long ms, unsigned long n,
                            const bolsa_profile_meta *meta, const char *ext);

/* 1 when name is one bolsa gives a profile (either form, with a known extension), with
 * info filled; 0 for any other name. */
int bolsa_profile_name_parse(const char *name, bolsa_profile_info *info);

/* 1 when ext is the extension of one of gargalo's formats. */
int bolsa_profile_ext_known(const char *ext);

/* The Content-Type a profile with extension ext is served with: text/html and text/plain
 * (utf-8), application/json, or application/octet-stream for pprof's gzip (not
 * application/gzip, which clients would unpack). */
const char *bolsa_profile_content_type(const char *ext);

#endif
