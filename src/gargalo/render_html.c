/*
 * render_html.c: one self-contained, offline HTML page. The page itself lives in
 * assets/profile.{html,css,js}; this file fills its <!--gg:NAME--> slots with the CSS,
 * the script and the session as JSON (both call trees, already built, the samples and
 * markers for the timeline, the SQL statements' figures and the descriptors blocked
 * samples waited on), so the script never has to repeat the tree's rules.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "markers.h"
#include "render.h"
#include "tree.h"
#include "waiting.h"
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

/* A tree as the page gets it. With thread roots, and idle threads folded (the tree
 * without show_all), the idle threads' subtrees are cut off, and a leaf per wait call
 * they are parked in takes their place: their roots come last under the root, so their
 * subtrees are the tail of the depth-first node array, and the nodes kept stay in order. */
typedef struct gg_html_tree {
    const gargalo_session *s;
    const gg_tree *t;
    size_t n;                /* nodes of t kept: all but the folded idle threads' */
    gg_roster_group *groups; /* the folded groups; node n + g is group g */
    gg_node *gnodes;         /* their nodes */
    size_t ngroups;
    uint32_t *sleaf; /* with thread roots: per sample, the node where it ends */
} gg_html_tree;

static void html_tree_free(gg_html_tree *h)
{
    free(h->groups), free(h->gnodes), free(h->sleaf);
}

/* The first root of an idle thread, or t->n when there is none. */
static size_t idle_cut(const gg_tree *t)
{
    for (uint32_t c = t->nodes[0].first_child; c != GG_TREE_NONE; c = t->nodes[c].next)
        if (t->nodes[c].idle)
            return c;
    return t->n;
}

/* One leaf under the root per group of idle threads. */
static int fold_idle(gg_html_tree *h)
{
    const gg_roster *r = &h->t->roster;
    h->n = idle_cut(h->t);
    h->groups = malloc(r->nidle * sizeof(*h->groups));
    h->gnodes = malloc(r->nidle * sizeof(*h->gnodes));
    if (!h->groups || !h->gnodes)
        return GARGALO_ENOMEM;
    h->ngroups = gg_roster_groups(r, h->groups);
    for (size_t g = 0; g < h->ngroups; g++)
        h->gnodes[g] = (gg_node){.frame = GG_TREE_NONE,
                                 .parent = 0,
                                 .depth = 1,
                                 .total_ns = h->groups[g].weight_ns,
                                 .self_ns = h->groups[g].weight_ns,
                                 .samples = h->groups[g].samples,
                                 .thread = GG_TREE_NONE};
    return 0;
}

/* The group node of a folded thread. */
static uint32_t group_node(const gg_html_tree *h, uint32_t thread)
{
    uint32_t call = h->t->roster.threads[thread].parked;
    size_t g = 0;
    while (g + 1 < h->ngroups && h->groups[g].call != call)
        g++;
    return (uint32_t)(h->n + g);
}

/* Per sample, the node where it ends: with thread roots a stack ends in a different node
 * in each thread, so the page cannot go by stack. */
static int sample_leaves(gg_html_tree *h)
{
    const gargalo_session *s = h->s;
    h->sleaf = malloc((s->nsamples ? s->nsamples : 1) * sizeof(*h->sleaf));
    if (!h->sleaf)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nsamples; i++) {
        uint32_t leaf = gg_tree_sample_leaf(h->t, &s->samples[i]);
        h->sleaf[i] = leaf < h->n ? leaf : group_node(h, s->samples[i].thread);
    }
    return 0;
}

static int html_tree_make(gg_html_tree *h, const gargalo_session *s, const gg_tree *t, bool fold)
{
    *h = (gg_html_tree){.s = s, .t = t, .n = t->n};
    if (!gg_tree_threaded(t))
        return 0;
    int rc = fold && t->roster.nidle ? fold_idle(h) : 0;
    return rc ? rc : sample_leaves(h);
}

/* "name":[...] of each node column: the nodes kept, then the groups'. */
static void put_nodes(dynbuf *b, const gg_html_tree *h)
{
    for (size_t c = 0; c < sizeof(node_columns) / sizeof(node_columns[0]); c++) {
        const gg_html_column *col = &node_columns[c];
        dynbuf_printf(b, "%s\"%s\":[", c ? ",\n" : "", col->name);
        gg_write_column(b, h->t->nodes, h->n, sizeof(gg_node), col->offset, col->width);
        if (h->n && h->ngroups)
            dynbuf_putc(b, ',');
        gg_write_column(b, h->gnodes, h->ngroups, sizeof(gg_node), col->offset, col->width);
        dynbuf_putc(b, ']');
    }
}

/* One entry of "roots": {node, thread (-1 for a group), cpu, parked (null for a busy
 * thread), name}. name is emptied first: emptying a dynbuf also clears its error. */
static void put_root(dynbuf *b, uint64_t node, int64_t thread, uint64_t cpu, const char *parked,
                     dynbuf *name)
{
    dynbuf_printf(b, "{\"node\":%llu,\"thread\":%lld,\"cpu\":", (unsigned long long)node,
                  (long long)thread);
    gg_write_u64(b, cpu);
    dynbuf_puts(b, ",\"parked\":");
    gg_write_json_str(b, parked, true);
    dynbuf_puts(b, ",\"name\":");
    gg_write_json_str(b, name->data ? name->data : "", true);
    dynbuf_putc(b, '}');
}

/* ,"roots":[...]: what the page says of each node under the root, threads' and groups'. */
static int put_roots(dynbuf *b, const gg_html_tree *h)
{
    const gg_tree *t = h->t;
    int rc = 0;
    dynbuf name;
    dynbuf_init(&name, GG_RENDER_MAX_BYTES);
    dynbuf_puts(b, ",\n\"roots\":[");
    for (uint32_t c = t->nodes[0].first_child; c < h->n; c = t->nodes[c].next) {
        const gg_node *nd = &t->nodes[c];
        dynbuf_free(&name);
        gg_roster_thread_name(&name, &h->s->threads[nd->thread]);
        rc = rc ? rc : gg_write_error(&name);
        dynbuf_puts(b, c == t->nodes[0].first_child ? "" : ",\n");
        put_root(b, c, nd->thread, h->s->threads[nd->thread].cpu_ns,
                 nd->idle ? gg_roster_call_name(t->roster.threads[nd->thread].parked) : NULL,
                 &name);
    }
    for (size_t g = 0; g < h->ngroups; g++) {
        dynbuf_free(&name);
        gg_roster_group_label(&name, h->s, &t->roster, &h->groups[g]);
        rc = rc ? rc : gg_write_error(&name);
        dynbuf_puts(b, h->n > 1 || g ? ",\n" : "");
        put_root(b, h->n + g, -1, 0, gg_roster_call_name(h->groups[g].call), &name);
    }
    dynbuf_putc(b, ']');
    dynbuf_free(&name);
    return rc;
}

/* A tree as columns: nodes in depth-first order, node 0 the root (parent -1); then for
 * each stack of the session the node where it ends or, with thread roots, for each
 * sample, and the roots of the threads. */
static int put_tree(dynbuf *b, const gg_html_tree *h)
{
    int rc = 0;
    dynbuf_putc(b, '{');
    put_nodes(b, h);
    if (!gg_tree_threaded(h->t))
        put_indices(b, "leaf", h->t->stack_leaf, h->s->nstacks);
    else {
        put_indices(b, "sleaf", h->sleaf, h->s->nsamples);
        rc = put_roots(b, h);
    }
    dynbuf_putc(b, '}');
    return rc;
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

/* One descriptor blocked samples waited on: {fd (-1: none), what (null: none), ns,
 * samples, calls: [{name, ns, samples}], most time first}. */
static void put_wait(dynbuf *b, const gg_waits *ws, const gg_wait *w)
{
    char name[64];
    dynbuf_printf(b, "{\"fd\":%d,\"what\":", (int)w->fd);
    gg_write_json_str(b, w->what, true);
    dynbuf_printf(b, ",\"ns\":%llu,\"samples\":%llu,\"calls\":[", (unsigned long long)w->ns,
                  (unsigned long long)w->samples);
    for (size_t c = 0; c < w->ncalls; c++) {
        const gg_wait_call *call = &ws->calls[w->first_call + c];
        snprintf(name, sizeof(name), "%.*s", (int)call->len, call->name);
        dynbuf_puts(b, c ? ",{\"name\":" : "{\"name\":");
        gg_write_json_str(b, name, true);
        dynbuf_printf(b, ",\"ns\":%llu,\"samples\":%llu}", (unsigned long long)call->ns,
                      (unsigned long long)call->samples);
    }
    dynbuf_puts(b, "]}");
}

/* ,"waits":{rows, stack}: the descriptors blocked samples waited on, most time first, and
 * per stack of the session the row its leaf is, or -1 (empty when no row). */
static int put_waits(dynbuf *b, const gargalo_session *s)
{
    gg_waits ws;
    int rc = gg_waits_build(&ws, s);
    if (rc)
        return rc;
    dynbuf_puts(b, ",\n\"waits\":{\"rows\":[");
    for (size_t i = 0; i < ws.n; i++) {
        dynbuf_puts(b, i ? ",\n" : "");
        put_wait(b, &ws, &ws.w[i]);
    }
    dynbuf_putc(b, ']');
    put_indices(b, "stack", ws.of_stack, ws.n ? s->nstacks : 0); /* none blocked: no need */
    dynbuf_putc(b, '}');
    gg_waits_free(&ws);
    return 0;
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

/* The two trees the page switches between: library runs and idle threads folded, and
 * every frame and thread shown. */
static int put_trees(dynbuf *b, const gargalo_session *s)
{
    gg_tree t[2] = {0};
    gg_html_tree h[2] = {0};
    int rc = 0;
    for (int all = 0; all < 2 && !rc; all++) {
        gg_tree_options o = {.show_all = all, .threads = true};
        rc = gg_tree_build_with(&t[all], s, &o);
        if (!rc)
            rc = html_tree_make(&h[all], s, &t[all], !all);
    }
    dynbuf_puts(b, "\"trees\":[");
    for (int all = 0; all < 2 && !rc; all++) {
        dynbuf_puts(b, all ? ",\n" : "");
        rc = put_tree(b, &h[all]);
    }
    dynbuf_puts(b, "],\n");
    for (int all = 0; all < 2; all++)
        html_tree_free(&h[all]), gg_tree_free(&t[all]);
    return rc;
}

static int put_data(dynbuf *b, const gargalo_session *s, const gargalo_render_options *ro)
{
    dynbuf tmp;
    dynbuf_init(&tmp, GG_RENDER_MAX_BYTES);
    put_header(b, s, ro);
    int frames_rc = put_frames(b, s, &tmp);
    dynbuf_free(&tmp);
    int rc = put_trees(b, s);
    if (rc)
        return rc;
    put_samples(b, s);
    rc = put_markers(b, s);
    rc = rc ? rc : put_waits(b, s);
    dynbuf_puts(b, "}");
    return frames_rc ? frames_rc : rc;
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
