/*
 * collector.h: one process-wide thread that empties the perf buffers of running sessions
 * as they fill, so that a long session never needs a buffer of its size, and the lock
 * under which every buffer is emptied, by that thread or by a session stopping.
 */
#ifndef GG_COLLECTOR_H
#define GG_COLLECTOR_H

/* Watches fd (a perf event whose buffer wakes pollers when it fills) and calls
 * drain(ctx) with the collector lock held whenever it is readable. Starts the thread on
 * first use. Returns 0, GARGALO_ENOMEM or GARGALO_ETIMER. Thread-safe. */
int gg_collector_add(int fd, void (*drain)(void *ctx), void *ctx);

/* Starts the thread now, so the first session does not wait for it. Returns 0 or
 * GARGALO_ETIMER. Thread-safe. */
int gg_collector_prepare(void);

/* Stops watching ctx's fds. Once it returns the collector never calls drain(ctx) again.
 * Unknown contexts are ignored. Thread-safe. */
void gg_collector_remove(void *ctx);

/* The lock every drain runs under. */
void gg_collector_lock(void);
void gg_collector_unlock(void);

#endif
