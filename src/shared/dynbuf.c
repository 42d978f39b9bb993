/*
 * dynbuf.c: the capped, self-freeing byte buffer of dynbuf.h.
 */
#include "dynbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(dynbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void dynbuf_free(dynbuf *b)
{
    free(b->data);
    dynbuf_init(b, b->max);
}

/* Records the first failure and lets go of the memory, as a failed buffer is never
 * used again. */
static int dynbuf_fail(dynbuf *b, int err)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = err;
    return err;
}

/* Makes room for n more bytes and the NUL. Doubles, but never past the cap. */
static int dynbuf_reserve(dynbuf *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > b->max - b->len)
        return dynbuf_fail(b, DYNBUF_TOOBIG);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return DYNBUF_OK;
    size_t cap = b->cap > 128 ? b->cap : 128;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max < SIZE_MAX && cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return dynbuf_fail(b, DYNBUF_NOMEM);
    b->data = p;
    b->cap = cap;
    return DYNBUF_OK;
}

int dynbuf_add(dynbuf *b, const void *p, size_t n)
{
    int rc = dynbuf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return DYNBUF_OK;
}

int dynbuf_puts(dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

int dynbuf_putc(dynbuf *b, char c)
{
    return dynbuf_add(b, &c, 1);
}

int dynbuf_printf(dynbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return b->err ? b->err : dynbuf_fail(b, DYNBUF_NOMEM);
    if ((size_t)n < sizeof(small))
        return dynbuf_add(b, small, (size_t)n);
    int rc = dynbuf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return DYNBUF_OK;
}

int dynbuf_take(dynbuf *b, char **out, size_t *len)
{
    int rc = dynbuf_reserve(b, 0);
    if (rc) {
        dynbuf_free(b);
        return rc;
    }
    *out = b->data;
    *len = b->len;
    b->data[b->len] = '\0';
    b->data = NULL;
    dynbuf_free(b);
    return DYNBUF_OK;
}
