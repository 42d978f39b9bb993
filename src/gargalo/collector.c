/*
 * collector.c: the thread that empties perf buffers as they fill (collector.h).
 *
 * It sleeps in epoll_wait on every watched event; the kernel wakes it once a buffer is
 * half full (perf.c sets the watermark). Each wake-up drains under one lock, which a
 * stopping session also takes for its last drain, so a buffer is never read twice at
 * once. After fork the child has no collector thread: its state is reset and the thread
 * starts again on first use.
 */
#define _GNU_SOURCE
#include "collector.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "gargalo.h"
#include "grow.h"
#include "thread.h"

typedef struct gg_watch {
    int fd;
    void (*drain)(void *ctx);
    void *ctx;
} gg_watch;

static struct {
    pthread_mutex_t lock;
    int epfd; /* -1 until the thread starts */
    gg_watch *v;
    size_t n, cap;
} gg_coll = {PTHREAD_MUTEX_INITIALIZER, -1, NULL, 0, 0};

void gg_collector_lock(void)
{
    pthread_mutex_lock(&gg_coll.lock);
}

void gg_collector_unlock(void)
{
    pthread_mutex_unlock(&gg_coll.lock);
}

/* A watch of ctx, or NULL. Under the lock. */
static gg_watch *find(const void *ctx)
{
    for (size_t i = 0; i < gg_coll.n; i++)
        if (gg_coll.v[i].ctx == ctx)
            return &gg_coll.v[i];
    return NULL;
}

/* The watch of fd, or NULL (removed since epoll reported it). A context may watch several
 * fds, each with its own function (a session's buffers, and its timer). Under the lock. */
static gg_watch *find_fd(int fd)
{
    for (size_t i = 0; i < gg_coll.n; i++)
        if (gg_coll.v[i].fd == fd)
            return &gg_coll.v[i];
    return NULL;
}

static atomic_int gg_coll_ready; /* the thread has said it is gargalo's own */

static void *collector_main(void *arg)
{
    int epfd = (int)(intptr_t)arg;
    struct epoll_event ev[16];
    gg_thread_mark_helper();
    atomic_store(&gg_coll_ready, 1);
    for (;;) {
        int n = epoll_wait(epfd, ev, 16, -1);
        gg_collector_lock();
        for (int i = 0; i < n; i++) {
            gg_watch *w = find_fd(ev[i].data.fd);
            if (w)
                w->drain(w->ctx);
        }
        gg_collector_unlock();
    }
    return NULL;
}

/* Under the lock. The thread blocks every signal: the application's signals never land
 * on it. */
static int start_thread(void)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t th;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return GARGALO_ETIMER;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, collector_main, (void *)(intptr_t)epfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        close(epfd);
        return GARGALO_ETIMER;
    }
    pthread_setname_np(th, "gargalo-collect");
    gg_coll.epfd = epfd;
    while (!atomic_load(&gg_coll_ready)) /* a process-wide session must not sample it */
        sched_yield();
    atomic_store(&gg_coll_ready, 0); /* for the next start, after a fork */
    return 0;
}

static void before_fork(void)
{
    gg_collector_lock();
}

static void parent_after_fork(void)
{
    gg_collector_unlock();
}

/* The child has no collector thread and none of the parent's sessions. */
static void child_after_fork(void)
{
    if (gg_coll.epfd >= 0)
        close(gg_coll.epfd);
    gg_coll.epfd = -1;
    gg_coll.n = 0;
    pthread_mutex_init(&gg_coll.lock, NULL);
}

static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

/* Under the lock: the thread, unless it runs already. */
static int ensure_thread(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handlers);
    return gg_coll.epfd >= 0 ? 0 : start_thread();
}

int gg_collector_prepare(void)
{
    gg_collector_lock();
    int rc = ensure_thread();
    gg_collector_unlock();
    return rc;
}

int gg_collector_add(int fd, void (*drain)(void *ctx), void *ctx)
{
    gg_collector_lock();
    int rc = ensure_thread();
    if (!rc)
        rc = GG_GROW(&gg_coll.v, &gg_coll.cap, gg_coll.n + 1);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (!rc && epoll_ctl(gg_coll.epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        rc = GARGALO_ETIMER;
    if (!rc)
        gg_coll.v[gg_coll.n++] = (gg_watch){fd, drain, ctx};
    gg_collector_unlock();
    return rc;
}

void gg_collector_remove(void *ctx)
{
    gg_collector_lock();
    for (gg_watch *w; (w = find(ctx));) { /* a context may watch several fds */
        epoll_ctl(gg_coll.epfd, EPOLL_CTL_DEL, w->fd, NULL);
        *w = gg_coll.v[--gg_coll.n];
    }
    gg_collector_unlock();
}
