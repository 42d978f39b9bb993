/*
 * render_html.c: one self-contained, offline HTML page. The page itself lives in
 * assets/profile.{html,css,js}; this file fills its <!--gg:NAME--> slots with the CSS,
 * the script and the session as JSON (both call trees, already built, the samples and
 * markers for the timeline, and the SQL statements' figures), so the script never has to
 * repeat the tree's rules.
 */
#include <stddef.h>
#include <string.h>

#include "markers.h"
#include "render.h"
#include "tree.h"
#include "write.h"

/* The category of markers the page lists as SQL statements. */
#define GG_SQL_CATEGORY "sql"

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
 * "module+0xOFFSET" when unknown. */
static void put_frames(dynbuf *b, const gargalo_session *s, dynbuf *tmp)
{
    dynbuf_puts(b, "\"frames\":{\"name\":[");
    for (size_t i = 0; i < s->nframes; i++) {
        dynbuf_free(tmp);
        gg_write_frame_label(tmp, &s->frames[i]);
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
    dynbuf_puts(b, "],\n\"th\":[");
    gg_write_column(b, s->samples, s->nsamples, sizeof(gg_sample), offsetof(gg_sample, thread), 4);
    dynbuf_puts(b, "]},\n");
}

static void put_threads(dynbuf *b, const gargalo_session *s)
{
    dynbuf_puts(b, "\"threads\":{\"tid\":[");
    for (size_t i = 0; i < s->nthreads; i++)
        dynbuf_printf(b, i ? ",%ld" : "%ld", (long)s->threads[i].tid);
    dynbuf_puts(b, "],\"name\":[");
    for (size_t i = 0; i < s->nthreads; i++) {
        if (i)
            dynbuf_putc(b, ',');
        gg_write_json_str(b, s->threads[i].name, true);
    }
    dynbuf_puts(b, "]},\n");
}

/* Markers as columns, each naming its kind (category and text) and its thread. */
static void put_marker_columns(dynbuf *b, const gargalo_session *s, const gg_marker_kinds *k)
{
    static const struct {
        const char *name;
        size_t offset, width;
    } cols[] = {{"start", offsetof(gg_marker, start_ns), 8},
                {"end", offsetof(gg_marker, end_ns), 8},
                {"thread", offsetof(gg_marker, thread), 4}};
    dynbuf_puts(b, "\"markers\":{");
    for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
        dynbuf_printf(b, "\"%s\":[", cols[c].name);
        gg_write_column(b, s->markers, s->nmarkers, sizeof(gg_marker), cols[c].offset,
                        cols[c].width);
        dynbuf_puts(b, "],");
    }
    dynbuf_puts(b, "\"kind\":[");
    gg_write_column(b, k->of, s->nmarkers, sizeof(uint32_t), 0, 4);
    dynbuf_printf(b, "],\"dropped\":%zu},\n", s->markers_dropped);
}

/* The kinds of marker, most total time first: category, text, count, total. */
static void put_kinds(dynbuf *b, const gg_marker_kinds *k)
{
    dynbuf_puts(b, "\"kinds\":{\"category\":[");
    for (size_t i = 0; i < k->n; i++) {
        dynbuf_puts(b, i ? "," : "");
        gg_write_json_str(b, k->kinds[i].category, true);
    }
    dynbuf_puts(b, "],\n\"text\":[");
    for (size_t i = 0; i < k->n; i++) {
        dynbuf_puts(b, i ? ",\n" : "");
        gg_write_json_str(b, k->kinds[i].text, true);
    }
    dynbuf_puts(b, "],\n\"count\":[");
    gg_write_column(b, k->kinds, k->n, sizeof(gg_marker_kind), offsetof(gg_marker_kind, count), 4);
    dynbuf_puts(b, "],\"total\":[");
    gg_write_column(b, k->kinds, k->n, sizeof(gg_marker_kind), offsetof(gg_marker_kind, total_ns),
                    8);
    dynbuf_puts(b, "]},\n");
}

/* The SQL statements (kinds of category "sql"), most total time first: the samples their
 * executions cover and the functions those samples were in. */
static void put_sql(dynbuf *b, const gg_marker_kinds *k, const gg_marker_sites *ms)
{
    size_t site = 0, n = 0;
    dynbuf_puts(b, "\"sql\":[");
    for (uint32_t kd = 0; kd < k->n; kd++) {
        if (!k->kinds[kd].category || strcmp(k->kinds[kd].category, GG_SQL_CATEGORY) != 0)
            continue;
        dynbuf_printf(b, "%s{\"kind\":%u,\"samples\":%llu,\"ns\":", n++ ? ",\n" : "", kd,
                      (unsigned long long)ms->samples[kd]);
        gg_write_u64(b, ms->ns[kd]);
        dynbuf_puts(b, ",\"sites\":[");
        for (size_t first = site; site < ms->n && ms->sites[site].kind == kd; site++)
            dynbuf_printf(b, "%s{\"frame\":%u,\"samples\":%llu,\"ns\":%llu}",
                          site > first ? "," : "", ms->sites[site].frame,
                          (unsigned long long)ms->sites[site].samples,
                          (unsigned long long)ms->sites[site].ns);
        dynbuf_puts(b, "]}");
    }
    dynbuf_puts(b, "]");
}

/* Threads, markers, their kinds and the SQL statements. */
static int put_markers(dynbuf *b, const gargalo_session *s)
{
    gg_marker_index ix;
    gg_marker_kinds k;
    gg_marker_sites ms = {0};
    int rc = gg_marker_index_build(&ix, s);
    if (rc)
        return rc;
    rc = gg_marker_kinds_build(&k, s);
    if (!rc)
        rc = gg_marker_sites_build(&ms, &ix, &k, GG_SQL_CATEGORY);
    if (!rc) {
        put_threads(b, s);
        put_marker_columns(b, s, &k);
        put_kinds(b, &k);
        put_sql(b, &k, &ms);
    }
    gg_marker_sites_free(&ms);
    gg_marker_kinds_free(&k);
    gg_marker_index_free(&ix);
    return rc;
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
    put_frames(b, s, &tmp);
    dynbuf_puts(b, "\"trees\":[");
    put_tree(b, s, &grouped);
    dynbuf_puts(b, ",\n");
    put_tree(b, s, &all);
    dynbuf_puts(b, "],\n");
    put_samples(b, s);
    rc = put_markers(b, s);
    dynbuf_puts(b, "}");
    rc = rc ? rc : gg_write_error(&tmp);
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
