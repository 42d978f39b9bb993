/*
 * view.c: the filtered session of view.h: one pass over the samples, deciding per label
 * set (few) whether it carries the tag, and per sample whether its thread is kept.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#include "options.h"

/* Whether label set `set` holds key=value (key of key_len bytes, value after '='). */
static bool set_has(const gargalo_session *s, uint32_t set, const char *tag, size_t key_len)
{
    uint32_t n;
    const gg_label *l = gg_labelset_labels(s, set, &n);
    for (uint32_t i = 0; i < n; i++)
        if (strncmp(l[i].key, tag, key_len) == 0 && l[i].key[key_len] == '\0' &&
            strcmp(l[i].value, tag + key_len + 1) == 0)
            return true;
    return false;
}

/* Per label set, whether it carries the tag; NULL (with rc 0) when there is no tag. */
static int tagged_sets(const gargalo_session *s, const char *tag, bool **out)
{
    size_t key_len;
    *out = NULL;
    if (!tag)
        return 0;
    gg_render_tag_split(tag, &key_len);
    *out = calloc(s->nlabelsets ? s->nlabelsets : 1, sizeof(**out));
    if (!*out)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < s->nlabelsets; i++)
        (*out)[i] = set_has(s, (uint32_t)i, tag, key_len);
    return 0;
}

/* The index of the thread with id tid in *index; GARGALO_EINVAL when there is none. */
static int thread_index(const gargalo_session *s, long tid, uint32_t *index)
{
    for (size_t i = 0; i < s->nthreads; i++)
        if ((long)s->threads[i].tid == tid) {
            *index = (uint32_t)i;
            return 0;
        }
    return GARGALO_EINVAL;
}

static void keep_samples(gg_view *v, const gargalo_session *s, const bool *tagged, uint32_t th)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        const gg_sample *sm = &s->samples[i];
        if (tagged && (sm->labels == GG_NO_LABELS || !tagged[sm->labels]))
            continue;
        if (th != UINT32_MAX && sm->thread != th)
            continue;
        v->samples[k++] = *sm;
    }
    v->s.samples = v->samples, v->s.nsamples = v->s.samples_cap = k;
}

static void keep_markers(gg_view *v, const gargalo_session *s, uint32_t th)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nmarkers; i++)
        if (th == UINT32_MAX || s->markers[i].thread == th)
            v->markers[k++] = s->markers[i];
    v->s.markers = v->markers, v->s.nmarkers = v->s.markers_cap = k;
}

int gg_view_make(gg_view *v, const gargalo_session *s, const gargalo_render_options *ro,
                 const gargalo_session **out)
{
    uint32_t th = UINT32_MAX;
    bool *tagged = NULL;
    memset(v, 0, sizeof(*v));
    *out = s;
    if (!ro->tag && !ro->thread)
        return 0;
    int rc = ro->thread ? thread_index(s, ro->thread, &th) : 0;
    if (!rc)
        rc = tagged_sets(s, ro->tag, &tagged);
    v->samples = rc ? NULL : malloc((s->nsamples ? s->nsamples : 1) * sizeof(*v->samples));
    v->markers = rc ? NULL : malloc((s->nmarkers ? s->nmarkers : 1) * sizeof(*v->markers));
    if (!rc && (!v->samples || !v->markers))
        rc = GARGALO_ENOMEM;
    if (!rc) {
        v->s = *s;
        keep_samples(v, s, tagged, th);
        keep_markers(v, s, th);
        *out = &v->s;
    }
    free(tagged);
    return rc;
}

void gg_view_free(gg_view *v)
{
    free(v->samples);
    free(v->markers);
    memset(v, 0, sizeof(*v));
}
