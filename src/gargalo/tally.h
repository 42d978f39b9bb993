/*
 * tally.h: a session's samples summed per distinct stack, thread and label set (and, for
 * the caller that asks, a key of its own per sample, such as the markers covering it),
 * for the outputs that write one entry per distinct combination (pprof's samples, a
 * process-wide call tree or folded stacks), so their cost follows the combinations, not
 * the samples.
 */
#ifndef GG_TALLY_H
#define GG_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

typedef struct gg_tally_entry {
    uint32_t thread, stack, labels;
    uint32_t extra;              /* the caller's key (gg_tally_build_with), else UINT32_MAX */
    uint64_t weight_ns, samples; /* summed weight, and count, of its samples */
} gg_tally_entry;

typedef struct gg_tally {
    gg_tally_entry *e; /* sorted by thread, then stack, then label set, then extra */
    size_t n;
} gg_tally;

/* What to tell apart besides the stack. A part not asked for is 0 (thread) or
 * GG_NO_LABELS (labels) in every entry. */
enum { GG_TALLY_THREAD = 1, GG_TALLY_LABELS = 2 };

/* Sums the samples of a stopped session. Returns 0 or GARGALO_ENOMEM (t left empty). */
int gg_tally_build(gg_tally *t, const gargalo_session *s, unsigned by);
/* The same, also telling apart samples whose extra[] differ (one entry per sample). */
int gg_tally_build_with(gg_tally *t, const gargalo_session *s, unsigned by, const uint32_t *extra);
void gg_tally_free(gg_tally *t);

/* The entry of (thread, stack) with the lowest label set, or NULL: a binary search. */
const gg_tally_entry *gg_tally_find(const gg_tally *t, uint32_t thread, uint32_t stack);

#endif
