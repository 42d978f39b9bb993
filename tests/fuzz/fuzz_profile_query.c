/*
 * fuzz_profile_query.c: the ?profile= middleware's reading of a request: the profile,
 * profile_format, profile_mode and profile_interval parameters and the X-Profile-Token
 * header, through the middleware's public entry (profiling.h) on a stand-in for the HTTP
 * seam (http.h), checked against a reference written from the README:
 *   profile absent or one of 0/false/no/off (any case): the request runs unprofiled;
 *   anything but those and 1/true/yes/on: 422 at ["query", "profile"];
 *   asked for: a bad profile_format (html, speedscope, text, json, pprof, folded), then
 *   profile_mode
 *   (wall, cpu), then profile_interval (a decimal number of ms from 0.05 to 100: digits,
 *   optionally '.' and digits; no sign, exponent, spaces or hexadecimal) is a 422
 *   naming it; then a token that is configured and not given exactly is a 403;
 *   otherwise the request runs profiled with the options asked for.
 * The profiler itself is not run: this target is linked with --wrap=gargalo_start, and the
 * stand-in records the options it was given and fails, which the middleware must report
 * in X-Profile-Error while still answering the request.
 *
 * The input is up to six strings cut at NUL bytes: profile, profile_format, profile_mode,
 * profile_interval, the X-Profile-Token header, the configured token; a missing string,
 * or the single byte 0x7f, is absent.
 */
#include <fcntl.h>
#include <math.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz.h"
#include "gargalo.h"
#include "http.h"
#include "profiling.h"

enum { P_PROFILE, P_FORMAT, P_MODE, P_INTERVAL, P_HEADER, P_TOKEN, P_COUNT };

/* --- the stand-in for http.c --------------------------------------------------------- */

struct bolsa_request {
    const char *v[P_COUNT];
};

struct bolsa_response {
    int status;
    bolsa_errcode code;
    char loc1[48];
    int profile_error; /* X-Profile-Error was set */
    bolsa_timing timing;
};

void bolsa_endpoint_call(const bolsa_endpoint *e, bolsa_request *req, bolsa_response *resp)
{
    e->handle(req, resp, e->ctx);
}

bolsa_text bolsa_request_query(const bolsa_request *req, const char *name)
{
    static const char *const names[] = {"profile", "profile_format", "profile_mode",
                                        "profile_interval"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i]))
            return bolsa_text_of(req->v[i]);
    return bolsa_text_of(NULL);
}

const char *bolsa_request_header(const bolsa_request *req, const char *name)
{
    return strcasecmp(name, "X-Profile-Token") ? NULL : req->v[P_HEADER];
}

/* What a profile's name says of the request: asked of a profile that never starts here. */
const char *bolsa_request_method(const bolsa_request *req)
{
    return "GET";
}

const char *bolsa_request_route(const bolsa_request *req)
{
    return NULL;
}

int bolsa_response_status(const bolsa_response *resp)
{
    return resp->status;
}

bolsa_errcode bolsa_response_set_header(bolsa_response *resp, const char *name, const char *value)
{
    if (!strcasecmp(name, "X-Profile-Error"))
        resp->profile_error = 1;
    return BOLSA_E_OK;
}

void bolsa_response_error(bolsa_response *resp, const bolsa_error *err)
{
    resp->status = bolsa_error_status(err->code);
    resp->code = err->code;
    memcpy(resp->loc1, err->loc[1], sizeof(resp->loc1));
}

bolsa_timing *bolsa_response_timing(bolsa_response *resp)
{
    return &resp->timing;
}

/* The endpoint the middleware wraps: answers 200. */
static int next_calls;
static void next_handle(bolsa_request *req, bolsa_response *resp, void *ctx)
{
    next_calls++;
    resp->status = 200;
}

/* gargalo_start as the middleware sees it in this target: records and refuses. */
static int start_calls;
static gargalo_options start_opt;
int __wrap_gargalo_start(gargalo_session **out, const gargalo_options *opt)
{
    start_calls++;
    start_opt = *opt;
    return GARGALO_EUNAVAIL;
}

/* --- the reference --------------------------------------------------------------------- */

/* 1 yes, 0 no, -1 not a yes-or-no word. */
static int ref_bool(const char *s)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i]))
            return 1;
        if (!strcasecmp(s, no[i]))
            return 0;
    }
    return -1;
}

static int one_of(const char *s, const char *const *words, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, words[i]))
            return 1;
    return 0;
}

/* A decimal number: digits, then optionally '.' and digits; nothing else (no sign,
 * exponent, spaces, hexadecimal or "inf"), and shorter than 32 characters. */
static int ref_decimal(const char *s)
{
    if (strlen(s) >= 32)
        return 0;
    size_t whole = strspn(s, "0123456789");
    if (!whole)
        return 0;
    s += whole;
    if (*s == '.') {
        size_t frac = strspn(s + 1, "0123456789");
        if (!frac)
            return 0;
        s += 1 + frac;
    }
    return *s == '\0';
}

static int ref_interval_ok(const char *s)
{
    if (!ref_decimal(s))
        return 0;
    double ms = strtod(s, NULL);
    return ms >= 0.05 && ms <= 100.0;
}

typedef struct expect {
    int status;       /* 0: the next endpoint's 200 */
    const char *loc1; /* of the error */
    int profiled;     /* gargalo_start was asked */
} expect;

static expect ref_params(const bolsa_request *req)
{
    static const char *const formats[] = {"html", "speedscope", "text", "json", "pprof", "folded"};
    static const char *const modes[] = {"wall", "cpu"};
    const char *const *v = req->v;
    if (v[P_PROFILE] && ref_bool(v[P_PROFILE]) < 0)
        return (expect){422, "profile", 0};
    if (!v[P_PROFILE] || ref_bool(v[P_PROFILE]) == 0)
        return (expect){0, NULL, 0};
    if (v[P_FORMAT] && !one_of(v[P_FORMAT], formats, 6))
        return (expect){422, "profile_format", 0};
    if (v[P_MODE] && !one_of(v[P_MODE], modes, 2))
        return (expect){422, "profile_mode", 0};
    if (v[P_INTERVAL] && !ref_interval_ok(v[P_INTERVAL]))
        return (expect){422, "profile_interval", 0};
    return (expect){0, NULL, 1};
}

static expect reference(const bolsa_request *req, const char *token)
{
    expect e = ref_params(req);
    if (e.profiled && token[0] && !(req->v[P_HEADER] && !strcmp(req->v[P_HEADER], token)))
        return (expect){403, "X-Profile-Token", 0};
    return e;
}

/* --- the target ------------------------------------------------------------------------ */

/* The options a profiled request must have started gargalo with. */
static void check_options(const bolsa_request *req)
{
    const char *mode = req->v[P_MODE], *iv = req->v[P_INTERVAL];
    gargalo_clock want = mode && !strcmp(mode, "cpu") ? GARGALO_CLOCK_CPU : GARGALO_CLOCK_WALL;
    FUZZ_CHECK(start_opt.clock == want, "clock %d for mode %s", start_opt.clock, mode);
    unsigned us = iv ? (unsigned)lround(strtod(iv, NULL) * 1000.0) : 0;
    FUZZ_CHECK(start_opt.interval_us == us, "interval %u us for '%s'", start_opt.interval_us,
               iv ? iv : "(absent)");
}

/* Runs the middleware with stderr closed: a profile that cannot start is logged there. */
static void run_middleware(bolsa_profiling *p, bolsa_request *req, bolsa_response *resp)
{
    static int devnull = -1, saved = -1;
    if (devnull < 0 && ((devnull = open("/dev/null", O_WRONLY)) < 0 || (saved = dup(2)) < 0))
        abort();
    bolsa_endpoint ep = bolsa_profiling_endpoint(p);
    fflush(stderr);
    dup2(devnull, 2);
    bolsa_endpoint_call(&ep, req, resp);
    dup2(saved, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parts parts;
    fuzz_parts_split(&parts, data, size);
    bolsa_request req = {{0}};
    for (size_t i = 0; i < P_COUNT && i < parts.n; i++)
        req.v[i] = strcmp(parts.part[i], "\x7f") ? parts.part[i] : NULL;
    bolsa_config cfg = {.profile = 1, .host = "127.0.0.1", .profile_dir = "/nonexistent"};
    snprintf(cfg.profile_token, sizeof(cfg.profile_token), "%s",
             req.v[P_TOKEN] ? req.v[P_TOKEN] : "");
    bolsa_profiling p;
    bolsa_profiling_init(&p, &cfg, (bolsa_endpoint){next_handle, NULL});
    expect want = reference(&req, cfg.profile_token);
    bolsa_response resp = {0};
    next_calls = start_calls = 0;
    run_middleware(&p, &req, &resp);
    FUZZ_CHECK(resp.status == (want.status ? want.status : 200), "status %d, want %d", resp.status,
               want.status);
    if (want.status)
        FUZZ_CHECK(!strcmp(resp.loc1, want.loc1) && next_calls == 0, "loc %s, want %s", resp.loc1,
                   want.loc1);
    else
        FUZZ_CHECK(next_calls == 1 && start_calls == want.profiled, "next %d start %d", next_calls,
                   start_calls);
    FUZZ_CHECK(resp.profile_error == want.profiled, "X-Profile-Error %d", resp.profile_error);
    if (want.profiled)
        check_options(&req);
    fuzz_parts_free(&parts);
    return 0;
}
