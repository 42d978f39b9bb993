/*
 * supervise.c: `gargalo record` while the program runs (supervise.h).
 *
 * Stop signals. Ctrl-C at the terminal reaches the whole foreground process group, the
 * program as well as gargalo: gargalo then asks for the profile (the program, if it ends
 * on the signal, sends it anyway, see src/record/stopsig.h) and does not send the signal
 * again. A signal sent to gargalo alone (kill PID) is passed on to the program once the
 * profile is written, so that the program stops as it would have without gargalo.
 */
#define _GNU_SOURCE
#include "supervise.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* Longest profile accepted from the program: the renderers' own cap is 256 MiB. */
#define PROFILE_LIMIT ((size_t)1 << 30)

typedef enum phase {
    STARTING,  /* running, not yet recording */
    RECORDING, /* the preloaded object said it started */
    STOPPING,  /* asked to stop; waiting for the profile */
    OVER       /* the profile came (or a failure): the socket is closed */
} phase;

typedef struct watch {
    const supervise_plan *plan;
    pid_t pid;
    int sock, sigfd;
    wire_reader reader;
    phase phase;
    bool started;  /* the preloaded object said it records */
    bool answered; /* it sent the profile, or why there is none */
    bool written;  /* the profile is out */
    int forward;   /* a stop signal to pass on once the profile is out, or 0 */
    bool exited;
    int status; /* the program's wait status, once exited */
} watch;

static void close_sock(watch *w)
{
    if (w->sock >= 0)
        close(w->sock);
    w->sock = -1;
    w->phase = OVER;
}

static void pass_on(watch *w, int sig)
{
    if (!w->exited)
        kill(w->pid, sig);
}

static void ask_stop(watch *w)
{
    if (w->phase == RECORDING && wire_send(w->sock, WIRE_STOP, NULL, 0) == 0)
        w->phase = STOPPING;
}

/* ---- the profile ---- */

static void say_written(const watch *w, const gargalo_session *s)
{
    gargalo_stats st;
    gargalo_session_stats(s, &st);
    const char *out = strcmp(w->plan->output, "-") == 0 ? "standard output" : w->plan->output;
    fprintf(stderr, "gargalo record: wrote %s: %zu thread%s, %zu sample%s over %.2f s", out,
            st.threads, st.threads == 1 ? "" : "s", st.samples, st.samples == 1 ? "" : "s",
            st.duration_ns / 1e9);
    if (st.dropped)
        fprintf(stderr, " (%zu lost)", st.dropped);
    fputc('\n', stderr);
}

/* The session the program sent, rendered as asked and written. */
static bool write_profile(const watch *w, const char *json, size_t len)
{
    const supervise_plan *p = w->plan;
    gargalo_session *s;
    int err = gargalo_session_load(json, len, &s);
    if (err)
        return cli_error(CLI_FAIL, "the profile %s sent cannot be read: %s", p->program,
                         gargalo_strerror(err)) == 0;
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.title = p->title;
    ro.color = p->format == GARGALO_FORMAT_TEXT && cli_to_terminal(p->output);
    char *out = NULL;
    size_t n;
    int rc = (err = gargalo_render(s, p->format, &ro, &out, &n))
                 ? cli_error(CLI_FAIL, "cannot render the profile: %s", gargalo_strerror(err))
                 : cli_write(p->output, out, n);
    if (!rc)
        say_written(w, s);
    free(out);
    gargalo_session_free(s);
    return rc == 0;
}

/* ---- what the program says ---- */

static void on_message(watch *w, const wire_msg *m)
{
    switch (m->tag) {
    case WIRE_STARTED: /* again after an exec: the new program is recorded */
        w->started = true;
        if (w->phase == STARTING)
            w->phase = RECORDING;
        else if (w->phase == STOPPING && wire_send(w->sock, WIRE_STOP, NULL, 0) != 0)
            close_sock(w);
        return;
    case WIRE_FAILED:
    case WIRE_PROFILE:
        w->answered = true;
        if (m->tag == WIRE_FAILED)
            cli_error(CLI_FAIL, "%s: %s", w->plan->program, m->data);
        else
            w->written = write_profile(w, m->data, m->len);
        close_sock(w);
        if (w->forward)
            pass_on(w, w->forward);
        w->forward = 0;
        return;
    default:
        return;
    }
}

/* Everything the socket holds now. */
static void read_messages(watch *w)
{
    wire_msg m;
    int rc;
    while (w->sock >= 0 && (rc = wire_read(&w->reader, w->sock, &m)) != 0) {
        if (rc < 0) {
            close_sock(w);
            return;
        }
        on_message(w, &m);
        free(m.data);
    }
}

/* ---- signals ---- */

static void on_stop_signal(watch *w, const struct signalfd_siginfo *si)
{
    int sig = (int)si->ssi_signo;
    /* SI_KERNEL: the terminal sent it to its foreground group, the program's too */
    bool program_has_it = si->ssi_code == SI_KERNEL && getpgid(w->pid) == getpgrp();
    if (w->phase == RECORDING) {
        ask_stop(w);
        if (!program_has_it)
            w->forward = sig;
    } else if (!program_has_it) {
        pass_on(w, sig); /* before recording, after it, or a second time: now */
    }
}

static void read_signals(watch *w)
{
    struct signalfd_siginfo si;
    while (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo != SIGCHLD)
            on_stop_signal(w, &si);
        else if (!w->exited && waitpid(w->pid, &w->status, WNOHANG) == w->pid)
            w->exited = true;
    }
}

/* ---- the end ---- */

/* The program ended and no profile came, nor a message saying why. */
static void explain_missing(const watch *w, int code)
{
    const char *prog = w->plan->program;
    char how[96];
    if (WIFSIGNALED(w->status))
        snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(w->status),
                 strsignal(WTERMSIG(w->status)));
    else
        snprintf(how, sizeof(how), "exited with status %d", code);
    if (!w->started)
        cli_error(CLI_FAIL,
                  "%s %s before recording started: gargalo's library was not loaded "
                  "into it",
                  prog, how);
    else if (WIFSIGNALED(w->status))
        cli_error(CLI_FAIL, "%s %s before sending its profile: no profile written", prog, how);
    else /* exit() sends it: this was _exit, or the program closed gargalo's socket */
        cli_error(CLI_FAIL,
                  "%s %s without sending its profile (it ended with _exit, which "
                  "runs no exit handler, or closed gargalo's socket): no profile written",
                  prog, how);
}

static int conclude(const watch *w)
{
    int code = WIFEXITED(w->status)     ? WEXITSTATUS(w->status)
               : WIFSIGNALED(w->status) ? 128 + WTERMSIG(w->status)
                                        : CLI_FAIL;
    if (!w->answered)
        explain_missing(w, code);
    return w->written || code ? code : CLI_FAIL;
}

int supervise(const spawn_child *c, int sigfd, const supervise_plan *plan)
{
    watch w = {.plan = plan, .pid = c->pid, .sock = c->sock, .sigfd = sigfd};
    wire_reader_init(&w.reader, PROFILE_LIMIT);
    while (!w.exited) {
        struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = w.sock, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) /* first: a stop signal then finds the phase the program is in */
            read_messages(&w);
        read_signals(&w);
    }
    if (!w.exited)
        waitpid(w.pid, &w.status, 0);
    read_messages(&w); /* what it sent before it ended */
    if (w.sock >= 0)
        close(w.sock);
    wire_reader_free(&w.reader);
    return conclude(&w);
}
