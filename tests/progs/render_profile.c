/*
 * render_profile.c: writes one profile in every format for the browser tests, and times
 * the renderers. The session is the synthetic one of the unit tests, its process-wide
 * variant with threads, labels and markers (--rich), the one blocked in system calls
 * (--blocked), a big synthetic one, an empty one, or a real recording of a small
 * CPU-bound workload (qsort with a callback, recursion).
 *
 *   render_profile [--big N | --rich | --blocked | --empty | --real [--real-ms MS
 *                  --interval-us US]] [--bench] OUTDIR
 *
 * Writes OUTDIR/profile.txt, .html, .speedscope.json, .json, .pb.gz and .folded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/render_fixture.h"

/* ---- a small real workload, kept out of line so it shows in the profile ---- */

static volatile uint64_t sink;

__attribute__((noinline)) static int compare_keys(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

__attribute__((noinline)) static void sort_keys(uint64_t *keys, size_t n)
{
    uint64_t seed = 88172645463325252u;
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        keys[i] = seed;
    }
    qsort(keys, n, sizeof(*keys), compare_keys);
}

__attribute__((noinline)) static uint64_t fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static void checksum(const uint64_t *keys, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (int r = 0; r < 40; r++)
        for (size_t i = 0; i < n; i++)
            h = (h ^ keys[i]) * 1099511628211u;
    sink = h;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void workload(unsigned ms)
{
    size_t n = 200000;
    uint64_t *keys = malloc(n * sizeof(*keys));
    if (!keys)
        abort();
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    while (now_ns() < end) {
        sort_keys(keys, n);
        sink += fib(24);
        checksum(keys, n);
    }
    free(keys);
}

static gargalo_session *record_real(unsigned ms, unsigned interval_us)
{
    gargalo_session *s;
    gargalo_options opt;
    gargalo_options_init(&opt);
    opt.interval_us = interval_us;
    int rc = gargalo_start(&s, &opt);
    if (rc) {
        fprintf(stderr, "gargalo_start: %s\n", gargalo_strerror(rc));
        exit(1);
    }
    workload(ms);
    rc = gargalo_stop(s);
    if (rc) {
        fprintf(stderr, "gargalo_stop: %s\n", gargalo_strerror(rc));
        exit(1);
    }
    return s;
}

/* ---- output ---- */

static const gargalo_format formats[] = {GARGALO_FORMAT_TEXT,       GARGALO_FORMAT_HTML,
                                         GARGALO_FORMAT_SPEEDSCOPE, GARGALO_FORMAT_JSON,
                                         GARGALO_FORMAT_PPROF,      GARGALO_FORMAT_FOLDED};

static void write_all(const gargalo_session *s, const char *dir)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.title = "render_profile <test>";
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/profile.%s", dir, gargalo_format_extension(formats[i]));
        int rc = gargalo_render_file(s, formats[i], &ro, path);
        if (rc) {
            fprintf(stderr, "%s: %s\n", path, gargalo_strerror(rc));
            exit(1);
        }
    }
}

/* Best of five, so other work on the machine disturbs it less. */
static void bench(const gargalo_session *s)
{
    static const char *const names[] = {"text", "html", "speedscope", "json", "pprof", "folded"};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        double best = 1e9;
        size_t bytes = 0;
        for (int r = 0; r < 5; r++) {
            char *out;
            uint64_t t0 = now_ns();
            if (gargalo_render(s, formats[i], NULL, &out, &bytes))
                exit(1);
            double ms = (double)(now_ns() - t0) / 1e6;
            best = ms < best ? ms : best;
            free(out);
        }
        printf("%-10s %8.2f ms  %9zu bytes  (%zu samples)\n", names[i], best, bytes, s->nsamples);
    }
}

typedef struct profile_args {
    size_t big;
    int real, timing, empty, rich, blocked;
    unsigned real_ms, interval_us;
    const char *load, *dir;
} profile_args;

static void parse_args(int argc, char **argv, profile_args *a)
{
    *a = (profile_args){.real_ms = 400};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--big") == 0 && i + 1 < argc)
            a->big = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--empty") == 0)
            a->empty = 1;
        else if (strcmp(argv[i], "--rich") == 0)
            a->rich = 1;
        else if (strcmp(argv[i], "--blocked") == 0)
            a->blocked = 1;
        else if (strcmp(argv[i], "--real") == 0)
            a->real = 1;
        else if (strcmp(argv[i], "--real-ms") == 0 && i + 1 < argc)
            a->real_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--interval-us") == 0 && i + 1 < argc)
            a->interval_us = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--load") == 0 && i + 1 < argc)
            a->load = argv[++i];
        else if (strcmp(argv[i], "--bench") == 0)
            a->timing = 1;
        else
            a->dir = argv[i];
    }
}

/* A session saved as gargalo JSON (GARGALO_FORMAT_JSON), read back with the public API. */
static gargalo_session *load_session(const char *path)
{
    FILE *f = fopen(path, "rb");
    long len = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *json = len >= 0 ? malloc((size_t)len + 1) : NULL;
    gargalo_session *s = NULL;
    int rc = GARGALO_EINVAL;
    if (json && fseek(f, 0, SEEK_SET) == 0 && fread(json, 1, (size_t)len, f) == (size_t)len)
        rc = gargalo_session_load(json, (size_t)len, &s);
    free(json);
    if (f)
        fclose(f);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, f ? gargalo_strerror(rc) : "cannot open");
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    profile_args a;
    parse_args(argc, argv, &a);
    if (!a.dir && !a.timing) {
        fprintf(stderr,
                "usage: %s [--big N | --rich | --blocked | --empty | --load SESSION.json | --real "
                "[--real-ms MS] [--interval-us US]] [--bench] OUTDIR\n",
                argv[0]);
        return 2;
    }
    gargalo_session *s = a.load      ? load_session(a.load)
                         : a.real    ? record_real(a.real_ms, a.interval_us)
                         : a.big     ? fx_big_session(a.big, 300)
                         : a.rich    ? fx_rich_session()
                         : a.blocked ? fx_blocked_session()
                         : a.empty   ? gg_session_new()
                                     : fx_session();
    if (a.dir)
        write_all(s, a.dir);
    if (a.timing)
        bench(s);
    gargalo_session_free(s);
    return 0;
}
