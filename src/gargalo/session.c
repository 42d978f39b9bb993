/*
 * session.c: builds and frees the resolved side of a session (frames, stacks, samples),
 * and answers gargalo_session_stats.
 *
 * Frames and stacks are deduplicated through indexes that live only while a session is
 * being built (by gargalo_stop or by the JSON loader).
 */
#include "session.h"

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

int gg_session_add_sample(gargalo_session *s, uint64_t time_ns, uint64_t weight_ns, uint32_t stack)
{
    int rc = GG_GROW(&s->samples, &s->samples_cap, s->nsamples + 1);
    if (rc)
        return rc;
    s->samples[s->nsamples++] = (gg_sample){time_ns, weight_ns, stack};
    return 0;
}

void gg_session_finish(gargalo_session *s)
{
    gg_index_free(&s->frame_index);
    gg_index_free(&s->stack_index);
}

void gg_session_free_resolved(gargalo_session *s)
{
    gg_session_finish(s);
    gg_arena_free(&s->strings);
    free(s->frames);
    free(s->stack_frames);
    free(s->stacks);
    free(s->samples);
    s->frames = NULL, s->stack_frames = NULL, s->stacks = NULL, s->samples = NULL;
    s->nframes = s->nstack_frames = s->nstacks = s->nsamples = 0;
    s->frames_cap = s->stack_frames_cap = s->stacks_cap = s->samples_cap = 0;
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
    for (size_t i = 0; i < s->nsamples; i++)
        st->sampled_ns += s->samples[i].weight_ns;
    return 0;
}
