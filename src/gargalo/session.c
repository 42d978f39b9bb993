/*
 * session.c: builds and frees the resolved side of a session (frames, stacks, samples),
 * and answers gargalo_session_stats.
 *
 * Frames and stacks are deduplicated through indexes that live only while a session is
 * being built (by gargalo_stop or by the JSON loader).
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

gargalo_session *gg_session_new(void)
{
    gargalo_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    gargalo_options_init(&s->opt);
    s->mechanism = GARGALO_MECHANISM_SIGNAL;
    s->state = GG_STOPPED;
    return s;
}

static uint64_t frame_hash(const gg_frame *f)
{
    uint64_t h = gg_hash_str(GG_HASH_SEED, f->function);
    h = gg_hash_str(h, f->file);
    h = gg_hash_str(h, f->module);
    uint64_t nums[2] = {(uint64_t)(unsigned)f->line, f->offset};
    h = gg_hash_bytes(h, nums, sizeof(nums));
    return gg_hash_bytes(h, (bool[]){f->inlined, f->is_library}, 2 * sizeof(bool));
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool frame_eq(const void *ctx, uint32_t idx, const void *key)
{
    const gg_frame *a = &((const gargalo_session *)ctx)->frames[idx], *b = key;
    return a->line == b->line && a->offset == b->offset && a->inlined == b->inlined &&
           a->is_library == b->is_library && str_eq(a->function, b->function) &&
           str_eq(a->file, b->file) && str_eq(a->module, b->module);
}

/* The frame's strings as arena copies. */
static int intern_frame(gargalo_session *s, const gg_frame *f, gg_frame *copy)
{
    *copy = *f;
    int rc = gg_arena_intern(&s->strings, f->function, &copy->function);
    if (!rc)
        rc = gg_arena_intern(&s->strings, f->file, &copy->file);
    if (!rc)
        rc = gg_arena_intern(&s->strings, f->module, &copy->module);
    return rc;
}

/* Makes room for entry n of an indexed array, and indexes it under hash h. */
static int index_next(gg_index *ix, uint64_t h, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n >= GG_INDEX_NONE - 1)
        return GARGALO_ENOMEM;
    int rc = gg_grow(arr, cap, n + 1, elem);
    return rc ? rc : gg_index_put(ix, h, (uint32_t)n);
}

int gg_session_add_frame(gargalo_session *s, const gg_frame *f, uint32_t *index)
{
    uint64_t h = frame_hash(f);
    uint32_t found = gg_index_get(&s->frame_index, h, frame_eq, s, f);
    if (found != GG_INDEX_NONE) {
        *index = found;
        return 0;
    }
    gg_frame copy;
    int rc = intern_frame(s, f, &copy);
    if (!rc)
        rc = index_next(&s->frame_index, h, (void **)&s->frames, &s->frames_cap, s->nframes,
                        sizeof(gg_frame));
    if (rc)
        return rc;
    s->frames[s->nframes] = copy;
    *index = (uint32_t)s->nframes++;
    return 0;
}

typedef struct gg_stack_key {
    const uint32_t *frames;
    uint32_t depth;
} gg_stack_key;

static bool stack_eq(const void *ctx, uint32_t idx, const void *key)
{
    const gg_stack_key *k = key;
    uint32_t d;
    const uint32_t *f = gg_stack_frames(ctx, idx, &d);
    /* memcmp may not be given the NULL of an empty stack, even for 0 bytes */
    return d == k->depth && (d == 0 || memcmp(f, k->frames, d * sizeof(*f)) == 0);
}

int gg_session_add_stack(gargalo_session *s, const uint32_t *frames, uint32_t depth,
                         uint32_t *index)
{
    gg_stack_key key = {frames, depth};
    uint64_t h = gg_hash_bytes(GG_HASH_SEED, frames, depth * sizeof(*frames));
    uint32_t found = gg_index_get(&s->stack_index, h, stack_eq, s, &key);
    if (found != GG_INDEX_NONE) {
        *index = found;
        return 0;
    }
    if (s->nstack_frames + depth >= UINT32_MAX)
        return GARGALO_ENOMEM;
    int rc = GG_GROW(&s->stack_frames, &s->stack_frames_cap, s->nstack_frames + depth);
    if (!rc)
        rc = index_next(&s->stack_index, h, (void **)&s->stacks, &s->stacks_cap, s->nstacks,
                        sizeof(gg_stack));
    if (rc)
        return rc;
    if (depth)
        memcpy(s->stack_frames + s->nstack_frames, frames, depth * sizeof(*frames));
    s->stacks[s->nstacks] = (gg_stack){(uint32_t)s->nstack_frames, depth};
    s->nstack_frames += depth;
    *index = (uint32_t)s->nstacks++;
    return 0;
}

int gg_session_add_sample(gargalo_session *s, const gg_sample *sample)
{
    int rc = GG_GROW(&s->samples, &s->samples_cap, s->nsamples + 1);
    if (rc)
        return rc;
    s->samples[s->nsamples++] = *sample;
    return 0;
}

int gg_session_add_thread(gargalo_session *s, pid_t tid, const char *name, uint32_t *index)
{
    for (size_t i = 0; i < s->nthreads; i++) { /* a handful of threads: a scan will do */
        if (s->threads[i].tid != tid)
            continue;
        if (!s->threads[i].name[0] && name)
            snprintf(s->threads[i].name, sizeof(s->threads[i].name), "%s", name);
        *index = (uint32_t)i;
        return 0;
    }
    int rc = GG_GROW(&s->threads, &s->threads_cap, s->nthreads + 1);
    if (rc)
        return rc;
    gg_thread *t = &s->threads[s->nthreads];
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
    *index = (uint32_t)s->nthreads++;
    return 0;
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const gg_label *)a)->key, ((const gg_label *)b)->key);
}

static uint64_t labels_hash(const gg_label *l, uint32_t n)
{
    uint64_t h = GG_HASH_SEED;
    for (uint32_t i = 0; i < n; i++)
        h = gg_hash_str(gg_hash_str(h, l[i].key), l[i].value);
    return h;
}

typedef struct gg_labels_key {
    const gg_label *labels;
    uint32_t n;
} gg_labels_key;

/* Strings are interned in the arena, so equal labels have equal pointers. */
static bool labelset_eq(const void *ctx, uint32_t idx, const void *key)
{
    const gargalo_session *s = ctx;
    const gg_labels_key *k = key;
    uint32_t n;
    const gg_label *l = gg_labelset_labels(s, idx, &n);
    for (uint32_t i = 0; n == k->n && i < n; i++)
        if (l[i].key != k->labels[i].key || l[i].value != k->labels[i].value)
            return false;
    return n == k->n;
}

/* The labels, interned and sorted, appended to s->labels (not yet a set). */
static int stage_labels(gargalo_session *s, const gg_label *in, uint32_t n)
{
    int rc = GG_GROW(&s->labels, &s->labels_cap, s->nlabels + n);
    gg_label *out = rc ? NULL : s->labels + s->nlabels;
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = gg_arena_intern(&s->strings, in[i].key, &out[i].key);
        if (!rc)
            rc = gg_arena_intern(&s->strings, in[i].value ? in[i].value : "", &out[i].value);
    }
    if (!rc && n > 1)
        qsort(out, n, sizeof(*out), label_cmp);
    return rc;
}

int gg_session_add_labelset(gargalo_session *s, const gg_label *labels, uint32_t n, uint32_t *index)
{
    int rc = s->nlabels + n >= UINT32_MAX ? GARGALO_ENOMEM : stage_labels(s, labels, n);
    if (rc)
        return rc;
    gg_labels_key key = {s->labels + s->nlabels, n};
    uint64_t h = labels_hash(key.labels, n);
    uint32_t found = gg_index_get(&s->labelset_index, h, labelset_eq, s, &key);
    if (found != GG_INDEX_NONE) {
        *index = found;
        return 0;
    }
    rc = index_next(&s->labelset_index, h, (void **)&s->labelsets, &s->labelsets_cap, s->nlabelsets,
                    sizeof(gg_labelset));
    if (rc)
        return rc;
    s->labelsets[s->nlabelsets] = (gg_labelset){(uint32_t)s->nlabels, n};
    s->nlabels += n;
    *index = (uint32_t)s->nlabelsets++;
    return 0;
}

int gg_session_add_module(gargalo_session *s, const gg_module *m)
{
    for (size_t i = 0; i < s->nmodules; i++) /* tens of modules: a scan will do */
        if (strcmp(s->modules[i].name, m->name) == 0)
            return 0;
    gg_module copy = *m;
    int rc = gg_arena_intern(&s->strings, m->name, &copy.name);
    if (!rc)
        rc = gg_arena_intern(&s->strings, m->path, &copy.path);
    if (!rc)
        rc = gg_arena_intern(&s->strings, m->build_id, &copy.build_id);
    if (!rc)
        rc = GG_GROW(&s->modules, &s->modules_cap, s->nmodules + 1);
    if (!rc)
        s->modules[s->nmodules++] = copy;
    return rc;
}

int gg_session_add_marker(gargalo_session *s, const gg_marker *m)
{
    gg_marker copy = *m;
    int rc = gg_arena_intern(&s->strings, m->category, &copy.category);
    if (!rc)
        rc = gg_arena_intern(&s->strings, m->text, &copy.text);
    if (!rc)
        rc = GG_GROW(&s->markers, &s->markers_cap, s->nmarkers + 1);
    if (!rc)
        s->markers[s->nmarkers++] = copy;
    return rc;
}

void gg_session_finish(gargalo_session *s)
{
    gg_index_free(&s->frame_index);
    gg_index_free(&s->stack_index);
    gg_index_free(&s->labelset_index);
}

void gg_session_free_resolved(gargalo_session *s)
{
    gg_session_finish(s);
    gg_arena_free(&s->strings);
    free(s->frames);
    free(s->stack_frames);
    free(s->stacks);
    free(s->samples);
    free(s->threads);
    free(s->labels);
    free(s->labelsets);
    free(s->markers);
    free(s->modules);
    s->modules = NULL, s->nmodules = s->modules_cap = 0;
    s->frames = NULL, s->stack_frames = NULL, s->stacks = NULL, s->samples = NULL;
    s->threads = NULL, s->labels = NULL, s->labelsets = NULL, s->markers = NULL;
    s->nframes = s->nstack_frames = s->nstacks = s->nsamples = 0;
    s->frames_cap = s->stack_frames_cap = s->stacks_cap = s->samples_cap = 0;
    s->nthreads = s->nlabels = s->nlabelsets = s->nmarkers = 0;
    s->threads_cap = s->labels_cap = s->labelsets_cap = s->markers_cap = 0;
}

int gargalo_session_stats(const gargalo_session *s, gargalo_stats *st)
{
    if (!s || !st)
        return GARGALO_EINVAL;
    if (s->state != GG_STOPPED)
        return GARGALO_ESTATE;
    memset(st, 0, sizeof(*st));
    st->duration_ns = s->duration_ns;
    st->cpu_ns = s->cpu_ns;
    st->symbolize_ns = s->symbolize_ns;
    st->samples = s->nsamples;
    st->dropped = s->dropped;
    st->frames = s->nframes;
    st->clock = s->opt.clock;
    st->mechanism = s->mechanism;
    st->process = s->process;
    st->threads = s->nthreads;
    st->markers = s->nmarkers;
    st->markers_dropped = s->markers_dropped;
    for (size_t i = 0; i < s->nsamples; i++)
        st->sampled_ns += s->samples[i].weight_ns;
    return 0;
}
