/*
 * render_diff.c: gargalo_diff_render, what changed between two sessions: the
 * differential call tree (diff.c) as text in the text tree's layout, or as an HTML page
 * (render_diff_html.c); or both sessions' collapsed stacks side by side (folded).
 */
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "render.h"
#include "render_diff_html.h"
#include "render_folded.h"
#include "view.h"

#define GG_DIFF_TITLE "gargalo diff"
#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_RED "\033[31m"
#define ANSI_GREEN "\033[32m"

static const char *diff_title(const gargalo_render_options *ro)
{
    return ro->title && *ro->title ? ro->title : GG_DIFF_TITLE;
}

/* ---- text ---- */

typedef struct gg_diff_text {
    const gg_diff *d;
    dynbuf *b;
    bool color;
    bool *bar; /* per depth: the node entered last at that depth has siblings below */
} gg_diff_text;

static void color(gg_diff_text *x, const char *code)
{
    if (x->color)
        dynbuf_puts(x->b, code);
}

static void text_session(dynbuf *b, const char *side, const gargalo_session *s)
{
    dynbuf_printf(b, "%-7s Duration %.1f ms   Samples %zu   Clock %s", side,
                  (double)s->duration_ns / 1e6, s->nsamples, gg_write_clock_name(s->opt.clock));
    if (s->thread_name[0] || s->tid)
        dynbuf_printf(b, "   Thread %s (%ld)", s->thread_name, (long)s->tid);
    dynbuf_putc(b, '\n');
}

static void text_header(gg_diff_text *x, const gargalo_render_options *ro)
{
    color(x, ANSI_BOLD);
    dynbuf_puts(x->b, diff_title(ro));
    color(x, ANSI_RESET);
    dynbuf_putc(x->b, '\n');
    text_session(x->b, "Before", x->d->s[GG_BEFORE]);
    text_session(x->b, "After", x->d->s[GG_AFTER]);
    dynbuf_puts(x->b, x->d->normalize ? "Shares   " : "Total    ");
    gg_diff_put_values(x->b, x->d, 0);
    dynbuf_puts(x->b, " (");
    gg_diff_put_change(x->b, x->d, 0);
    dynbuf_puts(x->b, ")\n");
    if (ro->min_percent > 0)
        dynbuf_printf(x->b, "(calls under %.1f%% of both totals are not shown)\n", ro->min_percent);
    dynbuf_putc(x->b, '\n');
}

static void text_enter(void *ctx, uint32_t n, bool has_children, bool last)
{
    gg_diff_text *x = ctx;
    const gg_diff_node *nd = &x->d->nodes[n];
    x->bar[nd->depth] = !last;
    for (uint32_t depth = 2; depth < nd->depth; depth++)
        dynbuf_puts(x->b, x->bar[depth] ? "│  " : "   ");
    if (nd->depth > 1)
        dynbuf_puts(x->b, last ? "└─ " : "├─ ");
    gg_diff_put_values(x->b, x->d, n);
    dynbuf_puts(x->b, " (");
    color(x, nd->change > 0 ? ANSI_RED : nd->change < 0 ? ANSI_GREEN : "");
    gg_diff_put_change(x->b, x->d, n);
    color(x, nd->change != 0 ? ANSI_RESET : "");
    dynbuf_puts(x->b, ")  ");
    gg_diff_label(x->b, x->d, n);
    if (nd->at[GG_BEFORE] == GG_TREE_NONE || nd->at[GG_AFTER] == GG_TREE_NONE)
        dynbuf_puts(x->b, nd->at[GG_BEFORE] == GG_TREE_NONE ? "  (new)" : "  (gone)");
    dynbuf_putc(x->b, '\n');
}

static int diff_text(const gg_diff *d, const gargalo_render_options *ro, dynbuf *b)
{
    gg_diff_text x = {.d = d, .b = b, .color = ro->color > 0};
    x.bar = calloc(d->max_depth + 1, sizeof(*x.bar));
    if (!x.bar)
        return GARGALO_ENOMEM;
    text_header(&x, ro);
    if (!d->s[GG_BEFORE]->nsamples && !d->s[GG_AFTER]->nsamples)
        dynbuf_puts(b, "(no samples were recorded)\n");
    gg_diff_visitor v = {.enter = text_enter, .ctx = &x};
    gg_diff_walk(d, ro->min_percent, &v);
    free(x.bar);
    return gg_write_error(b);
}

/* ---- folded ---- */

/* One "stack before after" line; with normalize, before is scaled to after's total. */
static void folded_line(dynbuf *b, const gg_folded_line *l, uint64_t before, uint64_t after,
                        double scale)
{
    dynbuf_add(b, l->stack, l->len);
    dynbuf_putc(b, ' ');
    gg_write_u64(b, scale > 0 ? (uint64_t)((double)before * scale + 0.5) : before);
    dynbuf_putc(b, ' ');
    gg_write_u64(b, after);
    dynbuf_putc(b, '\n');
}

/* Both sessions' lines are sorted by stack: one merge pass pairs them. */
static void merge_folded(dynbuf *b, const gg_folded *f, double scale)
{
    size_t i = 0, j = 0;
    while (i < f[0].n || j < f[1].n) {
        const gg_folded_line *x = i < f[0].n ? &f[0].lines[i] : NULL;
        const gg_folded_line *y = j < f[1].n ? &f[1].lines[j] : NULL;
        int c = !x ? 1 : !y ? -1 : memcmp(x->stack, y->stack, x->len < y->len ? x->len : y->len);
        if (x && y && c == 0)
            c = (x->len > y->len) - (x->len < y->len);
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        folded_line(b, c <= 0 ? x : y, c <= 0 ? x->weight_ns : 0, c >= 0 ? y->weight_ns : 0, scale);
    }
}

static int diff_folded(const gargalo_session *before, const gargalo_session *after,
                       const gargalo_render_options *ro, dynbuf *b)
{
    gg_folded f[2];
    int rc = gg_folded_build(&f[0], before, ro->show_all, false, ro->max_bytes);
    if (rc)
        return rc;
    rc = gg_folded_build(&f[1], after, ro->show_all, false, ro->max_bytes);
    if (!rc) {
        double scale =
            ro->normalize && f[0].total_ns ? (double)f[1].total_ns / (double)f[0].total_ns : 0;
        merge_folded(b, f, scale);
        gg_folded_free(&f[1]);
    }
    gg_folded_free(&f[0]);
    return rc ? rc : gg_write_error(b);
}

/* ---- the public entry ---- */

static int diff_tree(const gargalo_session *before, const gargalo_session *after,
                     gargalo_format fmt, const gargalo_render_options *ro, dynbuf *b)
{
    gg_diff d;
    int rc = gg_diff_build(&d, before, after, ro->show_all, ro->normalize);
    if (rc)
        return rc;
    rc = fmt == GARGALO_FORMAT_HTML ? gg_render_diff_html(&d, ro, diff_title(ro), b)
                                    : diff_text(&d, ro, b);
    gg_diff_free(&d);
    return rc;
}

int gargalo_diff_render(const gargalo_session *before, const gargalo_session *after,
                        gargalo_format fmt, const gargalo_render_options *ro, char **out,
                        size_t *len)
{
    gargalo_render_options o;
    if (!before || !after || !out || !len ||
        (fmt != GARGALO_FORMAT_TEXT && fmt != GARGALO_FORMAT_HTML && fmt != GARGALO_FORMAT_FOLDED))
        return GARGALO_EINVAL;
    if (before->state != GG_STOPPED || after->state != GG_STOPPED)
        return GARGALO_ESTATE;
    int rc = gg_render_options_check(ro, &o);
    if (rc)
        return rc;
    o.color = o.color > 0; /* -1, "if a terminal", is the caller's to decide here */
    gg_view v[2];
    const gargalo_session *s[2];
    rc = gg_view_make(&v[0], before, &o, &s[0]);
    int rc2 = gg_view_make(&v[1], after, &o, &s[1]);
    rc = rc ? rc : rc2;
    dynbuf b;
    dynbuf_init(&b, o.max_bytes);
    if (!rc)
        rc = fmt == GARGALO_FORMAT_FOLDED ? diff_folded(s[0], s[1], &o, &b)
                                          : diff_tree(s[0], s[1], fmt, &o, &b);
    gg_view_free(&v[0]), gg_view_free(&v[1]);
    if (rc)
        dynbuf_free(&b);
    return rc ? rc : dynbuf_take(&b, out, len);
}
