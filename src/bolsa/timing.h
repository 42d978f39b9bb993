/*
 * timing.h: per-request phase durations, reported in the Server-Timing header
 * ("parse;dur=0.1, generate;dur=3.2, db;dur=5.0, total;dur=8.9", in milliseconds), and
 * the one format of the wall-clock timestamps rows carry (created_at).
 */
#ifndef BOLSA_TIMING_H
#define BOLSA_TIMING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BOLSA_TIMING_MAX 8

typedef struct bolsa_timing {
    uint64_t start_ns;
    size_t n;
    struct {
        const char *name; /* static string, a token: no spaces, commas or semicolons */
        uint64_t ns;
    } phase[BOLSA_TIMING_MAX];
} bolsa_timing;

/* Monotonic clock, in nanoseconds. */
uint64_t bolsa_now_ns(void);
/* CPU time of the calling thread, in nanoseconds. */
uint64_t bolsa_thread_cpu_ns(void);
/* Starts the clock of a request. */
void bolsa_timing_start(bolsa_timing *t);
/* Adds ns to the phase name (created on first use; ignored past BOLSA_TIMING_MAX). */
void bolsa_timing_add(bolsa_timing *t, const char *name, uint64_t ns);
/* Nanoseconds since bolsa_timing_start. */
uint64_t bolsa_timing_elapsed(const bolsa_timing *t);
/* Writes the header value, phases in the order added and then total, into out
 * (always NUL-terminated, truncated if too small). */
void bolsa_timing_header(const bolsa_timing *t, char *out, size_t size);

/* Longest timestamp below, NUL included: "2026-11-25T08:00:00.123Z". */
#define BOLSA_TIMESTAMP_SIZE 25

/* Writes secs since the epoch plus ms as ISO 8601 in UTC with milliseconds,
 * "2026-11-25T08:00:00.123Z" (ms is taken modulo 1000). out is always NUL-terminated:
 * truncated if size is below BOLSA_TIMESTAMP_SIZE, empty for a time gmtime_r cannot
 * represent. */
void bolsa_timestamp_format(time_t secs, unsigned ms, char *out, size_t size);
/* The current wall-clock time, formatted the same way. */
void bolsa_timestamp_now(char *out, size_t size);

#endif
