/*
 * store.c: the backend-independent half of the store: URL to backend, one migration at
 * start-up, and a fixed pool of connections handed to one request at a time.
 */
#include "store.h"
#include "timing.h"
#include "upkeep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct bolsa_slot {
    void *conn;      /* NULL: not connected yet, or dropped after a failure */
    atomic_int busy; /* taken with a compare-and-swap */
} bolsa_slot;

/* Checking a slot out is lock-free while one is free: under load the pool's mutex was a
 * hot spot. Only a thread that finds every slot busy takes the mutex and sleeps. */
struct bolsa_store {
    const bolsa_store_backend *be;
    char *url;
    pthread_mutex_t lock; /* only for sleeping until a slot is freed */
    pthread_cond_t freed;
    atomic_int waiters;
    int size;
    bolsa_slot *slots;
    bolsa_upkeep *upkeep; /* NULL when the backend has no maintain() */
    /* bolsa_store_health's memory, on bolsa_now_ns()'s clock (0: never). */
    _Atomic uint64_t healthy_at;   /* start of the last ping that succeeded */
    _Atomic uint64_t unhealthy_at; /* the last time a call found the database unavailable */
    atomic_int checking;           /* a request is pinging for bolsa_store_health */
};

/* How often a backend's maintain() runs: SQLite's write-ahead log then stays small. */
#define BOLSA_UPKEEP_MS 100

/* The slot this thread used last: with one connection per HTTP worker, each worker
 * usually finds its own slot free and never touches another's cache line. */
static __thread int bolsa_store_hint;

bolsa_errcode bolsa_store_backend_for(const char *url, const bolsa_store_backend **out,
                                      bolsa_error *err)
{
    if (!strncmp(url, "sqlite:", 7) && url[7] != '\0')
        *out = &bolsa_store_sqlite;
    else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
        *out = &bolsa_store_pg;
    else
        return bolsa_error_set(err, BOLSA_E_CONFIG, NULL, NULL,
                               "unsupported database URL '%s' (want sqlite:PATH, "
                               "postgresql://... or postgres://...)",
                               url);
    return BOLSA_E_OK;
}

size_t bolsa_row_source_pull(const bolsa_row_source *src, bolsa_row *rows, bolsa_save_result *res)
{
    uint64_t t0 = bolsa_now_ns();
    size_t n = src->next(src->ctx, rows, BOLSA_CHUNK_ROWS);
    res->generate_ns += bolsa_now_ns() - t0;
    return n;
}

/* Returns a slot to the pool. A connection whose database became unreachable is
 * dropped, so the next user reconnects instead of failing the same way again. */
static void bolsa_store_release(bolsa_store *s, bolsa_slot *slot, bolsa_errcode rc)
{
    if (rc == BOLSA_E_DB_UNAVAILABLE)
        atomic_store(&s->unhealthy_at, bolsa_now_ns());
    if (rc == BOLSA_E_DB_UNAVAILABLE && slot->conn) {
        s->be->disconnect(slot->conn);
        slot->conn = NULL;
    }
    /* Sequentially consistent with the waiter's count-then-scan: either it sees this
     * slot free, or this sees it waiting and wakes it under the lock it sleeps with. */
    atomic_store(&slot->busy, 0);
    if (atomic_load(&s->waiters) > 0) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->lock);
    }
}

/* A free slot taken without waiting, starting from this thread's last one; or NULL. */
static bolsa_slot *bolsa_store_try_slot(bolsa_store *s)
{
    for (int k = 0; k < s->size; k++) {
        int i = (bolsa_store_hint + k) % s->size;
        int free_ = 0;
        if (atomic_compare_exchange_strong(&s->slots[i].busy, &free_, 1)) {
            bolsa_store_hint = i;
            return &s->slots[i];
        }
    }
    return NULL;
}

static bolsa_slot *bolsa_store_wait_slot(bolsa_store *s)
{
    bolsa_slot *slot = bolsa_store_try_slot(s);
    if (slot)
        return slot;
    pthread_mutex_lock(&s->lock);
    atomic_fetch_add(&s->waiters, 1);
    while (!(slot = bolsa_store_try_slot(s)))
        pthread_cond_wait(&s->freed, &s->lock);
    atomic_fetch_sub(&s->waiters, 1);
    pthread_mutex_unlock(&s->lock);
    return slot;
}

/* Checks out a connected slot, waiting for one to be free. */
static bolsa_errcode bolsa_store_acquire(bolsa_store *s, bolsa_slot **out, bolsa_error *err)
{
    bolsa_slot *slot = bolsa_store_wait_slot(s);
    /* Connecting happens outside the lock: it may take a network round trip or a timeout. */
    bolsa_errcode rc = slot->conn ? BOLSA_E_OK : s->be->connect(s->url, &slot->conn, err);
    if (rc) {
        slot->conn = NULL;
        bolsa_store_release(s, slot, rc);
        return rc;
    }
    *out = slot;
    return BOLSA_E_OK;
}

static void bolsa_store_free(bolsa_store *s)
{
    bolsa_upkeep_stop(s->upkeep);
    for (int i = 0; s->slots && i < s->size; i++) { /* no slots: their calloc failed */
        if (s->slots[i].conn)
            s->be->disconnect(s->slots[i].conn);
    }
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s->slots);
    free(s->url);
    free(s);
}

static bolsa_errcode bolsa_store_alloc(const bolsa_store_backend *be, const char *url, int size,
                                       bolsa_store **out, bolsa_error *err)
{
    bolsa_store *s = calloc(1, sizeof(*s));
    if (!s)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    s->be = be;
    s->size = size;
    s->url = strdup(url);
    s->slots = calloc((size_t)size, sizeof(*s->slots));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    if (!s->url || !s->slots) {
        bolsa_store_free(s);
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    }
    *out = s;
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_store_open(bolsa_store **out, const char *url, int pool_size, bolsa_error *err)
{
    const bolsa_store_backend *be;
    bolsa_errcode rc = bolsa_store_backend_for(url, &be, err);
    if (rc)
        return rc;
    return bolsa_store_open_backend(out, be, url, pool_size, err);
}

bolsa_errcode bolsa_store_open_backend(bolsa_store **out, const bolsa_store_backend *be,
                                       const char *url, int pool_size, bolsa_error *err)
{
    bolsa_store *s = NULL;
    bolsa_errcode rc = bolsa_store_alloc(be, url, pool_size > 0 ? pool_size : 1, &s, err);
    if (rc)
        return rc;
    /* The first connection both proves the database is reachable and migrates it. */
    rc = be->connect(url, &s->slots[0].conn, err);
    if (!rc)
        rc = be->migrate(s->slots[0].conn, err);
    if (!rc && be->maintain)
        rc = bolsa_upkeep_start(&s->upkeep, be, s->url, BOLSA_UPKEEP_MS, err);
    if (rc) {
        bolsa_store_free(s);
        return rc;
    }
    *out = s;
    return BOLSA_E_OK;
}

void bolsa_store_close(bolsa_store *s)
{
    if (s)
        bolsa_store_free(s);
}

const char *bolsa_store_name(const bolsa_store *s)
{
    return s->be->name;
}

/* Runs one backend call on a pooled connection: acquire, call, release. */
#define BOLSA_WITH_CONN(s, err, call)                                                              \
    do {                                                                                           \
        bolsa_slot *slot_;                                                                         \
        bolsa_errcode rc_ = bolsa_store_acquire((s), &slot_, (err));                               \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
        void *conn = slot_->conn;                                                                  \
        rc_ = (call);                                                                              \
        bolsa_store_release((s), slot_, rc_);                                                      \
        return rc_;                                                                                \
    } while (0)

bolsa_errcode bolsa_store_save(bolsa_store *s, bolsa_strategy strategy, const bolsa_row_source *src,
                               bolsa_save_result *res, bolsa_error *err)
{
    BOLSA_WITH_CONN(s, err, s->be->save(conn, strategy, src, res, err));
}

bolsa_errcode bolsa_store_list(bolsa_store *s, const bolsa_list_query *query, bolsa_tx *out,
                               size_t *n, bolsa_error *err)
{
    BOLSA_WITH_CONN(s, err, s->be->list(conn, query, out, n, err));
}

bolsa_errcode bolsa_store_summary(bolsa_store *s, bolsa_summary_row **out, size_t *n,
                                  bolsa_error *err)
{
    BOLSA_WITH_CONN(s, err, s->be->summary(conn, out, n, err));
}

bolsa_errcode bolsa_store_count(bolsa_store *s, int64_t *n, bolsa_error *err)
{
    BOLSA_WITH_CONN(s, err, s->be->count(conn, n, err));
}

/* Any failed ping drops the connection, so the next try reconnects. */
static bolsa_errcode bolsa_store_ping_once(bolsa_store *s, bolsa_error *err)
{
    bolsa_slot *slot;
    bolsa_errcode rc = bolsa_store_acquire(s, &slot, err);
    if (rc)
        return rc;
    rc = s->be->ping(slot->conn, err);
    bolsa_store_release(s, slot, rc ? BOLSA_E_DB_UNAVAILABLE : BOLSA_E_OK);
    return rc;
}

bolsa_errcode bolsa_store_ping(bolsa_store *s, bolsa_error *err)
{
    bolsa_error first = {0};
    if (bolsa_store_ping_once(s, &first) == BOLSA_E_OK)
        return BOLSA_E_OK;
    return bolsa_store_ping_once(s, err);
}

/* Pings for bolsa_store_health, remembering when a ping that succeeded started: a failure
 * seen by any call after that start outdates it. */
static bolsa_errcode bolsa_store_health_ping(bolsa_store *s, bolsa_error *err)
{
    uint64_t start = bolsa_now_ns();
    bolsa_errcode rc = bolsa_store_ping(s, err);
    if (!rc)
        atomic_store(&s->healthy_at, start);
    return rc;
}

/* How long ago the last successful ping started; UINT64_MAX when there was none since a
 * call last found the database unavailable. */
static uint64_t bolsa_store_health_age(bolsa_store *s)
{
    uint64_t ok = atomic_load(&s->healthy_at), now = bolsa_now_ns();
    if (ok == 0 || ok <= atomic_load(&s->unhealthy_at))
        return UINT64_MAX;
    return now - ok; /* ok was read first: now is not earlier */
}

bolsa_errcode bolsa_store_health(bolsa_store *s, uint64_t max_age_ns, bolsa_error *err)
{
    if (bolsa_store_health_age(s) < max_age_ns)
        return BOLSA_E_OK;
    /* Out of date: one request pings; the others meanwhile answer with the last success,
     * unless it is so old that the ping in progress is stuck (a connect timing out). */
    if (atomic_exchange(&s->checking, 1)) {
        if (bolsa_store_health_age(s) < 10 * max_age_ns)
            return BOLSA_E_OK;
        return bolsa_store_health_ping(s, err);
    }
    /* Looked at again with the flag held: its last holder may have pinged just now. */
    bolsa_errcode rc =
        bolsa_store_health_age(s) < max_age_ns ? BOLSA_E_OK : bolsa_store_health_ping(s, err);
    atomic_store(&s->checking, 0);
    return rc;
}
