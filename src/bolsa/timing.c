/*
 * timing.c: phase timing of a request and its Server-Timing header; timestamps.
 */
#include "timing.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t bolsa_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t bolsa_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void bolsa_timing_start(bolsa_timing *t)
{
    memset(t, 0, sizeof(*t));
    t->start_ns = bolsa_now_ns();
}

void bolsa_timing_add(bolsa_timing *t, const char *name, uint64_t ns)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(t->phase[i].name, name)) {
            t->phase[i].ns += ns;
            return;
        }
    }
    if (t->n == BOLSA_TIMING_MAX)
        return;
    t->phase[t->n].name = name;
    t->phase[t->n].ns = ns;
    t->n++;
}

uint64_t bolsa_timing_elapsed(const bolsa_timing *t)
{
    return bolsa_now_ns() - t->start_ns;
}

/* Appends s to out[0..len), cutting it to size; returns the new length. */
static size_t bolsa_timing_append(char *out, size_t size, size_t len, const char *s)
{
    while (*s && len + 1 < size)
        out[len++] = *s++;
    out[len] = '\0';
    return len;
}

/* ns as milliseconds with three decimals, "12.345", rounded to the microsecond. Not
 * printf: every response carries the header, and printf's floating-point formatting was a
 * few percent of a GET /health under load. */
static void bolsa_timing_ms(uint64_t ns, char out[32])
{
    uint64_t us = (ns + 500) / 1000;
    char rev[24];
    size_t n = 0, len = 0;
    do {
        rev[n++] = (char)('0' + us % 10);
        us /= 10;
    } while (us || n < 4); /* at least "0.000" */
    while (n > 3)
        out[len++] = rev[--n];
    out[len++] = '.';
    while (n)
        out[len++] = rev[--n];
    out[len] = '\0';
}

void bolsa_timing_header(const bolsa_timing *t, char *out, size_t size)
{
    size_t len = 0;
    if (size == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i <= t->n; i++) {
        char ms[32];
        bolsa_timing_ms(i < t->n ? t->phase[i].ns : bolsa_timing_elapsed(t), ms);
        if (i)
            len = bolsa_timing_append(out, size, len, ", ");
        len = bolsa_timing_append(out, size, len, i < t->n ? t->phase[i].name : "total");
        len = bolsa_timing_append(out, size, len, ";dur=");
        len = bolsa_timing_append(out, size, len, ms);
    }
}

void bolsa_timestamp_format(time_t secs, unsigned ms, char *out, size_t size)
{
    struct tm tm;
    if (size == 0)
        return;
    out[0] = '\0';
    if (!gmtime_r(&secs, &tm))
        return;
    /* Written whole into room enough, then copied: strftime leaves nothing usable in a
     * buffer too small for all of it, and a short out should still get the start. */
    char text[BOLSA_TIMESTAMP_SIZE + 16];
    size_t len = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(text + len, sizeof(text) - len, ".%03uZ", ms % 1000u);
    snprintf(out, size, "%s", text);
}

void bolsa_timestamp_now(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    bolsa_timestamp_format(ts.tv_sec, (unsigned)(ts.tv_nsec / 1000000), out, size);
}
