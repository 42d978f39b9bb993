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

/* A field of a struct the page needs as a column of numbers (see gg_write_column). */
typedef struct gg_html_column {
    const char *name;
    size_t offset, width;
} gg_html_column;

#define GG_COLUMNS(cols) cols, sizeof(cols) / sizeof(cols[0])

static const gg_html_column node_columns[] = {
    {"parent", offsetof(gg_node, parent), 4}, {"frame", offsetof(gg_node, frame), 4},
    {"hidden", offsetof(gg_node, hidden), 4}, {"total", offsetof(gg_node, total_ns), 8},
    {"self", offsetof(gg_node, self_ns), 8},  {"count", offsetof(gg_node, samples), 8},
};
static const gg_html_column sample_columns[] = {
    {"t", offsetof(gg_sample, time_ns), 8},
    {"w", offsetof(gg_sample, weight_ns), 8},
    {"s", offsetof(gg_sample, stack), 4},
    {"th", offsetof(gg_sample, thread), 4},
};
static const gg_html_column marker_columns[] = {
    {"start", offsetof(gg_marker, start_ns), 8},
    {"end", offsetof(gg_marker, end_ns), 8},
    {"thread", offsetof(gg_marker, thread), 4},
};
static const gg_html_column kind_columns[] = {
    {"count", offsetof(gg_marker_kind, count), 4},
    {"total", offsetof(gg_marker_kind, total_ns), 8},
};

/* Appends "name":[...] for each column of n structs of stride bytes at base, separated by
 * commas. */
static void put_columns(dynbuf *b, const gg_html_column *cols, size_t ncols, const void *base,
                        size_t n, size_t stride)
{
    for (size_t c = 0; c < ncols; c++) {
        dynbuf_printf(b, "%s\"%s\":[", c ? ",\n" : "", cols[c].name);
        gg_write_column(b, base, n, stride, cols[c].offset, cols[c].width);
        dynbuf_putc(b, ']');
    }
}

/* Appends ,"name":[...] of n indices (-1 for none). */
static void put_indices(dynbuf *b, const char *name, const uint32_t *v, size_t n)
{
    dynbuf_printf(b, ",\n\"%s\":[", name);
    gg_write_column(b, v, n, sizeof(uint32_t), 0, 4);
    dynbuf_putc(b, ']');
}

/* A tree as columns: nodes in depth-first order, node 0 the root (parent -1), and for
 * each stack of the session the node where it ends. */
static void put_tree(dynbuf *b, const gargalo_session *s, const gg_tree *t)
{
    dynbuf_putc(b, '{');
    put_columns(b, GG_COLUMNS(node_columns), t->nodes, t->n, sizeof(gg_node));
    put_indices(b, "leaf", t->stack_leaf, s->nstacks);
    dynbuf_putc(b, '}');
}

/* Appends "key":[...] of the string at offset field in each of n structs of stride
 * bytes at base, and a comma. */
static void put_strings(dynbuf *b, const char *key, const void *base, size_t n, size_t stride,
                        size_t field)
{
    dynbuf_printf(b, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            dynbuf_putc(b, ',');
        gg_write_json_str(b, *(const char *const *)((const char *)base + i * stride + field), true);
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
    put_strings(b, "file", s->frames, s->nframes, sizeof(gg_frame), offsetof(gg_frame, file));
    put_strings(b, "module", s->frames, s->nframes, sizeof(gg_frame), offsetof(gg_frame, module));
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
    dynbuf_puts(b, "\"samples\":{");
    put_columns(b, GG_COLUMNS(sample_columns), s->samples, s->nsamples, sizeof(gg_sample));
    dynbuf_puts(b, "},\n");
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
    dynbuf_puts(b, "\"markers\":{");
    put_columns(b, GG_COLUMNS(marker_columns), s->markers, s->nmarkers, sizeof(gg_marker));
    put_indices(b, "kind", k->of, s->nmarkers);
    dynbuf_printf(b, ",\"dropped\":%zu},\n", s->markers_dropped);
}

/* The kinds of marker, most total time first: category, text, count, total. */
static void put_kinds(dynbuf *b, const gg_marker_kinds *k)
{
    const size_t size = sizeof(gg_marker_kind);
    dynbuf_puts(b, "\"kinds\":{");
    put_strings(b, "category", k->kinds, k->n, size, offsetof(gg_marker_kind, category));
    put_strings(b, "text", k->kinds, k->n, size, offsetof(gg_marker_kind, text));
    put_columns(b, GG_COLUMNS(kind_columns), k->kinds, k->n, size);
    dynbuf_puts(b, "},\n");
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
    int frames_rc = put_frames(b, s, &tmp);
    dynbuf_puts(b, "\"trees\":[");
    put_tree(b, s, &grouped);
    dynbuf_puts(b, ",\n");
    put_tree(b, s, &all);
    dynbuf_puts(b, "],\n");
    put_samples(b, s);
    rc = put_markers(b, s);
    dynbuf_puts(b, "}");
    rc = frames_rc ? frames_rc : rc;
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
