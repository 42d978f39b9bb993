/*
 * render_diff_html.c: the differential call tree as a page that needs nothing else (no
 * script, no external resource): nested <details> that fold like the text tree, each
 * node's change on a red (grew) or green (shrank) badge whose strength follows its size.
 */
#include "render_diff_html.h"

#include "render.h"

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222}\n"
    "h1{font-size:1.3em;margin:0 0 .5em}\n"
    "table{border-collapse:collapse;margin-bottom:1em}\n"
    "td,th{padding:.15em .8em .15em 0;text-align:left}\n"
    "ul{list-style:none;margin:0;padding-left:1.3em}\n"
    "ul.tree{padding-left:0}\n"
    "summary,li.leaf{white-space:nowrap;padding:1px 0}\n"
    "li.leaf{padding-left:1.1em}\n"
    ".ch{display:inline-block;min-width:6.5em;text-align:right;padding:0 .4em;"
    "border-radius:3px;font-variant-numeric:tabular-nums}\n"
    ".grew{background:rgba(214,39,40,var(--a))}\n"
    ".shrank{background:rgba(44,160,44,var(--a))}\n"
    ".v{color:#555;margin:0 .7em;font-variant-numeric:tabular-nums}\n"
    ".tag{color:#888;font-size:.9em;margin-left:.5em}\n";

typedef struct gg_diff_page {
    const gg_diff *d;
    dynbuf *b;
    double largest; /* the largest |change| of any node below the root */
} gg_diff_page;

static double magnitude(double c)
{
    return c < 0 ? -c : c;
}

static void session_row(dynbuf *b, const char *side, const gargalo_session *s, uint64_t total)
{
    dynbuf_printf(b, "<tr><th>%s</th><td>Duration %.1f ms</td><td>Samples %zu</td>", side,
                  (double)s->duration_ns / 1e6, s->nsamples);
    dynbuf_printf(b, "<td>Sampled %.1f ms</td><td>Clock %s</td></tr>\n", (double)total / 1e6,
                  gg_write_clock_name(s->opt.clock));
}

static void page_header(gg_diff_page *x, const gargalo_render_options *ro, const char *title)
{
    const gg_diff *d = x->d;
    dynbuf_puts(x->b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    gg_write_html(x->b, title);
    dynbuf_printf(x->b, "</title>\n<style>\n%s</style></head>\n<body>\n<h1>", style);
    gg_write_html(x->b, title);
    dynbuf_puts(x->b, "</h1>\n<table>\n");
    session_row(x->b, "Before", d->s[GG_BEFORE], d->nodes[0].ns[GG_BEFORE]);
    session_row(x->b, "After", d->s[GG_AFTER], d->nodes[0].ns[GG_AFTER]);
    dynbuf_printf(x->b, "</table>\n<p>%s", d->normalize ? "Shares of each session's total. " : "");
    dynbuf_puts(x->b, "<span class=\"ch grew\" style=\"--a:.6\">grew</span> "
                      "<span class=\"ch shrank\" style=\"--a:.6\">shrank</span>");
    if (ro->min_percent > 0)
        dynbuf_printf(x->b, " Calls under %.1f%% of both totals are not shown.", ro->min_percent);
    dynbuf_puts(x->b, "</p>\n<ul class=\"tree\">\n");
}

/* The badge, the two values and the name of node n. */
static void node_line(gg_diff_page *x, uint32_t n)
{
    const gg_diff_node *nd = &x->d->nodes[n];
    double strength = x->largest > 0 ? 0.15 + 0.6 * magnitude(nd->change) / x->largest : 0;
    dynbuf_printf(x->b, "<span class=\"ch %s\" style=\"--a:%.2f\">",
                  nd->change > 0   ? "grew"
                  : nd->change < 0 ? "shrank"
                                   : "same",
                  nd->change != 0 ? strength : 0.0);
    gg_diff_put_change(x->b, x->d, n);
    dynbuf_puts(x->b, "</span><span class=\"v\">");
    gg_diff_put_values(x->b, x->d, n);
    dynbuf_puts(x->b, "</span>");
    dynbuf label;
    dynbuf_init(&label, GG_RENDER_MAX_BYTES);
    gg_diff_label(&label, x->d, n);
    gg_write_html(x->b, label.data ? label.data : "");
    dynbuf_free(&label);
    if (nd->at[GG_BEFORE] == GG_TREE_NONE || nd->at[GG_AFTER] == GG_TREE_NONE)
        dynbuf_puts(x->b, nd->at[GG_BEFORE] == GG_TREE_NONE ? "<span class=\"tag\">new</span>"
                                                            : "<span class=\"tag\">gone</span>");
}

static void enter(void *ctx, uint32_t n, bool has_children, bool last)
{
    gg_diff_page *x = ctx;
    dynbuf_puts(x->b, has_children ? "<li><details open><summary>" : "<li class=\"leaf\">");
    node_line(x, n);
    dynbuf_puts(x->b, has_children ? "</summary>\n<ul>\n" : "</li>\n");
}

static void leave(void *ctx, uint32_t n, bool has_children)
{
    gg_diff_page *x = ctx;
    if (has_children)
        dynbuf_puts(x->b, "</ul></details></li>\n");
}

int gg_render_diff_html(const gg_diff *d, const gargalo_render_options *ro, const char *title,
                        dynbuf *b)
{
    gg_diff_page x = {.d = d, .b = b};
    for (size_t i = 1; i < d->n; i++)
        if (magnitude(d->nodes[i].change) > x.largest)
            x.largest = magnitude(d->nodes[i].change);
    page_header(&x, ro, title);
    if (!d->s[GG_BEFORE]->nsamples && !d->s[GG_AFTER]->nsamples)
        dynbuf_puts(b, "<li>No samples were recorded.</li>\n");
    gg_diff_visitor v = {.enter = enter, .leave = leave, .ctx = &x};
    gg_diff_walk(d, ro->min_percent, &v);
    dynbuf_puts(b, "</ul>\n</body></html>\n");
    return 0;
}
