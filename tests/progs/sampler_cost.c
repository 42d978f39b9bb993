/*
 * sampler_cost.c: measures what sampling costs. A CPU-bound loop timed with and without a
 * session (default settings, plain and profiled runs alternated, medians) gives the
 * overhead and the cost per sample; a varied workload gives the symbolization time, cold
 * and cached.
 *
 *   sampler_cost [runs]                  10 ms, 100 ms and 1 s loops, and symbolization
 *   sampler_cost --json --ms MS [--runs R] [--clock wall|cpu]
 *                                        one loop length, one JSON line (bench/run.py)
 *
 * The mechanism is gargalo's default choice, which GARGALO_MECHANISM=perf|signal in the
 * environment overrides (and with signals GARGALO_SIGNAL_SOURCE=timer|ticker). The
 * process calls gargalo_preload first, as a service does.
 *
 * The loop is timed on the thread's CPU time, and on wall time. On a shared machine the
 * wall time mostly says how long the loop waited for a CPU; its CPU time counts what ran on
 * its CPU while it was there: the kernel's interrupts, copies and signal deliveries for
 * each sample (bench/signal_floor.c says why). The cost per sample in the JSON is the CPU
 * one; wall_cost_us and process_cost_us (the process's CPU time: gargalo's own threads,
 * the collector's unwinding and the ticker, included) come beside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calibrate.h"
#include "gargalo.h"
#include "perf.h"
#include "symbols.h"

static volatile uint64_t sink;

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
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

static uint64_t median(const uint64_t *in, int n)
{
    uint64_t v[64];
    memcpy(v, in, (size_t)n * sizeof(*v));
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One timed run: the loop's wall, thread CPU and process CPU time, and its samples. */
typedef struct run {
    uint64_t wall, cpu, proc, samples;
    gargalo_mechanism mechanism;
} run;

static run timed_run(uint64_t n, const gargalo_options *o)
{
    gargalo_session *s = NULL;
    gargalo_stats st;
    run r = {0};
    if (o && gargalo_start(&s, o) != 0) {
        fprintf(stderr, "sampler_cost: gargalo_start failed\n");
        exit(1);
    }
    uint64_t w = now_ns(CLOCK_MONOTONIC), c = now_ns(CLOCK_THREAD_CPUTIME_ID),
             p = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    spin(n);
    r.wall = now_ns(CLOCK_MONOTONIC) - w;
    r.cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - c;
    r.proc = now_ns(CLOCK_PROCESS_CPUTIME_ID) - p;
    if (s) {
        gargalo_stop(s);
        gargalo_session_stats(s, &st);
        r.samples = st.samples;
        r.mechanism = st.mechanism;
        gargalo_session_free(s);
    }
    return r;
}

/* Plain and profiled runs alternated; medians of each measure. */
typedef struct pairs {
    int runs;
    uint64_t wall[2][32], cpu[2][32], proc[2][32], samples[32];
    gargalo_mechanism mechanism;
} pairs;

static void run_pairs(pairs *pr, uint64_t n, int runs, const gargalo_options *o)
{
    pr->runs = runs;
    for (int i = 0; i < runs; i++) {
        run a = timed_run(n, NULL), b = timed_run(n, o);
        pr->wall[0][i] = a.wall, pr->cpu[0][i] = a.cpu, pr->proc[0][i] = a.proc;
        pr->wall[1][i] = b.wall, pr->cpu[1][i] = b.cpu, pr->proc[1][i] = b.proc;
        pr->samples[i] = b.samples;
        pr->mechanism = b.mechanism;
    }
}

/* run_pairs 32 KiB down the stack: each sample's 16 KiB stack copy is then a whole one, as
 * in a program with deep stacks (bolsa's SQLite requests use more than 16 KiB), not what
 * little lies above a shallow loop. */
static void __attribute__((noinline))
run_pairs_deep(pairs *pr, uint64_t n, int runs, const gargalo_options *o)
{
    volatile char pad[32768];
    for (size_t i = sizeof(pad); i > 0; i -= 4096)
        pad[i - 1] = 0;
    run_pairs(pr, n, runs, o);
    pad[0] = 0;
}

/* (profiled - plain) / samples in microseconds, from the medians of one measure. */
static double per_sample_us(uint64_t (*v)[32], int runs, uint64_t samples)
{
    double d = (double)median(v[1], runs) - (double)median(v[0], runs);
    return samples ? d / (double)samples / 1e3 : 0.0;
}

static double overhead_pct(uint64_t (*v)[32], int runs)
{
    double p = (double)median(v[0], runs);
    return 100.0 * ((double)median(v[1], runs) - p) / p;
}

/* The loop's iterations for one millisecond of CPU time. */
static uint64_t iterations_per_ms(void)
{
    spin(1000000); /* warm */
    uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    spin(10000000);
    return 10000000ull * 1000000 / (now_ns(CLOCK_THREAD_CPUTIME_ID) - t0);
}

static void overhead(const char *label, uint64_t n, int runs)
{
    pairs pr;
    run_pairs_deep(&pr, n, runs, &(gargalo_options){0});
    uint64_t k = median(pr.samples, runs);
    printf("%s: plain %.2f ms, profiled %.2f ms (CPU time), overhead %.1f%%, %llu samples, "
           "%.1f us per sample (wall: %.1f%%, %.1f us)\n",
           label, median(pr.cpu[0], runs) / 1e6, median(pr.cpu[1], runs) / 1e6,
           overhead_pct(pr.cpu, runs), (unsigned long long)k, per_sample_us(pr.cpu, runs, k),
           overhead_pct(pr.wall, runs), per_sample_us(pr.wall, runs, k));
}

/* Something with many distinct code addresses: libc string and number code. */
static __attribute__((noinline)) void varied_work(uint64_t ns)
{
    char buf[256], out[512];
    uint64_t end = now_ns(CLOCK_MONOTONIC) + ns;
    unsigned seed = 1;
    while (now_ns(CLOCK_MONOTONIC) < end) {
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

static const char *level_name(void)
{
    static const char *const names[] = {"none", "user", "full"};
    return names[gg_perf_level_probe()];
}

static void print_pair_ratios(const pairs *pr)
{
    printf("\"pair_ratios\": [");
    for (int i = 0; i < pr->runs; i++)
        printf("%s%.4f", i ? ", " : "", pr->cpu[0][i] ? (double)pr->cpu[1][i] / pr->cpu[0][i] : 0);
    printf("], ");
}

static void print_json(pairs *pr, double ms, const gargalo_options *o)
{
    int runs = pr->runs;
    uint64_t k = median(pr->samples, runs);
    int perf = pr->mechanism == GARGALO_MECHANISM_PERF;
    printf("{\"mechanism\": \"%s\", \"level\": \"%s\", \"signal_source\": \"%s\", "
           "\"clock\": \"%s\", \"ms\": %.1f, \"runs\": %d, \"samples\": %llu, ",
           perf ? "perf" : "signal", level_name(),
           perf                        ? "-"
           : gg_calibrated_own_timer() ? "timer"
                                       : "ticker",
           o->clock == GARGALO_CLOCK_CPU ? "cpu" : "wall", ms, runs, (unsigned long long)k);
    printf("\"plain_cpu_ms\": %.3f, \"profiled_cpu_ms\": %.3f, \"plain_ms\": %.3f, "
           "\"profiled_ms\": %.3f, ",
           median(pr->cpu[0], runs) / 1e6, median(pr->cpu[1], runs) / 1e6,
           median(pr->wall[0], runs) / 1e6, median(pr->wall[1], runs) / 1e6);
    printf("\"cost_us\": %.2f, \"wall_cost_us\": %.2f, \"process_cost_us\": %.2f, "
           "\"overhead_pct\": %.3f, \"wall_overhead_pct\": %.3f, ",
           per_sample_us(pr->cpu, runs, k), per_sample_us(pr->wall, runs, k),
           per_sample_us(pr->proc, runs, k), overhead_pct(pr->cpu, runs),
           overhead_pct(pr->wall, runs));
    print_pair_ratios(pr);
    printf("\"samples_each\": [");
    for (int i = 0; i < runs; i++)
        printf("%s%llu", i ? ", " : "", (unsigned long long)pr->samples[i]);
    printf("]}\n");
}

/* --json --ms MS [--runs R] [--clock wall|cpu]; returns 0 or 2 on a bad argument. */
static int json_main(int argc, char **argv)
{
    double ms = 10;
    int runs = 9;
    gargalo_options o;
    gargalo_options_init(&o);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc)
            o.clock = !strcmp(argv[++i], "cpu") ? GARGALO_CLOCK_CPU : GARGALO_CLOCK_WALL;
        else
            return 2;
    }
    if (ms <= 0 || runs < 1 || runs > 32)
        return 2;
    pairs pr;
    run_pairs_deep(&pr, (uint64_t)(iterations_per_ms() * ms), runs, &o);
    print_json(&pr, ms, &o);
    return 0;
}

int main(int argc, char **argv)
{
    gargalo_preload();
    if (argc > 1 && !strcmp(argv[1], "--json")) {
        int rc = json_main(argc, argv);
        if (rc)
            fprintf(stderr, "usage: %s --json --ms MS [--runs R<=32] [--clock wall|cpu]\n",
                    argv[0]);
        return rc;
    }
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 31)
        runs = 5;
    uint64_t per_ms = iterations_per_ms();
    overhead("10 ms loop", per_ms * 10, runs);
    overhead("100 ms loop", per_ms * 100, runs);
    overhead("1 s loop", per_ms * 1000, runs > 3 ? 3 : runs);
    symbolization(1);
    symbolization(0);
    return 0;
}
