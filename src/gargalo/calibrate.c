/*
 * calibrate.c: the signal source measured (calibrate.h).
 *
 * A CPU-bound loop is timed with a signal every 70 us from each source, alternately,
 * three times each; the signals carry no session, so gargalo's handler only looks and
 * returns: what is measured is the interrupt, the delivery and sigreturn. The loop is
 * timed on the thread's CPU time, which counts those (the kernel accounts interrupt time
 * to the interrupted thread unless built with CONFIG_IRQ_TIME_ACCOUNTING) but not the
 * time the thread waited for a CPU: on a busy machine its wall time is mostly that wait,
 * and chose the source at random (bench/README.md, "Thread CPU time").
 */
#define _GNU_SOURCE
#include "calibrate.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "options.h"
#include "ticker.h"

#define GG_CAL_INTERVAL_US 70u
#define GG_CAL_ROUNDS 3
#define GG_CAL_ITERATIONS 4000000ull

static atomic_bool gg_own_timer;
static int gg_env_choice = -1; /* GARGALO_SIGNAL_SOURCE: 1 timer, 0 ticker, -1 measure */

static void read_env(void)
{
    const char *v = getenv("GARGALO_SIGNAL_SOURCE");
    gg_env_choice = !v ? -1 : strcmp(v, "timer") == 0 ? 1 : strcmp(v, "ticker") == 0 ? 0 : -1;
}

static int env_choice(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_env);
    return gg_env_choice;
}

bool gg_calibrated_own_timer(void)
{
    int env = env_choice();
    return env >= 0 ? env == 1 : atomic_load(&gg_own_timer);
}

static volatile uint64_t gg_cal_sink;

static uint64_t timed_loop(void)
{
    uint64_t t0 = gg_clock_ns(CLOCK_THREAD_CPUTIME_ID), x = gg_cal_sink + 1;
    for (uint64_t i = 0; i < GG_CAL_ITERATIONS; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    gg_cal_sink = x;
    return gg_clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

/* The loop under a per-thread CLOCK_MONOTONIC timer; 0 when none could be made. */
static uint64_t with_own_timer(void)
{
    struct sigevent sev;
    timer_t timer;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = gettid();
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0)
        return 0;
    struct itimerspec its = {{0, GG_CAL_INTERVAL_US * 1000}, {0, GG_CAL_INTERVAL_US * 1000}};
    timer_settime(timer, 0, &its, NULL);
    uint64_t t = timed_loop();
    timer_delete(timer);
    return t;
}

/* The loop with the ticker queueing signals to this thread; 0 when it could not. */
static uint64_t with_ticker(void)
{
    static char key; /* no sampler has this address: the handler ignores the signals */
    gargalo_options o;
    gargalo_options_init(&o);
    o.interval_us = GG_CAL_INTERVAL_US;
    if (gg_ticker_add(&key, gettid(), &o) != 0)
        return 0;
    uint64_t t = timed_loop();
    gg_ticker_remove(&key);
    return t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void gg_calibrate_signals(void)
{
    uint64_t own[GG_CAL_ROUNDS], ticked[GG_CAL_ROUNDS];
    if (env_choice() >= 0)
        return;   /* chosen by the operator */
    timed_loop(); /* warm */
    for (int i = 0; i < GG_CAL_ROUNDS; i++) {
        own[i] = with_own_timer();
        ticked[i] = with_ticker();
    }
    qsort(own, GG_CAL_ROUNDS, sizeof(own[0]), cmp_u64);
    qsort(ticked, GG_CAL_ROUNDS, sizeof(ticked[0]), cmp_u64);
    uint64_t a = own[GG_CAL_ROUNDS / 2], b = ticked[GG_CAL_ROUNDS / 2];
    atomic_store(&gg_own_timer, a && b && a < b);
}
