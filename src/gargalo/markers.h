/*
 * markers.h: a session's marked intervals (gargalo_mark_begin .. gargalo_mark_end) as the
 * renderers read them (private). An index answers "which markers cover this moment of
 * this thread", innermost first; kinds group the markers by category and text, heaviest
 * first; sites say which functions of the program ran inside the markers of a category.
 * A marker covers the samples of its own thread taken at start <= time < end.
 */
#ifndef GG_MARKERS_H
#define GG_MARKERS_H

#include <stdint.h>

#include "session.h"

#define GG_NO_MARKER UINT32_MAX

typedef struct gg_marker_index {
    const gargalo_session *s;
    /* Every marker, by thread, then start, then longest first: an outer marker comes
     * before the markers nested in it. */
    uint32_t *order;
    /* Per marker: the marker of its thread it lies in (the nearest one before it in
     * order still open at its start), or GG_NO_MARKER. */
    uint32_t *outer;
} gg_marker_index;

/* Builds the index of s's markers. Returns 0 or GARGALO_ENOMEM (ix is then empty). */
int gg_marker_index_build(gg_marker_index *ix, const gargalo_session *s);
void gg_marker_index_free(gg_marker_index *ix);

/* The innermost marker of that thread covering t (the latest to start, the shortest of
 * those starting together), or GG_NO_MARKER. */
uint32_t gg_marker_at(const gg_marker_index *ix, uint32_t thread, uint64_t t);
/* The next marker out from m that also covers t, or GG_NO_MARKER: with gg_marker_at,
 * every marker covering a moment, innermost first. */
uint32_t gg_marker_outer(const gg_marker_index *ix, uint32_t m, uint64_t t);

/* The innermost marker covering a sample (same thread, start <= time < end), or
 * GG_NO_MARKER: what a format labels the sample with. */
static inline uint32_t gg_sample_marker(const gg_marker_index *ix, const gg_sample *sm)
{
    return gg_marker_at(ix, sm->thread, sm->time_ns);
}

/* Markers of one category and text, such as every execution of one SQL statement. */
typedef struct gg_marker_kind {
    const char *category, *text;
    uint32_t count;    /* markers of this kind */
    uint64_t total_ns; /* their durations added up */
    uint32_t id;       /* its place in the order of category, then text */
} gg_marker_kind;

typedef struct gg_marker_kinds {
    gg_marker_kind *kinds; /* most total time first; then by category, then text */
    size_t n;
    uint32_t *of; /* per marker of the session: its kind */
} gg_marker_kinds;

/* Groups s's markers into kinds. Returns 0 or GARGALO_ENOMEM (k is then empty). */
int gg_marker_kinds_build(gg_marker_kinds *k, const gargalo_session *s);
void gg_marker_kinds_free(gg_marker_kinds *k);

/* A function that ran inside the markers of a kind: of the samples those markers cover,
 * the ones whose innermost frame outside libraries (their innermost frame when every
 * frame is a library's) belongs to this function. For an SQL statement, the code that
 * ran it. */
typedef struct gg_marker_site {
    uint32_t kind;
    uint32_t frame;   /* of the function's frames there, the one most of the samples had */
    uint64_t samples; /* how many */
    uint64_t ns;      /* their weight */
} gg_marker_site;

typedef struct gg_marker_sites {
    /* Per kind of the category: the samples its markers cover, each counted once
     * however many of its markers cover it, and their weight; 0 for other kinds. */
    uint64_t *samples, *ns;
    gg_marker_site *sites; /* by kind, then most samples first */
    size_t n;
} gg_marker_sites;

/* The sites of every kind of markers whose category is category. Returns 0 or
 * GARGALO_ENOMEM (out is then empty). */
int gg_marker_sites_build(gg_marker_sites *out, const gg_marker_index *ix, const gg_marker_kinds *k,
                          const char *category);
void gg_marker_sites_free(gg_marker_sites *out);

/* For each sample, the kinds of the markers covering it: of each category, the innermost
 * marker's. Samples covered alike share one set, so that a format writing one entry per
 * distinct combination (pprof's samples, labelled with them) grows with the sets, not
 * the samples. */
typedef struct gg_marker_set {
    uint32_t first, count; /* in gg_marker_sets.kinds */
} gg_marker_set;

typedef struct gg_marker_sets {
    uint32_t *of;    /* per sample: its set, or GG_NO_MARKER when no marker covers it */
    uint32_t *kinds; /* each set's kinds, ascending, set after set */
    size_t nkinds, kinds_cap;
    gg_marker_set *sets;
    size_t n, cap;
} gg_marker_sets;

/* At most this many categories label one sample: the innermost ones. */
#define GG_MARKER_SET_MAX 16

/* The sets of s's samples. Returns 0 or GARGALO_ENOMEM (out is then empty). */
int gg_marker_sets_build(gg_marker_sets *out, const gg_marker_index *ix, const gg_marker_kinds *k);
void gg_marker_sets_free(gg_marker_sets *out);

#endif
