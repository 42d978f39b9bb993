/*
 * dlopen_loop.c: a thread that loads, calls into and unloads a library in a loop while
 * gargalo profiles it at the smallest interval, wall clock: the case where a profiler that
 * unwinds inside its signal handler can deadlock with the dynamic loader.
 *
 *     dlopen_loop --lib PATH --symbol NAME [--seconds S] [--plain]
 *
 * NAME is a function of the library taking and returning an unsigned long (a spin count,
 * the libggdl test libraries' ggdl_spin_a). The mechanism is gargalo's default choice, or
 * GARGALO_MECHANISM=perf|signal. The profiled thread is not the main thread, which waits
 * for it with a deadline of three times S plus ten seconds and exits 3 when it is missed:
 * a hang. bench/run.py also kills a run that outlives its own deadline.
 *
 * --plain runs the same loop unprofiled, for the rounds a second it makes then.
 * Prints one JSON line: the mechanism, rounds of the loop, samples and S.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gargalo.h"
#include "options.h"

typedef struct loop {
    const char *lib, *symbol;
    double seconds;
    bool plain;
    atomic_long rounds;
    size_t samples;
    gargalo_mechanism mechanism;
    const char *error;
} loop;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One round: load, find, call, unload. Returns an error message or NULL. */
static const char *round_trip(const loop *lp)
{
    void *h = dlopen(lp->lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return "dlopen failed";
    unsigned long (*fn)(unsigned long) = (unsigned long (*)(unsigned long))dlsym(h, lp->symbol);
    if (fn)
        fn(20000);
    dlclose(h);
    return fn ? NULL : "symbol not found";
}

static void run_loop(loop *lp)
{
    double end = now_s() + lp->seconds;
    while (!lp->error && now_s() < end) {
        lp->error = round_trip(lp);
        atomic_fetch_add(&lp->rounds, 1);
    }
}

static void *loop_main(void *arg)
{
    loop *lp = arg;
    gargalo_options o;
    gargalo_session *s;
    gargalo_stats st;
    gargalo_options_init(&o);
    o.interval_us = GG_INTERVAL_MIN_US;
    if (lp->plain) {
        run_loop(lp);
        return NULL;
    }
    if (gargalo_start(&s, &o) != 0) {
        lp->error = "gargalo_start failed";
        return NULL;
    }
    run_loop(lp);
    if (gargalo_stop(s) == 0 && gargalo_session_stats(s, &st) == 0) {
        lp->samples = st.samples;
        lp->mechanism = st.mechanism;
    }
    gargalo_session_free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    loop lp = {.seconds = 10};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lib") && i + 1 < argc)
            lp.lib = argv[++i];
        else if (!strcmp(argv[i], "--symbol") && i + 1 < argc)
            lp.symbol = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            lp.seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--plain"))
            lp.plain = true;
    }
    if (!lp.lib || !lp.symbol || lp.seconds <= 0) {
        fprintf(stderr, "usage: %s --lib PATH --symbol NAME [--seconds S] [--plain]\n", argv[0]);
        return 2;
    }
    gargalo_preload();
    pthread_t th;
    struct timespec limit;
    if (pthread_create(&th, NULL, loop_main, &lp) != 0)
        return 1;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += (time_t)(lp.seconds * 3) + 10;
    if (pthread_timedjoin_np(th, NULL, &limit) != 0) {
        fprintf(stderr, "dlopen_loop: no end after %.0f s: a hang\n", lp.seconds * 3 + 10);
        return 3;
    }
    if (lp.error) {
        fprintf(stderr, "dlopen_loop: %s: %s\n", lp.error, dlerror() ? dlerror() : "");
        return 1;
    }
    printf("{\"mechanism\": \"%s\", \"rounds\": %ld, \"samples\": %zu, \"seconds\": %.1f}\n",
           lp.plain                                 ? "none"
           : lp.mechanism == GARGALO_MECHANISM_PERF ? "perf"
                                                    : "signal",
           atomic_load(&lp.rounds), lp.samples, lp.seconds);
    return 0;
}
