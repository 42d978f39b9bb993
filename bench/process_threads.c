/*
 * process_threads.c: what a process-wide session costs a server-shaped process of many
 * threads (the `process` case, bench/README.md). THREADS threads: BUSY of them each do
 * ROUNDS rounds of about 200 us of arithmetic, each followed by a sleep of SLEEP_US (none
 * if 0), like workers serving requests; the others stay parked on a condition variable for
 * the whole run, like an idle pool. The work is the same in every run.
 *
 *     process_threads ROUNDS THREADS BUSY SLEEP_US plain|profiled
 *
 * "profiled" runs it inside gargalo_start_process at default settings (wall clock, the
 * default interval), started once every thread exists. Prints {"cpu_ms": ..., "wall_ms":
 * ..., "stop_ms": ..., "samples": ..., "threads": ...}: cpu_ms is the process's CPU time
 * (every thread, gargalo's own included, user + system) from the start of the work to its
 * end, before gargalo_stop; stop_ms is the stop's wall time (symbolization), apart.
 */
#include <gargalo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "spin.h"

#define MAX_THREADS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int released;
static uint64_t rounds;
static long sleep_us;

static double process_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* About 200 us of arithmetic that stays in registers. */
static __attribute__((noinline)) uint64_t handle_request(uint64_t x)
{
    for (int i = 0; i < 100000; i++)
        x = x * 6364136223846793005u + 1442695040888963407u + (x >> 29);
    return x;
}

static void *busy_worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg;
    struct timespec pause = {sleep_us / 1000000, sleep_us % 1000000 * 1000};
    for (uint64_t i = 0; i < rounds; i++) {
        x = handle_request(x);
        if (sleep_us)
            nanosleep(&pause, NULL);
    }
    sink += x;
    return NULL;
}

static void *idle_worker(void *arg)
{
    pthread_mutex_lock(&lock);
    while (!released)
        pthread_cond_wait(&wake, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void release_idle(void)
{
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: process_threads ROUNDS THREADS BUSY SLEEP_US plain|profiled\n");
        return 2;
    }
    rounds = strtoull(argv[1], NULL, 10);
    int n = atoi(argv[2]), busy = atoi(argv[3]);
    sleep_us = atol(argv[4]);
    int profiled = !strcmp(argv[5], "profiled");
    if (n < 1 || n > MAX_THREADS || busy < 1 || busy > n || sleep_us < 0)
        return 2;
    pthread_t th[MAX_THREADS];
    for (int i = busy; i < n; i++)
        pthread_create(&th[i], NULL, idle_worker, NULL);
    gargalo_session *s = NULL;
    if (profiled && gargalo_start_process(&s, NULL) != 0) {
        fprintf(stderr, "process_threads: gargalo_start_process failed\n");
        return 1;
    }
    double cpu0 = process_cpu_ms(), wall0 = now_ms(CLOCK_MONOTONIC);
    for (int i = 0; i < busy; i++)
        pthread_create(&th[i], NULL, busy_worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < busy; i++)
        pthread_join(th[i], NULL);
    double cpu = process_cpu_ms() - cpu0, wall = now_ms(CLOCK_MONOTONIC) - wall0;
    double stop_ms = 0;
    gargalo_stats st = {0};
    if (s) {
        double t = now_ms(CLOCK_MONOTONIC);
        if (gargalo_stop(s) != 0 || gargalo_session_stats(s, &st) != 0)
            return 1;
        stop_ms = now_ms(CLOCK_MONOTONIC) - t;
        gargalo_session_free(s);
    }
    release_idle();
    for (int i = busy; i < n; i++)
        pthread_join(th[i], NULL);
    printf("{\"cpu_ms\": %.3f, \"wall_ms\": %.3f, \"stop_ms\": %.3f, \"samples\": %zu, "
           "\"threads\": %zu, \"mechanism\": \"%s\"}\n",
           cpu, wall, stop_ms, st.samples, st.threads,
           !s                                       ? "none"
           : st.mechanism == GARGALO_MECHANISM_PERF ? "perf"
                                                    : "signal");
    return 0;
}
