/*
 * load.c: gargalo_session_load: reads a session saved in gargalo's own JSON format
 * (render_json.c writes it; its header describes the document). The loader trusts
 * nothing: any type, range or index error is GARGALO_EFORMAT, never a crash.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Deeper stacks than this are refused on load; the sampler records far fewer. */
#define GG_LOAD_MAX_DEPTH 65536

/* What the loader carries between the parts of the document. */
typedef struct gg_loader {
    gargalo_session *s;
    uint32_t *frame_map; /* file frame index -> session frame index (dedup may merge) */
    size_t nframes;
    uint32_t *stack_map; /* file stack index -> session stack index */
    size_t nstacks;
    uint32_t *labelset_map; /* file label set index -> session label set index */
    size_t nlabelsets;
} gg_loader;

/* A non-negative integer no larger than max. */
static bool get_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool get_field(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
    return get_uint(json_object_get(o, key), max, out);
}

/* A string, or null / missing (NULL). */
static bool get_str(const json_t *o, const char *key, const char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    return !v || json_is_null(v) || json_is_string(v);
}

static bool get_bool(const json_t *o, const char *key, bool *out)
{
    const json_t *v = json_object_get(o, key);
    *out = json_is_true(v);
    return json_is_boolean(v);
}

/* "0x" and 1 to 16 hex digits. */
static bool get_hex(const json_t *o, const char *key, uint64_t *out)
{
    const char *p = json_string_value(json_object_get(o, key));
    if (!p || p[0] != '0' || p[1] != 'x' || !p[2] || strlen(p) > 18)
        return false;
    *out = 0;
    for (p += 2; *p; p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : -1;
        if (d < 0)
            return false;
        *out = *out << 4 | (uint64_t)d;
    }
    return true;
}

/* "clock", and "mechanism" (absent in files older than it: signals). */
static int load_kind(gargalo_session *s, const json_t *root)
{
    const char *clock, *mech;
    if (!get_str(root, "clock", &clock) || !clock || !get_str(root, "mechanism", &mech))
        return GARGALO_EFORMAT;
    if (strcmp(clock, "wall") && strcmp(clock, "cpu"))
        return GARGALO_EFORMAT;
    s->opt.clock = strcmp(clock, "cpu") ? GARGALO_CLOCK_WALL : GARGALO_CLOCK_CPU;
    if (mech && strcmp(mech, "perf") && strcmp(mech, "signal"))
        return GARGALO_EFORMAT;
    s->mechanism =
        mech && !strcmp(mech, "perf") ? GARGALO_MECHANISM_PERF : GARGALO_MECHANISM_SIGNAL;
    return 0;
}

/* The header fields files gained later: each may be missing. */
static int load_extras(gargalo_session *s, const json_t *root)
{
    const char *scope;
    uint64_t md = 0;
    if (!get_str(root, "scope", &scope) ||
        (scope && strcmp(scope, "thread") != 0 && strcmp(scope, "process") != 0))
        return GARGALO_EFORMAT;
    s->process = scope && strcmp(scope, "process") == 0;
    if (json_object_get(root, "markers_dropped") &&
        !get_field(root, "markers_dropped", SIZE_MAX, &md))
        return GARGALO_EFORMAT;
    s->markers_dropped = (size_t)md;
    return 0;
}

static int load_header(gargalo_session *s, const json_t *root)
{
    uint64_t version, tid = 0, dropped;
    const char *thread;
    if (!json_is_object(root) || !get_field(root, "gargalo", 1, &version) || version != 1 ||
        load_kind(s, root))
        return GARGALO_EFORMAT;
    if (!get_field(root, "start_unix_ns", INT64_MAX, &s->start_unix_ns) ||
        !get_field(root, "duration_ns", INT64_MAX, &s->duration_ns) ||
        !get_field(root, "cpu_ns", INT64_MAX, &s->cpu_ns) ||
        !get_field(root, "symbolize_ns", INT64_MAX, &s->symbolize_ns) ||
        !get_field(root, "dropped", SIZE_MAX, &dropped) || !get_str(root, "thread", &thread))
        return GARGALO_EFORMAT;
    if (json_object_get(root, "tid") && !get_field(root, "tid", INT_MAX, &tid))
        return GARGALO_EFORMAT;
    if (load_extras(s, root))
        return GARGALO_EFORMAT;
    s->dropped = (size_t)dropped;
    s->tid = (pid_t)tid;
    if (thread)
        snprintf(s->thread_name, sizeof(s->thread_name), "%s", thread);
    return 0;
}

static int load_frame(gg_loader *l, const json_t *o, size_t i)
{
    gg_frame f = {0};
    uint64_t line;
    if (!json_is_object(o) || !get_str(o, "function", &f.function) ||
        !get_str(o, "file", &f.file) || !get_str(o, "module", &f.module) ||
        !get_field(o, "line", INT_MAX, &line) || !get_hex(o, "offset", &f.offset) ||
        !get_bool(o, "library", &f.is_library) || !get_bool(o, "inlined", &f.inlined))
        return GARGALO_EFORMAT;
    f.line = (int)line;
    return gg_session_add_frame(l->s, &f, &l->frame_map[i]); /* copies the strings */
}

static int load_stack(gg_loader *l, const json_t *a, size_t i, uint32_t *scratch)
{
    size_t depth = json_array_size(a);
    if (!json_is_array(a) || depth > GG_LOAD_MAX_DEPTH)
        return GARGALO_EFORMAT;
    for (size_t k = 0; k < depth; k++) {
        uint64_t f;
        if (!l->nframes || !get_uint(json_array_get(a, k), l->nframes - 1, &f))
            return GARGALO_EFORMAT;
        scratch[k] = l->frame_map[f];
    }
    return gg_session_add_stack(l->s, scratch, (uint32_t)depth, &l->stack_map[i]);
}

/* [tid, name, cpu_ns]. */
static int load_thread(gg_loader *l, const json_t *a, size_t i)
{
    uint64_t tid, cpu;
    uint32_t idx;
    const char *name = json_string_value(json_array_get(a, 1));
    if (!json_is_array(a) || json_array_size(a) != 3 || !name ||
        !get_uint(json_array_get(a, 0), INT_MAX, &tid) ||
        !get_uint(json_array_get(a, 2), INT64_MAX, &cpu))
        return GARGALO_EFORMAT;
    int rc = gg_session_add_thread(l->s, (pid_t)tid, name, &idx);
    if (!rc && idx != i)
        rc = GARGALO_EFORMAT; /* the same tid twice */
    if (!rc)
        l->s->threads[idx].cpu_ns = cpu;
    return rc;
}

/* The thread list, or for older files the one thread the header names. */
static int load_threads(gg_loader *l, const json_t *root)
{
    const json_t *a = json_object_get(root, "threads");
    uint32_t idx;
    if (!a)
        return gg_session_add_thread(l->s, l->s->tid, l->s->thread_name, &idx);
    if (!json_is_array(a) || json_array_size(a) >= UINT32_MAX)
        return GARGALO_EFORMAT;
    int rc = 0;
    for (size_t i = 0; !rc && i < json_array_size(a); i++)
        rc = load_thread(l, json_array_get(a, i), i);
    return rc;
}

/* [[key, value], ...], keys distinct. */
static int load_labelset(gg_loader *l, const json_t *a, size_t i)
{
    size_t n = json_array_size(a);
    gg_label labels[GARGALO_MAX_LABELS];
    if (!json_is_array(a) || n > GARGALO_MAX_LABELS)
        return GARGALO_EFORMAT;
    for (size_t k = 0; k < n; k++) {
        const json_t *kv = json_array_get(a, k);
        labels[k].key = json_string_value(json_array_get(kv, 0));
        labels[k].value = json_string_value(json_array_get(kv, 1));
        if (json_array_size(kv) != 2 || !labels[k].key || !labels[k].value)
            return GARGALO_EFORMAT;
        for (size_t j = 0; j < k; j++)
            if (strcmp(labels[j].key, labels[k].key) == 0)
                return GARGALO_EFORMAT;
    }
    return gg_session_add_labelset(l->s, labels, (uint32_t)n, &l->labelset_map[i]);
}

/* A sample's label set: -1 for none. */
static bool get_labelset(const gg_loader *l, const json_t *v, uint32_t *out)
{
    uint64_t set;
    if (json_is_integer(v) && json_integer_value(v) == -1) {
        *out = GG_NO_LABELS;
        return true;
    }
    if (!l->nlabelsets || !get_uint(v, l->nlabelsets - 1, &set))
        return false;
    *out = l->labelset_map[set];
    return true;
}

/* [time_ns, weight_ns, stack, thread, labelset] (older files: the first three), times
 * never going back, weights summing within 64 bits. */
static int load_sample(gg_loader *l, const json_t *a, uint64_t *last_t, uint64_t *sum)
{
    uint64_t t, w, st, th = 0;
    gg_sample sm = {.labels = GG_NO_LABELS};
    size_t n = json_array_size(a);
    if (!json_is_array(a) || (n != 3 && n != 5) || !l->nstacks || !l->s->nthreads ||
        !get_uint(json_array_get(a, 0), INT64_MAX, &t) ||
        !get_uint(json_array_get(a, 1), INT64_MAX, &w) ||
        !get_uint(json_array_get(a, 2), l->nstacks - 1, &st) || t < *last_t || *sum + w < *sum)
        return GARGALO_EFORMAT;
    if (n == 5 && (!get_uint(json_array_get(a, 3), l->s->nthreads - 1, &th) ||
                   !get_labelset(l, json_array_get(a, 4), &sm.labels)))
        return GARGALO_EFORMAT;
    *last_t = t, *sum += w;
    sm.time_ns = t, sm.weight_ns = w, sm.stack = l->stack_map[st], sm.thread = (uint32_t)th;
    return gg_session_add_sample(l->s, &sm);
}

/* [start_ns, end_ns, thread, category, text]. */
static int load_marker(gg_loader *l, const json_t *a)
{
    gg_marker m = {0};
    uint64_t th;
    m.category = json_string_value(json_array_get(a, 3));
    m.text = json_string_value(json_array_get(a, 4));
    if (!json_is_array(a) || json_array_size(a) != 5 || !m.category || !m.text || !l->s->nthreads ||
        !get_uint(json_array_get(a, 0), INT64_MAX, &m.start_ns) ||
        !get_uint(json_array_get(a, 1), INT64_MAX, &m.end_ns) || m.end_ns < m.start_ns ||
        !get_uint(json_array_get(a, 2), l->s->nthreads - 1, &th))
        return GARGALO_EFORMAT;
    m.thread = (uint32_t)th;
    return gg_session_add_marker(l->s, &m);
}

/* A hex string "0x..." (1 to 16 digits) at index i of an array. */
static bool get_hex_at(const json_t *a, size_t i, uint64_t *out)
{
    json_t *holder = json_pack("{s:O}", "v", json_array_get(a, i));
    bool ok = holder && get_hex(holder, "v", out);
    json_decref(holder);
    return ok;
}

/* [name, path, build_id, "0xstart", "0xend"]; path and build id may be null. */
static int load_module(gg_loader *l, const json_t *a)
{
    gg_module m = {.name = json_string_value(json_array_get(a, 0))};
    const json_t *path = json_array_get(a, 1), *id = json_array_get(a, 2);
    if (!json_is_array(a) || json_array_size(a) != 5 || !m.name ||
        !(json_is_null(path) || json_is_string(path)) ||
        !(json_is_null(id) || json_is_string(id)) || !get_hex_at(a, 3, &m.start) ||
        !get_hex_at(a, 4, &m.end))
        return GARGALO_EFORMAT;
    m.path = json_string_value(path), m.build_id = json_string_value(id);
    return gg_session_add_module(l->s, &m);
}

static int load_modules(gg_loader *l, const json_t *root)
{
    const json_t *a = json_object_get(root, "modules");
    if (!a)
        return 0;
    if (!json_is_array(a))
        return GARGALO_EFORMAT;
    int rc = 0;
    for (size_t i = 0; !rc && i < json_array_size(a); i++)
        rc = load_module(l, json_array_get(a, i));
    return rc;
}

/* An optional array: absent is empty. */
static int optional_array(const json_t *root, const char *key, const json_t **arr, size_t *n)
{
    *arr = json_object_get(root, key);
    *n = json_array_size(*arr);
    return !*arr || (json_is_array(*arr) && *n < UINT32_MAX) ? 0 : GARGALO_EFORMAT;
}

static int load_labels_and_markers(gg_loader *l, const json_t *root, bool labels)
{
    const json_t *a;
    size_t n;
    int rc = optional_array(root, labels ? "labelsets" : "markers", &a, &n);
    if (!rc && labels && !(l->labelset_map = malloc((n ? n : 1) * sizeof(uint32_t))))
        rc = GARGALO_ENOMEM;
    if (labels)
        l->nlabelsets = n;
    for (size_t i = 0; !rc && i < n; i++)
        rc = labels ? load_labelset(l, json_array_get(a, i), i)
                    : load_marker(l, json_array_get(a, i));
    return rc;
}

/* The array under key, with room in *map for one index per element. */
static int load_array(const json_t *root, const char *key, const json_t **arr, uint32_t **map,
                      size_t *n)
{
    *arr = json_object_get(root, key);
    if (!json_is_array(*arr) || json_array_size(*arr) >= UINT32_MAX)
        return GARGALO_EFORMAT;
    *n = json_array_size(*arr);
    if (map && !(*map = malloc((*n ? *n : 1) * sizeof(**map))))
        return GARGALO_ENOMEM;
    return 0;
}

static int load_body(gg_loader *l, const json_t *root)
{
    const json_t *frames, *stacks, *samples;
    size_t nsamples;
    int rc = load_array(root, "frames", &frames, &l->frame_map, &l->nframes);
    for (size_t i = 0; !rc && i < l->nframes; i++)
        rc = load_frame(l, json_array_get(frames, i), i);
    if (!rc)
        rc = load_array(root, "stacks", &stacks, &l->stack_map, &l->nstacks);
    uint32_t *scratch = rc ? NULL : malloc(GG_LOAD_MAX_DEPTH * sizeof(*scratch));
    if (!rc && !scratch)
        rc = GARGALO_ENOMEM;
    for (size_t i = 0; !rc && i < l->nstacks; i++)
        rc = load_stack(l, json_array_get(stacks, i), i, scratch);
    free(scratch);
    if (!rc)
        rc = load_threads(l, root);
    if (!rc)
        rc = load_labels_and_markers(l, root, true);
    if (!rc)
        rc = load_array(root, "samples", &samples, NULL, &nsamples);
    uint64_t last_t = 0, sum = 0;
    for (size_t i = 0; !rc && i < nsamples; i++)
        rc = load_sample(l, json_array_get(samples, i), &last_t, &sum);
    if (!rc)
        rc = load_labels_and_markers(l, root, false);
    return rc ? rc : load_modules(l, root);
}

int gargalo_session_load(const char *json, size_t len, gargalo_session **out)
{
    if (!json || !out)
        return GARGALO_EINVAL;
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return json_error_code(&err) == json_error_out_of_memory ? GARGALO_ENOMEM : GARGALO_EFORMAT;
    gg_loader l = {.s = gg_session_new()};
    int rc = l.s ? load_header(l.s, root) : GARGALO_ENOMEM;
    if (!rc)
        rc = load_body(&l, root);
    json_decref(root);
    free(l.frame_map), free(l.stack_map), free(l.labelset_map);
    if (l.s)
        gg_session_finish(l.s);
    if (rc && l.s) {
        gg_session_free_resolved(l.s);
        free(l.s); /* a loaded session never had a sampler */
    }
    if (!rc)
        *out = l.s;
    return rc;
}
