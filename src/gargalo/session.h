/*
 * session.h: the recorded profile as every part of gargalo sees it (private).
 *
 * A session has two lives. While running, the sampler owns the raw side (program counters
 * written by the sample source, see sampler.h). After gargalo_stop, or after loading a
 * saved JSON session, it holds only resolved data: a table of distinct frames, a table of
 * distinct stacks (frame indices, root first) and the samples in time order, each naming
 * a stack. Every string a frame names lives in the session's arena. Renderers read only
 * the resolved side.
 */
#ifndef GG_SESSION_H
#define GG_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena.h"
#include "gargalo.h"
#include "index.h"

typedef struct gg_frame {
    const char *function; /* symbol or inlined function name; NULL when unknown */
    const char *file;     /* source file; NULL when unknown */
    int line;             /* source line; 0 when unknown */
    const char *module;   /* basename of the executable or library holding the code */
    uint64_t offset;      /* address relative to the module's load base (for "lib+0x1234") */
    bool is_library;      /* code of a system library (libc, libsqlite3, ...), not the program */
    bool inlined;         /* inlined into the frame nearer the root in the same stack */
} gg_frame;

typedef struct gg_stack {
    uint32_t first; /* index of its first (root) frame index in session->stack_frames */
    uint32_t depth; /* number of frames, root first, leaf last */
} gg_stack;

#define GG_NO_LABELS UINT32_MAX

typedef struct gg_sample {
    uint64_t time_ns;   /* when it was taken, from the session start */
    uint64_t weight_ns; /* the time it stands for (clock delta since the previous sample) */
    uint32_t stack;     /* index in session->stacks */
    uint32_t thread;    /* index in session->threads */
    uint32_t labels;    /* index in session->labelsets, or GG_NO_LABELS */
} gg_sample;

/* A thread that samples were taken of. */
typedef struct gg_thread {
    pid_t tid;
    char name[16];
    uint64_t cpu_ns; /* the weight of its samples taken on the CPU */
} gg_thread;

/* One label, key=value; a label set is a run of labels sorted by key. */
typedef struct gg_label {
    const char *key, *value;
} gg_label;

typedef struct gg_labelset {
    uint32_t first, count; /* in session->labels */
} gg_labelset;

/* A module (the program or a library) that frames name, for formats that describe it. */
typedef struct gg_module {
    const char *name;     /* basename, the one its frames carry */
    const char *path;     /* NULL when unknown */
    const char *build_id; /* lowercase hex, NULL when unknown */
    uint64_t start, end;  /* where its code was loaded */
} gg_module;

/* A marked interval of one thread (gargalo_mark_begin .. gargalo_mark_end). */
typedef struct gg_marker {
    uint64_t start_ns, end_ns; /* wall time from the session start */
    const char *category, *text;
    uint32_t thread; /* index in session->threads */
} gg_marker;

typedef enum gg_state { GG_RUNNING, GG_STOPPED } gg_state;

struct gg_sampler; /* sampler.c */

struct gargalo_session {
    gargalo_options opt;
    gargalo_mechanism mechanism; /* what took the samples: _PERF or _SIGNAL */
    gg_state state;
    bool process; /* every thread of the process was sampled, not one */
    pid_t tid;    /* the thread that was profiled (process: that started the session) */
    char thread_name[16];
    uint64_t start_unix_ns; /* CLOCK_REALTIME at start, for display */
    uint64_t duration_ns;
    uint64_t cpu_ns;
    uint64_t symbolize_ns;
    size_t dropped;
    struct gg_sampler *sampler;     /* raw side, NULL once stopped */
    struct gg_process *process_run; /* raw side of a process-wide session, likewise */

    gg_arena strings; /* every string the frames name */
    gg_frame *frames;
    size_t nframes, frames_cap;
    uint32_t *stack_frames;
    size_t nstack_frames, stack_frames_cap;
    gg_stack *stacks;
    size_t nstacks, stacks_cap;
    gg_sample *samples;
    size_t nsamples, samples_cap;
    gg_thread *threads;
    size_t nthreads, threads_cap;
    gg_label *labels;
    size_t nlabels, labels_cap;
    gg_labelset *labelsets;
    size_t nlabelsets, labelsets_cap;
    gg_marker *markers;
    size_t nmarkers, markers_cap;
    gg_module *modules;
    size_t nmodules, modules_cap;
    size_t markers_dropped; /* marked intervals that found no room while recording */
    gg_index frame_index, stack_index, labelset_index; /* dedupe while building */
};

/* A new, empty, stopped session with default options, or NULL when out of memory. */
gargalo_session *gg_session_new(void);

/* Builders. Each copies its input (strings into the arena) and sets *index to the
 * entry's index; identical frames and identical stacks are stored once. They return 0 or
 * GARGALO_ENOMEM. A stack's frame indices must be below nframes. */
int gg_session_add_frame(gargalo_session *s, const gg_frame *f, uint32_t *index);
int gg_session_add_stack(gargalo_session *s, const uint32_t *frames, uint32_t depth,
                         uint32_t *index);
int gg_session_add_sample(gargalo_session *s, const gg_sample *sample);
/* A thread is stored once per tid (a later name replaces an empty one). */
int gg_session_add_thread(gargalo_session *s, pid_t tid, const char *name, uint32_t *index);
/* A label set: n labels (in any order, keys distinct), stored sorted by key, once. */
int gg_session_add_labelset(gargalo_session *s, const gg_label *labels, uint32_t n,
                            uint32_t *index);
int gg_session_add_marker(gargalo_session *s, const gg_marker *m);
/* A module is stored once per name; the first description wins. */
int gg_session_add_module(gargalo_session *s, const gg_module *m);
/* Drops the dedupe indexes once building is over. */
void gg_session_finish(gargalo_session *s);

/* Frees the resolved side (frames, stacks, samples, strings); the sampler frees the raw
 * side. The session stays valid and empty. */
void gg_session_free_resolved(gargalo_session *s);

/* The labels of a set, sorted by key; *n is 0 for GG_NO_LABELS. */
static inline const gg_label *gg_labelset_labels(const gargalo_session *s, uint32_t set,
                                                 uint32_t *n)
{
    *n = set == GG_NO_LABELS ? 0 : s->labelsets[set].count;
    return *n ? s->labels + s->labelsets[set].first : NULL;
}

/* The frames of a stack, root first. */
static inline const uint32_t *gg_stack_frames(const gargalo_session *s, uint32_t stack,
                                              uint32_t *depth)
{
    *depth = s->stacks[stack].depth;
    return s->stack_frames + s->stacks[stack].first;
}

#endif
