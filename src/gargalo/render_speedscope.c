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
 */
#include <stdlib.h>
#include <string.h>

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
    dynbuf stacks; /* every stack as "[i,j,k]", back to back */
    size_t *soff;  /* stack i is stacks.data[soff[i] .. soff[i + 1]) */
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

int gg_render_speedscope(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    gg_scope x = {.s = s, .b = b, .show_all = ro->show_all};
    dynbuf_init(&x.stacks, ro->max_bytes);
    int rc = gg_function_ids(s, &x.fid);
    if (!rc)
        rc = encode_stacks(&x);
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
        dynbuf_puts(b, "]}\n");
    }
    free(x.fid), free(x.out), free(x.order), free(x.soff);
    dynbuf_free(&x.stacks);
    return rc;
}
