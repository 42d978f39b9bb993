/*
 * profiling.c: the ?profile=true middleware, as in the article, on gargalo.
 *
 * Query parameters, read only when profiling is enabled and the request asks for it:
 *   profile=true|1|yes|on (or false|0|no|off: not profiled),
 *   profile_format=html|speedscope|text|json|pprof|folded,
 *   profile_interval=<ms, 0.05..100> (default: gargalo's adaptive interval),
 *   profile_mode=wall|cpu.
 * Each profile goes to a file of its own, named after the request (profile_name.h), so
 * concurrent requests never share one; profile.<ext> is then atomically replaced by a link
 * to it, which keeps the article's "open profile.html" working. The query never chooses a
 * path. The files themselves, private and kept within limits, are profile_files.c's.
 * Requests that do not ask are handed to slow-request capture when it is on (capture.h).
 */
#include "profiling.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gargalo.h"
#include "input.h"
#include "origin.h"

#define PROFILE_TOKEN_HEADER "X-Profile-Token"
#define PROFILE_INTERVAL_MIN_MS 0.05
#define PROFILE_INTERVAL_MAX_MS 100.0

/* What one request asked for. */
typedef struct profile_request {
    int wanted;
    gargalo_format format;
    gargalo_options options;
} profile_request;

int bolsa_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0)
        return 1;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return 0;
}

static bolsa_errcode parse_interval(bolsa_text v, unsigned *interval_us, bolsa_error *err)
{
    double ms;
    /* A strict decimal: strtod would also take "0x10" (16), "1e1", "inf" and stop at a
     * decoded NUL. */
    if (bolsa_input_parse_decimal(v.p, v.len, &ms) || ms < PROFILE_INTERVAL_MIN_MS ||
        ms > PROFILE_INTERVAL_MAX_MS)
        return bolsa_error_set(err, BOLSA_E_QUERY_INVALID, "query", "profile_interval",
                               "Input should be a decimal number of milliseconds from %g to %g",
                               PROFILE_INTERVAL_MIN_MS, PROFILE_INTERVAL_MAX_MS);
    *interval_us = (unsigned)lround(ms * 1000.0);
    return BOLSA_E_OK;
}

static bolsa_errcode parse_mode(bolsa_text v, gargalo_clock *clock, bolsa_error *err)
{
    if (!bolsa_text_is(v, "wall") && !bolsa_text_is(v, "cpu"))
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "profile_mode",
                               "Input should be 'wall' or 'cpu'");
    *clock = bolsa_text_is(v, "cpu") ? GARGALO_CLOCK_CPU : GARGALO_CLOCK_WALL;
    return BOLSA_E_OK;
}

/* The format, mode and interval of a request that asked to be profiled. */
static bolsa_errcode profile_options_parse(const bolsa_request *req, profile_request *pr,
                                           bolsa_error *err)
{
    bolsa_text v = bolsa_request_query(req, "profile_format");
    /* gargalo parses a C string: a value with a NUL inside is not one of its names. */
    if (v.p && (!bolsa_text_cstr(v) || gargalo_format_parse(v.p, &pr->format)))
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "profile_format",
                               "Input should be 'html', 'speedscope', 'text', 'json', 'pprof' or "
                               "'folded'");
    bolsa_errcode rc = BOLSA_E_OK;
    if ((v = bolsa_request_query(req, "profile_mode")).p)
        rc = parse_mode(v, &pr->options.clock, err);
    if (!rc && (v = bolsa_request_query(req, "profile_interval")).p)
        rc = parse_interval(v, &pr->options.interval_us, err);
    return rc;
}

/* Reads the profile_* parameters. Returns BOLSA_E_OK, or an error code with err filled. */
static bolsa_errcode profile_request_parse(const bolsa_request *req, profile_request *pr,
                                           bolsa_error *err)
{
    bolsa_text v = bolsa_request_query(req, "profile");
    memset(pr, 0, sizeof(*pr));
    gargalo_options_init(&pr->options);
    pr->format = GARGALO_FORMAT_HTML;
    if (!v.p)
        return BOLSA_E_OK;
    if (bolsa_input_parse_bool(v.p, v.len, &pr->wanted))
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "profile",
                               "Input should be " BOLSA_INPUT_BOOL_WORDS);
    if (!pr->wanted)
        return BOLSA_E_OK;
    return profile_options_parse(req, pr, err);
}

/* Compares without stopping at the first difference, so timing tells nothing. */
static int token_matches(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char diff = (unsigned char)(gl != wl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

static bolsa_errcode check_token(const bolsa_profiling *p, const bolsa_request *req,
                                 bolsa_error *err)
{
    if (!p->token[0] && !p->require_token)
        return BOLSA_E_OK;
    if (!p->token[0])
        return bolsa_error_set(err, BOLSA_E_UNAUTHORIZED, "header", PROFILE_TOKEN_HEADER,
                               "Profiling on a non-loopback address needs "
                               "BOLSA_PROFILE_TOKEN to be set");
    const char *given = bolsa_request_header(req, PROFILE_TOKEN_HEADER);
    if (!given || !token_matches(given, p->token))
        return bolsa_error_set(err, BOLSA_E_UNAUTHORIZED, "header", PROFILE_TOKEN_HEADER,
                               "Profiling needs the right token in " PROFILE_TOKEN_HEADER);
    return BOLSA_E_OK;
}

/* A gargalo failure as a bolsa error: what failed, then gargalo's reason. It never
 * changes the response's status: the request itself went through. */
static bolsa_errcode profile_error(bolsa_error *err, const char *what, int gargalo_rc)
{
    return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "%s: %s", what,
                           gargalo_strerror(gargalo_rc));
}

/* Stops the session, writes it (0600, profile.<ext> pointed at it, old ones cleaned up, a
 * name that says what was asked), and names the file and its sample count in resp. */
static bolsa_errcode finish_profile(bolsa_profiling *p, const profile_request *pr,
                                    const bolsa_request *req, gargalo_session *s,
                                    bolsa_response *resp, bolsa_error *err)
{
    int grc = gargalo_stop(s);
    if (grc)
        return profile_error(err, "could not write the profile", grc);
    char name[BOLSA_PROFILE_NAME_MAX], samples[32];
    bolsa_profile_meta meta = {"asked",
                               bolsa_request_method(req),
                               bolsa_request_route(req),
                               bolsa_response_status(resp),
                               0,
                               0};
    bolsa_errcode rc =
        bolsa_profile_files_save(&p->files, s, pr->format, meta, name, sizeof(name), err);
    if (rc)
        return rc;
    gargalo_stats st = {0};
    gargalo_session_stats(s, &st);
    snprintf(samples, sizeof(samples), "%zu", st.samples);
    /* Out of room for headers, the profile is still on disk: the answer goes out as is. */
    bolsa_response_set_header(resp, "X-Profile-File", name);
    bolsa_response_set_header(resp, "X-Profile-Samples", samples);
    return BOLSA_E_OK;
}

/* A profile that could not be made is said in the response and the log; the request's
 * own answer stands. */
static void report_failure(bolsa_response *resp, const bolsa_error *err)
{
    bolsa_response_set_header(resp, "X-Profile-Error", err->msg);
    fprintf(stderr, "bolsa: profiling: %s\n", err->msg);
}

/* The next endpoint, with the CPU time its thread spent in it as the "cpu" phase, profiled
 * or not: what sampling costs a request shows there even on a busy machine, where the wall
 * time mostly says how long the request waited for a CPU. */
static void call_next(bolsa_profiling *p, bolsa_request *req, bolsa_response *resp)
{
    uint64_t cpu = bolsa_thread_cpu_ns();
    bolsa_endpoint_call(&p->next, req, resp);
    bolsa_timing_add(bolsa_response_timing(resp), "cpu", bolsa_thread_cpu_ns() - cpu);
}

/* Runs the next endpoint under gargalo, then writes the profile before returning. */
static void run_profiled(bolsa_profiling *p, const profile_request *pr, bolsa_request *req,
                         bolsa_response *resp)
{
    bolsa_error err = {0};
    gargalo_session *s = NULL;
    bolsa_capture_release(); /* profiled as asked, not twice: the thread is this one's */
    int grc = gargalo_start(&s, &pr->options);
    if (grc) {
        call_next(p, req, resp);
        profile_error(&err, "could not start", grc);
        report_failure(resp, &err);
        return;
    }
    call_next(p, req, resp);
    uint64_t t0 = bolsa_now_ns();
    if (finish_profile(p, pr, req, s, resp, &err))
        report_failure(resp, &err);
    gargalo_session_free(s);
    bolsa_timing_add(bolsa_response_timing(resp), "profile", bolsa_now_ns() - t0);
}

bolsa_errcode bolsa_profiling_allowed(const bolsa_profiling *p, const bolsa_request *req,
                                      bolsa_error *err)
{
    /* A profile is a file written on the server: no page of another site may ask for one,
     * not even with an <img src="...?profile=true">. */
    bolsa_errcode rc = check_token(p, req, err);
    return rc ? rc : bolsa_origin_check(req, err);
}

static void profiling_handle(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    bolsa_profiling *p = ctx;
    profile_request pr;
    bolsa_error err = {0};
    if (!p->enabled) {
        bolsa_endpoint_call(&p->next, req, resp);
    } else if (profile_request_parse(req, &pr, &err) ||
               (pr.wanted && bolsa_profiling_allowed(p, req, &err))) {
        bolsa_response_error(resp, &err);
    } else if (pr.wanted) {
        run_profiled(p, &pr, req, resp);
    } else if (bolsa_capture_on(&p->capture)) {
        bolsa_capture_run(&p->capture, &p->next, req, resp);
    } else {
        call_next(p, req, resp);
    }
}

void bolsa_profiling_init(bolsa_profiling *p, const bolsa_config *cfg, bolsa_endpoint next)
{
    p->enabled = cfg->profile;
    p->dir = cfg->profile_dir[0] ? cfg->profile_dir : ".";
    p->token = cfg->profile_token;
    p->require_token = !bolsa_host_is_loopback(cfg->host);
    p->next = next;
    bolsa_profile_files_init(&p->files, p->dir, (unsigned long)cfg->profile_keep,
                             (uint64_t)cfg->profile_keep_mb << 20);
    bolsa_capture_init(&p->capture, cfg, &p->files);
}

bolsa_errcode bolsa_profiling_prepare(bolsa_profiling *p, bolsa_error *err)
{
    if (!p->enabled)
        return BOLSA_E_OK;
    /* Found out at start-up, not by the first profiled request's X-Profile-Error. */
    bolsa_errcode rc = bolsa_profile_files_open(&p->files, err);
    if (rc)
        return rc;
    int grc = gargalo_preload();
    if (grc) /* not fatal: the first profiled request loads what it needs */
        fprintf(stderr, "bolsa: profiling: could not preload symbols: %s\n", gargalo_strerror(grc));
    return BOLSA_E_OK;
}

bolsa_endpoint bolsa_profiling_endpoint(bolsa_profiling *p)
{
    return (bolsa_endpoint){profiling_handle, p};
}
