/*
 * render.c: gargalo_render and gargalo_render_file: the filters of the render options
 * (view.c), dispatch to one renderer per format, and atomic file output.
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

#include "options.h"
#include "view.h"

typedef int (*gg_renderer)(const gargalo_session *, const gargalo_render_options *, dynbuf *);

static const gg_renderer renderers[] = {
    [GARGALO_FORMAT_TEXT] = gg_render_text,
    [GARGALO_FORMAT_HTML] = gg_render_html,
    [GARGALO_FORMAT_SPEEDSCOPE] = gg_render_speedscope,
    [GARGALO_FORMAT_JSON] = gg_render_json,
    [GARGALO_FORMAT_PPROF] = gg_render_pprof,
    [GARGALO_FORMAT_FOLDED] = gg_render_folded,
};

int gargalo_render(const gargalo_session *s, gargalo_format fmt, const gargalo_render_options *ro,
                   char **out, size_t *len)
{
    gargalo_render_options o;
    if (!s || !out || !len || (unsigned)fmt >= sizeof(renderers) / sizeof(renderers[0]))
        return GARGALO_EINVAL;
    if (s->state != GG_STOPPED)
        return GARGALO_ESTATE;
    int rc = gg_render_options_check(ro, &o);
    if (rc)
        return rc;
    if (o.color < 0)
        o.color = 0; /* only gargalo_render_file knows whether it writes to a terminal */
    gg_view v;
    const gargalo_session *shown;
    rc = gg_view_make(&v, s, &o, &shown);
    dynbuf b;
    dynbuf_init(&b, o.max_bytes);
    if (!rc)
        rc = renderers[fmt](shown, &o, &b);
    gg_view_free(&v);
    if (!rc)
        rc = gg_write_error(&b);
    if (rc) {
        dynbuf_free(&b);
        return rc;
    }
    return dynbuf_take(&b, out, len) ? GARGALO_ENOMEM : 0;
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
    int rc = gg_render_options_check(ro, &o);
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
