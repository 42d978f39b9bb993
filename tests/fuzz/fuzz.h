/*
 * fuzz.h: what the libFuzzer targets in this directory share: a check that aborts (so
 * libFuzzer keeps the input that broke a property, not only inputs that crash), and the
 * splitting of one input into several NUL-terminated strings.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property of the code under test that must hold for every input. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_MAX_PARTS 64

/* The input cut at each NUL byte into at most FUZZ_MAX_PARTS strings, copied so that each
 * ends where the input said (a parser must never see bytes past its own string). */
typedef struct fuzz_parts {
    size_t n;
    char *part[FUZZ_MAX_PARTS];
} fuzz_parts;

static inline void fuzz_parts_split(fuzz_parts *p, const uint8_t *data, size_t size)
{
    p->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && p->n < FUZZ_MAX_PARTS; i++) {
        if (i < size && data[i] != '\0')
            continue;
        char *s = malloc(i - start + 1);
        if (!s)
            abort();
        memcpy(s, data + start, i - start);
        s[i - start] = '\0';
        p->part[p->n++] = s;
        start = i + 1;
    }
}

static inline void fuzz_parts_free(fuzz_parts *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->part[i]);
    p->n = 0;
}

#endif
