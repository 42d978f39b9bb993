/*
 * watch.c: the connection watchdog (watch.h says what and why).
 *
 * Why connections a client closed were not reaped: MHD adds each accepted socket to its
 * epoll set edge-triggered, and its recv wrapper clears the socket's "read ready" state
 * whenever recv returns fewer bytes than asked for. A client that sends part of a request
 * and closes delivers data and FIN together (or both were queued while the connection
 * waited in the listen backlog): one readiness edge, one short read of the data, and the
 * FIN is never read, as no further edge comes. The connection waits in CLOSE_WAIT for
 * MHD's idle timeout. MHD_USE_TURBO (adding the socket to epoll only after a first read)
 * narrows this to data and FIN arriving together on an established connection, and
 * poll(2), level-triggered, avoids it at the cost of scanning every connection on every
 * event; the watchdog catches every case and keeps epoll.
 *
 * State per fd, in since[]: 0 (no connection, or its request is being handled), CUT
 * (shut down by the watchdog), or the monotonic time in ns at which it began waiting.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "watch.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "timing.h"

#define WATCH_PERIOD_MS 200
#define WATCH_CUT 1
/* Far more fds than connections would make the table large for nothing. */
#define WATCH_MAX_FDS ((size_t)1 << 20)

struct bolsa_watch {
    _Atomic uint64_t *since; /* per fd, as above */
    uint64_t *suspect;       /* per fd, the thread's own: since[] when its client was seen gone */
    struct pollfd *polls;    /* the thread's own: the sockets it asks about in one pass */
    size_t n;                /* entries of each */
    atomic_int top;          /* one past the highest fd seen */
    uint64_t deadline_ns;    /* 0: none */
    /* Held around a cut and around forgetting a closed fd: a cut never reaches a reused fd. */
    pthread_mutex_t cut_lock;
    pthread_mutex_t lock; /* with wake and stopping: stops the thread */
    pthread_cond_t wake;
    int stopping;
    pthread_t thread;
};

/* A time that cannot be mistaken for 0 or WATCH_CUT. */
static uint64_t bolsa_watch_now(void)
{
    uint64_t now = bolsa_now_ns();
    return now > WATCH_CUT ? now : WATCH_CUT + 1;
}

void bolsa_watch_opened(bolsa_watch *w, int fd)
{
    if (fd < 0 || (size_t)fd >= w->n)
        return; /* beyond the table: no deadline for it */
    atomic_store(&w->since[fd], bolsa_watch_now());
    int top = atomic_load(&w->top);
    while (top <= fd && !atomic_compare_exchange_weak(&w->top, &top, fd + 1))
        ;
}

void bolsa_watch_closed(bolsa_watch *w, int fd)
{
    if (fd < 0 || (size_t)fd >= w->n)
        return;
    pthread_mutex_lock(&w->cut_lock);
    atomic_store(&w->since[fd], 0);
    pthread_mutex_unlock(&w->cut_lock);
}

int bolsa_watch_received(bolsa_watch *w, int fd)
{
    if (fd < 0 || (size_t)fd >= w->n)
        return 1;
    uint64_t since = atomic_load(&w->since[fd]);
    while (since != WATCH_CUT) {
        if (atomic_compare_exchange_weak(&w->since[fd], &since, 0))
            return 1;
    }
    return 0;
}

void bolsa_watch_answered(bolsa_watch *w, int fd)
{
    if (fd < 0 || (size_t)fd >= w->n)
        return;
    uint64_t handled = 0; /* only from "being handled": a cut stays cut */
    atomic_compare_exchange_strong(&w->since[fd], &handled, bolsa_watch_now());
}

/* Shuts the connection down if it is still in the same wait: MHD's next read then ends
 * it. */
static void bolsa_watch_cut(bolsa_watch *w, int fd, uint64_t since)
{
    pthread_mutex_lock(&w->cut_lock);
    if (atomic_compare_exchange_strong(&w->since[fd], &since, WATCH_CUT))
        shutdown(fd, SHUT_RDWR);
    pthread_mutex_unlock(&w->cut_lock);
}

/* Of the sockets polled, cuts those whose client closed its end with nothing left unread,
 * when seen so on two passes in a row in the same wait: on the first, MHD may just have
 * read the last bytes of a request it has not yet handed over. */
static void bolsa_watch_gone(bolsa_watch *w, nfds_t n)
{
    for (nfds_t i = 0; i < n; i++) {
        int fd = w->polls[i].fd, unread = 0;
        if (!(w->polls[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) ||
            ioctl(fd, FIONREAD, &unread) || unread > 0)
            continue;
        uint64_t since = atomic_load(&w->since[fd]);
        if (since > WATCH_CUT && w->suspect[fd] == since)
            bolsa_watch_cut(w, fd, since);
        else
            w->suspect[fd] = since;
    }
}

/* Bytes the client sent that MHD has not read yet. A connection's worker thread, busy
 * with another connection's long request, reads nothing meanwhile: the wait is the
 * server's, not the client's, and the deadline does not cut it. A client trickling its
 * request leaves nothing unread for long on a free worker. */
static int bolsa_watch_unread(int fd)
{
    int unread = 0;
    return ioctl(fd, FIONREAD, &unread) == 0 && unread > 0;
}

/* One look at every connection waiting for a request. */
static void bolsa_watch_pass(bolsa_watch *w)
{
    uint64_t now = bolsa_now_ns();
    int top = atomic_load(&w->top);
    nfds_t n = 0;
    for (int fd = 0; fd < top; fd++) {
        uint64_t since = atomic_load(&w->since[fd]);
        if (since <= WATCH_CUT)
            continue;
        if (w->deadline_ns && since < now && now - since > w->deadline_ns &&
            !bolsa_watch_unread(fd))
            bolsa_watch_cut(w, fd, since);
        else
            w->polls[n++] = (struct pollfd){.fd = fd, .events = POLLRDHUP};
    }
    if (n && poll(w->polls, n, 0) > 0)
        bolsa_watch_gone(w, n);
}

/* Sleeps one period; returns 0 when it is time to stop. Called with the lock held. */
static int bolsa_watch_wait(bolsa_watch *w)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += WATCH_PERIOD_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0)
        ;
    return !w->stopping;
}

static void *bolsa_watch_main(void *arg)
{
    bolsa_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (bolsa_watch_wait(w)) {
        pthread_mutex_unlock(&w->lock);
        bolsa_watch_pass(w);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void bolsa_watch_free(bolsa_watch *w)
{
    free(w->since);
    free(w->suspect);
    free(w->polls);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->cut_lock);
    free(w);
}

/* One entry per fd the process may open. calloc maps zeroed pages: only those up to the
 * highest fd in use are ever touched. */
static bolsa_errcode bolsa_watch_tables(bolsa_watch *w, bolsa_error *err)
{
    struct rlimit rl;
    w->n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (size_t)rl.rlim_cur : 1024;
    if (w->n > WATCH_MAX_FDS)
        w->n = WATCH_MAX_FDS;
    w->since = calloc(w->n, sizeof(*w->since));
    w->suspect = calloc(w->n, sizeof(*w->suspect));
    w->polls = calloc(w->n, sizeof(*w->polls));
    if (!w->since || !w->suspect || !w->polls)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    return BOLSA_E_OK;
}

/* Creates the thread with every signal blocked: signals stay with the threads that expect
 * them (main's sigwait, SIGPROF's targets). */
static bolsa_errcode bolsa_watch_spawn(bolsa_watch *w, bolsa_error *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int failed = pthread_create(&w->thread, NULL, bolsa_watch_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (failed)
        return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL,
                               "cannot start the connection watchdog: %s", strerror(failed));
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_watch_start(bolsa_watch **out, unsigned deadline_s, bolsa_error *err)
{
    bolsa_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    w->deadline_ns = (uint64_t)deadline_s * 1000000000ULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->cut_lock, NULL);
    bolsa_errcode rc = bolsa_watch_tables(w, err);
    if (!rc)
        rc = bolsa_watch_spawn(w, err);
    if (rc) {
        bolsa_watch_free(w);
        return rc;
    }
    *out = w;
    return BOLSA_E_OK;
}

void bolsa_watch_stop(bolsa_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    bolsa_watch_free(w);
}
