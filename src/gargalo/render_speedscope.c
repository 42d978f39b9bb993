/*
 * render_speedscope.c: speedscope's file format, as one "sampled" profile in nanoseconds
 * with the samples in time order (https://www.speedscope.app/file-format-schema.json).
 *
 * One speedscope frame per function, so that lines of one function do not split it in
 * the flame graph; its line is the smallest seen, the nearest we know to where it
 * starts. Unless show_all, a run of library frames becomes its outermost function, as in
 * the call tree, and functions only seen inside such runs are left out. Each distinct
 * stack is written once and copied for each of its samples. A process-wide session is one
 * profile per thread, named "name (tid)", in the order of roster.h (busiest first), so
 * that speedscope opens on the busiest and lists the others.
 *
 * Markers follow as "evented" profiles (open and close events), one per thread that has
 * any, with one frame per kind of marker, "category: text", after the functions' frames;
 * the sampled profiles stay first.
 */
#include <stdlib.h>
#include <string.h>

#include "markers.h"
#include "render.h"
#include "roster.h"
#include "tree.h"

#define GG_SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"
#define GG_EXPORTER "gargalo 0.1.0"

typedef struct gg_scope {
    const gargalo_session *s;
    dynbuf *b;
    bool show_all;
    uint32_t *fid;   /* per frame: first frame of its function */
    uint32_t *out;   /* per first frame: its speedscope index, once a stack uses it */
    uint32_t *order; /* per speedscope index: the first frame it stands for */
    uint32_t nout;
    dynbuf stacks;           /* every stack as "[i,j,k]", back to back */
    size_t *soff;            /* stack i is stacks.data[soff[i] .. soff[i + 1]) */
    gg_marker_index markers; /* by thread, then start: the events' order */
    gg_marker_kinds kinds;   /* frame nout + k is kind k */
} gg_scope;

/* The speedscope index of frame's function, numbered in order of first use, so that
 * functions only folded inside library runs are not listed at all. */
static uint32_t output_index(gg_scope *x, uint32_t frame)
{
    uint32_t f = x->fid[frame];
    if (x->out[f] == UINT32_MAX) {
        x->order[x->nout] = f;
        x->out[f] = x->nout++;
    }
    return x->out[f];
}

/* Writes each stack once into x->stacks, folding library runs unless show_all. */
static int encode_stacks(gg_scope *x)
{
    const gargalo_session *s = x->s;
    size_t n = s->nframes ? s->nframes : 1;
    x->out = malloc(n * sizeof(*x->out));
    x->order = malloc(n * sizeof(*x->order));
    x->soff = malloc((s->nstacks + 1) * sizeof(*x->soff));
    if (!x->out || !x->order || !x->soff)
        return GARGALO_ENOMEM;
    memset(x->out, 0xff, n * sizeof(*x->out));
    for (uint32_t st = 0; st < s->nstacks; st++) {
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, st, &depth);
        x->soff[st] = x->stacks.len;
        dynbuf_putc(&x->stacks, '[');
        for (uint32_t i = 0, k = 0; i < depth; i++) {
            bool lib = s->frames[fr[i]].is_library;
            if (!x->show_all && lib && i > 0 && s->frames[fr[i - 1]].is_library)
                continue;
            if (k++)
                dynbuf_putc(&x->stacks, ',');
            gg_write_u64(&x->stacks, output_index(x, fr[i]));
        }
        dynbuf_putc(&x->stacks, ']');
    }
    x->soff[s->nstacks] = x->stacks.len;
    return gg_write_error(&x->stacks);
}

/* Returns the failure to make the frame's name, if any: emptying label for the next
 * frame also clears its error. */
static int put_frame(gg_scope *x, uint32_t f, int line, dynbuf *label)
{
    const gg_frame *fr = &x->s->frames[f];
    dynbuf_free(label);
    gg_write_frame_label(label, fr);
    if (gg_write_error(label))
        return gg_write_error(label);
    dynbuf_puts(x->b, "{\"name\":");
    gg_write_json_str(x->b, label->data ? label->data : "", false);
    if (fr->file) {
        dynbuf_puts(x->b, ",\"file\":");
        gg_write_json_str(x->b, fr->file, false);
        if (line)
            dynbuf_printf(x->b, ",\"line\":%d", line);
    }
    dynbuf_putc(x->b, '}');
    return 0;
}

/* One frame per kind of marker, named "category: text". */
static void put_marker_frames(gg_scope *x, dynbuf *label)
{
    for (size_t k = 0; k < x->kinds.n; k++) {
        dynbuf_free(label);
        dynbuf_printf(label, "%s: %s", x->kinds.kinds[k].category ? x->kinds.kinds[k].category : "",
                      x->kinds.kinds[k].text ? x->kinds.kinds[k].text : "");
        dynbuf_puts(x->b, x->nout + k ? ",\n{\"name\":" : "\n{\"name\":");
        gg_write_json_str(x->b, label->data ? label->data : "", false);
        dynbuf_putc(x->b, '}');
    }
}

static int put_frames(gg_scope *x)
{
    const gargalo_session *s = x->s;
    int *lines = calloc(s->nframes ? s->nframes : 1, sizeof(*lines));
    if (!lines)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nframes; i++) {
        int *l = &lines[x->fid[i]];
        if (s->frames[i].line > 0 && (!*l || s->frames[i].line < *l))
            *l = s->frames[i].line;
    }
    dynbuf label;
    dynbuf_init(&label, GG_RENDER_MAX_BYTES);
    dynbuf_puts(x->b, "\"shared\":{\"frames\":[");
    int rc = 0;
    for (uint32_t k = 0; k < x->nout && !rc; k++) {
        dynbuf_puts(x->b, k ? ",\n" : "\n");
        rc = put_frame(x, x->order[k], lines[x->order[k]], &label);
    }
    put_marker_frames(x, &label);
    dynbuf_free(&label);
    free(lines);
    dynbuf_puts(x->b, "]},\n");
    return rc;
}

/* The sample at place i of a profile's list: idx[i], or i itself when idx is NULL. */
static size_t nth(const uint32_t *idx, size_t i)
{
    return idx ? idx[i] : i;
}

/* One sampled profile of n samples, in time order (see nth). */
static void put_profile(gg_scope *x, const char *name, const uint32_t *idx, size_t n)
{
    const gg_sample *sm = x->s->samples;
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++)
        end += sm[nth(idx, i)].weight_ns;
    dynbuf_puts(x->b, "{\"type\":\"sampled\",\"name\":");
    gg_write_json_str(x->b, name, false);
    dynbuf_puts(x->b, ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":");
    gg_write_u64(x->b, end);
    dynbuf_puts(x->b, ",\n\"samples\":[");
    for (size_t i = 0; i < n; i++) {
        uint32_t st = sm[nth(idx, i)].stack;
        if (i)
            dynbuf_puts(x->b, i % 16 ? "," : ",\n");
        dynbuf_add(x->b, x->stacks.data + x->soff[st], x->soff[st + 1] - x->soff[st]);
    }
    dynbuf_puts(x->b, "],\n\"weights\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            dynbuf_puts(x->b, i % 32 ? "," : ",\n");
        gg_write_u64(x->b, sm[nth(idx, i)].weight_ns);
    }
    dynbuf_puts(x->b, "]}");
}

/* The samples grouped by thread, each group in time order: thread t's are
 * idx[start[t] .. start[t + 1]). */
static int group_by_thread(const gargalo_session *s, uint32_t **idx, size_t **start)
{
    *idx = malloc((s->nsamples ? s->nsamples : 1) * sizeof(**idx));
    *start = calloc(s->nthreads + 2, sizeof(**start));
    if (!*idx || !*start)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nsamples; i++)
        (*start)[s->samples[i].thread + 2]++;
    for (size_t t = 2; t < s->nthreads + 2; t++)
        (*start)[t] += (*start)[t - 1];
    for (size_t i = 0; i < s->nsamples; i++) /* start[t + 1] is where thread t's go next */
        (*idx)[(*start)[s->samples[i].thread + 1]++] = (uint32_t)i;
    return 0;
}

/* One profile per thread with samples, busiest first; one empty profile when none has. */
static int put_thread_profiles(gg_scope *x, const char *title)
{
    gg_roster r;
    uint32_t *idx = NULL;
    size_t *start = NULL;
    dynbuf name;
    dynbuf_init(&name, GG_RENDER_MAX_BYTES);
    int rc = gg_roster_build(&r, x->s);
    if (!rc)
        rc = group_by_thread(x->s, &idx, &start);
    if (!rc && !r.n)
        put_profile(x, title, NULL, 0);
    for (size_t i = 0; !rc && i < r.n; i++) {
        uint32_t t = r.order[i];
        dynbuf_free(&name);
        gg_roster_thread_name(&name, &x->s->threads[t]);
        if (i)
            dynbuf_puts(x->b, ",\n");
        put_profile(x, name.data ? name.data : "", idx + start[t], start[t + 1] - start[t]);
    }
    rc = rc ? rc : gg_write_error(&name);
    dynbuf_free(&name);
    gg_roster_free(&r);
    free(idx), free(start);
    return rc;
}

static void put_event(gg_scope *x, char type, uint32_t kind, uint64_t at, size_t *n)
{
    dynbuf_puts(x->b, (*n)++ ? ",\n{\"type\":\"" : "{\"type\":\"");
    dynbuf_putc(x->b, type);
    dynbuf_puts(x->b, "\",\"frame\":");
    gg_write_u64(x->b, x->nout + kind);
    dynbuf_puts(x->b, ",\"at\":");
    gg_write_u64(x->b, at);
    dynbuf_putc(x->b, '}');
}

/* The markers of one thread, order[first .. last), as open and close events in time
 * order, nested as speedscope requires: a marker outliving the one it began in is cut at
 * that one's end. open_end and open_kind hold the markers still open. */
static void put_events(gg_scope *x, size_t first, size_t last, uint64_t *open_end,
                       uint32_t *open_kind)
{
    size_t depth = 0, n = 0;
    for (size_t i = first; i < last; i++) {
        uint32_t m = x->markers.order[i], kind = x->kinds.of[m];
        const gg_marker *mk = &x->s->markers[m];
        while (depth && open_end[depth - 1] <= mk->start_ns) {
            depth--;
            put_event(x, 'C', open_kind[depth], open_end[depth], &n);
        }
        uint64_t end = depth && open_end[depth - 1] < mk->end_ns ? open_end[depth - 1] : mk->end_ns;
        put_event(x, 'O', kind, mk->start_ns, &n);
        open_end[depth] = end > mk->start_ns ? end : mk->start_ns;
        open_kind[depth++] = kind;
    }
    while (depth--)
        put_event(x, 'C', open_kind[depth], open_end[depth], &n);
}

/* The markers still open while a thread's events are written, and the profile's name. */
typedef struct gg_open {
    uint64_t *end;
    uint32_t *kind;
    dynbuf name;
} gg_open;

/* One evented profile: "markers", or "markers: thread NAME (TID)" when several threads
 * have some. It spans the session, or more if a marker ends after it. */
static void put_marker_profile(gg_scope *x, size_t first, size_t last, bool several, gg_open *o)
{
    const gargalo_session *s = x->s;
    uint32_t th = s->markers[x->markers.order[first]].thread;
    uint64_t end = s->duration_ns;
    for (size_t i = first; i < last; i++)
        if (s->markers[x->markers.order[i]].end_ns > end)
            end = s->markers[x->markers.order[i]].end_ns;
    dynbuf_free(&o->name);
    dynbuf_puts(&o->name, "markers");
    if (several && th < s->nthreads)
        dynbuf_printf(&o->name, ": thread %s (%ld)", s->threads[th].name, (long)s->threads[th].tid);
    dynbuf_puts(x->b, ",\n{\"type\":\"evented\",\"name\":");
    gg_write_json_str(x->b, o->name.data ? o->name.data : "markers", false);
    dynbuf_puts(x->b, ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":");
    gg_write_u64(x->b, end);
    dynbuf_puts(x->b, ",\n\"events\":[");
    put_events(x, first, last, o->end, o->kind);
    dynbuf_puts(x->b, "]}");
}

/* An evented profile per thread with markers (the index orders them by thread). */
static int put_marker_profiles(gg_scope *x)
{
    const gargalo_session *s = x->s;
    const uint32_t *order = x->markers.order;
    size_t n = s->nmarkers ? s->nmarkers : 1;
    gg_open o = {.end = malloc(n * sizeof(*o.end)), .kind = malloc(n * sizeof(*o.kind))};
    dynbuf_init(&o.name, GG_RENDER_MAX_BYTES);
    bool several =
        s->nmarkers && s->markers[order[0]].thread != s->markers[order[s->nmarkers - 1]].thread;
    for (size_t first = 0, i = 1; o.end && o.kind && first < s->nmarkers; i++)
        if (i == s->nmarkers || s->markers[order[i]].thread != s->markers[order[first]].thread) {
            put_marker_profile(x, first, i, several, &o);
            first = i;
        }
    int rc = o.end && o.kind ? gg_write_error(&o.name) : GARGALO_ENOMEM;
    free(o.end), free(o.kind);
    dynbuf_free(&o.name);
    return rc;
}

int gg_render_speedscope(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    gg_scope x = {.s = s, .b = b, .show_all = ro->show_all};
    dynbuf_init(&x.stacks, ro->max_bytes);
    int rc = gg_function_ids(s, &x.fid);
    if (!rc)
        rc = encode_stacks(&x);
    if (!rc)
        rc = gg_marker_index_build(&x.markers, s);
    if (!rc)
        rc = gg_marker_kinds_build(&x.kinds, s);
    if (!rc) {
        dynbuf_puts(b, "{\"$schema\":\"" GG_SPEEDSCOPE_SCHEMA "\",\n\"exporter\":\"" GG_EXPORTER
                       "\",\"activeProfileIndex\":0,\"name\":");
        gg_write_json_str(b, gg_write_title(ro), false);
        dynbuf_puts(b, ",\n");
        rc = put_frames(&x);
    }
    if (!rc) {
        dynbuf_puts(b, "\"profiles\":[");
        if (s->process)
            rc = put_thread_profiles(&x, gg_write_title(ro));
        else
            put_profile(&x, gg_write_title(ro), NULL, s->nsamples);
        if (!rc)
            rc = put_marker_profiles(&x);
        dynbuf_puts(b, "]}\n");
    }
    free(x.fid), free(x.out), free(x.order), free(x.soff);
    gg_marker_index_free(&x.markers);
    gg_marker_kinds_free(&x.kinds);
    dynbuf_free(&x.stacks);
    return rc;
}
