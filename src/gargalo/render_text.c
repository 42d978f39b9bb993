/*
 * render_text.c: the call tree for a terminal, pyinstrument style: a header, then one
 * line per node (time, share, function, file:line) under tree glyphs, heaviest first.
 * Nodes under min_percent are left out; colours are ANSI escapes, only when asked. A
 * process-wide session has one tree per thread, busiest first; idle threads are folded
 * into one line per wait call unless show_all. Samples blocked in system calls are summed
 * per descriptor in a "Blocked on" table; a session with markers ends with the kinds of
 * marker that took the most time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "markers.h"
#include "render.h"
#include "tree.h"
#include "waiting.h"

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_DIM "\033[2m"
#define ANSI_RED "\033[31m"
#define ANSI_YELLOW "\033[33m"

/* Shares from which a node's time is coloured red, then yellow. */
#define GG_TEXT_HOT 50.0
#define GG_TEXT_WARM 20.0

/* The markers section: how many kinds it lists, the widest category column, and where a
 * marker's text is cut (in characters). */
#define GG_TEXT_MARKER_KINDS 10
#define GG_TEXT_CATEGORY_WIDTH 12
#define GG_TEXT_MARKER_TEXT 72
/* The blocked-on section: how many descriptors it lists, the width of their column. */
#define GG_TEXT_WAITS 10
#define GG_TEXT_WAIT_WIDTH 36

typedef struct gg_text {
    const gargalo_session *s;
    const gg_tree *t;
    dynbuf *b;
    bool color;
    bool show_all;
    bool filtered; /* the render options keep only some samples (tag, thread) */
    double min_percent;
    char *prefix; /* the glyph columns of the ancestors */
    size_t *plen; /* prefix length in use at each depth */
} gg_text;

static void color(gg_text *x, const char *code)
{
    if (x->color)
        dynbuf_puts(x->b, code);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void header(gg_text *x, const gargalo_render_options *ro)
{
    const gargalo_session *s = x->s;
    color(x, ANSI_BOLD);
    dynbuf_puts(x->b, gg_write_title(ro));
    color(x, ANSI_RESET);
    dynbuf_printf(x->b, "\nDuration %.1f ms   Samples %zu   ", ms(s->duration_ns), s->nsamples);
    if (s->duration_ns)
        dynbuf_printf(x->b, "CPU %.1f%%   ", 100.0 * (double)s->cpu_ns / (double)s->duration_ns);
    dynbuf_printf(x->b, "Clock %s", gg_write_clock_name(s->opt.clock));
    if (s->process)
        dynbuf_printf(x->b, "   Threads %zu", x->t->roster.n);
    else if (s->thread_name[0] || s->tid)
        dynbuf_printf(x->b, "   Thread %s (%ld)", s->thread_name, (long)s->tid);
    if (s->dropped)
        dynbuf_printf(x->b, "   Dropped %zu", s->dropped);
    dynbuf_putc(x->b, '\n');
    if (x->min_percent > 0)
        dynbuf_printf(x->b, "(calls under %.1f%% of the total are not shown)\n", x->min_percent);
    dynbuf_putc(x->b, '\n');
}

/* Whether a node is shown: above min_percent, and not an idle thread folded away. */
static bool shown(const gg_text *x, uint32_t n)
{
    return gg_tree_percent(x->t, n) >= x->min_percent && !(x->t->nodes[n].idle && !x->show_all);
}

/* n or the first sibling after it that is shown; GG_TREE_NONE when none is. Functions
 * come heaviest first, so this stops at once for them; thread roots come in CPU order,
 * and idle ones may be folded, so their list may have gaps. */
static uint32_t visible(const gg_text *x, uint32_t n)
{
    while (n != GG_TREE_NONE && !shown(x, n))
        n = x->t->nodes[n].next;
    return n;
}

static bool last_visible(const gg_text *x, uint32_t n)
{
    return visible(x, x->t->nodes[n].next) == GG_TREE_NONE;
}

/* The last two components of a path: enough to recognise, short enough to read. */
static const char *short_path(const char *path)
{
    const char *cut = path;
    int slashes = 0;
    for (const char *p = path + strlen(path); p > path; p--)
        if (p[-1] == '/' && ++slashes == 2) {
            cut = p;
            break;
        }
    return cut;
}

static void time_share_ns(gg_text *x, uint64_t ns)
{
    double pct = x->t->total_ns ? 100.0 * (double)ns / (double)x->t->total_ns : 0;
    color(x, pct >= GG_TEXT_HOT ? ANSI_RED : pct >= GG_TEXT_WARM ? ANSI_YELLOW : "");
    dynbuf_printf(x->b, "%.1f ms  %.1f%%", ms(ns), pct);
    color(x, pct >= GG_TEXT_WARM ? ANSI_RESET : "");
}

static void time_share(gg_text *x, uint32_t n)
{
    time_share_ns(x, x->t->nodes[n].total_ns);
}

/* A thread's root, after a blank line unless it is the first: "name (tid)", and where an
 * idle one is parked when show_all shows it. */
static void thread_line(gg_text *x, uint32_t n)
{
    const gg_node *nd = &x->t->nodes[n];
    if (visible(x, x->t->nodes[0].first_child) != n)
        dynbuf_putc(x->b, '\n');
    time_share(x, n);
    dynbuf_puts(x->b, "  ");
    color(x, ANSI_BOLD);
    gg_tree_label(x->b, x->s, x->t, n);
    color(x, ANSI_RESET);
    if (nd->idle)
        dynbuf_printf(x->b, "  (idle: parked in %s)",
                      gg_roster_call_name(x->t->roster.threads[nd->thread].parked));
    dynbuf_putc(x->b, '\n');
}

static void node_line(gg_text *x, uint32_t n)
{
    const gg_node *nd = &x->t->nodes[n];
    if (nd->thread != GG_TREE_NONE) {
        thread_line(x, n);
        return;
    }
    const gg_frame *f = &x->s->frames[nd->frame];
    dynbuf_add(x->b, x->prefix, x->plen[nd->depth]);
    if (nd->depth > 1)
        dynbuf_puts(x->b, last_visible(x, n) ? "└─ " : "├─ ");
    time_share(x, n);
    dynbuf_puts(x->b, "  ");
    color(x, f->is_library ? ANSI_DIM : ANSI_BOLD);
    gg_tree_label(x->b, x->s, x->t, n);
    color(x, ANSI_RESET);
    if (f->file) {
        color(x, ANSI_DIM);
        dynbuf_printf(x->b, "  %s", short_path(f->file));
        if (f->line)
            dynbuf_printf(x->b, ":%d", f->line);
        color(x, ANSI_RESET);
    }
    dynbuf_putc(x->b, '\n');
}

/* The glyph column n's children draw for n: a bar while n has visible siblings below. */
static void push_prefix(gg_text *x, uint32_t n)
{
    uint32_t d = x->t->nodes[n].depth;
    const char *col = d < 2 ? "" : last_visible(x, n) ? "   " : "│  ";
    size_t len = strlen(col);
    memcpy(x->prefix + x->plen[d], col, len);
    x->plen[d + 1] = x->plen[d] + len;
}

/* The visible node after n in depth-first order, or GG_TREE_NONE. */
static uint32_t next_visible(gg_text *x, uint32_t n)
{
    const gg_node *nodes = x->t->nodes;
    uint32_t c = visible(x, nodes[n].first_child);
    if (c != GG_TREE_NONE) {
        push_prefix(x, n);
        return c;
    }
    for (; n != 0; n = nodes[n].parent)
        if ((c = visible(x, nodes[n].next)) != GG_TREE_NONE)
            return c;
    return GG_TREE_NONE;
}

/* After the busy threads, one line per wait call the idle ones are parked in: "time
 * share  N idle threads: parked in CALL (names)". */
static int idle_groups(gg_text *x)
{
    const gg_roster *r = &x->t->roster;
    gg_roster_group *g = malloc(r->nidle * sizeof(*g));
    if (!g)
        return GARGALO_ENOMEM;
    size_t n = gg_roster_groups(r, g);
    if (r->n > r->nidle)
        dynbuf_putc(x->b, '\n');
    for (size_t i = 0; i < n; i++) {
        time_share_ns(x, g[i].weight_ns);
        color(x, ANSI_DIM);
        dynbuf_puts(x->b, "  ");
        gg_roster_group_label(x->b, x->s, r, &g[i]);
        color(x, ANSI_RESET);
        dynbuf_putc(x->b, '\n');
    }
    free(g);
    return 0;
}

static int body(gg_text *x)
{
    uint32_t maxd = 0;
    for (size_t i = 0; i < x->t->n; i++)
        if (x->t->nodes[i].depth > maxd)
            maxd = x->t->nodes[i].depth;
    x->plen = calloc(maxd + 2, sizeof(*x->plen));
    x->prefix = malloc((maxd + 2) * sizeof("│  "));
    if (!x->plen || !x->prefix)
        return GARGALO_ENOMEM;
    uint32_t n = visible(x, x->t->nodes[0].first_child);
    bool folded = !x->show_all && x->t->roster.nidle;
    if (n == GG_TREE_NONE && !folded)
        dynbuf_puts(x->b, x->s->nsamples ? "(no call above the threshold)\n"
                          : x->filtered  ? "(no sample passes the filters)\n"
                                         : "(no samples were recorded)\n");
    for (; n != GG_TREE_NONE; n = next_visible(x, n))
        node_line(x, n);
    return folded ? idle_groups(x) : 0;
}

/* The length in bytes of the character of a one-line text at p: a run of white space or
 * control characters (a statement's line breaks and indentation) is one space, and a
 * multi-byte sequence is never split. */
static size_t next_char(const unsigned char *p, bool *space)
{
    size_t n = 1;
    *space = *p <= ' ' || *p == 0x7f;
    if (*space)
        while (p[n] && (p[n] <= ' ' || p[n] == 0x7f))
            n++;
    else
        while ((p[n] & 0xc0) == 0x80)
            n++;
    return n;
}

/* Appends s on one line, cut to max characters (the last one then "…"); returns how
 * many characters it wrote. */
static size_t put_cut(dynbuf *b, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t total = 0;
    bool space;
    for (const unsigned char *q = p; *q; q += next_char(q, &space))
        total++;
    size_t keep = total > max ? max - 1 : total;
    for (size_t i = 0; i < keep; i++) {
        size_t n = next_char(p, &space);
        if (space)
            dynbuf_putc(b, ' ');
        else
            dynbuf_add(b, p, n);
        p += n;
    }
    if (total > max)
        dynbuf_puts(b, "…");
    return total > max ? max : total;
}

static void marker_line(gg_text *x, const gg_marker_kind *k, size_t cw)
{
    uint64_t duration = x->s->duration_ns;
    dynbuf_printf(x->b, "%8.1f ms  ", ms(k->total_ns));
    if (duration)
        dynbuf_printf(x->b, "%5.1f%%", 100.0 * (double)k->total_ns / (double)duration);
    else
        dynbuf_puts(x->b, "     -");
    dynbuf_printf(x->b, "  %7u  ", k->count);
    for (size_t c = put_cut(x->b, k->category, cw); c < cw; c++)
        dynbuf_putc(x->b, ' ');
    dynbuf_puts(x->b, "  ");
    put_cut(x->b, k->text, GG_TEXT_MARKER_TEXT);
    dynbuf_putc(x->b, '\n');
}

/* After the tree: the kinds of marker (category and text) that took the most time, with
 * their share of the session's duration, and how many markers found no room. */
static void markers_section(gg_text *x, const gg_marker_kinds *k)
{
    const gargalo_session *s = x->s;
    size_t shown = k->n < GG_TEXT_MARKER_KINDS ? k->n : GG_TEXT_MARKER_KINDS, cw = 8;
    for (size_t i = 0; i < shown; i++) {
        size_t len = k->kinds[i].category ? strlen(k->kinds[i].category) : 0;
        cw = len > cw ? (len < GG_TEXT_CATEGORY_WIDTH ? len : GG_TEXT_CATEGORY_WIDTH) : cw;
    }
    if (shown) {
        color(x, ANSI_BOLD);
        dynbuf_puts(x->b, "\nTop markers by total time");
        color(x, ANSI_RESET);
        dynbuf_printf(x->b, " (share: their total time over the session's %.1f ms)\n",
                      ms(s->duration_ns));
        dynbuf_printf(x->b, "%11s  %6s  %7s  %-*s  text\n", "total", "share", "count", (int)cw,
                      "category");
    }
    for (size_t i = 0; i < shown; i++)
        marker_line(x, &k->kinds[i], cw);
    if (k->n > shown)
        dynbuf_printf(x->b, "(%zu more kinds of marker)\n", k->n - shown);
    if (s->markers_dropped)
        dynbuf_printf(x->b, "%s%zu markers were dropped: their buffer was full\n",
                      shown ? "" : "\n", s->markers_dropped);
}

/* One descriptor: its time, share of the sampled time, samples, "fd N: WHAT" (or "no
 * descriptor") and the calls that waited on it, most time first. */
static void wait_line(gg_text *x, const gg_waits *ws, const gg_wait *w)
{
    static const char none[] = "no descriptor";
    char fd[32];
    size_t used = sizeof(none) - 1;
    dynbuf_printf(x->b, "%8.1f ms  %5.1f%%  %7llu  ", ms(w->ns),
                  x->t->total_ns ? 100.0 * (double)w->ns / (double)x->t->total_ns : 0.0,
                  (unsigned long long)w->samples);
    if (w->what) {
        used = (size_t)snprintf(fd, sizeof(fd), "fd %d: ", (int)w->fd);
        dynbuf_puts(x->b, fd);
        used += put_cut(x->b, w->what, GG_TEXT_WAIT_WIDTH - used);
    } else
        dynbuf_puts(x->b, none);
    for (; used < GG_TEXT_WAIT_WIDTH; used++)
        dynbuf_putc(x->b, ' ');
    for (size_t c = 0; c < w->ncalls; c++) {
        const gg_wait_call *call = &ws->calls[w->first_call + c];
        dynbuf_printf(x->b, "%s%.*s", c ? ", " : "  ", (int)call->len, call->name);
    }
    dynbuf_putc(x->b, '\n');
}

/* After the tree: the descriptors blocked samples waited on, most time first. */
static int put_waits(gg_text *x)
{
    gg_waits ws;
    int rc = gg_waits_build(&ws, x->s);
    if (rc || !ws.n) {
        gg_waits_free(&ws);
        return rc;
    }
    size_t shown = ws.n < GG_TEXT_WAITS ? ws.n : GG_TEXT_WAITS;
    color(x, ANSI_BOLD);
    dynbuf_puts(x->b, "\nBlocked on");
    color(x, ANSI_RESET);
    dynbuf_puts(x->b, " (time in blocking system calls, by descriptor; share of the sampled "
                      "time)\n");
    dynbuf_printf(x->b, "%11s  %6s  %7s  %-*s  calls\n", "total", "share", "samples",
                  GG_TEXT_WAIT_WIDTH, "descriptor");
    for (size_t i = 0; i < shown; i++)
        wait_line(x, &ws, &ws.w[i]);
    if (ws.n > shown)
        dynbuf_printf(x->b, "(%zu more descriptors)\n", ws.n - shown);
    gg_waits_free(&ws);
    return 0;
}

static int put_markers(gg_text *x)
{
    gg_marker_kinds k;
    if (!x->s->nmarkers && !x->s->markers_dropped)
        return 0;
    int rc = gg_marker_kinds_build(&k, x->s);
    if (!rc)
        markers_section(x, &k);
    gg_marker_kinds_free(&k);
    return rc;
}

int gg_render_text(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    gg_tree t;
    gg_tree_options to = {.show_all = ro->show_all, .threads = true};
    int rc = gg_tree_build_with(&t, s, &to);
    if (rc)
        return rc;
    gg_text x = {.s = s,
                 .t = &t,
                 .b = b,
                 .color = ro->color > 0,
                 .show_all = ro->show_all,
                 .filtered = ro->tag || ro->thread,
                 .min_percent = ro->min_percent};
    header(&x, ro);
    rc = body(&x);
    rc = rc ? rc : put_waits(&x);
    rc = rc ? rc : put_markers(&x);
    free(x.prefix), free(x.plen);
    gg_tree_free(&t);
    return rc;
}
