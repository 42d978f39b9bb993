/*
 * cpu_threads.c: the CPU-bound program of the `record` case (bench/README.md): THREADS
 * threads (default 4) each computing ROUNDS million rounds of arithmetic that stays in
 * registers, the same work every run. Prints {"work_ms": ..., "threads": ..., "rounds": ...}:
 * the wall time from the first thread's start to the last one's end, as the program sees
 * it (the harness also times the whole run from outside).
 *
 *     cpu_threads ROUNDS [THREADS]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "spin.h"

static __attribute__((noinline)) uint64_t compute(uint64_t rounds, uint64_t x)
{
    for (uint64_t i = 0; i < rounds; i++)
        x = x * 6364136223846793005u + 1442695040888963407u + (x >> 29);
    return x;
}

static void *worker(void *arg)
{
    uint64_t rounds = *(const uint64_t *)arg;
    sink += compute(rounds, (uint64_t)(uintptr_t)&rounds);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cpu_threads ROUNDS [THREADS]\n");
        return 2;
    }
    uint64_t rounds = strtoull(argv[1], NULL, 10) * 1000000u;
    int n = argc > 2 ? atoi(argv[2]) : 4;
    pthread_t th[64];
    if (n < 1 || n > 64)
        return 2;
    double start = now_ms(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, worker, &rounds);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    printf("{\"work_ms\": %.3f, \"threads\": %d, \"rounds\": %llu}\n",
           now_ms(CLOCK_MONOTONIC) - start, n, (unsigned long long)(rounds / 1000000u));
    return 0;
}
