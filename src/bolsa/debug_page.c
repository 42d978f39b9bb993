/*
 * debug_page.c: the page of profiles (debug_page.h).
 */
#include "debug_page.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "dynbuf.h"
#include "profile_name.h"
#include "timing.h"

#define PAGE_ROWS_MAX 1000
#define PAGE_MAX_BYTES ((size_t)4 << 20)

/* One profile of the directory, as listed. */
typedef struct page_entry {
    bolsa_profile_info info;
    char name[BOLSA_PROFILE_NAME_MAX];
    off_t size;
} page_entry;

typedef struct page_list {
    page_entry *v;
    size_t len, cap;
} page_list;

/* --- the listing ------------------------------------------------------------------------ */

static int page_add(page_list *l, const char *name, const bolsa_profile_info *info, off_t size)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        page_entry *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    page_entry *e = &l->v[l->len++];
    e->info = *info;
    e->size = size;
    size_t n = strnlen(name, sizeof(e->name) - 1); /* parsed: shorter than that */
    memcpy(e->name, name, n);
    e->name[n] = '\0';
    return 0;
}

/* bolsa's profiles in dir: regular files under its names, links (profile.<ext>) left out. */
static int page_scan(const char *dir, page_list *l)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        bolsa_profile_info info;
        struct stat st;
        if (bolsa_profile_name_parse(de->d_name, &info) &&
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            rc = page_add(l, de->d_name, &info, st.st_size);
    }
    closedir(d);
    return rc;
}

static int page_newer_first(const void *a, const void *b)
{
    const bolsa_profile_info *x = &((const page_entry *)a)->info;
    const bolsa_profile_info *y = &((const page_entry *)b)->info;
    if (x->ms != y->ms)
        return x->ms < y->ms ? 1 : -1;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* --- the page ---------------------------------------------------------------------------- */

/* s with HTML's special characters escaped. */
static void page_text(dynbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            dynbuf_puts(b, "&amp;");
            break;
        case '<':
            dynbuf_puts(b, "&lt;");
            break;
        case '>':
            dynbuf_puts(b, "&gt;");
            break;
        case '"':
            dynbuf_puts(b, "&quot;");
            break;
        default:
            dynbuf_putc(b, *s);
        }
    }
}

/* 128 random bits as hex, for the style sheet's nonce. */
static void page_nonce(char out[33])
{
    unsigned char r[16];
    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        uint64_t t = bolsa_now_ns() * 0x9e3779b97f4a7c15ULL; /* no entropy yet: still fresh */
        memcpy(r, &t, 8);
        memcpy(r + 8, &t, 8);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2127;"
    "background:#f6f7f9}"
    "header{background:#1f2a37;color:#f3f4f6;padding:18px 28px}"
    "header h1{margin:0 0 4px;font-size:20px;font-weight:600}"
    "header p{margin:2px 0;color:#cbd2dc}header code{color:#fff}"
    "main{padding:18px 28px}"
    "form{display:flex;flex-wrap:wrap;gap:10px;align-items:center;background:#fff;"
    "border:1px solid #dde1e6;border-radius:8px;padding:10px 14px;margin-bottom:16px}"
    "form strong{margin-right:6px}input,select,button{font:inherit}input{width:4.5em}"
    "button{background:#2563eb;color:#fff;border:0;border-radius:6px;padding:5px 14px;"
    "cursor:pointer}"
    "table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e6;"
    "border-radius:8px;overflow:hidden}"
    "th,td{padding:7px 12px;text-align:left;white-space:nowrap;border-bottom:1px solid #eef0f3}"
    "th{background:#f0f2f5;font-weight:600;font-size:13px;color:#4b5563}"
    "tr:last-child td{border-bottom:0}tbody tr:hover{background:#f8fafc}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "td.req code{font-size:13px}"
    ".how{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}"
    ".how.slow{background:#fde8e8;color:#9b1c1c}.how.asked{background:#e1effe;color:#1e429f}"
    ".st2{color:#046c4e}.st4{color:#8a5300}.st5{color:#9b1c1c}"
    "a{color:#1d4ed8;text-decoration:none;margin-right:10px}a:hover{text-decoration:underline}"
    ".empty{padding:24px;text-align:center;color:#6b7280}";

static void page_head(dynbuf *b, const char *nonce)
{
    dynbuf_printf(b,
                  "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"referrer\" content=\"no-referrer\">\n"
                  "<title>gargalo: profiles</title>\n<style nonce=\"%s\">%s</style>\n"
                  "</head>\n<body>\n",
                  nonce, page_css);
}

/* What the directory holds and what the settings keep in it. */
static void page_header(dynbuf *b, const bolsa_profiling *p, size_t n)
{
    dynbuf_printf(b, "<header><h1>Profiles</h1>\n<p>%zu profile%s in <code>", n, n == 1 ? "" : "s");
    page_text(b, p->dir);
    dynbuf_printf(b,
                  "</code>, newest first; at most %lu files and %llu MiB are kept.</p>\n"
                  "<p>Slow-request capture: ",
                  p->files.keep, (unsigned long long)(p->files.keep_bytes >> 20));
    if (bolsa_capture_on(&p->capture))
        dynbuf_printf(b, "on, every request over %llu ms keeps its profile (%s).</p>",
                      (unsigned long long)(p->capture.slow_ns / 1000000),
                      gargalo_format_extension(p->capture.format));
    else
        dynbuf_puts(b, "off (--profile-slow-ms).</p>");
    dynbuf_puts(b, "</header>\n<main>\n");
}

/* A whole-process profile, asked from the page: the browser downloads the answer. */
static void page_form(dynbuf *b)
{
    static const char *const formats[] = {"pprof", "html", "speedscope", "text", "json", "folded"};
    dynbuf_puts(b, "<form method=\"get\" action=\"/debug/gargalo/profile\">"
                   "<strong>Whole server</strong><label>for <input name=\"seconds\" "
                   "type=\"number\" min=\"1\" max=\"60\" value=\"10\"> s</label>"
                   "<label>format <select name=\"format\">");
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        dynbuf_printf(b, "<option>%s</option>", formats[i]);
    dynbuf_puts(b, "</select></label><label>clock <select name=\"clock\"><option>wall</option>"
                   "<option>cpu</option></select></label><button>Profile</button></form>\n");
}

/* "2026-11-30 07:29:38.723" from ms since the epoch, UTC. */
static void page_time(dynbuf *b, unsigned long long ms)
{
    char when[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    dynbuf_printf(b, "<td class=\"num\">%s.%03llu</td>", when, ms % 1000);
}

static void page_size(dynbuf *b, off_t size)
{
    if (size < 1024 * 1024)
        dynbuf_printf(b, "<td class=\"num\">%.1f KiB</td>", (double)size / 1024.0);
    else
        dynbuf_printf(b, "<td class=\"num\">%.1f MiB</td>", (double)size / (1024.0 * 1024.0));
}

/* Method and route, status, duration, samples and how, as the name says them. */
static void page_described(dynbuf *b, const bolsa_profile_info *i)
{
    dynbuf_puts(b, "<td class=\"req\"><code>");
    page_text(b, i->method);
    dynbuf_putc(b, ' ');
    page_text(b, i->route[0] ? i->route : "(no route)");
    dynbuf_printf(b,
                  "</code></td><td class=\"st%d\">%d</td><td class=\"num\">%llu ms</td>"
                  "<td class=\"num\">%llu</td><td><span class=\"how %s\">%s</span></td>",
                  i->status / 100, i->status, i->duration_ms, i->samples, i->how, i->how);
}

static void page_row(dynbuf *b, const page_entry *e)
{
    dynbuf_puts(b, "<tr>");
    page_time(b, e->info.ms);
    if (e->info.described)
        page_described(b, &e->info);
    else
        dynbuf_puts(b, "<td>-</td><td>-</td><td class=\"num\">-</td><td class=\"num\">-</td>"
                       "<td>-</td>");
    dynbuf_puts(b, "<td>");
    page_text(b, e->info.ext);
    dynbuf_puts(b, "</td>");
    page_size(b, e->size);
    dynbuf_printf(b,
                  "<td><a href=\"/debug/gargalo/profiles/%s\">open</a>"
                  "<a href=\"/debug/gargalo/profiles/%s?download=1\" download>download</a>"
                  "</td></tr>\n",
                  e->name, e->name); /* names are [A-Za-z0-9_.-] only: nothing to escape */
}

static void page_table(dynbuf *b, const page_list *l)
{
    if (!l->len) {
        dynbuf_puts(b, "<p class=\"empty\">No profiles yet: ask for one with ?profile=true, "
                       "or turn on slow-request capture.</p>\n");
        return;
    }
    dynbuf_puts(b, "<table>\n<thead><tr><th>Time (UTC)</th><th>Request</th><th>Status</th>"
                   "<th>Duration</th><th>Samples</th><th>Captured</th><th>Format</th>"
                   "<th>Size</th><th>Profile</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < l->len && i < PAGE_ROWS_MAX; i++)
        page_row(b, &l->v[i]);
    dynbuf_puts(b, "</tbody>\n</table>\n");
    if (l->len > PAGE_ROWS_MAX)
        dynbuf_printf(b, "<p class=\"empty\">%zu older profiles are not listed.</p>\n",
                      l->len - PAGE_ROWS_MAX);
}

static void page_headers(bolsa_response *resp, const char *nonce)
{
    char csp[256];
    snprintf(csp, sizeof(csp),
             "default-src 'none'; style-src 'nonce-%s'; base-uri 'none'; form-action 'self'; "
             "frame-ancestors 'none'",
             nonce);
    bolsa_response_set_header(resp, "Content-Security-Policy", csp);
    bolsa_response_set_header(resp, "X-Content-Type-Options", "nosniff");
    bolsa_response_set_header(resp, "Referrer-Policy", "no-referrer");
    bolsa_response_set_header(resp, "Cache-Control", "no-store");
}

static void page_failed(bolsa_response *resp, const char *why)
{
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_INTERNAL, NULL, NULL, "%s", why);
    bolsa_error_conceal(&err, "GET /debug/gargalo/");
    bolsa_response_error(resp, &err);
}

void bolsa_debug_page_handle(const bolsa_profiling *p, bolsa_request *req, bolsa_response *resp)
{
    page_list l = {0};
    dynbuf b;
    char nonce[33], *html = NULL;
    size_t len = 0;
    if (page_scan(p->dir, &l) != 0) {
        free(l.v);
        page_failed(resp, "could not list the profile directory");
        return;
    }
    if (l.len) /* an empty list is NULL, which qsort may not take */
        qsort(l.v, l.len, sizeof(l.v[0]), page_newer_first);
    page_nonce(nonce);
    dynbuf_init(&b, PAGE_MAX_BYTES);
    page_head(&b, nonce);
    page_header(&b, p, l.len);
    page_form(&b);
    page_table(&b, &l);
    dynbuf_puts(&b, "</main>\n</body>\n</html>\n");
    free(l.v);
    if (dynbuf_take(&b, &html, &len) != DYNBUF_OK) {
        page_failed(resp, "out of memory");
        return;
    }
    bolsa_response_set_body(resp, 200, "text/html; charset=utf-8", html, len);
    page_headers(resp, nonce);
}
