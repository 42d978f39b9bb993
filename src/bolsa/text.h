/*
 * text.h: a piece of decoded request input and its length. Percent-decoding can put any
 * byte in a path or a query value, NUL included ("%00"), so decoded input is compared by
 * its length and bytes, never as a C string: strcmp would take "naive\0x" for "naive".
 */
#ifndef BOLSA_TEXT_H
#define BOLSA_TEXT_H

#include <stddef.h>
#include <string.h>

typedef struct bolsa_text {
    const char *p; /* NULL when absent; otherwise p[len] is a NUL after the bytes */
    size_t len;
} bolsa_text;

/* A C string (no NUL inside by construction) as a bolsa_text. */
static inline bolsa_text bolsa_text_of(const char *s)
{
    return (bolsa_text){s, s ? strlen(s) : 0};
}

/* 1 when t is present and holds exactly the bytes of s. */
static inline int bolsa_text_is(bolsa_text t, const char *s)
{
    size_t n = strlen(s);
    return t.p && t.len == n && memcmp(t.p, s, n) == 0;
}

/* t as a C string, for APIs that take one; NULL when absent or when a NUL inside would
 * make the C string shorter than the text (the value is then not what it looks like). */
static inline const char *bolsa_text_cstr(bolsa_text t)
{
    return t.p && !memchr(t.p, '\0', t.len) ? t.p : NULL;
}

#endif
