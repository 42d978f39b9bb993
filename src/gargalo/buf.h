/*
 * buf.h: a growable byte buffer with a hard size cap.
 *
 * Every renderer writes through one of these. A failed append leaves the buffer as it was
 * and marks it failed, so a writer can append many pieces and check once at the end.
 * Not for signal handlers: it allocates.
 */
#ifndef GG_BUF_H
#define GG_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct gg_buf {
    char *data; /* NUL-terminated while len > 0 */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
    int err;    /* first error: GARGALO_ENOMEM or GARGALO_ETOOBIG, else 0 */
} gg_buf;

/* Starts an empty buffer that may grow to max bytes (0: 256 MiB). */
void gg_buf_init(gg_buf *b, size_t max);
/* Frees the buffer's memory and leaves it empty. */
void gg_buf_free(gg_buf *b);
/* Append bytes, a C string, one char, or printf-style text. Return 0 or the sticky error. */
int gg_buf_add(gg_buf *b, const void *p, size_t n);
int gg_buf_puts(gg_buf *b, const char *s);
int gg_buf_putc(gg_buf *b, char c);
int gg_buf_printf(gg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as the inside of a JSON string (quotes not included). */
int gg_buf_json_escape(gg_buf *b, const char *s);
/* Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
int gg_buf_html_escape(gg_buf *b, const char *s);
/* Hands the data to the caller (malloc'd, NUL-terminated, possibly empty) and resets b.
 * Returns the sticky error instead if there was one (b is then freed). */
int gg_buf_take(gg_buf *b, char **out, size_t *len);

#endif
