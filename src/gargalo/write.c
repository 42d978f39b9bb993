/*
 * write.c: how every renderer writes numbers, strings, JSON and frame names (write.h).
 */
#include "write.h"

#include <inttypes.h>
#include <string.h>

int gg_write_error(const dynbuf *b)
{
    return b->err == DYNBUF_TOOBIG ? GARGALO_ETOOBIG : b->err ? GARGALO_ENOMEM : 0;
}

const char *gg_write_clock_name(gargalo_clock clock)
{
    return clock == GARGALO_CLOCK_CPU ? "cpu" : "wall";
}

const char *gg_write_mechanism_name(gargalo_mechanism m)
{
    return m == GARGALO_MECHANISM_PERF ? "perf" : "signal";
}

const char *gg_write_title(const gargalo_render_options *ro)
{
    return ro->title && *ro->title ? ro->title : "gargalo profile";
}

/* Writes v's digits ending just before end; returns where they start. */
static char *digits(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void gg_write_u64(dynbuf *b, uint64_t v)
{
    char d[20];
    char *start = digits(d + sizeof(d), v);
    dynbuf_add(b, start, (size_t)(d + sizeof(d) - start));
}

void gg_write_column(dynbuf *b, const void *base, size_t n, size_t stride, size_t offset,
                     size_t width)
{
    char out[8192], num[24];
    size_t len = 0;
    if (n == 0)
        return; /* base may then be NULL, and NULL + offset is undefined */
    const unsigned char *p = (const unsigned char *)base + offset;
    for (size_t i = 0; i < n; i++, p += stride) {
        uint64_t v;
        uint32_t v32;
        if (width == 4)
            memcpy(&v32, p, 4), v = v32;
        else
            memcpy(&v, p, 8);
        const char *d = width == 4 && v == UINT32_MAX ? "-1" : digits(num + sizeof(num), v);
        size_t k = width == 4 && v == UINT32_MAX ? 2 : (size_t)(num + sizeof(num) - d);
        if (len + k + 1 > sizeof(out)) {
            dynbuf_add(b, out, len);
            len = 0;
        }
        if (i)
            out[len++] = ',';
        memcpy(out + len, d, k);
        len += k;
    }
    dynbuf_add(b, out, len);
}

/* Length of the valid UTF-8 sequence at p (2 to 4), or 0 if it is not one. Rejects
 * overlong forms, surrogates and code points past U+10FFFF, as strict parsers do. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* Appends one character that needs care: an escape, or a multi-byte sequence checked
 * for validity. Returns how many input bytes it consumed. */
static size_t json_special(dynbuf *b, const unsigned char *p)
{
    if (*p == '"' || *p == '\\')
        dynbuf_printf(b, "\\%c", *p);
    else if (*p < 0x20 || *p == '<')
        dynbuf_printf(b, "\\u%04x", *p);
    else {
        size_t n = utf8_len(p);
        if (n)
            dynbuf_add(b, p, n);
        else
            dynbuf_puts(b, "\\ufffd");
        return n ? n : 1;
    }
    return 1;
}

void gg_write_json_str(dynbuf *b, const char *s, bool html)
{
    if (!s) {
        dynbuf_puts(b, "null");
        return;
    }
    const unsigned char *p = (const unsigned char *)s, *run = p;
    dynbuf_putc(b, '"');
    while (*p) {
        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\' && !(html && *p == '<')) {
            p++;
            continue;
        }
        dynbuf_add(b, run, (size_t)(p - run));
        p += json_special(b, p);
        run = p;
    }
    dynbuf_add(b, run, (size_t)(p - run));
    dynbuf_putc(b, '"');
}

void gg_write_html(dynbuf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;
        if (!rep)
            continue;
        dynbuf_add(b, run, (size_t)(s - run));
        dynbuf_puts(b, rep);
        run = s + 1;
    }
    dynbuf_add(b, run, (size_t)(s - run));
}

void gg_write_frame_name(dynbuf *b, const gg_frame *f)
{
    if (f->function)
        dynbuf_puts(b, f->function);
    else
        dynbuf_printf(b, "%s+0x%" PRIx64, f->module ? f->module : "??", f->offset);
}

void gg_write_frame_label(dynbuf *b, const gg_frame *f)
{
    gg_write_frame_name(b, f);
    if (f->is_library && f->function && f->module)
        dynbuf_printf(b, " [%s]", f->module);
}
