/*
 * sampler_cost.c: measures what sampling costs. A CPU-bound loop timed with and without a
 * session (default adaptive interval, median of several runs) gives the overhead and the
 * cost per sample; a varied workload gives the symbolization time, cold and cached.
 *   sampler_cost [runs]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gargalo.h"
#include "symbols.h"

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static __attribute__((noinline)) void spin(uint64_t n)
{
    uint64_t x = sink;
    for (uint64_t i = 0; i < n; i++)
        x = x * 6364136223846793005u + 1442695040888963407u + (x >> 17);
    sink = x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    return v[n / 2];
}

/* Times spin(n), profiled or not; *samples gets the session's sample count. */
static uint64_t timed_run(uint64_t n, int profiled, size_t *samples)
{
    gargalo_session *s = NULL;
    gargalo_stats st;
    if (profiled && gargalo_start(&s, NULL) != 0)
        return 0;
    uint64_t t0 = now_ns();
    spin(n);
    uint64_t dt = now_ns() - t0;
    if (s) {
        gargalo_stop(s);
        gargalo_session_stats(s, &st);
        *samples = st.samples;
        gargalo_session_free(s);
    }
    return dt;
}

static void overhead(const char *label, uint64_t n, int runs)
{
    uint64_t plain[32], prof[32], samples[32];
    for (int r = 0; r < runs; r++) {
        size_t k = 0;
        plain[r] = timed_run(n, 0, &k);
        prof[r] = timed_run(n, 1, &k);
        samples[r] = k;
    }
    uint64_t p = median(plain, runs), q = median(prof, runs), k = median(samples, runs);
    printf("%s: plain %.2f ms, profiled %.2f ms, overhead %.1f%%, %llu samples, "
           "%.1f us per sample\n",
           label, p / 1e6, q / 1e6, 100.0 * ((double)q - (double)p) / (double)p,
           (unsigned long long)k, k ? ((double)q - (double)p) / (double)k / 1e3 : 0.0);
}

/* Something with many distinct code addresses: libc string and number code. */
static __attribute__((noinline)) void varied_work(uint64_t ns)
{
    char buf[256], out[512];
    uint64_t end = now_ns() + ns;
    unsigned seed = 1;
    while (now_ns() < end) {
        double d = rand_r(&seed) / 7.0;
        int n = snprintf(buf, sizeof(buf), "%f %x %s %e", d, rand_r(&seed), "abcdefgh", d * d);
        sink += (uint64_t)strtod(buf, NULL) + (uint64_t)n;
        memcpy(out, buf, sizeof(buf));
        sink += strlen(out) + (uint64_t)(strstr(out, "abc") != NULL);
        uint64_t v[64];
        for (int i = 0; i < 64; i++)
            v[i] = (uint64_t)rand_r(&seed);
        qsort(v, 64, sizeof(v[0]), cmp_u64);
        spin(200);
    }
}

static void symbolization(int cold)
{
    gargalo_session *s;
    gargalo_stats st;
    if (gargalo_start(&s, NULL) != 0)
        return;
    varied_work(1000000000);
    if (cold)
        gg_symbols_reset();
    gargalo_stop(s);
    gargalo_session_stats(s, &st);
    printf("symbolization %s: %zu samples, %zu distinct frames, %.2f ms\n",
           cold ? "cold  " : "cached", st.samples, st.frames, st.symbolize_ns / 1e6);
    gargalo_session_free(s);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 31)
        runs = 5;
    uint64_t t0 = now_ns();
    spin(10000000);
    uint64_t per_ms = 10000000ull * 1000000 / (now_ns() - t0);
    overhead("10 ms loop", per_ms * 10, runs);
    overhead("100 ms loop", per_ms * 100, runs);
    overhead("1 s loop", per_ms * 1000, runs > 3 ? 3 : runs);
    symbolization(1);
    symbolization(0);
    return 0;
}
