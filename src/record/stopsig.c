/*
 * stopsig.c: stop signals caught for the profile's sake (stopsig.h).
 *
 * A signal from outside (the terminal, kill) arrives at no particular moment, so letting
 * the thread it interrupted go on until the profile is sent is the same as the signal
 * coming a little later. One the program sends itself (raise, kill of its own pid) is
 * different: the code after raise(SIGTERM) must never run, so that thread waits in the
 * handler until the signal's default action ends the process. Such a thread is at a call
 * of its own choosing, not inside malloc, so the thread making the profile does not wait
 * for a lock it holds.
 */
#define _GNU_SOURCE
#include "stopsig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSTOP (sizeof(stop_signals) / sizeof(stop_signals[0]))

static int caught_r = -1, caught_w = -1;   /* the handler tells the thread reading caught_r */
static int release_r = -1, release_w = -1; /* which lets a waiting handler return */
static atomic_bool caught;                 /* a stop signal came: the profile is being made */
static atomic_bool forgotten;              /* stopsig_forget ran: its reader may be gone */

static void set_default(int sig)
{
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static bool sent_by_itself(const siginfo_t *si)
{
    return (si->si_code == SI_USER || si->si_code == SI_TKILL) && si->si_pid == getpid();
}

/* Async-signal-safe: one byte to the pipe; the second time, the default action now (the
 * signal is blocked while its handler runs, so it lands once the handler returns).
 * A handler the kernel entered just before stopsig_forget may write its byte after the
 * reader's last look (gargalo closes its socket, then passes a signal on: the program's
 * reader ends at the close while the signal arrives). So after writing, a handler that
 * sees the handlers forgotten takes its byte back if it is still there and ends the
 * process itself: of the two reads, exactly one gets the byte and raises the signal. */
static void on_stop(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    (void)uc;
    if (atomic_exchange(&caught, true) || write(caught_w, &b, 1) != 1 ||
        (atomic_load(&forgotten) && read(caught_r, &b, 1) == 1)) {
        set_default(sig);
        raise(sig);
    } else if (sent_by_itself(si)) {
        while (read(release_r, &b, 1) < 0 && errno == EINTR)
            ;
    }
    errno = saved;
}

static bool handler_is_ours(int sig)
{
    struct sigaction cur;
    return sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
           cur.sa_sigaction == on_stop;
}

int stopsig_install(void)
{
    int caught_p[2], release_p[2];
    if (pipe2(caught_p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    if (pipe2(release_p, O_CLOEXEC) != 0) {
        close(caught_p[0]), close(caught_p[1]);
        return -1;
    }
    caught_r = caught_p[0], caught_w = caught_p[1];
    release_r = release_p[0], release_w = release_p[1];
    for (size_t i = 0; i < NSTOP; i++) {
        struct sigaction cur, sa = {.sa_sigaction = on_stop, .sa_flags = SA_SIGINFO | SA_RESTART};
        sigemptyset(&sa.sa_mask);
        if (sigaction(stop_signals[i], NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
            cur.sa_handler == SIG_DFL)
            sigaction(stop_signals[i], &sa, NULL);
    }
    return caught_p[0];
}

void stopsig_raise(int sig)
{
    if (handler_is_ours(sig))
        set_default(sig);
    kill(getpid(), sig); /* to the process: the thread calling this blocks every signal */
    unsigned char b = 0;
    if (write(release_w, &b, 1) != 1) /* a handler waiting returns into the signal */
        return;
}

void stopsig_forget(void)
{
    atomic_store(&forgotten, true);
    for (size_t i = 0; i < NSTOP; i++)
        if (handler_is_ours(stop_signals[i]))
            set_default(stop_signals[i]);
}
