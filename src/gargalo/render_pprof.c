/*
 * render_pprof.c: pprof's profile.proto (github.com/google/pprof, proto/profile.proto),
 * gzip-compressed, for `go tool pprof`, speedscope and the other tools that read it.
 *
 * Two sample values: the number of samples and their summed weight in nanoseconds of the
 * session's clock. One pprof Sample per distinct stack, thread and label set: pprof adds
 * sample values up anyway, and the file then grows with those, not with the samples.
 * Each Sample carries its labels (key and str), its thread's name (label "thread") and id
 * (label "tid", a number), and the markers covering it: of each category the innermost
 * marker, as the label CATEGORY=TEXT ("sql" = "INSERT INTO t VALUES (?)"), so that
 * -tagfocus=sql=INSERT keeps the samples taken while an INSERT ran, and a statement inside
 * a request keeps both. pprof's -tags, -tagfocus, -tagshow and -tagroot work on them all;
 * the markers are one more part of what makes Samples distinct. A Location per
 * distinct chain of one real frame and the frames inlined into it; a Function per
 * gargalo function (gg_function_ids, as the call tree merges them); a Mapping per
 * module, with its load range, path and build id when the session knows them. Every
 * frame is kept whatever show_all says: pprof hides and folds frames itself (-hide,
 * -focus, -prune_from).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"
#include "markers.h"
#include "protobuf.h"
#include "render.h"
#include "strtab.h"
#include "tally.h"
#include "tree.h"

/* profile.proto's field numbers, message by message. */
enum {
    PROFILE_SAMPLE_TYPE = 1,
    PROFILE_SAMPLE = 2,
    PROFILE_MAPPING = 3,
    PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6,
    PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14
};
enum { VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3 };
enum { LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3 };
enum {
    MAPPING_ID = 1,
    MAPPING_MEMORY_START = 2,
    MAPPING_MEMORY_LIMIT = 3,
    MAPPING_FILENAME = 5,
    MAPPING_BUILD_ID = 6,
    MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    MAPPING_HAS_INLINE_FRAMES = 10
};
enum { LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };
enum { FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4 };

/* The label key of markers without a category. */
#define GG_PPROF_MARKER_KEY "marker"

/* The markers covering each sample, for its labels. Empty when the session has none. */
typedef struct gg_pprof_marks {
    gg_marker_index ix;
    gg_marker_kinds kinds;
    gg_marker_sets sets;
    uint32_t (*str)[2]; /* per kind: its category's (the key) and text's string numbers */
} gg_pprof_marks;

/* String numbers of one frame (name and file only for the first frame of a function). */
typedef struct gg_pprof_strs {
    uint32_t name, file, module;
} gg_pprof_strs;

/* String numbers of the fixed strings. */
typedef struct gg_pprof_fixed {
    uint32_t samples, count, clock, nanoseconds, title, thread, thread_key, tid_key;
} gg_pprof_fixed;

/* One Mapping: a module frames name, and what the session knows of it. */
typedef struct gg_pprof_mapping {
    const char *name;
    const gg_module *module; /* NULL when the session has no description of it */
    uint32_t file, build_id; /* string numbers */
} gg_pprof_mapping;

/* One real frame and the frames inlined into it: frames[0 .. len), root first. */
typedef struct gg_chain {
    const uint32_t *frames;
    uint32_t len;
} gg_chain;

/* A chain where it occurs: at a position of a stack (see gg_pprof.base). */
typedef struct gg_chain_at {
    gg_chain chain;
    size_t pos;
} gg_chain_at;

typedef struct gg_pprof {
    const gargalo_session *s;
    dynbuf *pb; /* the encoded Profile message, before compression */
    gg_strtab strtab;
    dynbuf names;    /* names made up for unnamed functions, NUL-separated */
    char thread[64]; /* "thread NAME (TID)" or "process, N threads", a comment */
    uint32_t *fid;   /* per frame: the first frame of its function */
    uint32_t *func;  /* per frame: its Function id */
    gg_pprof_strs *str;
    gg_pprof_fixed k;
    uint32_t (*label_str)[2]; /* per label of the session: its key's and value's numbers */
    uint32_t *thread_str;     /* per thread: its name's number */
    gg_pprof_marks marks;
    uint32_t *mapping;      /* per frame: its Mapping id; 0 when its module is unknown */
    gg_pprof_mapping *maps; /* per Mapping id - 1 */
    uint32_t nmappings;
    size_t *base;     /* per stack: its first position; frame i of stack st is at base[st] + i */
    uint32_t *loc;    /* per position: the Location id of the chain starting there, else 0 */
    gg_chain *chains; /* per Location id - 1 */
    uint32_t nlocs;
    uint32_t max_depth;
} gg_pprof;

/* ---- numbering: strings, functions, mappings, locations ---- */

/* Makes up "module+0xOFFSET" for each unnamed function, in frame order. */
static int name_unnamed(gg_pprof *x)
{
    for (size_t i = 0; i < x->s->nframes; i++) {
        if (x->fid[i] != i || x->s->frames[i].function)
            continue;
        gg_write_frame_name(&x->names, &x->s->frames[i]);
        dynbuf_putc(&x->names, '\0');
    }
    return gg_write_error(&x->names);
}

static void ask_frame_strings(gg_pprof *x)
{
    const char *made = x->names.data;
    for (size_t i = 0; i < x->s->nframes; i++) {
        const gg_frame *f = &x->s->frames[i];
        gg_strtab_ask(&x->strtab, f->module, &x->str[i].module);
        if (x->fid[i] != i)
            continue;
        const char *name = f->function;
        if (!name) {
            name = made;
            made += strlen(made) + 1;
        }
        gg_strtab_ask(&x->strtab, name, &x->str[i].name);
        gg_strtab_ask(&x->strtab, f->file, &x->str[i].file);
    }
}

static void ask_label_strings(gg_pprof *x)
{
    const gargalo_session *s = x->s;
    gg_strtab_ask(&x->strtab, "thread", &x->k.thread_key);
    gg_strtab_ask(&x->strtab, "tid", &x->k.tid_key);
    for (size_t i = 0; i < s->nlabels; i++) {
        gg_strtab_ask(&x->strtab, s->labels[i].key, &x->label_str[i][0]);
        gg_strtab_ask(&x->strtab, s->labels[i].value, &x->label_str[i][1]);
    }
    for (size_t i = 0; i < s->nthreads; i++)
        gg_strtab_ask(&x->strtab, s->threads[i].name, &x->thread_str[i]);
}

/* Which markers cover each sample, and the strings their labels need. */
static int build_marks(gg_pprof *x)
{
    gg_pprof_marks *mk = &x->marks;
    if (!x->s->nmarkers)
        return 0;
    int rc = gg_marker_index_build(&mk->ix, x->s);
    rc = rc ? rc : gg_marker_kinds_build(&mk->kinds, x->s);
    rc = rc ? rc : gg_marker_sets_build(&mk->sets, &mk->ix, &mk->kinds);
    if (!rc && !(mk->str = malloc((mk->kinds.n ? mk->kinds.n : 1) * sizeof(*mk->str))))
        rc = GARGALO_ENOMEM;
    for (size_t i = 0; i < mk->kinds.n && !rc; i++) {
        const gg_marker_kind *k = &mk->kinds.kinds[i];
        const char *key = k->category && *k->category ? k->category : GG_PPROF_MARKER_KEY;
        gg_strtab_ask(&x->strtab, key, &mk->str[i][0]);
        gg_strtab_ask(&x->strtab, k->text, &mk->str[i][1]);
    }
    return rc;
}

static void marks_free(gg_pprof_marks *mk)
{
    gg_marker_index_free(&mk->ix);
    gg_marker_kinds_free(&mk->kinds);
    gg_marker_sets_free(&mk->sets);
    free(mk->str);
}

static int number_strings(gg_pprof *x, const gargalo_render_options *ro)
{
    const gargalo_session *s = x->s;
    int rc = name_unnamed(x);
    if (rc)
        return rc;
    gg_strtab_ask(&x->strtab, "samples", &x->k.samples);
    gg_strtab_ask(&x->strtab, "count", &x->k.count);
    gg_strtab_ask(&x->strtab, gg_write_clock_name(s->opt.clock), &x->k.clock);
    gg_strtab_ask(&x->strtab, "nanoseconds", &x->k.nanoseconds);
    gg_strtab_ask(&x->strtab, gg_write_title(ro), &x->k.title);
    if (s->process)
        snprintf(x->thread, sizeof(x->thread), "process, %zu threads", s->nthreads);
    else if (s->thread_name[0] || s->tid)
        snprintf(x->thread, sizeof(x->thread), "thread %s (%ld)", s->thread_name, (long)s->tid);
    gg_strtab_ask(&x->strtab, x->thread, &x->k.thread);
    ask_frame_strings(x);
    ask_label_strings(x);
    return gg_strtab_number(&x->strtab);
}

/* Function ids from 1, in the order of each function's first frame. */
static void number_functions(gg_pprof *x)
{
    uint32_t next = 1;
    for (size_t i = 0; i < x->s->nframes; i++)
        x->func[i] = x->fid[i] == i ? next++ : x->func[x->fid[i]];
}

static bool same_module(const void *ctx, uint32_t value, const void *key)
{
    return strcmp(((const gg_pprof *)ctx)->maps[value].name, key) == 0;
}

/* The session's description of a module, or NULL. */
static const gg_module *find_module(const gargalo_session *s, const char *name)
{
    for (size_t i = 0; i < s->nmodules; i++) /* tens of modules: a scan will do */
        if (strcmp(s->modules[i].name, name) == 0)
            return &s->modules[i];
    return NULL;
}

/* The Mapping id of a module name, the Mapping made (and its strings asked for) when new. */
static int mapping_of(gg_pprof *x, gg_index *ix, const char *name, uint32_t *id)
{
    uint64_t h = gg_hash_str(GG_HASH_SEED, name);
    uint32_t found = gg_index_get(ix, h, same_module, x, name);
    if (found != GG_INDEX_NONE) {
        *id = found + 1;
        return 0;
    }
    gg_pprof_mapping *m = &x->maps[x->nmappings];
    m->name = name;
    m->module = find_module(x->s, name);
    gg_strtab_ask(&x->strtab, m->module && m->module->path ? m->module->path : name, &m->file);
    gg_strtab_ask(&x->strtab, m->module ? m->module->build_id : NULL, &m->build_id);
    *id = ++x->nmappings;
    return gg_index_put(ix, h, *id - 1);
}

/* The mapping list: one Mapping per module, the program's before the libraries' (pprof
 * takes the first as the main binary). Runs before the strings are numbered. */
static int build_mappings(gg_pprof *x)
{
    const gargalo_session *s = x->s;
    gg_index ix = {0};
    int rc = 0;
    for (int library = 0; library < 2; library++)
        for (size_t i = 0; i < s->nframes && !rc; i++) {
            const gg_frame *f = &s->frames[i];
            if (f->is_library != library)
                continue;
            x->mapping[i] = 0;
            if (f->module && *f->module)
                rc = mapping_of(x, &ix, f->module, &x->mapping[i]);
        }
    gg_index_free(&ix);
    return rc;
}

static bool starts_chain(const gargalo_session *s, const uint32_t *fr, uint32_t i)
{
    return i == 0 || !s->frames[fr[i]].inlined;
}

/* Every chain of every stack, with the position where it starts. */
static int list_chains(gg_pprof *x, gg_chain_at **out, size_t *n)
{
    const gargalo_session *s = x->s;
    size_t total = 0, k = 0;
    for (uint32_t st = 0; st < s->nstacks; st++) {
        uint32_t depth;
        gg_stack_frames(s, st, &depth);
        x->base[st] = total;
        total += depth;
        x->max_depth = depth > x->max_depth ? depth : x->max_depth;
    }
    gg_chain_at *c = malloc((total ? total : 1) * sizeof(*c));
    x->loc = calloc(total ? total : 1, sizeof(*x->loc));
    if (!c || !x->loc) {
        free(c);
        return GARGALO_ENOMEM;
    }
    for (uint32_t st = 0; st < s->nstacks; st++) {
        uint32_t depth, end;
        const uint32_t *fr = gg_stack_frames(s, st, &depth);
        for (uint32_t i = 0; i < depth; i = end) {
            for (end = i + 1; end < depth && !starts_chain(s, fr, end);)
                end++;
            c[k++] = (gg_chain_at){{fr + i, end - i}, x->base[st] + i};
        }
    }
    *out = c, *n = k;
    return 0;
}

/* Any total order will do: it only brings equal chains together. */
static int chain_cmp(const void *pa, const void *pb)
{
    const gg_chain *a = pa, *b = pb;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->frames, b->frames, a->len * sizeof(*a->frames));
}

/* A Location id for each distinct chain, noted at every position where it starts. */
static int number_locations(gg_pprof *x)
{
    gg_chain_at *c;
    size_t n;
    int rc = list_chains(x, &c, &n);
    if (rc)
        return rc;
    qsort(c, n, sizeof(*c), chain_cmp);
    x->chains = malloc((n ? n : 1) * sizeof(*x->chains));
    if (!x->chains) {
        free(c);
        return GARGALO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || chain_cmp(&c[i], &c[i - 1]) != 0)
            x->chains[x->nlocs++] = c[i].chain;
        x->loc[c[i].pos] = x->nlocs;
    }
    free(c);
    return 0;
}

/* ---- the messages ---- */

static void put_value_type(dynbuf *b, uint32_t field, uint32_t type, uint32_t unit)
{
    size_t m = gg_pb_begin(b, field);
    gg_pb_uint(b, VALUE_TYPE_TYPE, type);
    gg_pb_uint(b, VALUE_TYPE_UNIT, unit);
    gg_pb_end(b, m);
}

static void put_label(dynbuf *b, uint32_t key, uint32_t field, uint64_t v)
{
    size_t m = gg_pb_begin(b, SAMPLE_LABEL);
    gg_pb_uint(b, LABEL_KEY, key);
    gg_pb_uint(b, field, v);
    gg_pb_end(b, m);
}

/* A Sample's labels: those of its label set, its markers', and its thread's name and id. */
static void put_labels(gg_pprof *x, const gg_tally_entry *e)
{
    uint32_t n;
    const gg_label *l = gg_labelset_labels(x->s, e->labels, &n);
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t *str = x->label_str[l - x->s->labels + i];
        put_label(x->pb, str[0], LABEL_STR, str[1]);
    }
    const gg_marker_sets *ms = &x->marks.sets;
    if (ms->of && e->extra != GG_NO_MARKER)
        for (uint32_t i = 0; i < ms->sets[e->extra].count; i++) {
            const uint32_t *str = x->marks.str[ms->kinds[ms->sets[e->extra].first + i]];
            put_label(x->pb, str[0], LABEL_STR, str[1]);
        }
    if (e->thread >= x->s->nthreads)
        return;
    const gg_thread *t = &x->s->threads[e->thread];
    if (t->name[0])
        put_label(x->pb, x->k.thread_key, LABEL_STR, x->thread_str[e->thread]);
    if (t->tid > 0)
        put_label(x->pb, x->k.tid_key, LABEL_NUM, (uint64_t)t->tid);
}

/* One Sample: the Locations of its stack, leaf first, its values and its labels. ids
 * has room for the deepest stack. */
static void put_sample(gg_pprof *x, const gg_tally_entry *e, uint64_t *ids)
{
    uint32_t depth, n = 0, st = e->stack;
    uint64_t values[2] = {e->samples, e->weight_ns};
    gg_stack_frames(x->s, st, &depth);
    for (uint32_t i = depth; i-- > 0;)
        if (x->loc[x->base[st] + i])
            ids[n++] = x->loc[x->base[st] + i];
    size_t m = gg_pb_begin(x->pb, PROFILE_SAMPLE);
    gg_pb_packed(x->pb, SAMPLE_LOCATION_ID, ids, n);
    gg_pb_packed(x->pb, SAMPLE_VALUE, values, 2);
    put_labels(x, e);
    gg_pb_end(x->pb, m);
}

/* The Samples, and the period: the mean sample weight, as the interval may adapt. */
static int put_samples(gg_pprof *x)
{
    const gargalo_session *s = x->s;
    gg_tally tl;
    uint64_t *ids = malloc((x->max_depth ? x->max_depth : 1) * sizeof(*ids)), total = 0;
    int rc = ids ? gg_tally_build_with(&tl, s, GG_TALLY_THREAD | GG_TALLY_LABELS, x->marks.sets.of)
                 : GARGALO_ENOMEM;
    if (rc) {
        free(ids);
        return rc;
    }
    for (size_t i = 0; i < tl.n; i++) {
        put_sample(x, &tl.e[i], ids);
        total += tl.e[i].weight_ns;
    }
    put_value_type(x->pb, PROFILE_PERIOD_TYPE, x->k.clock, x->k.nanoseconds);
    gg_pb_uint(x->pb, PROFILE_PERIOD, s->nsamples ? total / s->nsamples : 0);
    gg_tally_free(&tl);
    free(ids);
    return 0;
}

static void put_mapping(gg_pprof *x, uint32_t id)
{
    const gg_pprof_mapping *mp = &x->maps[id - 1];
    size_t m = gg_pb_begin(x->pb, PROFILE_MAPPING);
    gg_pb_uint(x->pb, MAPPING_ID, id);
    if (mp->module) {
        gg_pb_uint(x->pb, MAPPING_MEMORY_START, mp->module->start);
        gg_pb_uint(x->pb, MAPPING_MEMORY_LIMIT, mp->module->end);
    }
    gg_pb_uint(x->pb, MAPPING_FILENAME, mp->file);
    gg_pb_uint(x->pb, MAPPING_BUILD_ID, mp->build_id);
    /* Symbolized already: tells pprof not to look for the binaries. */
    gg_pb_uint(x->pb, MAPPING_HAS_FUNCTIONS, 1);
    gg_pb_uint(x->pb, MAPPING_HAS_FILENAMES, 1);
    gg_pb_uint(x->pb, MAPPING_HAS_LINE_NUMBERS, 1);
    gg_pb_uint(x->pb, MAPPING_HAS_INLINE_FRAMES, 1);
    gg_pb_end(x->pb, m);
}

/* Where a frame's code was: the load address of its module plus the frame's offset, or
 * the offset alone when it falls in the load range already (a program not built as a
 * position-independent executable is loaded at the addresses in its file) or when the
 * module's load address is unknown. */
static uint64_t address(const gg_pprof *x, uint32_t frame)
{
    uint64_t off = x->s->frames[frame].offset;
    uint32_t id = x->mapping[frame];
    const gg_module *m = id ? x->maps[id - 1].module : NULL;
    if (!m || !m->start || (off >= m->start && off < m->end))
        return off;
    return m->start + off;
}

/* A Location: its Lines innermost first, so the real frame's comes last, as profile.proto
 * lists inlined calls. */
static void put_location(gg_pprof *x, uint32_t id)
{
    const gg_chain *c = &x->chains[id - 1];
    size_t m = gg_pb_begin(x->pb, PROFILE_LOCATION);
    gg_pb_uint(x->pb, LOCATION_ID, id);
    gg_pb_uint(x->pb, LOCATION_MAPPING_ID, x->mapping[c->frames[0]]);
    gg_pb_uint(x->pb, LOCATION_ADDRESS, address(x, c->frames[0]));
    for (uint32_t i = c->len; i-- > 0;) {
        const gg_frame *f = &x->s->frames[c->frames[i]];
        size_t line = gg_pb_begin(x->pb, LOCATION_LINE);
        gg_pb_uint(x->pb, LINE_FUNCTION_ID, x->func[c->frames[i]]);
        gg_pb_uint(x->pb, LINE_LINE, f->line > 0 ? (uint64_t)f->line : 0);
        gg_pb_end(x->pb, line);
    }
    gg_pb_end(x->pb, m);
}

static void put_function(gg_pprof *x, uint32_t frame)
{
    size_t m = gg_pb_begin(x->pb, PROFILE_FUNCTION);
    gg_pb_uint(x->pb, FUNCTION_ID, x->func[frame]);
    gg_pb_uint(x->pb, FUNCTION_NAME, x->str[frame].name);
    gg_pb_uint(x->pb, FUNCTION_SYSTEM_NAME, x->str[frame].name);
    gg_pb_uint(x->pb, FUNCTION_FILENAME, x->str[frame].file);
    gg_pb_end(x->pb, m);
}

static void put_tables(gg_pprof *x)
{
    const gargalo_session *s = x->s;
    uint64_t comments[] = {x->k.title, x->k.thread};
    put_value_type(x->pb, PROFILE_SAMPLE_TYPE, x->k.samples, x->k.count);
    put_value_type(x->pb, PROFILE_SAMPLE_TYPE, x->k.clock, x->k.nanoseconds);
    gg_pb_uint(x->pb, PROFILE_DEFAULT_SAMPLE_TYPE, x->k.clock);
    gg_pb_uint(x->pb, PROFILE_TIME_NANOS, s->start_unix_ns);
    gg_pb_uint(x->pb, PROFILE_DURATION_NANOS, s->duration_ns);
    gg_pb_packed(x->pb, PROFILE_COMMENT, comments, x->k.thread ? 2 : 1);
    for (uint32_t id = 1; id <= x->nmappings; id++)
        put_mapping(x, id);
    for (uint32_t id = 1; id <= x->nlocs; id++)
        put_location(x, id);
    for (size_t i = 0; i < s->nframes; i++)
        if (x->fid[i] == i)
            put_function(x, (uint32_t)i);
    for (size_t i = 0; i < x->strtab.nstrings; i++)
        gg_pb_string(x->pb, PROFILE_STRING_TABLE, x->strtab.strings[i]);
}

/* ---- the whole ---- */

static int alloc_tables(gg_pprof *x)
{
    const gargalo_session *s = x->s;
    size_t nf = s->nframes ? s->nframes : 1;
    x->func = malloc(nf * sizeof(*x->func));
    x->str = malloc(nf * sizeof(*x->str));
    x->mapping = malloc(nf * sizeof(*x->mapping));
    x->maps = malloc(nf * sizeof(*x->maps));
    x->base = malloc((s->nstacks ? s->nstacks : 1) * sizeof(*x->base));
    x->label_str = malloc((s->nlabels ? s->nlabels : 1) * sizeof(*x->label_str));
    x->thread_str = malloc((s->nthreads ? s->nthreads : 1) * sizeof(*x->thread_str));
    return x->func && x->str && x->mapping && x->maps && x->base && x->label_str && x->thread_str
               ? 0
               : GARGALO_ENOMEM;
}

static int encode(gg_pprof *x, const gargalo_render_options *ro)
{
    int rc = gg_function_ids(x->s, &x->fid);
    if (!rc)
        rc = alloc_tables(x);
    if (!rc)
        rc = build_mappings(x);
    if (!rc)
        rc = build_marks(x);
    if (!rc)
        rc = number_strings(x, ro);
    if (!rc)
        number_functions(x);
    if (!rc)
        rc = number_locations(x);
    if (!rc)
        rc = put_samples(x);
    if (!rc)
        put_tables(x);
    return rc ? rc : gg_write_error(x->pb);
}

static void pprof_free(gg_pprof *x)
{
    gg_strtab_free(&x->strtab);
    dynbuf_free(&x->names);
    free(x->fid), free(x->func), free(x->str), free(x->mapping), free(x->maps);
    free(x->base), free(x->loc), free(x->chains), free(x->label_str), free(x->thread_str);
    marks_free(&x->marks);
}

int gg_render_pprof(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    /* The encoded profile is held whole before compression, under the same cap. */
    dynbuf pb;
    dynbuf_init(&pb, ro->max_bytes);
    gg_pprof x = {.s = s, .pb = &pb};
    gg_strtab_init(&x.strtab);
    dynbuf_init(&x.names, GG_RENDER_MAX_BYTES);
    int rc = encode(&x, ro);
    if (!rc)
        rc = gg_gzip(pb.data, pb.len, b);
    pprof_free(&x);
    dynbuf_free(&pb);
    return rc ? rc : gg_write_error(b);
}
