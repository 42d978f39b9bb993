/*
 * events.h: what threads say about themselves while sampled, labels (key=value pairs) and
 * marked intervals, recorded with their times into the logs of the sessions watching
 * them, and joined to the samples at stop. Nothing here runs in a signal handler: a label
 * change or a marker costs a clock read and a copy, the same with either mechanism.
 */
#ifndef GG_EVENTS_H
#define GG_EVENTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "session.h"

/* A log of one session: label changes and finished markers of the threads it samples.
 * Bounded: past GG_EVENTS_MAX_BYTES, events are dropped and counted. */
typedef struct gg_event gg_event;

typedef struct gg_eventlog {
    pthread_mutex_t lock; /* process-wide sessions only: every thread writes */
    gg_event *v;
    size_t n, cap;
    char *texts; /* every event's text, one after the other */
    size_t texts_len, texts_cap;
    size_t bytes;           /* memory held by the events and their text */
    size_t markers_dropped; /* markers that found no room */
    size_t labels_dropped;  /* label changes that found no room */
} gg_eventlog;

void gg_eventlog_init(gg_eventlog *log);
void gg_eventlog_free(gg_eventlog *log);
/* Forgets every event of the log and its counts of dropped ones; keeps its memory for the
 * next. Not for a log other threads write (a process-wide session's). */
void gg_eventlog_clear(gg_eventlog *log);

/* The log of the calling thread's per-thread session: set by sampler.c while one runs. */
void gg_events_attach_thread(gg_eventlog *log);
/* The log of the process-wide session, or NULL when none runs. */
void gg_events_attach_process(gg_eventlog *log);

/* Logs, at time now (CLOCK_MONOTONIC), the labels every known thread carries now: a
 * session's start. thread_only: the calling thread's alone. */
void gg_events_log_current_labels(gg_eventlog *log, uint64_t now, int thread_only);

/* At stop: adds the log's markers to s (times from mono_start), and sets the label set of
 * each sample from its thread's labels at its time. mono_ns[i] is sample i's
 * CLOCK_MONOTONIC time and tids[i] its thread. Returns 0 or GARGALO_ENOMEM. */
int gg_events_join(gargalo_session *s, gg_eventlog *log, uint64_t mono_start,
                   const uint64_t *mono_ns, const pid_t *tids);

#endif
