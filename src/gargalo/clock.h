/*
 * clock.h: nanoseconds on a POSIX clock, the one time unit of every gargalo module.
 */
#ifndef GG_CLOCK_H
#define GG_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on a clock (CLOCK_MONOTONIC, CLOCK_REALTIME, a thread's CPU clock).
 * Async-signal-safe: clock_gettime is. */
static inline uint64_t gg_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
