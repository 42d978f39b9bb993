/*
 * render_folded.c: collapsed stacks, the input of flamegraph.pl and one of speedscope's
 * importers: one "root;caller;leaf weight" line per distinct stack, in byte order, the
 * weight an integer number of nanoseconds (exact sums, the unit of gargalo's weights).
 * A process-wide session's stacks start with their thread, "name (tid)", so that a flame
 * graph shows one tower per thread.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "render_folded.h"
#include "roster.h"
#include "tally.h"
#include "tree.h"

/* Inside a run of library frames, folded into the run's outermost frame. */
static bool folded_away(const gargalo_session *s, const uint32_t *fr, uint32_t i, bool show_all)
{
    return !show_all && i > 0 && s->frames[fr[i]].is_library && s->frames[fr[i - 1]].is_library;
}

/* Makes the bytes appended to text since start safe inside a folded line. */
static void sanitize(dynbuf *text, size_t start)
{
    for (size_t i = start; !text->err && i < text->len; i++) {
        unsigned char c = (unsigned char)text->data[i];
        if (c == ';')
            text->data[i] = ':';
        else if (c < 0x20 || c == 0x7f)
            text->data[i] = ' ';
    }
}

/* Appends one stack's text, after its thread's name unless thread is NULL, and records
 * where it is. */
static void add_stack(gg_folded *f, const gargalo_session *s, uint32_t st, bool show_all,
                      const gg_thread *thread)
{
    uint32_t depth;
    const uint32_t *fr = gg_stack_frames(s, st, &depth);
    gg_folded_line *l = &f->lines[f->n++];
    l->at = f->text.len;
    if (thread) {
        gg_roster_thread_name(&f->text, thread);
        sanitize(&f->text, l->at);
        dynbuf_putc(&f->text, ';');
    }
    for (uint32_t i = 0, k = 0; i < depth; i++) {
        if (folded_away(s, fr, i, show_all))
            continue;
        if (k++)
            dynbuf_putc(&f->text, ';');
        size_t start = f->text.len;
        gg_write_frame_label(&f->text, &s->frames[fr[i]]);
        sanitize(&f->text, start);
    }
    if (depth == 0)
        dynbuf_puts(&f->text, GG_FOLDED_NO_FRAMES);
    l->len = f->text.len - l->at;
}

static int line_cmp(const void *pa, const void *pb)
{
    const gg_folded_line *a = pa, *b = pb;
    int c = memcmp(a->stack, b->stack, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Sorts the lines by stack and merges the equal ones, adding their weights. */
static void merge_lines(gg_folded *f)
{
    for (size_t i = 0; i < f->n; i++)
        f->lines[i].stack = f->text.data + f->lines[i].at;
    qsort(f->lines, f->n, sizeof(*f->lines), line_cmp);
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (k > 0 && line_cmp(&f->lines[k - 1], &f->lines[i]) == 0)
            f->lines[k - 1].weight_ns += f->lines[i].weight_ns;
        else
            f->lines[k++] = f->lines[i];
    }
    f->n = k;
}

int gg_folded_build(gg_folded *f, const gargalo_session *s, bool show_all, bool threads, size_t max)
{
    gg_tally tl;
    memset(f, 0, sizeof(*f));
    dynbuf_init(&f->text, max);
    threads = threads && s->process;
    int rc = gg_tally_build(&tl, s, threads ? GG_TALLY_THREAD : 0);
    if (!rc && !(f->lines = malloc((tl.n ? tl.n : 1) * sizeof(*f->lines))))
        rc = GARGALO_ENOMEM;
    for (size_t i = 0; !rc && i < tl.n; i++) {
        const gg_tally_entry *e = &tl.e[i];
        add_stack(f, s, e->stack, show_all, threads ? &s->threads[e->thread] : NULL);
        f->lines[f->n - 1].weight_ns = e->weight_ns;
        f->total_ns += e->weight_ns;
    }
    rc = rc ? rc : gg_write_error(&f->text);
    if (!rc)
        merge_lines(f);
    gg_tally_free(&tl);
    if (rc)
        gg_folded_free(f);
    return rc;
}

void gg_folded_free(gg_folded *f)
{
    dynbuf_free(&f->text);
    free(f->lines);
    memset(f, 0, sizeof(*f));
}

int gg_render_folded(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    gg_folded f;
    int rc = gg_folded_build(&f, s, ro->show_all, true, ro->max_bytes);
    if (rc)
        return rc;
    for (size_t i = 0; i < f.n; i++) {
        dynbuf_add(b, f.lines[i].stack, f.lines[i].len);
        dynbuf_putc(b, ' ');
        gg_write_u64(b, f.lines[i].weight_ns);
        dynbuf_putc(b, '\n');
    }
    gg_folded_free(&f);
    return gg_write_error(b);
}
