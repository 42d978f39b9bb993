/*
 * preload.c: the object `gargalo record` preloads into the program it runs
 * (libgargalo-record.so: its own copy of libgargalo, exporting nothing, so that it
 * coexists with a copy the program links). Before the program's main it starts a
 * process-wide session (perf events); it stops it and sends it to gargalo, as gargalo's
 * JSON over the socket gargalo gave, when the program exits, when gargalo asks (Ctrl-C,
 * --duration, timed here) or when a stop signal the program leaves to its default arrives
 * (stopsig.h). A thread of its own, excluded from the session like gargalo's other
 * helpers, listens to gargalo. Which processes are recorded: lineage.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gargalo.h"
#include "lineage.h"
#include "stopsig.h"
#include "thread.h"
#include "wire.h"

/* Room for raw frames: about 500,000 samples of 30 frames, minutes of a busy program at
 * the default interval. Address space is reserved, memory used only as samples come. */
#define RECORD_MAX_FRAMES ((size_t)16 << 20)

static struct {
    pthread_mutex_t lock; /* held while the profile is made and sent */
    bool recording;
    pid_t pid; /* the recorded process: a forked copy of this state does nothing */
    int fd;    /* the socket to gargalo; -1 once gargalo is gone */
    unsigned long ino;
    int sig_fd; /* stop signals caught (stopsig.h) */
    unsigned long duration_ms;
    gargalo_session *s;
} rec = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .sig_fd = -1};

static atomic_bool control_ready;

/* ---- the end of a recording ---- */

static void send_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void send_failure(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wire_send(rec.fd, WIRE_FAILED, msg, n < 0 ? 0 : strnlen(msg, sizeof(msg)));
}

/* Under the lock, recording: stops the session and sends it. */
static void send_profile(void)
{
    char *json = NULL;
    size_t len = 0;
    int err = gargalo_stop(rec.s);
    if (!err)
        err = gargalo_render(rec.s, GARGALO_FORMAT_JSON, NULL, &json, &len);
    if (err)
        send_failure("the program could not make its profile: %s", gargalo_strerror(err));
    else
        wire_send(rec.fd, WIRE_PROFILE, json, len);
    free(json);
    gargalo_session_free(rec.s);
    rec.s = NULL;
}

/* Ends the recording, once, from whichever comes first: the exit, gargalo's request, a
 * stop signal. The others wait for it here, so the process does not end half-way. */
static void finish(void)
{
    if (getpid() != rec.pid) /* a forked child: not recorded, and rec.lock is not its own */
        return;
    pthread_mutex_lock(&rec.lock);
    if (rec.recording) {
        rec.recording = false;
        send_profile();
    }
    pthread_mutex_unlock(&rec.lock);
}

/* Whether rec.fd is still the socket, not a number the program closed and reused. */
static bool socket_is_ours(void)
{
    return rec.fd >= 0 && wire_socket_ino(rec.fd) == rec.ino;
}

/* gargalo is gone (killed, or done with us): sampling stops, nothing is sent. */
static void discard(void)
{
    pthread_mutex_lock(&rec.lock);
    if (rec.recording)
        gargalo_session_free(rec.s);
    rec.recording = false;
    rec.s = NULL;
    if (socket_is_ours())
        close(rec.fd);
    rec.fd = -1;
    pthread_mutex_unlock(&rec.lock);
}

__attribute__((destructor)) static void record_end(void)
{
    finish();
}

/* ---- the thread that listens ---- */

/* One message from gargalo: 0 to go on listening, -1 when gargalo is gone (or the
 * program closed the socket's descriptor and perhaps reused the number). */
static int hear(void)
{
    wire_reader r;
    wire_msg m;
    if (!socket_is_ours())
        return -1;
    wire_reader_init(&r, 0);
    int rc = wire_read(&r, rec.fd, &m);
    wire_reader_free(&r);
    if (rc <= 0)
        return -1;
    free(m.data);
    if (m.tag == WIRE_STOP)
        finish();
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* How long poll may wait: until --duration is over, else for ever. */
static int wait_ms(uint64_t deadline)
{
    uint64_t now = mono_ms();
    if (!deadline)
        return -1;
    return now >= deadline ? 0 : deadline - now > 3600000 ? 3600000 : (int)(deadline - now);
}

/* Until gargalo is gone: its requests, the stop signals caught, the end of --duration. */
static void attend(uint64_t deadline)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = rec.fd, .events = POLLIN},
                              {.fd = rec.sig_fd, .events = POLLIN}};
        int n = poll(p, rec.sig_fd >= 0 ? 2 : 1, wait_ms(deadline));
        if (n == 0 && deadline && mono_ms() >= deadline) {
            deadline = 0;
            finish();
        }
        if (n <= 0)
            continue; /* every signal is blocked here: EINTR is not expected */
        unsigned char sig;
        if ((p[1].revents & POLLIN) && read(rec.sig_fd, &sig, 1) == 1) {
            finish();
            stopsig_raise(sig);
        }
        if (p[0].revents && hear() != 0)
            return;
    }
}

static void *control_main(void *arg)
{
    gg_thread_mark_helper(); /* gargalo's own: the session leaves it out */
    atomic_store(&control_ready, true);
    pthread_mutex_lock(&rec.lock); /* held by start() until sampling runs */
    uint64_t deadline = rec.recording && rec.duration_ms ? mono_ms() + rec.duration_ms : 0;
    pthread_mutex_unlock(&rec.lock);
    attend(deadline);
    /* gargalo is gone: the stop signals act as the program left them, and one caught
     * meanwhile is raised again */
    discard();
    stopsig_forget();
    unsigned char sig;
    while (rec.sig_fd >= 0 && read(rec.sig_fd, &sig, 1) == 1)
        stopsig_raise(sig);
    return arg;
}

/* The thread, every signal blocked (the program's signals are never delivered to it),
 * marked as gargalo's before the session looks for threads. */
static int start_control(void)
{
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, control_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return rc;
    pthread_setname_np(th, "gargalo-record");
    while (!atomic_load(&control_ready))
        sched_yield();
    return 0;
}

/* ---- the start ---- */

static int perf_paranoid(void)
{
    int level = -9;
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    if (f && fscanf(f, "%d", &level) != 1)
        level = -9;
    if (f)
        fclose(f);
    return level;
}

/* Says why the session did not start, and ends the process before its main: a program
 * the user asked to record does not run unrecorded. */
static void refuse(int err)
{
    if (err == GARGALO_EUNAVAIL)
        send_failure("perf events are refused here, and gargalo record samples with perf "
                     "events only: it needs kernel.perf_event_paranoid at 2 or lower (it is "
                     "%d), CAP_PERFMON or root, and no container policy forbidding "
                     "perf_event_open",
                     perf_paranoid());
    else
        send_failure("cannot start sampling: %s", gargalo_strerror(err));
    _exit(1);
}

/* Async-signal-safe, as a child of a threaded process needs. */
static void child_after_fork(void)
{
    if (socket_is_ours())
        close(rec.fd); /* rec.pid still names the parent: finish() does nothing here */
    stopsig_forget();
}

static void start(const wire_setup *st)
{
    gargalo_options opt;
    gargalo_options_init(&opt);
    opt.clock = st->cpu_clock ? GARGALO_CLOCK_CPU : GARGALO_CLOCK_WALL;
    opt.interval_us = st->interval_us;
    opt.mechanism = GARGALO_MECHANISM_PERF;
    opt.max_frames = RECORD_MAX_FRAMES;
    rec.pid = getpid();
    rec.fd = st->fd;
    rec.ino = st->ino;
    rec.duration_ms = st->duration_ms;
    pthread_atfork(NULL, NULL, child_after_fork);
    /* Said before sampling starts, so that the program's first samples are its own. If
     * gargalo is gone already, the program runs unrecorded. */
    if (wire_send(rec.fd, WIRE_STARTED, NULL, 0) != 0)
        return;
    pthread_mutex_lock(&rec.lock); /* a stop asked for meanwhile waits for the start */
    rec.sig_fd = stopsig_install();
    int err = start_control();
    if (err) {
        send_failure("cannot start gargalo's thread in the program: %s", strerror(err));
        _exit(1);
    }
    if ((err = gargalo_start_process(&rec.s, &opt)))
        refuse(err);
    rec.recording = true;
    pthread_mutex_unlock(&rec.lock);
}

__attribute__((constructor)) static void record_begin(void)
{
    wire_setup st;
    const char *v = getenv(WIRE_ENV);
    if (!v || wire_setup_parse(v, &st) != 0)
        return;
    if (st.pid != getpid())
        lineage_leave(&st);
    else if (wire_socket_ino(st.fd) == st.ino)
        start(&st);
}
