/*
 * dynbuf.h: a growable byte buffer with a hard size cap, shared by bolsa and libgargalo
 * (each product compiles its own copy; neither exports it).
 *
 * Appends either succeed whole or fail, and the first failure is sticky: the buffer then
 * frees its memory and refuses every later append with the same error, so a writer can
 * append many pieces and check once at the end (curl's dynbuf does the same). The cap
 * bounds the bytes held, not counting the terminating NUL kept after them.
 * Not for signal handlers: it allocates.
 */
#ifndef DYNBUF_H
#define DYNBUF_H

#include <stdarg.h>
#include <stddef.h>

enum { DYNBUF_OK = 0, DYNBUF_NOMEM = 1, DYNBUF_TOOBIG = 2 };

typedef struct dynbuf {
    char *data; /* NUL-terminated once anything was added; NULL before */
    size_t len;
    size_t cap; /* bytes allocated, NUL included */
    size_t max; /* hard cap on len */
    int err;    /* first failure: DYNBUF_NOMEM or DYNBUF_TOOBIG, else DYNBUF_OK */
} dynbuf;

/* Starts an empty buffer that may grow to max bytes. */
void dynbuf_init(dynbuf *b, size_t max);
/* Frees the memory and empties the buffer (the error is cleared, the cap kept). */
void dynbuf_free(dynbuf *b);
/* Appends bytes, a C string, one char, or printf-style text. Return DYNBUF_OK or the
 * sticky error. */
int dynbuf_add(dynbuf *b, const void *p, size_t n);
int dynbuf_puts(dynbuf *b, const char *s);
int dynbuf_putc(dynbuf *b, char c);
int dynbuf_printf(dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (malloc'd, NUL-terminated, possibly empty) and empties
 * b. Returns the sticky error instead if there was one (b is empty either way). */
int dynbuf_take(dynbuf *b, char **out, size_t *len);

#endif
