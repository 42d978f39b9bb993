/*
 * render.c: gargalo_render and gargalo_render_file: option defaults, dispatch to one
 * renderer per format, atomic file output; plus the helpers the renderers share.
 */
#define _GNU_SOURCE /* mkostemp */
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*gg_renderer)(const gargalo_session *, const gargalo_render_options *, gg_buf *);

static const gg_renderer renderers[] = {
    [GARGALO_FORMAT_TEXT] = gg_render_text,
    [GARGALO_FORMAT_HTML] = gg_render_html,
    [GARGALO_FORMAT_SPEEDSCOPE] = gg_render_speedscope,
    [GARGALO_FORMAT_JSON] = gg_render_json,
    [GARGALO_FORMAT_PPROF] = gg_render_pprof,
    [GARGALO_FORMAT_FOLDED] = gg_render_folded,
};

int gg_render_resolve_options(const gargalo_render_options *ro, gargalo_render_options *o)
{
    gargalo_render_options_init(o);
    if (!ro)
        return 0;
    *o = *ro;
    if (!(o->min_percent >= 0)) /* also rejects NaN */
        return GARGALO_EINVAL;
    if (!o->max_bytes)
        o->max_bytes = (size_t)256 << 20;
    return 0;
}

int gargalo_render(const gargalo_session *s, gargalo_format fmt, const gargalo_render_options *ro,
                   char **out, size_t *len)
{
    gargalo_render_options o;
    if (!s || !out || !len || (unsigned)fmt >= sizeof(renderers) / sizeof(renderers[0]))
        return GARGALO_EINVAL;
    if (s->state != GG_STOPPED)
        return GARGALO_ESTATE;
    int rc = gg_render_resolve_options(ro, &o);
    if (rc)
        return rc;
    if (o.color < 0)
        o.color = 0; /* only gargalo_render_file knows whether it writes to a terminal */
    gg_buf b;
    gg_buf_init(&b, o.max_bytes);
    rc = renderers[fmt](s, &o, &b);
    if (rc) {
        gg_buf_free(&b);
        return rc;
    }
    return gg_buf_take(&b, out, len);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return GARGALO_EIO;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* Through stdio, so it lands after anything the caller already printf'ed. */
static int write_stdout(const char *p, size_t n)
{
    if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0)
        return GARGALO_EIO;
    return 0;
}

/* "<dir>/.<name>.XXXXXX", next to path so that rename stays on one file system. */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 16;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
    return t;
}

static int write_atomic(const char *path, const char *p, size_t n)
{
    char *tmp = temp_name(path);
    if (!tmp)
        return GARGALO_ENOMEM;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        return GARGALO_EIO;
    }
    /* mkstemp makes the file private; a profile is an ordinary readable document.
     * No fsync: rename alone makes readers see the whole old file or the whole new one,
     * and surviving a power cut is not worth milliseconds on a live server's response. */
    int rc = fchmod(fd, 0644) || write_all(fd, p, n) ? GARGALO_EIO : 0;
    if (close(fd) != 0)
        rc = GARGALO_EIO;
    if (!rc && rename(tmp, path) != 0)
        rc = GARGALO_EIO;
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int gargalo_render_file(const gargalo_session *s, gargalo_format fmt,
                        const gargalo_render_options *ro, const char *path)
{
    gargalo_render_options o;
    if (!path || !*path)
        return GARGALO_EINVAL;
    int rc = gg_render_resolve_options(ro, &o);
    if (rc)
        return rc;
    bool to_stdout = strcmp(path, "-") == 0;
    if (o.color < 0)
        o.color = to_stdout && isatty(STDOUT_FILENO);
    char *data;
    size_t len;
    rc = gargalo_render(s, fmt, &o, &data, &len);
    if (rc)
        return rc;
    rc = to_stdout ? write_stdout(data, len) : write_atomic(path, data, len);
    free(data);
    return rc;
}

const char *gg_render_clock_name(gargalo_clock clock)
{
    return clock == GARGALO_CLOCK_CPU ? "cpu" : "wall";
}

const char *gg_render_title(const gargalo_render_options *ro)
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

void gg_render_u64(gg_buf *b, uint64_t v)
{
    char d[20];
    char *start = digits(d + sizeof(d), v);
    gg_buf_add(b, start, (size_t)(d + sizeof(d) - start));
}

void gg_render_column(gg_buf *b, const void *base, size_t n, size_t stride, size_t offset,
                      size_t width)
{
    char out[8192], num[24];
    size_t len = 0;
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
            gg_buf_add(b, out, len);
            len = 0;
        }
        if (i)
            out[len++] = ',';
        memcpy(out + len, d, k);
        len += k;
    }
    gg_buf_add(b, out, len);
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
static size_t json_special(gg_buf *b, const unsigned char *p)
{
    if (*p == '"' || *p == '\\')
        gg_buf_printf(b, "\\%c", *p);
    else if (*p < 0x20 || *p == '<')
        gg_buf_printf(b, "\\u%04x", *p);
    else {
        size_t n = utf8_len(p);
        if (n)
            gg_buf_add(b, p, n);
        else
            gg_buf_puts(b, "\\ufffd");
        return n ? n : 1;
    }
    return 1;
}

void gg_render_json_str(gg_buf *b, const char *s, bool html)
{
    if (!s) {
        gg_buf_puts(b, "null");
        return;
    }
    const unsigned char *p = (const unsigned char *)s, *run = p;
    gg_buf_putc(b, '"');
    while (*p) {
        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\' && !(html && *p == '<')) {
            p++;
            continue;
        }
        gg_buf_add(b, run, (size_t)(p - run));
        p += json_special(b, p);
        run = p;
    }
    gg_buf_add(b, run, (size_t)(p - run));
    gg_buf_putc(b, '"');
}
