/*
 * render_html.c: one self-contained, offline HTML page. The page itself lives in
 * assets/profile.{html,css,js}; this file fills its <!--gg:NAME--> slots with the CSS,
 * the script and the session as JSON (both call trees, already built, and the samples
 * for the timeline), so the script never has to repeat the tree's rules.
 */
#include <stddef.h>
#include <string.h>

#include "render.h"
#include "tree.h"

extern const unsigned char gg_asset_profile_html[], gg_asset_profile_css[], gg_asset_profile_js[];
extern const size_t gg_asset_profile_html_len, gg_asset_profile_css_len, gg_asset_profile_js_len;

/* The node fields the page needs, as columns. */
static const struct {
    const char *name;
    size_t offset;
    size_t width;
} columns[] = {
    {"parent", offsetof(gg_node, parent), 4}, {"frame", offsetof(gg_node, frame), 4},
    {"hidden", offsetof(gg_node, hidden), 4}, {"total", offsetof(gg_node, total_ns), 8},
    {"self", offsetof(gg_node, self_ns), 8},  {"count", offsetof(gg_node, samples), 8},
};

/* A tree as columns: nodes in depth-first order, node 0 the root (parent -1), and for
 * each stack of the session the node where it ends. */
static void put_tree(gg_buf *b, const gargalo_session *s, const gg_tree *t)
{
    gg_buf_putc(b, '{');
    for (size_t c = 0; c < sizeof(columns) / sizeof(columns[0]); c++) {
        gg_buf_printf(b, "\"%s\":[", columns[c].name);
        gg_render_column(b, t->nodes, t->n, sizeof(gg_node), columns[c].offset, columns[c].width);
        gg_buf_puts(b, "],\n");
    }
    gg_buf_puts(b, "\"leaf\":[");
    gg_render_column(b, t->stack_leaf, s->nstacks, sizeof(uint32_t), 0, 4);
    gg_buf_puts(b, "]}");
}

static void put_strings(gg_buf *b, const char *key, const gargalo_session *s, size_t field)
{
    gg_buf_printf(b, "\"%s\":[", key);
    for (size_t i = 0; i < s->nframes; i++) {
        if (i)
            gg_buf_putc(b, ',');
        gg_render_json_str(b, *(char *const *)((const char *)&s->frames[i] + field), true);
    }
    gg_buf_puts(b, "],\n");
}

/* Frames as columns; "name" is the function (with " [module]" for library code), or
 * "module+0xOFFSET" when unknown. */
static void put_frames(gg_buf *b, const gargalo_session *s, gg_buf *tmp)
{
    gg_buf_puts(b, "\"frames\":{\"name\":[");
    for (size_t i = 0; i < s->nframes; i++) {
        gg_buf_free(tmp);
        gg_frame_label(tmp, &s->frames[i]);
        if (i)
            gg_buf_putc(b, ',');
        gg_render_json_str(b, tmp->data ? tmp->data : "", true);
    }
    gg_buf_puts(b, "],\n");
    put_strings(b, "file", s, offsetof(gg_frame, file));
    put_strings(b, "module", s, offsetof(gg_frame, module));
    gg_buf_puts(b, "\"line\":[");
    for (size_t i = 0; i < s->nframes; i++)
        gg_buf_printf(b, i ? ",%d" : "%d", s->frames[i].line);
    gg_buf_puts(b, "],\"lib\":[");
    for (size_t i = 0; i < s->nframes; i++)
        gg_buf_puts(b, i ? (s->frames[i].is_library ? ",1" : ",0")
                         : (s->frames[i].is_library ? "1" : "0"));
    gg_buf_puts(b, "]},\n");
}

static void put_samples(gg_buf *b, const gargalo_session *s)
{
    gg_buf_puts(b, "\"samples\":{\"t\":[");
    gg_render_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, time_ns),
                     8);
    gg_buf_puts(b, "],\n\"w\":[");
    gg_render_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, weight_ns),
                     8);
    gg_buf_puts(b, "],\n\"s\":[");
    gg_render_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, stack), 4);
    gg_buf_puts(b, "]}");
}

static void put_header(gg_buf *b, const gargalo_session *s, const gargalo_render_options *ro)
{
    gg_buf_puts(b, "{\"title\":");
    gg_render_json_str(b, gg_render_title(ro), true);
    gg_buf_printf(b, ",\"clock\":\"%s\",\"show_all\":%s,\"start_unix_ns\":",
                  gg_render_clock_name(s->opt.clock), ro->show_all ? "true" : "false");
    gg_render_u64(b, s->start_unix_ns);
    gg_buf_puts(b, ",\"duration_ns\":");
    gg_render_u64(b, s->duration_ns);
    gg_buf_puts(b, ",\"cpu_ns\":");
    gg_render_u64(b, s->cpu_ns);
    gg_buf_printf(b, ",\"dropped\":%zu,\"tid\":%ld,\"thread\":", s->dropped, (long)s->tid);
    gg_render_json_str(b, s->thread_name, true);
    gg_buf_puts(b, ",\n");
}

static int put_data(gg_buf *b, const gargalo_session *s, const gargalo_render_options *ro)
{
    gg_tree grouped, all;
    int rc = gg_tree_build(&grouped, s, false);
    if (rc)
        return rc;
    rc = gg_tree_build(&all, s, true);
    if (rc) {
        gg_tree_free(&grouped);
        return rc;
    }
    gg_buf tmp;
    gg_buf_init(&tmp, 0);
    put_header(b, s, ro);
    put_frames(b, s, &tmp);
    gg_buf_puts(b, "\"trees\":[");
    put_tree(b, s, &grouped);
    gg_buf_puts(b, ",\n");
    put_tree(b, s, &all);
    gg_buf_puts(b, "],\n");
    put_samples(b, s);
    gg_buf_puts(b, "}");
    rc = tmp.err;
    gg_buf_free(&tmp);
    gg_tree_free(&grouped);
    gg_tree_free(&all);
    return rc ? rc : b->err;
}

/* Fills one <!--gg:NAME--> slot of the page. */
static int fill_slot(gg_buf *b, const char *name, size_t len, const gargalo_session *s,
                     const gargalo_render_options *ro)
{
    if (len == 5 && memcmp(name, "title", 5) == 0)
        return gg_buf_html_escape(b, gg_render_title(ro));
    if (len == 3 && memcmp(name, "css", 3) == 0)
        return gg_buf_add(b, gg_asset_profile_css, gg_asset_profile_css_len);
    if (len == 2 && memcmp(name, "js", 2) == 0)
        return gg_buf_add(b, gg_asset_profile_js, gg_asset_profile_js_len);
    if (len == 4 && memcmp(name, "data", 4) == 0)
        return put_data(b, s, ro);
    return gg_buf_add(b, name - 7, len + 10); /* not ours: keep the comment */
}

int gg_render_html(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b)
{
    const char *p = (const char *)gg_asset_profile_html;
    const char *end = p + gg_asset_profile_html_len;
    while (p < end) {
        const char *slot = strstr(p, "<!--gg:");
        const char *close = slot ? strstr(slot, "-->") : NULL;
        if (!close) {
            gg_buf_add(b, p, (size_t)(end - p));
            break;
        }
        gg_buf_add(b, p, (size_t)(slot - p));
        int rc = fill_slot(b, slot + 7, (size_t)(close - slot - 7), s, ro);
        if (rc)
            return rc;
        p = close + 3;
    }
    return b->err;
}
