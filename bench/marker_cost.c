/*
 * marker_cost.c: what one marker (a gargalo_mark_begin and gargalo_mark_end pair) costs
 * the thread that makes it: with no session sampling the thread (the cost every statement
 * of bolsa pays whether or not a request is profiled), with a per-thread session sampling
 * it (a profiled request), and with a process-wide session running.
 *
 *     marker_cost [--pairs N] [--watched-pairs M] [--runs R]
 *
 * Each figure is the median over R runs (default 9) of a loop's time over its pairs: N
 * pairs unwatched (default 5,000,000), M pairs per session (default 100,000, which its
 * bounded log holds without dropping any). The sessions sample every 10 ms, so that their
 * samples cost the loop nothing measurable beside the markers. The text is bolsa's naive
 * INSERT. Prints one JSON object.
 */
#include <gargalo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXT "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?)"
#define MAX_RUNS 101

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ns_per_pair(size_t pairs)
{
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < pairs; i++) {
        gargalo_mark_begin("sql", TEXT);
        gargalo_mark_end();
    }
    return (double)(now_ns() - t0) / (double)pairs;
}

/* The same loop inside a session of the thread (process: of every thread); its markers
 * recorded and dropped are added to *kept and *dropped. Returns -1 if none can start. */
static double watched_ns_per_pair(size_t pairs, int process, size_t *kept, size_t *dropped)
{
    gargalo_options opt;
    gargalo_options_init(&opt);
    opt.interval_us = 10000;
    gargalo_session *s;
    if ((process ? gargalo_start_process(&s, &opt) : gargalo_start(&s, &opt)) != 0)
        return -1;
    double ns = ns_per_pair(pairs);
    gargalo_stats st = {0};
    if (gargalo_stop(s) == 0 && gargalo_session_stats(s, &st) == 0) {
        *kept += st.markers;
        *dropped += st.markers_dropped;
    }
    gargalo_session_free(s);
    return ns;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct figures {
    double unwatched, thread, process;
    size_t kept, dropped;
} figures;

static void measure(size_t pairs, size_t watched_pairs, int runs, figures *f)
{
    double u[MAX_RUNS], t[MAX_RUNS], p[MAX_RUNS];
    ns_per_pair(pairs / 10 + 1); /* the thread's marker state and the code, warmed up */
    for (int r = 0; r < runs; r++) {
        u[r] = ns_per_pair(pairs);
        t[r] = watched_ns_per_pair(watched_pairs, 0, &f->kept, &f->dropped);
        p[r] = watched_ns_per_pair(watched_pairs, 1, &f->kept, &f->dropped);
    }
    f->unwatched = median(u, runs);
    f->thread = median(t, runs);
    f->process = median(p, runs);
}

int main(int argc, char **argv)
{
    size_t pairs = 5000000, watched_pairs = 100000;
    int runs = 9;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--pairs"))
            pairs = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--watched-pairs"))
            watched_pairs = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
    }
    if (pairs == 0 || watched_pairs == 0 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: marker_cost [--pairs N] [--watched-pairs M] [--runs 1..%d]\n",
                MAX_RUNS);
        return 2;
    }
    figures f = {0};
    measure(pairs, watched_pairs, runs, &f);
    printf("{\"pairs\": %zu, \"watched_pairs\": %zu, \"runs\": %d, \"text_bytes\": %zu, "
           "\"unwatched_ns\": %.2f, \"thread_session_ns\": %.1f, \"process_session_ns\": %.1f, "
           "\"markers_kept\": %zu, \"markers_dropped\": %zu}\n",
           pairs, watched_pairs, runs, strlen(TEXT), f.unwatched, f.thread, f.process, f.kept,
           f.dropped);
    return f.thread < 0 || f.process < 0;
}
