/*
 * render_bench.c: how long gargalo takes to render a large session in each format.
 *
 *     render_bench [--samples N] [--repeat R] [--load SESSION.json] [--save SESSION.json]
 *                  [--html PAGE.html]
 *
 * Builds a session of about N samples (default 20,000) by profiling a mixed workload
 * (SQLite inserts, sorting, recursion) at a fixed 100 us interval, with up to 2,000
 * markers (each round, its SQL statements, its sort), or loads one saved with
 * GARGALO_FORMAT_JSON. Then renders it R times (default 5) in every format and prints
 * one JSON object: the session's size and the median milliseconds per format.
 * --save and --html also write the session, and its HTML page (for the page-load case).
 */
#include <gargalo.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rows.h"
#include "session.h"
#include "source.h"

#define INTERVAL_US 100
#define MAX_MARKS 2000

/* --- markers ------------------------------------------------------------------------------
 * The workload marks what it does as gargalo_mark_begin/end would: intervals kept here,
 * in milliseconds from the moment the sampler counts its samples' times from, then added
 * to the stopped session through its builder (the bench measures rendering them, not
 * recording them). */

static struct bench_mark {
    double start_ms, end_ms;
    const char *category, *text;
} marks[MAX_MARKS];
static size_t nmarks;
static double marks_base_ms;

/* Opens a marker; returns its index, or MAX_MARKS once there is no room. */
static size_t mark_begin(const char *category, const char *text)
{
    if (nmarks == MAX_MARKS)
        return MAX_MARKS;
    marks[nmarks] = (struct bench_mark){bench_now_ms() - marks_base_ms, 0, category, text};
    return nmarks++;
}

static void mark_end(size_t i)
{
    if (i < MAX_MARKS)
        marks[i].end_ms = bench_now_ms() - marks_base_ms;
}

static void add_marks(gargalo_session *s)
{
    for (size_t i = 0; i < nmarks; i++) {
        gg_marker m = {(uint64_t)(marks[i].start_ms * 1e6), (uint64_t)(marks[i].end_ms * 1e6),
                       marks[i].category, marks[i].text, 0};
        if (gg_session_add_marker(s, &m)) {
            fprintf(stderr, "render_bench: out of memory for markers\n");
            exit(1);
        }
    }
}

typedef struct render_args {
    size_t samples;
    int repeat;
    const char *load, *save, *html;
} render_args;

/* --- a workload with a few distinct, reasonably deep call paths ------------------------ */

static volatile uint64_t sink;

static uint64_t __attribute__((noinline)) work_recurse(unsigned depth, uint64_t x)
{
    if (depth == 0) {
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        return x;
    }
    return work_recurse(depth - 1, x ^ depth) + (depth & 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void __attribute__((noinline)) work_sort(uint64_t seed)
{
    uint64_t v[4096];
    for (size_t i = 0; i < 4096; i++)
        v[i] = bench_rand(&seed);
    qsort(v, 4096, sizeof v[0], cmp_u64);
    sink += v[7];
}

/* 200 inserts, the first of them marked, then a marked delete. */
static void __attribute__((noinline)) work_sqlite(sqlite3 *db, sqlite3_stmt *ins, uint64_t seed)
{
    for (int i = 0; i < 200; i++) {
        uint64_t r = bench_rand(&seed);
        size_t m = i ? MAX_MARKS : mark_begin("sql", "INSERT INTO t (ativo, valor) VALUES (?, ?)");
        sqlite3_bind_text(ins, 1, bench_tickers[r % BENCH_TICKERS], -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, 100 + (int64_t)((r >> 32) % 9901));
        sqlite3_step(ins);
        sqlite3_reset(ins);
        mark_end(m);
    }
    size_t m = mark_begin("sql", "DELETE FROM t WHERE id % 3 = 0");
    sqlite3_exec(db, "DELETE FROM t WHERE id % 3 = 0", NULL, NULL, NULL);
    mark_end(m);
}

static void __attribute__((noinline)) work_for(double ms)
{
    sqlite3 *db;
    sqlite3_stmt *ins;
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, ativo TEXT, valor INTEGER)", NULL,
                 NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO t (ativo, valor) VALUES (?, ?)", -1, &ins, NULL);
    double end = bench_now_ms() + ms;
    for (uint64_t round = 1; bench_now_ms() < end; round++) {
        size_t m = mark_begin("round", round % 2 ? "odd round" : "even round");
        sink += work_recurse(8 + round % 8, round);
        work_sort(round);
        work_sqlite(db, ins, round);
        mark_end(m);
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
}

/* --- building or loading the session ---------------------------------------------------- */

static gargalo_session *profile_workload(size_t samples)
{
    gargalo_options opt;
    gargalo_session *s;
    gargalo_options_init(&opt);
    opt.interval_us = INTERVAL_US;
    int rc = gargalo_start(&s, &opt);
    if (rc) {
        fprintf(stderr, "render_bench: gargalo_start: %s\n", gargalo_strerror(rc));
        exit(1);
    }
    marks_base_ms = (double)s->sampler->mono_start / 1e6;
    /* A little longer than N intervals: timer signals can come late on a busy machine. */
    work_for((double)samples * INTERVAL_US / 1000.0 * 1.15);
    if ((rc = gargalo_stop(s))) {
        fprintf(stderr, "render_bench: gargalo_stop: %s\n", gargalo_strerror(rc));
        exit(1);
    }
    add_marks(s);
    return s;
}

static gargalo_session *load_session(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *json = malloc((size_t)len + 1);
    if (!json || fread(json, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "render_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    gargalo_session *s;
    int rc = gargalo_session_load(json, (size_t)len, &s);
    free(json);
    if (rc) {
        fprintf(stderr, "render_bench: %s: %s\n", path, gargalo_strerror(rc));
        exit(1);
    }
    return s;
}

/* --- timing ------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median milliseconds of r renders; *bytes is the output size. */
static double time_render(const gargalo_session *s, gargalo_format fmt, int r, size_t *bytes)
{
    double *ms = calloc((size_t)r, sizeof *ms);
    if (!ms) {
        fprintf(stderr, "render_bench: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < r; i++) {
        char *out;
        double t0 = bench_now_ms();
        int rc = gargalo_render(s, fmt, NULL, &out, bytes);
        ms[i] = bench_now_ms() - t0;
        if (rc) {
            fprintf(stderr, "render_bench: render: %s\n", gargalo_strerror(rc));
            exit(1);
        }
        free(out);
    }
    qsort(ms, (size_t)r, sizeof *ms, cmp_double);
    double med = ms[r / 2];
    free(ms);
    return med;
}

static void parse_args(int argc, char **argv, render_args *a)
{
    static const char usage[] = "usage: render_bench [--samples N] [--repeat R] "
                                "[--load SESSION.json] [--save SESSION.json] [--html PAGE]\n";
    *a = (render_args){.samples = 20000, .repeat = 5};
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "%s", usage);
            exit(2);
        }
        if (strcmp(argv[i], "--samples") == 0)
            a->samples = bench_parse_count(v, usage);
        else if (strcmp(argv[i], "--repeat") == 0)
            a->repeat = (int)bench_parse_count(v, usage);
        else if (strcmp(argv[i], "--load") == 0)
            a->load = v;
        else if (strcmp(argv[i], "--save") == 0)
            a->save = v;
        else if (strcmp(argv[i], "--html") == 0)
            a->html = v;
        else {
            fprintf(stderr, "%s", usage);
            exit(2);
        }
    }
}

/* --save and --html: the session, or its page, to a file (nothing when path is NULL). */
static void write_copy(const gargalo_session *s, gargalo_format fmt, const char *path)
{
    int rc = path ? gargalo_render_file(s, fmt, NULL, path) : 0;
    if (rc) {
        fprintf(stderr, "render_bench: cannot write %s: %s\n", path, gargalo_strerror(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        gargalo_format fmt;
    } formats[] = {{"html", GARGALO_FORMAT_HTML},
                   {"speedscope", GARGALO_FORMAT_SPEEDSCOPE},
                   {"text", GARGALO_FORMAT_TEXT},
                   {"json", GARGALO_FORMAT_JSON}};
    render_args a;
    gargalo_stats st;
    parse_args(argc, argv, &a);

    gargalo_session *s = a.load ? load_session(a.load) : profile_workload(a.samples);
    if (gargalo_session_stats(s, &st) != 0) {
        fprintf(stderr, "render_bench: no stats for the session\n");
        return 1;
    }
    write_copy(s, GARGALO_FORMAT_JSON, a.save);
    write_copy(s, GARGALO_FORMAT_HTML, a.html);
    printf("{\"samples\": %zu, \"frames\": %zu, \"markers\": %zu, \"duration_ms\": %.1f, "
           "\"repeat\": %d",
           st.samples, st.frames, st.markers, st.duration_ns / 1e6, a.repeat);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        size_t bytes = 0;
        double ms = time_render(s, formats[i].fmt, a.repeat, &bytes);
        printf(", \"%s_ms\": %.3f, \"%s_bytes\": %zu", formats[i].name, ms, formats[i].name, bytes);
    }
    printf("}\n");
    gargalo_session_free(s);
    return 0;
}
