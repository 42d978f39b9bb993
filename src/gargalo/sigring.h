/*
 * sigring.h: where a SIGPROF handler leaves what it saw of its thread (the time, the
 * registers, a copy of the top of the stack) for unwinding later, outside any handler:
 * the same data the kernel hands over with a perf sample. One ring per session, in memory
 * mapped before the first signal; one producer (the handler, on the profiled thread),
 * one consumer (the collector, or the session at its stop, under the collector lock).
 */
#ifndef GG_SIGRING_H
#define GG_SIGRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "perf.h"

typedef struct gg_sigrec {
    uint32_t size;      /* of the whole record, 8-aligned */
    uint32_t stack_len; /* bytes of stack after the record; UINT32_MAX: padding */
    uint64_t time_ns, weight_ns;
    uint64_t mono_ns; /* CLOCK_MONOTONIC when taken */
    uint32_t flags;   /* GG_RAW_* for the raw sample it becomes */
    int32_t tid;
    uint64_t regs[GG_NREGS];
} gg_sigrec;

typedef struct gg_sigring {
    unsigned char *buf;
    size_t size;           /* a power of two */
    _Atomic uint64_t head; /* bytes written: the producer's */
    _Atomic uint64_t tail; /* bytes consumed: the consumer's */
    int wake_fd;           /* an eventfd the producer writes once the ring is half full */
    atomic_int wake_sent;  /* set by the producer when it wrote, cleared by the consumer */
    size_t dropped;        /* the producer's count of records that found no room */
    uint64_t pending;      /* the producer's head once the reserved record is committed */
} gg_sigring;

/* Maps a ring of size bytes (a power of two) and its eventfd. Returns 0 or
 * GARGALO_ENOMEM. */
int gg_sigring_init(gg_sigring *r, size_t size);
/* Unmaps it; a zeroed ring, or one freed already, is left alone. */
void gg_sigring_free(gg_sigring *r);

/* Appends one record in two steps, so the caller copies the stack itself: reserve writes
 * the header and returns where the len bytes of stack go, or NULL when the record does
 * not fit (counted in dropped); commit makes it visible. Async-signal-safe: no allocation,
 * no lock, one write(2) at most (the wake-up). */
void *gg_sigring_reserve(gg_sigring *r, const gg_sigrec *rec, size_t len);
void gg_sigring_commit(gg_sigring *r);

/* Calls fn for every record written so far, oldest first, then frees their space. */
typedef void (*gg_sigring_fn)(void *ctx, const gg_sigrec *rec, const void *stack);
void gg_sigring_read(gg_sigring *r, gg_sigring_fn fn, void *ctx);
/* Frees the space of every record written so far, unread, and forgets the records that
 * found no room. No system call: a wake-up already sent finds the ring empty. */
void gg_sigring_discard(gg_sigring *r);

#endif
