/*
 * debug_profile.c: whole-process profiles over HTTP (debug_profile.h).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "debug_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gargalo.h"
#include "input.h"
#include "profile_name.h"
#include "timing.h"

#define WHOLE_SECONDS_DEFAULT 10
#define WHOLE_SECONDS_MAX 60

/* What one request asked for. */
typedef struct whole_request {
    int64_t seconds;
    gargalo_format format;
    gargalo_clock clock;
} whole_request;

/* A profile running, from its start to its answer, on a thread of its own. */
typedef struct whole_job {
    bolsa_debug_profile *w;
    gargalo_session *s;
    gargalo_format format;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC */
    time_t started;
    bolsa_deferred *d;
} whole_job;

void bolsa_debug_profile_init(bolsa_debug_profile *w)
{
    pthread_condattr_t ca;
    atomic_init(&w->busy, 0);
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->cutting = 0;
}

void bolsa_debug_profile_cut(bolsa_debug_profile *w)
{
    pthread_mutex_lock(&w->lock);
    w->cutting = 1;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

/* --- the request ----------------------------------------------------------------------- */

static bolsa_errcode whole_format(bolsa_text v, gargalo_format *out, bolsa_error *err)
{
    /* gargalo parses a C string: a value with a NUL inside is not one of its names. */
    if (v.p && (!bolsa_text_cstr(v) || gargalo_format_parse(v.p, out)))
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "format",
                               "Input should be 'pprof', 'html', 'speedscope', 'text', 'json' or "
                               "'folded'");
    return BOLSA_E_OK;
}

static bolsa_errcode whole_clock(bolsa_text v, gargalo_clock *out, bolsa_error *err)
{
    if (v.p && !bolsa_text_is(v, "wall") && !bolsa_text_is(v, "cpu"))
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "clock",
                               "Input should be 'wall' or 'cpu'");
    *out = bolsa_text_is(v, "cpu") ? GARGALO_CLOCK_CPU : GARGALO_CLOCK_WALL;
    return BOLSA_E_OK;
}

static bolsa_errcode whole_parse(const bolsa_request *req, whole_request *wr, bolsa_error *err)
{
    *wr = (whole_request){WHOLE_SECONDS_DEFAULT, GARGALO_FORMAT_PPROF, GARGALO_CLOCK_WALL};
    bolsa_errcode rc = bolsa_input_query_int("seconds", bolsa_request_query(req, "seconds"), 1,
                                             WHOLE_SECONDS_MAX, &wr->seconds, err);
    if (!rc)
        rc = whole_format(bolsa_request_query(req, "format"), &wr->format, err);
    if (!rc)
        rc = whole_clock(bolsa_request_query(req, "clock"), &wr->clock, err);
    return rc;
}

/* gargalo_start_process's refusal as the client's error. */
static void whole_refused(bolsa_response *resp, int grc)
{
    bolsa_error err = {0};
    if (grc == GARGALO_EBUSY)
        bolsa_error_set(&err, BOLSA_E_PROFILE_BUSY, NULL, NULL,
                        "A whole-process profile is already running; try again when it ends");
    else if (grc == GARGALO_EUNAVAIL)
        bolsa_error_set(&err, BOLSA_E_PROFILE_UNAVAILABLE, NULL, NULL,
                        "Whole-process profiles need the kernel's perf events, which it refuses "
                        "this process (see kernel.perf_event_paranoid); ?profile=true still "
                        "profiles single requests");
    else
        bolsa_error_set(&err, BOLSA_E_INTERNAL, NULL, NULL,
                        "The whole-process profile could not start: %s", gargalo_strerror(grc));
    bolsa_response_error(resp, &err);
}

/* --- the answer ------------------------------------------------------------------------ */

/* Until the deadline, or a cut. */
static void whole_wait(whole_job *job)
{
    struct timespec ts = {(time_t)(job->deadline_ns / 1000000000ULL),
                          (long)(job->deadline_ns % 1000000000ULL)};
    pthread_mutex_lock(&job->w->lock);
    while (!job->w->cutting && bolsa_now_ns() < job->deadline_ns)
        pthread_cond_timedwait(&job->w->wake, &job->w->lock, &ts);
    pthread_mutex_unlock(&job->w->lock);
}

/* The headers of a profile to download: its type, a file name that says when. */
static void whole_headers(const whole_job *job, const gargalo_session *s, bolsa_response *resp)
{
    char when[32], disposition[96], samples[32];
    struct tm tm;
    gmtime_r(&job->started, &tm);
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"gargalo-%s.%s\"", when,
             gargalo_format_extension(job->format));
    gargalo_stats st = {0};
    gargalo_session_stats(s, &st);
    snprintf(samples, sizeof(samples), "%zu", st.samples);
    bolsa_response_set_header(resp, "Content-Disposition", disposition);
    bolsa_response_set_header(resp, "X-Profile-Samples", samples);
    bolsa_response_set_header(resp, "X-Content-Type-Options", "nosniff");
    bolsa_response_set_header(resp, "Cache-Control", "no-store");
}

/* Stops the session (symbolizing on this thread, not a worker's) and fills the answer. */
static void whole_fill(whole_job *job, bolsa_response *resp)
{
    char *data = NULL;
    size_t len = 0;
    int grc = gargalo_stop(job->s);
    if (!grc)
        grc = gargalo_render(job->s, job->format, NULL, &data, &len);
    if (grc) {
        bolsa_error err = {0};
        bolsa_error_set(&err, BOLSA_E_INTERNAL, NULL, NULL, "The profile could not be made: %s",
                        gargalo_strerror(grc));
        bolsa_response_error(resp, &err);
        return;
    }
    const char *ext = gargalo_format_extension(job->format);
    if (bolsa_response_set_body(resp, 200, bolsa_profile_content_type(ext), data, len) ==
        BOLSA_E_OK)
        whole_headers(job, job->s, resp);
}

static void *whole_run(void *arg)
{
    whole_job *job = arg;
    pthread_setname_np(pthread_self(), "bolsa-profile"); /* not the worker's name it inherits */
    whole_wait(job);
    bolsa_response *resp = bolsa_deferred_response(job->d);
    whole_fill(job, resp);
    gargalo_session_free(job->s);
    atomic_store(&job->w->busy, 0); /* before the answer: the client may ask again at once */
    bolsa_deferred_answer(job->d);
    free(job);
    return NULL;
}

/* Hands the running session to a thread of its own, which answers when it is over. */
static void whole_hand_over(whole_job *job, bolsa_request *req, bolsa_response *resp)
{
    pthread_t th;
    pthread_attr_t attr;
    job->d = bolsa_request_defer(req, resp);
    if (!job->d) { /* no memory to set the request aside: end it here, now */
        job->deadline_ns = 0;
        whole_fill(job, resp);
        gargalo_session_free(job->s);
        atomic_store(&job->w->busy, 0);
        free(job);
        return;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, whole_run, job) != 0) {
        job->deadline_ns = 0; /* answered at once, from here */
        whole_run(job);
    }
    pthread_attr_destroy(&attr);
}

void bolsa_debug_profile_handle(bolsa_debug_profile *w, bolsa_request *req, bolsa_response *resp)
{
    whole_request wr;
    bolsa_error err = {0};
    if (whole_parse(req, &wr, &err)) {
        bolsa_response_error(resp, &err);
        return;
    }
    whole_job *job = calloc(1, sizeof(*job));
    gargalo_options o;
    gargalo_options_init(&o);
    o.clock = wr.clock;
    int grc = !job ? GARGALO_ENOMEM : atomic_exchange(&w->busy, 1) ? GARGALO_EBUSY : 0;
    if (!grc && (grc = gargalo_start_process(&job->s, &o)))
        atomic_store(&w->busy, 0);
    if (grc) {
        free(job);
        whole_refused(resp, grc);
        return;
    }
    *job = (whole_job){w,          job->s,
                       wr.format,  bolsa_now_ns() + (uint64_t)wr.seconds * 1000000000ULL,
                       time(NULL), NULL};
    whole_hand_over(job, req, resp);
}
