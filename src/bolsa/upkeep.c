/*
 * upkeep.c: the upkeep thread: wait a period (or until told to stop), run the backend's
 * maintain() on its own connection, repeat. A failure drops the connection; the next
 * period opens a new one, so upkeep resumes by itself when the database comes back.
 */
#include "upkeep.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bolsa_upkeep {
    const bolsa_store_backend *be;
    const char *url; /* the store's; outlives the thread */
    unsigned period_ms;
    void *conn;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled to stop */
    int stopping;
};

/* Sleeps one period; returns 0 when it is time to stop. Called with the lock held. */
static int bolsa_upkeep_wait(bolsa_upkeep *u)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += u->period_ms / 1000;
    until.tv_nsec += (long)(u->period_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!u->stopping && pthread_cond_timedwait(&u->wake, &u->lock, &until) == 0)
        ;
    return !u->stopping;
}

/* Nobody waits for upkeep's result: a failure only drops the connection, and the next
 * period tries again on a new one. */
static void bolsa_upkeep_once(bolsa_upkeep *u)
{
    bolsa_error err = {0};
    if (!u->conn && u->be->connect(u->url, &u->conn, &err) != BOLSA_E_OK) {
        u->conn = NULL;
        return;
    }
    if (u->be->maintain(u->conn, &err) != BOLSA_E_OK) {
        u->be->disconnect(u->conn);
        u->conn = NULL;
    }
}

static void *bolsa_upkeep_main(void *arg)
{
    bolsa_upkeep *u = arg;
    pthread_mutex_lock(&u->lock);
    while (bolsa_upkeep_wait(u)) {
        pthread_mutex_unlock(&u->lock);
        bolsa_upkeep_once(u);
        pthread_mutex_lock(&u->lock);
    }
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

static void bolsa_upkeep_free(bolsa_upkeep *u)
{
    if (u->conn)
        u->be->disconnect(u->conn);
    pthread_cond_destroy(&u->wake);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

/* Creates the thread with every signal blocked: signals stay with the threads that expect
 * them (main's sigwait, SIGPROF's targets). */
static bolsa_errcode bolsa_upkeep_spawn(bolsa_upkeep *u, bolsa_error *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int failed = pthread_create(&u->thread, NULL, bolsa_upkeep_main, u);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (failed)
        return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL,
                               "cannot start the upkeep thread: %s", strerror(failed));
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_upkeep_start(bolsa_upkeep **out, const bolsa_store_backend *be, const char *url,
                                 unsigned period_ms, bolsa_error *err)
{
    bolsa_upkeep *u = calloc(1, sizeof(*u));
    if (!u)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    *u = (bolsa_upkeep){.be = be, .url = url, .period_ms = period_ms};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&u->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&u->lock, NULL);
    bolsa_errcode rc = bolsa_upkeep_spawn(u, err);
    if (rc) {
        bolsa_upkeep_free(u);
        return rc;
    }
    *out = u;
    return BOLSA_E_OK;
}

void bolsa_upkeep_stop(bolsa_upkeep *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    u->stopping = 1;
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->thread, NULL);
    bolsa_upkeep_free(u);
}
