/*
 * session.c: builds and frees the resolved side of a session (frames, stacks, samples).
 *
 * Frames and stacks are deduplicated with small open-addressing hash tables that live only
 * while a session is being built (by gargalo_stop or by the JSON loader).
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gg_table {
    uint32_t *slots; /* index + 1 of a frame or stack; 0 is empty */
    size_t cap;      /* power of two */
    size_t used;
} gg_table;

struct gg_intern {
    gg_table frames;
    gg_table stacks;
};

uint64_t gg_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

gargalo_session *gg_session_new(void)
{
    gargalo_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    gargalo_options_init(&s->opt);
    s->state = GG_STOPPED;
    return s;
}

/* FNV-1a, folded over strings and integers. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211u;
    return h;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return s ? hash_bytes(h, s, strlen(s) + 1) : hash_bytes(h, "", 1);
}

static uint64_t frame_hash(const gg_frame *f)
{
    uint64_t h = 1469598103934665603u;
    h = hash_str(h, f->function);
    h = hash_str(h, f->file);
    h = hash_str(h, f->module);
    h = hash_bytes(h, &f->line, sizeof(f->line));
    h = hash_bytes(h, &f->offset, sizeof(f->offset));
    return hash_bytes(h, &f->inlined, sizeof(f->inlined));
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool frame_eq(const gg_frame *a, const gg_frame *b)
{
    return a->line == b->line && a->offset == b->offset && a->inlined == b->inlined &&
           a->is_library == b->is_library && str_eq(a->function, b->function) &&
           str_eq(a->file, b->file) && str_eq(a->module, b->module);
}

static uint64_t stack_hash(const uint32_t *frames, uint32_t depth)
{
    return hash_bytes(1469598103934665603u, frames, depth * sizeof(*frames));
}

static bool stack_eq(const gargalo_session *s, uint32_t idx, const uint32_t *frames, uint32_t depth)
{
    uint32_t d;
    const uint32_t *f = gg_stack_frames(s, idx, &d);
    return d == depth && memcmp(f, frames, depth * sizeof(*frames)) == 0;
}

/* Grows an array of elem-sized items so that one more fits. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int table_grow(gg_table *t)
{
    if (t->cap && (t->used + 1) * 4 < t->cap * 3)
        return 0;
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    uint32_t *slots = calloc(ncap, sizeof(*slots));
    if (!slots)
        return -1;
    free(t->slots); /* callers rehash from the session arrays below */
    t->slots = slots;
    t->cap = ncap;
    t->used = 0;
    return 1;
}

static void table_put(gg_table *t, uint64_t h, uint32_t idx)
{
    size_t i = h & (t->cap - 1);
    while (t->slots[i])
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = idx + 1;
    t->used++;
}

static int ensure_intern(gargalo_session *s)
{
    if (!s->intern)
        s->intern = calloc(1, sizeof(*s->intern));
    return s->intern ? 0 : -1;
}

static int frame_table_ready(gargalo_session *s)
{
    gg_table *t = &s->intern->frames;
    int rc = table_grow(t);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < s->nframes; i++)
        table_put(t, frame_hash(&s->frames[i]), (uint32_t)i);
    return 0;
}

static int stack_table_ready(gargalo_session *s)
{
    gg_table *t = &s->intern->stacks;
    int rc = table_grow(t);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < s->nstacks; i++) {
        uint32_t d;
        const uint32_t *f = gg_stack_frames(s, (uint32_t)i, &d);
        table_put(t, stack_hash(f, d), (uint32_t)i);
    }
    return 0;
}

static char *dup_or_null(const char *p, bool *failed)
{
    if (!p)
        return NULL;
    char *d = strdup(p);
    if (!d)
        *failed = true;
    return d;
}

int64_t gg_session_add_frame(gargalo_session *s, const gg_frame *f)
{
    if (ensure_intern(s) || frame_table_ready(s))
        return -1;
    gg_table *t = &s->intern->frames;
    uint64_t h = frame_hash(f);
    for (size_t i = h & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (frame_eq(&s->frames[t->slots[i] - 1], f))
            return t->slots[i] - 1;
    if (s->nframes >= UINT32_MAX - 1 ||
        grow((void **)&s->frames, &s->frames_cap, s->nframes + 1, sizeof(gg_frame)))
        return -1;
    bool failed = false;
    gg_frame copy = *f;
    copy.function = dup_or_null(f->function, &failed);
    copy.file = dup_or_null(f->file, &failed);
    copy.module = dup_or_null(f->module, &failed);
    if (failed) {
        free(copy.function), free(copy.file), free(copy.module);
        return -1;
    }
    s->frames[s->nframes] = copy;
    table_put(t, h, (uint32_t)s->nframes);
    return (int64_t)s->nframes++;
}

int64_t gg_session_add_stack(gargalo_session *s, const uint32_t *frames, uint32_t depth)
{
    if (ensure_intern(s) || stack_table_ready(s))
        return -1;
    gg_table *t = &s->intern->stacks;
    uint64_t h = stack_hash(frames, depth);
    for (size_t i = h & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (stack_eq(s, t->slots[i] - 1, frames, depth))
            return t->slots[i] - 1;
    if (s->nstack_frames + depth >= UINT32_MAX || s->nstacks >= UINT32_MAX - 1)
        return -1;
    if (grow((void **)&s->stack_frames, &s->stack_frames_cap, s->nstack_frames + depth,
             sizeof(uint32_t)) ||
        grow((void **)&s->stacks, &s->stacks_cap, s->nstacks + 1, sizeof(gg_stack)))
        return -1;
    if (depth)
        memcpy(s->stack_frames + s->nstack_frames, frames, depth * sizeof(*frames));
    s->stacks[s->nstacks] = (gg_stack){(uint32_t)s->nstack_frames, depth};
    s->nstack_frames += depth;
    table_put(t, h, (uint32_t)s->nstacks);
    return (int64_t)s->nstacks++;
}

int gg_session_add_sample(gargalo_session *s, uint64_t time_ns, uint64_t weight_ns, uint32_t stack)
{
    if (grow((void **)&s->samples, &s->samples_cap, s->nsamples + 1, sizeof(gg_sample)))
        return GARGALO_ENOMEM;
    s->samples[s->nsamples++] = (gg_sample){time_ns, weight_ns, stack};
    return 0;
}

void gg_session_finish(gargalo_session *s)
{
    if (!s->intern)
        return;
    free(s->intern->frames.slots);
    free(s->intern->stacks.slots);
    free(s->intern);
    s->intern = NULL;
}

void gg_session_free_resolved(gargalo_session *s)
{
    gg_session_finish(s);
    for (size_t i = 0; i < s->nframes; i++) {
        free(s->frames[i].function);
        free(s->frames[i].file);
        free(s->frames[i].module);
    }
    free(s->frames);
    free(s->stack_frames);
    free(s->stacks);
    free(s->samples);
    s->frames = NULL, s->stack_frames = NULL, s->stacks = NULL, s->samples = NULL;
    s->nframes = s->nstack_frames = s->nstacks = s->nsamples = 0;
    s->frames_cap = s->stack_frames_cap = s->stacks_cap = s->samples_cap = 0;
}
