/*
 * buf.c: growable, capped byte buffer used by all renderers.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gargalo.h"

#define GG_BUF_DEFAULT_MAX ((size_t)256 << 20)

void gg_buf_init(gg_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : GG_BUF_DEFAULT_MAX;
}

void gg_buf_free(gg_buf *b)
{
    free(b->data);
    size_t max = b->max;
    gg_buf_init(b, max);
}

/* Makes room for n more bytes plus the terminating NUL. */
static int gg_buf_reserve(gg_buf *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > b->max - b->len)
        return b->err = GARGALO_ETOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return b->err = GARGALO_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int gg_buf_add(gg_buf *b, const void *p, size_t n)
{
    int rc = gg_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int gg_buf_puts(gg_buf *b, const char *s)
{
    return gg_buf_add(b, s, strlen(s));
}

int gg_buf_putc(gg_buf *b, char c)
{
    return gg_buf_add(b, &c, 1);
}

int gg_buf_printf(gg_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return b->err = b->err ? b->err : GARGALO_EINVAL;
    if ((size_t)n < sizeof(small))
        return gg_buf_add(b, small, (size_t)n);
    int rc = gg_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int gg_buf_json_escape(gg_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        gg_buf_add(b, run, (size_t)(s - run));
        if (c == '"' || c == '\\')
            gg_buf_printf(b, "\\%c", c);
        else
            gg_buf_printf(b, "\\u%04x", c);
        run = s + 1;
    }
    return gg_buf_add(b, run, (size_t)(s - run));
}

int gg_buf_html_escape(gg_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        gg_buf_add(b, run, (size_t)(s - run));
        gg_buf_puts(b, rep);
        run = s + 1;
    }
    return gg_buf_add(b, run, (size_t)(s - run));
}

int gg_buf_take(gg_buf *b, char **out, size_t *len)
{
    if (b->err) {
        int err = b->err;
        gg_buf_free(b);
        return err;
    }
    if (!b->data) {
        if (gg_buf_reserve(b, 0))
            return b->err;
        b->data[0] = '\0';
    }
    *out = b->data;
    *len = b->len;
    b->data = NULL;
    gg_buf_free(b);
    return 0;
}
