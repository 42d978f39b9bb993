/*
 * view.h: the part of a session that the render options' filters keep (tag, thread), as
 * a session every renderer reads like any other. gargalo_render and gargalo_diff_render
 * make one before rendering, so every format filters the same way, in one place.
 */
#ifndef GG_VIEW_H
#define GG_VIEW_H

#include "gargalo.h"
#include "session.h"

/* A session sharing the original's tables (frames, stacks, threads, labels, modules),
 * with only the samples, and markers, that the filters keep. */
typedef struct gg_view {
    gargalo_session s; /* a shallow copy: read it, never free or build on it */
    gg_sample *samples;
    gg_marker *markers;
} gg_view;

/* Points *out at s itself when ro (checked) filters nothing, else at v->s, holding the
 * samples of s (in order) that carry ro->tag and belong to the thread ro->thread, and the
 * markers of that thread. Returns 0, GARGALO_EINVAL (no thread with the id ro->thread)
 * or GARGALO_ENOMEM. Free with gg_view_free either way. */
int gg_view_make(gg_view *v, const gargalo_session *s, const gargalo_render_options *ro,
                 const gargalo_session **out);
void gg_view_free(gg_view *v);

#endif
