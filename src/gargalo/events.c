/*
 * events.c: labels and markers, from the public calls to the logs of the sessions that
 * watch the thread (events.h), and from the logs to the session at stop.
 *
 * A thread's labels and open markers live in a state of its own (allocated on first use,
 * freed at thread exit). A change is copied into the log of the thread's own session, if
 * one runs, without a lock (only that thread writes it, and reads it at stop), and into
 * the process-wide session's log, if one runs, under that log's lock. At stop each
 * sample takes the labels its thread carried at its time.
 */
#define _GNU_SOURCE
#include "events.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "grow.h"

#define GG_EVENTS_MAX_BYTES ((size_t)16 << 20)
#define GG_MARK_DEPTH 16
#define GG_MARK_TEXT_MAX 1024

enum { GG_EV_LABELS, GG_EV_MARK };

struct gg_event {
    uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC; a label change has start == end */
    pid_t tid;
    int kind;
    const char *text; /* labels: "key\0value\0...\0"; marker: "category\0text\0" */
    size_t len;
    size_t off; /* in a log: where its copy of text is in the log's texts */
};

typedef struct gg_tstate {
    pid_t tid;
    int nlabels;
    char key[GARGALO_MAX_LABELS][GARGALO_LABEL_MAX + 1];
    char value[GARGALO_MAX_LABELS][GARGALO_LABEL_MAX + 1];
    int depth;
    int beyond; /* markers begun past GG_MARK_DEPTH and not ended: their ends are ignored */
    uint64_t open_ns[GG_MARK_DEPTH];
    size_t open_off[GG_MARK_DEPTH]; /* where the open marker's text is in open_texts */
    size_t open_len[GG_MARK_DEPTH]; /* 0: not recorded, only its place in the nesting */
    /* The open markers' "category\0text\0", stacked: grown once, then reused, so a thread
       marking every statement allocates nothing per marker. */
    char *open_texts;
    size_t open_used, open_cap;
    struct gg_tstate *prev, *next; /* every thread that ever set a label */
} gg_tstate;

static __thread gg_tstate *gg_tstate_self;
static __thread gg_eventlog *gg_thread_log;
static _Atomic(gg_eventlog *) gg_process_log;
static pthread_mutex_t gg_process_attach = PTHREAD_MUTEX_INITIALIZER; /* over gg_process_log */
static struct {
    pthread_mutex_t lock;
    gg_tstate *head;
    pthread_key_t key;
} gg_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- logs ---- */

void gg_eventlog_init(gg_eventlog *log)
{
    memset(log, 0, sizeof(*log));
    pthread_mutex_init(&log->lock, NULL);
}

void gg_eventlog_free(gg_eventlog *log)
{
    free(log->v);
    free(log->texts);
    pthread_mutex_destroy(&log->lock);
    memset(log, 0, sizeof(*log));
}

void gg_eventlog_clear(gg_eventlog *log)
{
    log->n = log->texts_len = log->bytes = log->markers_dropped = log->labels_dropped = 0;
}

/* A logged event's text. */
static const char *ev_text(const gg_eventlog *log, const gg_event *e)
{
    return log->texts + e->off;
}

/* Appends a copy of text, to the log's texts: one buffer, kept across gg_eventlog_clear, so
 * a thread labelling every request allocates nothing once it has grown. When the log is
 * full, counts the event as dropped. */
static void append(gg_eventlog *log, const gg_event *ev)
{
    size_t need = sizeof(*ev) + ev->len;
    if (log->bytes + need > GG_EVENTS_MAX_BYTES ||
        GG_GROW(&log->texts, &log->texts_cap, log->texts_len + ev->len) ||
        GG_GROW(&log->v, &log->cap, log->n + 1)) {
        if (ev->kind == GG_EV_MARK)
            log->markers_dropped++;
        else
            log->labels_dropped++;
        return;
    }
    memcpy(log->texts + log->texts_len, ev->text, ev->len);
    log->v[log->n] = *ev;
    log->v[log->n].text = NULL;
    log->v[log->n++].off = log->texts_len;
    log->texts_len += ev->len;
    log->bytes += need;
}

/* Into every log that watches the calling thread. The process-wide log is looked up again
 * under the lock that detaching it takes: a thread that saw it attached just before its
 * session stopped would otherwise append to it while the stop reads it, or after it is
 * freed. */
static void publish(const gg_event *ev)
{
    if (gg_thread_log)
        append(gg_thread_log, ev);
    if (!atomic_load_explicit(&gg_process_log, memory_order_relaxed))
        return;
    pthread_mutex_lock(&gg_process_attach);
    gg_eventlog *proc = atomic_load_explicit(&gg_process_log, memory_order_relaxed);
    if (proc) {
        pthread_mutex_lock(&proc->lock);
        append(proc, ev);
        pthread_mutex_unlock(&proc->lock);
    }
    pthread_mutex_unlock(&gg_process_attach);
}

static bool watched(void)
{
    return gg_thread_log || atomic_load_explicit(&gg_process_log, memory_order_relaxed);
}

void gg_events_attach_thread(gg_eventlog *log)
{
    gg_thread_log = log;
}

void gg_events_attach_process(gg_eventlog *log)
{
    pthread_mutex_lock(&gg_process_attach);
    atomic_store_explicit(&gg_process_log, log, memory_order_relaxed);
    pthread_mutex_unlock(&gg_process_attach);
}

/* ---- the calling thread's state ---- */

static void forget_thread(void *arg)
{
    gg_tstate *t = arg;
    pthread_mutex_lock(&gg_registry.lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        gg_registry.head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&gg_registry.lock);
    free(t->open_texts);
    free(t);
    gg_tstate_self = NULL;
}

static void create_key(void)
{
    pthread_key_create(&gg_registry.key, forget_thread);
}

static gg_tstate *self(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (gg_tstate_self)
        return gg_tstate_self;
    pthread_once(&once, create_key);
    gg_tstate *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->tid = gettid();
    pthread_mutex_lock(&gg_registry.lock);
    t->next = gg_registry.head;
    if (t->next)
        t->next->prev = t;
    gg_registry.head = t;
    pthread_mutex_unlock(&gg_registry.lock);
    pthread_setspecific(gg_registry.key, t);
    return gg_tstate_self = t;
}

/* ---- labels ---- */

/* The thread's labels as "key\0value\0...\0" into buf; returns the length. */
static size_t snapshot(const gg_tstate *t, char *buf)
{
    size_t n = 0;
    for (int i = 0; i < t->nlabels; i++) {
        size_t k = strlen(t->key[i]) + 1, v = strlen(t->value[i]) + 1;
        memcpy(buf + n, t->key[i], k);
        memcpy(buf + n + k, t->value[i], v);
        n += k + v;
    }
    buf[n++] = '\0';
    return n;
}

static void log_labels(gg_eventlog *log, const gg_tstate *t, uint64_t now)
{
    char buf[GARGALO_MAX_LABELS * 2 * (GARGALO_LABEL_MAX + 1) + 1];
    gg_event ev = {now, now, t->tid, GG_EV_LABELS, buf, snapshot(t, buf), 0};
    if (log)
        append(log, &ev);
    else
        publish(&ev);
}

static int find_key(const gg_tstate *t, const char *key)
{
    for (int i = 0; i < t->nlabels; i++)
        if (strncmp(t->key[i], key, GARGALO_LABEL_MAX) == 0)
            return i;
    return -1;
}

int gargalo_label_set(const char *key, const char *value)
{
    gg_tstate *t = key && *key ? self() : NULL;
    if (!key || !*key)
        return GARGALO_EINVAL;
    if (!t)
        return GARGALO_ENOMEM;
    int i = find_key(t, key);
    if (i < 0 && t->nlabels == GARGALO_MAX_LABELS)
        return GARGALO_ENOMEM;
    if (i < 0)
        i = t->nlabels++;
    strncpy(t->key[i], key, GARGALO_LABEL_MAX);
    strncpy(t->value[i], value ? value : "", GARGALO_LABEL_MAX);
    t->key[i][GARGALO_LABEL_MAX] = t->value[i][GARGALO_LABEL_MAX] = '\0';
    if (watched())
        log_labels(NULL, t, gg_clock_ns(CLOCK_MONOTONIC));
    return 0;
}

void gargalo_label_clear(const char *key)
{
    gg_tstate *t = gg_tstate_self;
    int i = t && key ? find_key(t, key) : -1;
    if (!t || (key && i < 0))
        return;
    if (!key) {
        t->nlabels = 0;
    } else {
        memmove(t->key[i], t->key[i + 1], (size_t)(t->nlabels - i - 1) * sizeof(t->key[0]));
        memmove(t->value[i], t->value[i + 1], (size_t)(t->nlabels - i - 1) * sizeof(t->value[0]));
        t->nlabels--;
    }
    if (watched())
        log_labels(NULL, t, gg_clock_ns(CLOCK_MONOTONIC));
}

/* Another thread's labels as they are now, read without a lock by design: a process-wide
 * session's start does not wait for every labelled thread, so a label its thread changes
 * meanwhile may come out torn, but never unterminated (every key and value keeps its last
 * NUL, which the copy forces too). ThreadSanitizer, which would rightly see a race, is not
 * shown these reads; nothing else of the thread's state is read. */
__attribute__((no_sanitize("thread"))) static void peek_labels(const gg_tstate *t, gg_tstate *copy)
{
    const volatile gg_tstate *v = t;
    int n = v->nlabels;
    copy->tid = v->tid;
    copy->nlabels = n < 0 ? 0 : n > GARGALO_MAX_LABELS ? GARGALO_MAX_LABELS : n;
    for (int i = 0; i < copy->nlabels; i++) {
        for (int c = 0; c < GARGALO_LABEL_MAX; c++) {
            copy->key[i][c] = v->key[i][c];
            copy->value[i][c] = v->value[i][c];
        }
        copy->key[i][GARGALO_LABEL_MAX] = copy->value[i][GARGALO_LABEL_MAX] = '\0';
    }
}

void gg_events_log_current_labels(gg_eventlog *log, uint64_t now, int thread_only)
{
    if (thread_only) {
        if (gg_tstate_self && gg_tstate_self->nlabels)
            log_labels(log, gg_tstate_self, now);
        return;
    }
    pthread_mutex_lock(&gg_registry.lock);
    pthread_mutex_lock(&log->lock);
    for (const gg_tstate *t = gg_registry.head; t; t = t->next) {
        gg_tstate copy;
        peek_labels(t, &copy);
        if (copy.nlabels)
            log_labels(log, &copy, now);
    }
    pthread_mutex_unlock(&log->lock);
    pthread_mutex_unlock(&gg_registry.lock);
}

/* ---- markers ---- */

/* Opens a marker that nobody records (unwatched, or its text could not be kept): its end
 * must still close it, not the marker around it. */
static void open_unrecorded(gg_tstate *t)
{
    t->open_off[t->depth] = t->open_used;
    t->open_len[t->depth++] = 0;
}

void gargalo_mark_begin(const char *category, const char *text)
{
    gg_tstate *t = self();
    if (!t)
        return;
    if (t->depth == GG_MARK_DEPTH) { /* not recorded; its end must not close another */
        t->beyond++;
        return;
    }
    if (!watched()) {
        open_unrecorded(t);
        return;
    }
    size_t c = strnlen(category ? category : "", 64) + 1;
    size_t x = strnlen(text ? text : "", GG_MARK_TEXT_MAX) + 1;
    if (GG_GROW(&t->open_texts, &t->open_cap, t->open_used + c + x)) {
        open_unrecorded(t); /* lost, but its place in the nesting is kept */
        return;
    }
    char *buf = t->open_texts + t->open_used;
    memcpy(buf, category ? category : "", c - 1), buf[c - 1] = '\0';
    memcpy(buf + c, text ? text : "", x - 1), buf[c + x - 1] = '\0';
    t->open_off[t->depth] = t->open_used;
    t->open_len[t->depth] = c + x;
    t->open_used += c + x;
    t->open_ns[t->depth++] = gg_clock_ns(CLOCK_MONOTONIC);
}

void gargalo_mark_end(void)
{
    gg_tstate *t = gg_tstate_self;
    if (t && t->beyond > 0) {
        t->beyond--;
        return;
    }
    if (!t || t->depth == 0)
        return;
    int d = --t->depth;
    t->open_used = t->open_off[d];
    if (!t->open_len[d])
        return;
    gg_event ev = {t->open_ns[d],
                   gg_clock_ns(CLOCK_MONOTONIC),
                   t->tid,
                   GG_EV_MARK,
                   t->open_texts + t->open_off[d],
                   t->open_len[d],
                   0};
    publish(&ev);
}

/* ---- joining a log to its session, at stop ---- */

static int event_cmp(const void *a, const void *b)
{
    const gg_event *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

static int add_markers(gargalo_session *s, const gg_eventlog *log, uint64_t mono_start)
{
    int rc = 0;
    for (size_t i = 0; i < log->n && !rc; i++) {
        const gg_event *e = &log->v[i];
        if (e->kind != GG_EV_MARK || e->end_ns < mono_start)
            continue;
        const char *text = ev_text(log, e);
        gg_marker m = {e->start_ns > mono_start ? e->start_ns - mono_start : 0,
                       e->end_ns - mono_start, text, text + strlen(text) + 1, 0};
        rc = gg_session_add_thread(s, e->tid, NULL, &m.thread);
        if (!rc)
            rc = gg_session_add_marker(s, &m);
    }
    s->markers_dropped = log->markers_dropped;
    return rc;
}

/* The label set of a snapshot "key\0value\0...\0". */
static int labelset_of(gargalo_session *s, const char *snap, uint32_t *out)
{
    gg_label l[GARGALO_MAX_LABELS];
    uint32_t n = 0;
    for (const char *p = snap; *p && n < GARGALO_MAX_LABELS; n++) {
        l[n].key = p;
        l[n].value = p + strlen(p) + 1;
        p = l[n].value + strlen(l[n].value) + 1;
    }
    if (!n) {
        *out = GG_NO_LABELS;
        return 0;
    }
    return gg_session_add_labelset(s, l, n, out);
}

/* The last label change of tid at or before t, among the sorted changes; NULL if none. */
static const gg_event *labels_at(const gg_event *v, size_t n, pid_t tid, uint64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first change after (tid, t) */
        size_t mid = (lo + hi) / 2;
        if (v[mid].tid < tid || (v[mid].tid == tid && v[mid].start_ns <= t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && v[lo - 1].tid == tid ? &v[lo - 1] : NULL;
}

/* The label changes alone, sorted by thread and time, at the front of the log. */
static size_t sort_label_changes(gg_eventlog *log)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++) {
        if (log->v[i].kind != GG_EV_LABELS)
            continue;
        gg_event tmp = log->v[n];
        log->v[n++] = log->v[i];
        log->v[i] = tmp;
    }
    if (n > 1)
        qsort(log->v, n, sizeof(*log->v), event_cmp);
    return n;
}

int gg_events_join(gargalo_session *s, gg_eventlog *log, uint64_t mono_start,
                   const uint64_t *mono_ns, const pid_t *tids)
{
    int rc = add_markers(s, log, mono_start);
    size_t n = rc ? 0 : sort_label_changes(log);
    uint32_t *memo = n ? malloc(n * sizeof(*memo)) : NULL;
    if (n && !memo)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        memo[i] = UINT32_MAX - 1; /* not computed yet */
    for (size_t i = 0; i < s->nsamples && n && !rc; i++) {
        const gg_event *e = labels_at(log->v, n, tids[i], mono_ns[i]);
        if (!e)
            continue;
        size_t k = (size_t)(e - log->v);
        if (memo[k] == UINT32_MAX - 1)
            rc = labelset_of(s, ev_text(log, e), &memo[k]);
        s->samples[i].labels = memo[k];
    }
    free(memo);
    return rc;
}
