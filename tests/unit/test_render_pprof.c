/*
 * test_render_pprof.c: the pprof output decoded with the tests' own reader (pb_reader.h)
 * and checked against the session it came from: one Sample per distinct stack whose
 * Locations spell that stack leaf first, inlined frames inside their caller's Location,
 * functions once each, mappings (load range, path, build id), sample labels (the session's
 * labels, the markers covering each sample, thread and tid), sample types and header
 * fields. (tests/pprof/run.py runs `go
 * tool pprof` on real files.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "options.h"
#include "render_fixture.h"
#include "pb_reader.h"
#include "tree.h"
#include "write.h"

#define MAXN 4096

typedef struct line_t {
    uint64_t function, line;
} line_t;

typedef struct location_t {
    uint64_t id, mapping, address;
    line_t lines[8];
    size_t nlines;
} location_t;

typedef struct function_t {
    uint64_t id, name, system_name, filename;
} function_t;

typedef struct label_t {
    uint64_t key, str, num;
} label_t;

typedef struct sample_t {
    uint64_t *locations, *values;
    size_t nlocations, nvalues;
    label_t labels[16];
    size_t nlabels;
} sample_t;

typedef struct mapping_t {
    uint64_t start, limit, file, build_id;
} mapping_t;

/* The decoded Profile: only what the tests look at. */
typedef struct profile_t {
    char *strings[MAXN];
    size_t nstrings;
    uint64_t sample_type[2][2];
    size_t nsample_types;
    sample_t samples[MAXN];
    size_t nsamples;
    location_t locations[MAXN];
    size_t nlocations;
    function_t functions[MAXN];
    size_t nfunctions;
    uint64_t mapping_file[64]; /* by id - 1 */
    mapping_t mappings[64];    /* by id - 1 */
    size_t nmappings;
    uint64_t time_nanos, duration_nanos, period, period_type[2], default_type;
    uint64_t *comments;
    size_t ncomments;
    uint8_t *raw;
} profile_t;

/* The fields of a submessage: for (BODY(f); pb_next(&p, end, &g);) */
#define BODY(f) const uint8_t *p = (f)->p, *end = (f)->p + (f)->len

static void decode_value_type(const pb_field *f, uint64_t out[2])
{
    pb_field g;
    out[0] = out[1] = 0;
    for (BODY(f); pb_next(&p, end, &g);)
        out[g.number - 1] = g.v;
}

static void decode_line(line_t *ln, const pb_field *f)
{
    pb_field g;
    memset(ln, 0, sizeof(*ln));
    for (BODY(f); pb_next(&p, end, &g);)
        *(g.number == 1 ? &ln->function : &ln->line) = g.v;
}

static void decode_location(profile_t *pr, const pb_field *f)
{
    location_t *l = &pr->locations[pr->nlocations++];
    pb_field g;
    memset(l, 0, sizeof(*l));
    for (BODY(f); pb_next(&p, end, &g);) {
        if (g.number == 1)
            l->id = g.v;
        else if (g.number == 2)
            l->mapping = g.v;
        else if (g.number == 3)
            l->address = g.v;
        else if (g.number == 4)
            decode_line(&l->lines[l->nlines++], &g);
    }
}

static void decode_function(profile_t *pr, const pb_field *f)
{
    function_t *fn = &pr->functions[pr->nfunctions++];
    uint64_t *fields[] = {&fn->id, &fn->name, &fn->system_name, &fn->filename};
    pb_field g;
    memset(fn, 0, sizeof(*fn));
    for (BODY(f); pb_next(&p, end, &g);)
        if (g.number >= 1 && g.number <= 4)
            *fields[g.number - 1] = g.v;
}

static void decode_label(sample_t *s, const pb_field *f)
{
    label_t *l = &s->labels[s->nlabels++];
    uint64_t *fields[] = {&l->key, &l->str, &l->num};
    pb_field g;
    memset(l, 0, sizeof(*l));
    for (BODY(f); pb_next(&p, end, &g);)
        if (g.number >= 1 && g.number <= 3)
            *fields[g.number - 1] = g.v;
}

static void decode_sample(profile_t *pr, const pb_field *f)
{
    sample_t *s = &pr->samples[pr->nsamples++];
    pb_field g;
    for (BODY(f); pb_next(&p, end, &g);) {
        if (g.number == 1)
            s->locations = pb_packed(&g, &s->nlocations);
        else if (g.number == 2)
            s->values = pb_packed(&g, &s->nvalues);
        else if (g.number == 3)
            decode_label(s, &g);
    }
}

static void decode_mapping(profile_t *pr, const pb_field *f)
{
    pb_field g;
    uint64_t id = 0, flags = 0;
    mapping_t m = {0};
    uint64_t *slot[7] = {NULL, NULL, &m.start, &m.limit, NULL, &m.file, &m.build_id};
    for (BODY(f); pb_next(&p, end, &g);) {
        if (g.number == 1)
            id = g.v;
        else if (g.number < 7 && slot[g.number])
            *slot[g.number] = g.v;
        else if (g.number >= 7 && g.number <= 9)
            flags += g.v;
    }
    assert_int_equal(id, ++pr->nmappings); /* ids from 1, in order */
    assert_int_equal(flags, 3);            /* functions, file names and lines resolved */
    pr->mapping_file[id - 1] = m.file;
    pr->mappings[id - 1] = m;
}

static void decode_top(profile_t *pr, const pb_field *f)
{
    switch (f->number) {
    case 1:
        decode_value_type(f, pr->sample_type[pr->nsample_types++]);
        break;
    case 2:
        decode_sample(pr, f);
        break;
    case 3:
        decode_mapping(pr, f);
        break;
    case 4:
        decode_location(pr, f);
        break;
    case 5:
        decode_function(pr, f);
        break;
    case 6:
        pr->strings[pr->nstrings++] = strndup((const char *)f->p, f->len);
        break;
    case 9:
        pr->time_nanos = f->v;
        break;
    case 10:
        pr->duration_nanos = f->v;
        break;
    case 11:
        decode_value_type(f, pr->period_type);
        break;
    case 12:
        pr->period = f->v;
        break;
    case 13:
        pr->comments = pb_packed(f, &pr->ncomments);
        break;
    case 14:
        pr->default_type = f->v;
        break;
    default:
        fail_msg("unexpected Profile field %u", f->number);
    }
}

static profile_t *decode(const char *gz, size_t len)
{
    profile_t *pr = calloc(1, sizeof(*pr));
    size_t n;
    assert_true(len > 18 && (uint8_t)gz[0] == 0x1f && (uint8_t)gz[1] == 0x8b); /* gzip */
    pr->raw = pb_gunzip(gz, len, &n);
    pb_field f;
    const uint8_t *p = pr->raw, *end = pr->raw + n;
    while (pb_next(&p, end, &f))
        decode_top(pr, &f);
    return pr;
}

static void profile_free(profile_t *pr)
{
    for (size_t i = 0; i < pr->nstrings; i++)
        free(pr->strings[i]);
    for (size_t i = 0; i < pr->nsamples; i++)
        free(pr->samples[i].locations), free(pr->samples[i].values);
    free(pr->comments), free(pr->raw), free(pr);
}

static profile_t *render(const gargalo_session *s)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.title = "pprof test";
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_PPROF, &ro, &out, &len), 0);
    profile_t *pr = decode(out, len);
    free(out);
    return pr;
}

static const char *str(const profile_t *pr, uint64_t i)
{
    assert_true(i < pr->nstrings);
    return pr->strings[i];
}

static const location_t *location(const profile_t *pr, uint64_t id)
{
    for (size_t i = 0; i < pr->nlocations; i++)
        if (pr->locations[i].id == id)
            return &pr->locations[i];
    fail_msg("no location %llu", (unsigned long long)id);
    return NULL;
}

static const function_t *function(const profile_t *pr, uint64_t id)
{
    for (size_t i = 0; i < pr->nfunctions; i++)
        if (pr->functions[i].id == id)
            return &pr->functions[i];
    fail_msg("no function %llu", (unsigned long long)id);
    return NULL;
}

/* A sample's stack as names, root first, joined by ';' with ":LINE" after each. */
static void spell_sample(const profile_t *pr, const sample_t *sm, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = sm->nlocations; i-- > 0;) {
        const location_t *l = location(pr, sm->locations[i]);
        for (size_t k = l->nlines; k-- > 0;) {
            const function_t *fn = function(pr, l->lines[k].function);
            size_t n = strlen(out);
            snprintf(out + n, cap - n, "%s%s:%llu", n ? ";" : "", str(pr, fn->name),
                     (unsigned long long)l->lines[k].line);
        }
    }
}

/* The same spelling for a session's stack. */
static void spell_stack(const gargalo_session *s, uint32_t st, char *out, size_t cap)
{
    uint32_t depth;
    const uint32_t *fr = gg_stack_frames(s, st, &depth);
    out[0] = '\0';
    for (uint32_t i = 0; i < depth; i++) {
        const gg_frame *f = &s->frames[fr[i]];
        dynbuf name;
        dynbuf_init(&name, GG_RENDER_MAX_BYTES);
        gg_write_frame_name(&name, f);
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s:%d", n ? ";" : "", name.data, f->line);
        dynbuf_free(&name);
    }
}

/* Every sample of pr is one distinct stack of s, with its count and summed weight. */
static void check_samples(const gargalo_session *s, const profile_t *pr)
{
    uint64_t *count = calloc(s->nstacks + 1, sizeof(*count));
    uint64_t *weight = calloc(s->nstacks + 1, sizeof(*weight));
    char(*spelled)[1024] = malloc((pr->nsamples + 1) * sizeof(*spelled));
    size_t used = 0;
    for (size_t i = 0; i < s->nsamples; i++)
        count[s->samples[i].stack]++, weight[s->samples[i].stack] += s->samples[i].weight_ns;
    for (size_t k = 0; k < pr->nsamples; k++)
        spell_sample(pr, &pr->samples[k], spelled[k], sizeof(spelled[k]));
    for (uint32_t st = 0; st < s->nstacks; st++) {
        char want[1024];
        size_t k = 0;
        if (!count[st])
            continue;
        used++;
        spell_stack(s, st, want, sizeof(want));
        while (k < pr->nsamples && strcmp(spelled[k], want) != 0)
            k++;
        if (k == pr->nsamples)
            fail_msg("no sample for %s", want);
        assert_int_equal(pr->samples[k].nvalues, 2);
        assert_int_equal(pr->samples[k].values[0], count[st]);
        assert_int_equal(pr->samples[k].values[1], weight[st]);
    }
    assert_int_equal(pr->nsamples, used);
    free(count), free(weight), free(spelled);
}

static void test_fixture(void **state)
{
    gargalo_session *s = fx_session();
    profile_t *pr = render(s);
    assert_string_equal(str(pr, 0), "");
    assert_int_equal(pr->nsample_types, 2);
    assert_string_equal(str(pr, pr->sample_type[0][0]), "samples");
    assert_string_equal(str(pr, pr->sample_type[0][1]), "count");
    assert_string_equal(str(pr, pr->sample_type[1][0]), "wall");
    assert_string_equal(str(pr, pr->sample_type[1][1]), "nanoseconds");
    assert_string_equal(str(pr, pr->default_type), "wall");
    assert_string_equal(str(pr, pr->period_type[0]), "wall");
    assert_int_equal(pr->period, FX_MS); /* every sample weighs 1 ms */
    assert_int_equal(pr->time_nanos, s->start_unix_ns);
    assert_int_equal(pr->duration_nanos, s->duration_ns);
    assert_int_equal(pr->ncomments, 2);
    assert_string_equal(str(pr, pr->comments[0]), "pprof test");
    assert_string_equal(str(pr, pr->comments[1]), "thread worker (4242)");
    assert_int_equal(pr->nsamples, 6); /* six distinct stacks */
    check_samples(s, pr);
    profile_free(pr);
    gargalo_session_free(s);
}

/* parse_json is inlined into main: one Location, its Line first, main's (line 12) last. */
static void test_inlined(void **state)
{
    gargalo_session *s = fx_session();
    profile_t *pr = render(s);
    size_t found = 0;
    for (size_t i = 0; i < pr->nlocations; i++) {
        const location_t *l = &pr->locations[i];
        const char *first = str(pr, function(pr, l->lines[0].function)->name);
        if (strcmp(first, "parse_json") != 0)
            continue;
        found++;
        assert_int_equal(l->nlines, 2);
        assert_string_equal(str(pr, function(pr, l->lines[1].function)->name), "main");
        assert_int_equal(l->lines[1].line, 12);
        assert_int_equal(l->lines[0].line, 20);
    }
    assert_int_equal(found, 1);
    for (size_t i = 0; i < pr->nlocations; i++) /* every other chain is one frame */
        if (pr->locations[i].nlines != 1)
            assert_string_equal(str(pr, function(pr, pr->locations[i].lines[0].function)->name),
                                "parse_json");
    profile_free(pr);
    gargalo_session_free(s);
}

/* One Function per function (main's two lines share one), unnamed ones module+0xOFFSET,
 * ids unique; each Location's mapping is its real frame's module, the program's first. */
static void test_functions_and_mappings(void **state)
{
    gargalo_session *s = fx_session();
    profile_t *pr = render(s);
    assert_int_equal(pr->nfunctions, 8); /* 9 frames, main twice */
    for (size_t i = 0; i < pr->nfunctions; i++) {
        const function_t *fn = &pr->functions[i];
        assert_int_equal(fn->id, i + 1);
        assert_int_equal(fn->name, fn->system_name);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(str(pr, pr->functions[k].name), str(pr, fn->name));
        if (strcmp(str(pr, fn->name), "main") == 0)
            assert_string_equal(str(pr, fn->filename), "/home/dev/app/src/main.c");
    }
    assert_string_equal(str(pr, function(pr, 8)->name), "app+0x1234");
    assert_int_equal(pr->nmappings, 3);
    assert_string_equal(str(pr, pr->mapping_file[0]), "app");
    for (size_t i = 0; i < pr->nlocations; i++) {
        const location_t *l = &pr->locations[i];
        const char *real = str(pr, function(pr, l->lines[l->nlines - 1].function)->name);
        const char *module = str(pr, pr->mapping_file[l->mapping - 1]);
        bool lib = strcmp(real, "sqlite3_step") == 0 || strcmp(real, "sqlite3VdbeExec") == 0;
        assert_string_equal(module, strcmp(real, "memcpy") == 0 ? "libc.so.6"
                                    : lib                       ? "libsqlite3.so.0"
                                                                : "app");
    }
    profile_free(pr);
    gargalo_session_free(s);
}

/* Labels spelled "key=value" for strings, "key#number" for numbers, each followed by
 * ';', sorted, so that two spellings compare whatever order the labels were written in. */
typedef struct spelled_t {
    char tok[16][256];
    size_t n;
} spelled_t;

static int tok_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void spelled_join(spelled_t *sp, char *out, size_t cap)
{
    qsort(sp->tok, sp->n, sizeof(sp->tok[0]), tok_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < sp->n; i++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s;", sp->tok[i]);
    }
}

/* What a pprof sample says of its labels. */
static void spell_labels(const profile_t *pr, const sample_t *sm, char *out, size_t cap)
{
    spelled_t sp = {.n = 0};
    for (size_t i = 0; i < sm->nlabels; i++) {
        const label_t *l = &sm->labels[i];
        if (l->str)
            snprintf(sp.tok[sp.n++], 256, "%s=%s", str(pr, l->key), str(pr, l->str));
        else
            snprintf(sp.tok[sp.n++], 256, "%s#%llu", str(pr, l->key), (unsigned long long)l->num);
    }
    spelled_join(&sp, out, cap);
}

/* Of the session's markers of sm's thread covering it (start <= time < end), the
 * innermost one of category cat: the latest to start, the shortest of those. */
static const gg_marker *innermost(const gargalo_session *s, const gg_sample *sm, const char *cat)
{
    const gg_marker *best = NULL;
    for (size_t i = 0; i < s->nmarkers; i++) {
        const gg_marker *m = &s->markers[i];
        if (m->thread != sm->thread || m->start_ns > sm->time_ns || sm->time_ns >= m->end_ns ||
            strcmp(m->category, cat) != 0)
            continue;
        if (!best || m->start_ns > best->start_ns ||
            (m->start_ns == best->start_ns && m->end_ns < best->end_ns))
            best = m;
    }
    return best;
}

/* The same for a session's sample: its labels, of each category of markers covering it
 * the innermost one's (category=text), its thread's name and tid. */
static void spell_sample_labels(const gargalo_session *s, const gg_sample *sm, char *out,
                                size_t cap)
{
    spelled_t sp = {.n = 0};
    uint32_t n;
    const gg_label *l = gg_labelset_labels(s, sm->labels, &n);
    for (uint32_t i = 0; i < n; i++)
        snprintf(sp.tok[sp.n++], 256, "%s=%s", l[i].key, l[i].value);
    for (size_t i = 0; i < s->nmarkers; i++) {
        const gg_marker *m = innermost(s, sm, s->markers[i].category);
        bool first = true; /* a category counted once: at its first marker */
        for (size_t j = 0; j < i; j++)
            first = first && strcmp(s->markers[j].category, s->markers[i].category) != 0;
        if (m && first)
            snprintf(sp.tok[sp.n++], 256, "%s=%s", *m->category ? m->category : "marker", m->text);
    }
    snprintf(sp.tok[sp.n++], 256, "thread=%s", s->threads[sm->thread].name);
    snprintf(sp.tok[sp.n++], 256, "tid#%ld", (long)s->threads[sm->thread].tid);
    spelled_join(&sp, out, cap);
}

/* Each pprof sample stands for the session's samples with its stack, thread and labels:
 * its values are their count and summed weight, and no two pprof samples share those. */
static void check_labels(const gargalo_session *s, const profile_t *pr)
{
    uint64_t seen = 0;
    for (size_t k = 0; k < pr->nsamples; k++) {
        char want[1024], labels[512], key[1024], other[1024];
        spell_sample(pr, &pr->samples[k], want, sizeof(want));
        spell_labels(pr, &pr->samples[k], labels, sizeof(labels));
        uint64_t count = 0, weight = 0;
        for (size_t i = 0; i < s->nsamples; i++) {
            spell_stack(s, s->samples[i].stack, key, sizeof(key));
            spell_sample_labels(s, &s->samples[i], other, sizeof(other));
            if (!strcmp(key, want) && !strcmp(other, labels))
                count++, weight += s->samples[i].weight_ns;
        }
        if (!count)
            fail_msg("pprof sample %s [%s]: no such session sample", want, labels);
        assert_int_equal(pr->samples[k].values[0], count);
        assert_int_equal(pr->samples[k].values[1], weight);
        seen += count;
    }
    assert_int_equal(seen, s->nsamples); /* so no two pprof samples stand for the same */
}

static void test_labels(void **state)
{
    gargalo_session *s = fx_rich_session();
    profile_t *pr = render(s);
    check_labels(s, pr);
    /* worker's six stacks, split by route (first half /a, second /b) and by the markers
     * covering them (none before 10 ms and from 60 ms, the request alone from 10 ms and
     * from 50 ms, the request and the statement from 20 to 50 ms): 22 combinations the
     * samples have; and the idle thread's one stack */
    assert_int_equal(pr->nsamples, 23);
    assert_string_equal(str(pr, pr->comments[1]), "process, 2 threads");
    profile_free(pr);
    gargalo_session_free(s);

    s = fx_session(); /* one thread, no labels: its name and id only */
    pr = render(s);
    check_labels(s, pr);
    assert_int_equal(pr->nsamples, 6);
    assert_int_equal(pr->samples[0].nlabels, 2);
    profile_free(pr);
    gargalo_session_free(s);
}

/* The labels of the pprof sample standing for the session's sample at time t. */
static void labels_at(const gargalo_session *s, const profile_t *pr, uint64_t t, char *out,
                      size_t cap)
{
    char want[1024], got[1024];
    size_t i = 0;
    while (i < s->nsamples && s->samples[i].time_ns != t)
        i++;
    assert_true(i < s->nsamples);
    spell_stack(s, s->samples[i].stack, want, sizeof(want));
    spell_sample_labels(s, &s->samples[i], out, cap);
    for (size_t k = 0; k < pr->nsamples; k++) {
        spell_sample(pr, &pr->samples[k], got, sizeof(got));
        char labels[1024];
        spell_labels(pr, &pr->samples[k], labels, sizeof(labels));
        if (!strcmp(got, want) && !strcmp(labels, out))
            return;
    }
    fail_msg("no pprof sample for %s [%s]", want, out);
}

/* Of each category, the innermost marker covering a sample labels it, its category the
 * key ("marker" for none); samples covered differently are different pprof samples. */
static void test_marker_labels(void **state)
{
    gargalo_session *s = fx_session();
    static const gg_marker marks[] = {{0, 30 * FX_MS, "request", "GET /x", 0},
                                      {5 * FX_MS, 25 * FX_MS, "sql", "BEGIN", 0},
                                      {10 * FX_MS, 15 * FX_MS, "sql", "SELECT ?", 0},
                                      {40 * FX_MS, 45 * FX_MS, "", "untitled", 0}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(gg_session_add_marker(s, &marks[i]), 0);
    profile_t *pr = render(s);
    check_labels(s, pr);
    char out[1024];
    labels_at(s, pr, 12 * FX_MS, out, sizeof(out));
    assert_string_equal(out, "request=GET /x;sql=SELECT ?;thread=worker;tid#4242;");
    labels_at(s, pr, 20 * FX_MS, out, sizeof(out));
    assert_string_equal(out, "request=GET /x;sql=BEGIN;thread=worker;tid#4242;");
    labels_at(s, pr, 30 * FX_MS, out, sizeof(out)); /* the request's end: not covered */
    assert_string_equal(out, "thread=worker;tid#4242;");
    labels_at(s, pr, 42 * FX_MS, out, sizeof(out));
    assert_string_equal(out, "marker=untitled;thread=worker;tid#4242;");
    assert_true(pr->nsamples > 6);
    profile_free(pr);
    gargalo_session_free(s);
}

static void add_module(gargalo_session *s, const char *name, const char *path, const char *id,
                       uint64_t start, uint64_t end)
{
    gg_module m = {name, path, id, start, end};
    assert_int_equal(gg_session_add_module(s, &m), 0);
}

/* Mappings carry what the session knows of their module; addresses are load address
 * plus offset, or the offset alone for a module without a load address. */
static void test_mapping_details(void **state)
{
    gargalo_session *s = fx_session();
    add_module(s, "app", "/home/dev/app/build/app", "0123abcd", 0x555555554000, 0x555555600000);
    add_module(s, "libsqlite3.so.0", "/usr/lib/libsqlite3.so.0.8.6", "feedbeef", 0x7f1000000000,
               0x7f1000100000);
    profile_t *pr = render(s);
    assert_int_equal(pr->nmappings, 3);
    const mapping_t *app = &pr->mappings[0], *sql = &pr->mappings[1], *libc = &pr->mappings[2];
    assert_string_equal(str(pr, app->file), "/home/dev/app/build/app");
    assert_string_equal(str(pr, app->build_id), "0123abcd");
    assert_int_equal(app->start, 0x555555554000);
    assert_int_equal(app->limit, 0x555555600000);
    assert_string_equal(str(pr, sql->file), "/usr/lib/libsqlite3.so.0.8.6");
    assert_string_equal(str(pr, sql->build_id), "feedbeef");
    assert_string_equal(str(pr, libc->file), "libc.so.6"); /* unknown: its name, no range */
    assert_int_equal(libc->build_id, 0);
    assert_int_equal(libc->start + libc->limit, 0);
    static const struct {
        const char *name;
        uint64_t offset;
    } offsets[] = {{"handle_request", 0x2000},  {"sqlite3_step", 0x5000},
                   {"sqlite3VdbeExec", 0x6000}, {"my_callback", 0x3000},
                   {"memcpy", 0x7000},          {"app+0x1234", 0x1234}};
    for (size_t i = 0; i < pr->nlocations; i++) {
        const location_t *l = &pr->locations[i];
        const line_t *real = &l->lines[l->nlines - 1];
        const char *name = str(pr, function(pr, real->function)->name);
        uint64_t base = l->mapping == 3 ? 0 : pr->mappings[l->mapping - 1].start, off = 0;
        if (!strcmp(name, "main"))
            off = real->line == 10 ? 0x1100 : 0x1120;
        for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++)
            if (!strcmp(name, offsets[k].name))
                off = offsets[k].offset;
        assert_int_not_equal(off, 0);
        assert_int_equal(l->address, base + off);
    }
    profile_free(pr);
    gargalo_session_free(s);

    s = gg_session_new(); /* a program loaded at its link addresses: offsets are addresses */
    gg_frame f = {"main", "m.c", 1, "prog", 0x401234, false, false};
    uint32_t fr = fx_frame(s, &f);
    assert_int_equal(fx_sample(s, 1, 1, fx_stack(s, &fr, 1)), 0);
    add_module(s, "prog", "/usr/bin/prog", NULL, 0x400000, 0x500000);
    pr = render(s);
    assert_int_equal(pr->locations[0].address, 0x401234);
    assert_int_equal(pr->mappings[0].build_id, 0);
    profile_free(pr);
    gargalo_session_free(s);
}

/* A big session: every stack still checks out, and the totals are the session's. */
static void test_big(void **state)
{
    gargalo_session *s = fx_big_session(3000, 120);
    s->opt.clock = GARGALO_CLOCK_CPU;
    profile_t *pr = render(s);
    assert_string_equal(str(pr, pr->sample_type[1][0]), "cpu");
    check_samples(s, pr);
    uint64_t n = 0, w = 0;
    for (size_t i = 0; i < pr->nsamples; i++)
        n += pr->samples[i].values[0], w += pr->samples[i].values[1];
    assert_int_equal(n, 3000);
    assert_int_equal(w, 3000 * 100000u);
    profile_free(pr);
    gargalo_session_free(s);
}

static void test_empty_and_limits(void **state)
{
    gargalo_session *s = gg_session_new();
    profile_t *pr = render(s);
    assert_int_equal(pr->nsamples, 0);
    assert_int_equal(pr->nsample_types, 2);
    assert_int_equal(pr->ncomments, 1); /* no thread known */
    profile_free(pr);
    gargalo_session_free(s);

    s = fx_big_session(2000, 100);
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.max_bytes = 2000;
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_PPROF, &ro, &out, &len), GARGALO_ETOOBIG);
    gargalo_session_free(s);
}

static void test_format_names(void **state)
{
    gargalo_format f;
    assert_int_equal(gargalo_format_parse("pprof", &f), 0);
    assert_int_equal(f, GARGALO_FORMAT_PPROF);
    assert_string_equal(gargalo_format_extension(GARGALO_FORMAT_PPROF), "pb.gz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_inlined),
        cmocka_unit_test(test_functions_and_mappings),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_marker_labels),
        cmocka_unit_test(test_mapping_details),
        cmocka_unit_test(test_big),
        cmocka_unit_test(test_empty_and_limits),
        cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
