/*
 * spin.h: what the floor programs (signal_floor.c, perf_floor.c) and the threaded loads
 * (cpu_threads.c, process_threads.c) time: a clock in milliseconds, and a plain integer
 * loop with no memory traffic and no system calls, timed on the wall and on the thread's
 * CPU clock.
 */
#ifndef BENCH_SPIN_H
#define BENCH_SPIN_H

#include <stdint.h>
#include <time.h>

static volatile uint64_t sink; /* the loops' results go here, so none is optimized away */

static inline double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The work being sampled or interrupted. */
static __attribute__((noinline, unused)) uint64_t spin(uint64_t iterations)
{
    uint64_t x = sink + 1;
    for (uint64_t i = 0; i < iterations; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

/* A run's wall time, and the thread's CPU time: what the loop paid, whatever else the
 * machine was running. */
typedef struct span {
    double wall_ms, cpu_ms;
} span;

static inline span time_spin(uint64_t iterations)
{
    double w0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
    sink = spin(iterations);
    return (span){now_ms(CLOCK_MONOTONIC) - w0, now_ms(CLOCK_THREAD_CPUTIME_ID) - c0};
}

#endif
