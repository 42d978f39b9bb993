/*
 * sampler_testlib.h: helpers shared by the sampler and symbol tests: CPU burners, clocks,
 * and questions asked of a resolved session (which share of the time a function got).
 */
#ifndef SAMPLER_TESTLIB_H
#define SAMPLER_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "gargalo.h"
#include "session.h"

/* TSan delivers an asynchronous signal only when the thread next enters its runtime (an
 * intercepted call), so a pure CPU loop is sampled late or not at all: tests that measure
 * where time went only report their numbers there. */
#if defined(__SANITIZE_THREAD__)
#define GG_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GG_TEST_TSAN 1
#endif
#endif
#ifndef GG_TEST_TSAN
#define GG_TEST_TSAN 0
#endif

#define GG_NOINLINE __attribute__((noinline, noclone))

/* Whether s was sampled by signals that TSan delivered late: where those samples land
 * says nothing of where the thread spent its time, so such tests check no location. */
static inline bool tl_late_signals(const gargalo_session *s)
{
    return GG_TEST_TSAN && s->mechanism == GARGALO_MECHANISM_SIGNAL;
}

static inline uint64_t tl_now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins on the CPU until clock c advanced by ns. */
static inline void tl_spin_ns(clockid_t c, uint64_t ns)
{
    volatile uint64_t x = 0;
    uint64_t end = tl_now_ns(c) + ns;
    while (tl_now_ns(c) < end)
        for (int i = 0; i < 200; i++)
            x += (uint64_t)i * 7;
}

/* Sleeps ns on CLOCK_MONOTONIC, resuming after the EINTRs a wall-clock session causes. */
static inline void tl_sleep_ns(uint64_t ns)
{
    uint64_t end = tl_now_ns(CLOCK_MONOTONIC) + ns;
    struct timespec ts = {(time_t)(end / 1000000000u), (long)(end % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static inline bool tl_frame_is(const gargalo_session *s, uint32_t frame, const char *fn)
{
    const char *f = s->frames[frame].function;
    return f && strcmp(f, fn) == 0;
}

static inline bool tl_stack_has(const gargalo_session *s, uint32_t stack, const char *fn)
{
    uint32_t depth;
    const uint32_t *f = gg_stack_frames(s, stack, &depth);
    for (uint32_t i = 0; i < depth; i++)
        if (tl_frame_is(s, f[i], fn))
            return true;
    return false;
}

/* Sum of the weights of the samples whose stack contains fn, over all weights. */
static inline double tl_share(const gargalo_session *s, const char *fn)
{
    uint64_t hit = 0, all = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        all += s->samples[i].weight_ns;
        if (tl_stack_has(s, s->samples[i].stack, fn))
            hit += s->samples[i].weight_ns;
    }
    return all ? (double)hit / (double)all : 0.0;
}

/* Samples whose stack contains fn. */
static inline size_t tl_count(const gargalo_session *s, const char *fn)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nsamples; i++)
        n += tl_stack_has(s, s->samples[i].stack, fn);
    return n;
}

/* The leaf (innermost) frame of a sample, or NULL for an empty stack. */
static inline const gg_frame *tl_leaf(const gargalo_session *s, size_t sample)
{
    uint32_t depth;
    const uint32_t *f = gg_stack_frames(s, s->samples[sample].stack, &depth);
    return depth ? &s->frames[f[depth - 1]] : NULL;
}

#endif
