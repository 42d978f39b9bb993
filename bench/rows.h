/*
 * rows.h: what the floor programs share with each other (and, in spirit, with bolsa):
 * the nine tickers of the article's payload, a small seeded generator of rows in cents
 * (100..10000), and a monotonic clock. Header-only: each bench program is built alone.
 */
#ifndef BENCH_ROWS_H
#define BENCH_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_TICKERS 9
static const char *const bench_tickers[BENCH_TICKERS] = {
    "PETR4", "BRFS3", "AMBV3", "ITAU4", "CMIN3", "VALE3", "SUZB3", "RAIL3", "B3SA3",
};

typedef struct bench_row {
    const char *ativo;
    int64_t valor_cents;
} bench_row;

/* splitmix64: any decent generator will do, the service's own one is not copied here. */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Allocates and fills n rows; exits on allocation failure (these are benchmarks). */
static inline bench_row *bench_rows_make(size_t n, uint64_t seed)
{
    bench_row *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) {
        fprintf(stderr, "out of memory for %zu rows\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t r = bench_rand(&seed);
        rows[i].ativo = bench_tickers[r % BENCH_TICKERS];
        rows[i].valor_cents = 100 + (int64_t)((r >> 32) % 9901);
    }
    return rows;
}

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Parses a positive count argument or exits with usage. */
static inline size_t bench_parse_count(const char *arg, const char *usage)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "%s", usage);
        exit(2);
    }
    return (size_t)v;
}

#endif
