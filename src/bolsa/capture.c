/*
 * capture.c: slow-request capture (capture.h).
 */
#include "capture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "timing.h"

/* How long a thread whose session could not start serves unprofiled before trying again. */
#define CAPTURE_RETRY_NS 1000000000ULL

static __thread gargalo_session *capture_session; /* the thread's, rewound per request */
static __thread uint64_t capture_retry_ns;        /* no new start before this time */
static pthread_key_t capture_key;                 /* frees it when its thread exits */
static pthread_once_t capture_once = PTHREAD_ONCE_INIT;
static atomic_int capture_failure_said;

static void capture_thread_exit(void *s)
{
    gargalo_session_free(s);
}

static void capture_make_key(void)
{
    pthread_key_create(&capture_key, capture_thread_exit);
}

void bolsa_capture_init(bolsa_capture *c, const bolsa_config *cfg, bolsa_profile_files *files)
{
    memset(c, 0, sizeof(*c));
    c->slow_ns = cfg->profile ? (uint64_t)cfg->profile_slow_ms * 1000000ULL : 0;
    gargalo_options_init(&c->options);
    c->options.clock = GARGALO_CLOCK_WALL;
    c->options.interval_us = (unsigned)cfg->profile_slow_interval_us;
    c->options.mechanism = GARGALO_MECHANISM_SIGNAL;
    c->format = GARGALO_FORMAT_HTML;
    gargalo_format_parse(cfg->profile_slow_format, &c->format); /* checked by config.c */
    c->files = files;
}

int bolsa_capture_on(const bolsa_capture *c)
{
    return c->slow_ns != 0;
}

void bolsa_capture_release(void)
{
    if (!capture_session)
        return;
    gargalo_session_free(capture_session);
    capture_session = NULL;
    pthread_setspecific(capture_key, NULL);
}

/* A new session for the thread, unless one failed to start less than a second ago. */
static gargalo_session *capture_start(const bolsa_capture *c)
{
    uint64_t now = bolsa_now_ns();
    if (now < capture_retry_ns)
        return NULL;
    int grc = gargalo_start(&capture_session, &c->options);
    if (grc) {
        capture_session = NULL;
        capture_retry_ns = now + CAPTURE_RETRY_NS;
        if (!atomic_exchange(&capture_failure_said, 1))
            fprintf(stderr, "bolsa: profiling: slow-request capture could not start: %s\n",
                    gargalo_strerror(grc));
        return NULL;
    }
    pthread_once(&capture_once, capture_make_key);
    pthread_setspecific(capture_key, capture_session);
    return capture_session;
}

/* The thread's session, recording from now; NULL: this request goes unprofiled. */
static gargalo_session *capture_begin(const bolsa_capture *c)
{
    if (capture_session && gargalo_rewind(capture_session) == 0)
        return capture_session;
    bolsa_capture_release();
    return capture_start(c);
}

/* One line, in one write(2) as the request log's, so lines of threads never mix. */
static void capture_log(const char *fmt, const char *a, const char *b, int status, const char *c)
{
    char line[512];
    int n = snprintf(line, sizeof(line), fmt, a, b, status, c);
    if (n > 0 &&
        write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
        /* nowhere left to report a failed log write */
    }
}

/* Stops s (symbolizing this request's samples only), writes its profile, and lets the
 * session go: the thread's next request starts a new one. */
static void capture_keep(const bolsa_capture *c, gargalo_session *s, const bolsa_request *req,
                         const bolsa_response *resp)
{
    char name[BOLSA_PROFILE_NAME_MAX];
    bolsa_error err = {0};
    const char *route = bolsa_request_route(req);
    bolsa_profile_meta meta = {
        "slow", bolsa_request_method(req), route, bolsa_response_status(resp), 0, 0};
    int grc = gargalo_stop(s);
    if (grc)
        bolsa_error_set(&err, BOLSA_E_INTERNAL, NULL, NULL, "%s", gargalo_strerror(grc));
    else
        bolsa_profile_files_save(c->files, s, c->format, meta, name, sizeof(name), &err);
    if (err.code)
        capture_log("bolsa: profiling: slow request %s %s %d not profiled: %s\n", meta.method,
                    route ? route : "(no route)", meta.status, err.msg);
    else
        capture_log("bolsa: slow request profiled: %s %s %d: %s\n", meta.method,
                    route ? route : "(no route)", meta.status, name);
    bolsa_capture_release();
}

void bolsa_capture_run(bolsa_capture *c, const bolsa_endpoint *next, bolsa_request *req,
                       bolsa_response *resp)
{
    gargalo_session *s = capture_begin(c);
    uint64_t t0 = bolsa_now_ns();
    bolsa_endpoint_call(next, req, resp);
    if (!s)
        return;
    if (bolsa_now_ns() - t0 < c->slow_ns)
        gargalo_pause(s); /* not worth keeping: nothing recorded until the next request */
    else
        capture_keep(c, s, req, resp);
}
