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
#include "write.h"

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
static void put_tree(dynbuf *b, const gargalo_session *s, const gg_tree *t)
{
    dynbuf_putc(b, '{');
    for (size_t c = 0; c < sizeof(columns) / sizeof(columns[0]); c++) {
        dynbuf_printf(b, "\"%s\":[", columns[c].name);
        gg_write_column(b, t->nodes, t->n, sizeof(gg_node), columns[c].offset, columns[c].width);
        dynbuf_puts(b, "],\n");
    }
    dynbuf_puts(b, "\"leaf\":[");
    gg_write_column(b, t->stack_leaf, s->nstacks, sizeof(uint32_t), 0, 4);
    dynbuf_puts(b, "]}");
}

static void put_strings(dynbuf *b, const char *key, const gargalo_session *s, size_t field)
{
    dynbuf_printf(b, "\"%s\":[", key);
    for (size_t i = 0; i < s->nframes; i++) {
        if (i)
            dynbuf_putc(b, ',');
        gg_write_json_str(b, *(const char *const *)((const char *)&s->frames[i] + field), true);
    }
    dynbuf_puts(b, "],\n");
}

/* Frames as columns; "name" is the function (with " [module]" for library code), or
 * "module+0xOFFSET" when unknown. Returns the first failure to make a name: emptying tmp
 * for the next one also clears its error. */
static int put_frames(dynbuf *b, const gargalo_session *s, dynbuf *tmp)
{
    int rc = 0;
    dynbuf_puts(b, "\"frames\":{\"name\":[");
    for (size_t i = 0; i < s->nframes; i++) {
        dynbuf_free(tmp);
        gg_write_frame_label(tmp, &s->frames[i]);
        if (!rc)
            rc = gg_write_error(tmp);
        if (i)
            dynbuf_putc(b, ',');
        gg_write_json_str(b, tmp->data ? tmp->data : "", true);
    }
    dynbuf_puts(b, "],\n");
    put_strings(b, "file", s, offsetof(gg_frame, file));
    put_strings(b, "module", s, offsetof(gg_frame, module));
    dynbuf_puts(b, "\"line\":[");
    for (size_t i = 0; i < s->nframes; i++)
        dynbuf_printf(b, i ? ",%d" : "%d", s->frames[i].line);
    dynbuf_puts(b, "],\"lib\":[");
    for (size_t i = 0; i < s->nframes; i++)
        dynbuf_puts(b, i ? (s->frames[i].is_library ? ",1" : ",0")
                         : (s->frames[i].is_library ? "1" : "0"));
    dynbuf_puts(b, "]},\n");
    return rc;
}

static void put_samples(dynbuf *b, const gargalo_session *s)
{
    dynbuf_puts(b, "\"samples\":{\"t\":[");
    gg_write_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, time_ns), 8);
    dynbuf_puts(b, "],\n\"w\":[");
    gg_write_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, weight_ns),
                    8);
    dynbuf_puts(b, "],\n\"s\":[");
    gg_write_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, stack), 4);
    dynbuf_puts(b, "]}");
}

static void put_header(dynbuf *b, const gargalo_session *s, const gargalo_render_options *ro)
{
    dynbuf_puts(b, "{\"title\":");
    gg_write_json_str(b, gg_write_title(ro), true);
    dynbuf_printf(b, ",\"clock\":\"%s\",\"show_all\":%s,\"start_unix_ns\":",
                  gg_write_clock_name(s->opt.clock), ro->show_all ? "true" : "false");
    gg_write_u64(b, s->start_unix_ns);
    dynbuf_puts(b, ",\"duration_ns\":");
    gg_write_u64(b, s->duration_ns);
    dynbuf_puts(b, ",\"cpu_ns\":");
    gg_write_u64(b, s->cpu_ns);
    dynbuf_printf(b, ",\"dropped\":%zu,\"tid\":%ld,\"thread\":", s->dropped, (long)s->tid);
    gg_write_json_str(b, s->thread_name, true);
    dynbuf_puts(b, ",\n");
}

static int put_data(dynbuf *b, const gargalo_session *s, const gargalo_render_options *ro)
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
    dynbuf tmp;
    dynbuf_init(&tmp, GG_RENDER_MAX_BYTES);
    put_header(b, s, ro);
    int frames_rc = put_frames(b, s, &tmp);
    dynbuf_puts(b, "\"trees\":[");
    put_tree(b, s, &grouped);
    dynbuf_puts(b, ",\n");
    put_tree(b, s, &all);
    dynbuf_puts(b, "],\n");
    put_samples(b, s);
    dynbuf_puts(b, "}");
    rc = frames_rc;
    dynbuf_free(&tmp);
    gg_tree_free(&grouped);
    gg_tree_free(&all);
    return rc;
}

/* Fills one <!--gg:NAME--> slot of the page. */
static int fill_slot(dynbuf *b, const char *name, size_t len, const gargalo_session *s,
                     const gargalo_render_options *ro)
{
    if (len == 4 && memcmp(name, "data", 4) == 0)
        return put_data(b, s, ro);
    if (len == 5 && memcmp(name, "title", 5) == 0)
        gg_write_html(b, gg_write_title(ro));
    else if (len == 3 && memcmp(name, "css", 3) == 0)
        dynbuf_add(b, gg_asset_profile_css, gg_asset_profile_css_len);
    else if (len == 2 && memcmp(name, "js", 2) == 0)
        dynbuf_add(b, gg_asset_profile_js, gg_asset_profile_js_len);
    else
        dynbuf_add(b, name - 7, len + 10); /* not ours: keep the comment */
    return 0;
}

int gg_render_html(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    const char *p = (const char *)gg_asset_profile_html;
    const char *end = p + gg_asset_profile_html_len;
    while (p < end) {
        const char *slot = strstr(p, "<!--gg:");
        const char *close = slot ? strstr(slot, "-->") : NULL;
        if (!close) {
            dynbuf_add(b, p, (size_t)(end - p));
            break;
        }
        dynbuf_add(b, p, (size_t)(slot - p));
        int rc = fill_slot(b, slot + 7, (size_t)(close - slot - 7), s, ro);
        if (rc)
            return rc;
        p = close + 3;
    }
    return 0;
}
