/*
 * test_markers.c: finding the markers that cover a sample (innermost first, same thread,
 * start <= time < end), against the fixture and against a plain scan of random nested
 * markers; grouping markers into kinds by category and text; the functions that ran
 * inside the markers of a category; the sets of kinds covering each sample.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "markers.h"
#include "render_fixture.h"

static void add_marker(gargalo_session *s, uint64_t start_ms, uint64_t end_ms, uint32_t thread,
                       const char *category, const char *text)
{
    gg_marker m = {start_ms * FX_MS, end_ms * FX_MS, category, text, thread};
    assert_int_equal(gg_session_add_marker(s, &m), 0);
}

static uint32_t at_ms(const gg_marker_index *ix, uint32_t thread, double ms)
{
    return gg_marker_at(ix, thread, (uint64_t)(ms * FX_MS));
}

/* The fixture: "POST /b" (marker 0) from 10 to 60 ms, the statement (1) from 20 to 50,
 * both on thread 0; the idle thread (1) has none. */
static void test_fixture_lookup(void **state)
{
    gargalo_session *s = fx_rich_session();
    gg_marker_index ix;
    assert_int_equal(gg_marker_index_build(&ix, s), 0);
    assert_int_equal(at_ms(&ix, 0, 5), GG_NO_MARKER);
    assert_int_equal(at_ms(&ix, 0, 10), 0); /* start included */
    assert_int_equal(at_ms(&ix, 0, 19.9), 0);
    assert_int_equal(at_ms(&ix, 0, 20), 1);
    assert_int_equal(at_ms(&ix, 0, 49.9), 1);
    assert_int_equal(at_ms(&ix, 0, 50), 0); /* end excluded */
    assert_int_equal(at_ms(&ix, 0, 60), GG_NO_MARKER);
    assert_int_equal(at_ms(&ix, 1, 30), GG_NO_MARKER); /* another thread */
    assert_int_equal(at_ms(&ix, 7, 30), GG_NO_MARKER); /* no such thread */
    assert_int_equal(gg_marker_outer(&ix, 1, 30 * FX_MS), 0);
    assert_int_equal(gg_marker_outer(&ix, 0, 30 * FX_MS), GG_NO_MARKER);
    size_t in_sql = 0, in_request = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        uint32_t m = gg_sample_marker(&ix, &s->samples[i]);
        in_sql += m == 1;
        in_request += m == 0;
    }
    assert_int_equal(in_sql, 30);     /* samples at 20 .. 49 ms */
    assert_int_equal(in_request, 20); /* 10 .. 19 and 50 .. 59 */
    gg_marker_index_free(&ix);
    gargalo_session_free(s);
}

/* Nesting with equal starts, a marker of no length, one outliving the marker it began in,
 * and two threads overlapping in time. */
static void test_edge_cases(void **state)
{
    gargalo_session *s = gg_session_new();
    add_marker(s, 0, 100, 0, "request", "a");  /* 0 */
    add_marker(s, 0, 40, 0, "sql", "b");       /* 1: starts with 0, nested */
    add_marker(s, 10, 10, 0, "sql", "empty");  /* 2: no length: covers nothing */
    add_marker(s, 30, 120, 0, "lock", "late"); /* 3: outlives 0 */
    add_marker(s, 5, 200, 1, "request", "c");  /* 4: thread 1 */
    gg_marker_index ix;
    assert_int_equal(gg_marker_index_build(&ix, s), 0);
    assert_int_equal(at_ms(&ix, 0, 0), 1);
    assert_int_equal(at_ms(&ix, 0, 10), 1);
    assert_int_equal(at_ms(&ix, 0, 35), 3);
    assert_int_equal(gg_marker_outer(&ix, 3, 35 * FX_MS), 1);
    assert_int_equal(gg_marker_outer(&ix, 1, 35 * FX_MS), 0);
    assert_int_equal(at_ms(&ix, 0, 45), 3);
    assert_int_equal(gg_marker_outer(&ix, 3, 45 * FX_MS), 0);
    assert_int_equal(at_ms(&ix, 0, 110), 3);
    assert_int_equal(gg_marker_outer(&ix, 3, 110 * FX_MS), GG_NO_MARKER);
    assert_int_equal(at_ms(&ix, 0, 120), GG_NO_MARKER);
    assert_int_equal(at_ms(&ix, 1, 35), 4);
    assert_int_equal(at_ms(&ix, 1, 1), GG_NO_MARKER);
    gg_marker_index_free(&ix);
    gargalo_session_free(s);
}

/* What the index must find, by looking at every marker: of those covering t on thread,
 * the latest to start, then the shortest, then the last added; none in `skip`. */
static uint32_t scan(const gargalo_session *s, uint32_t thread, uint64_t t, const bool *skip)
{
    uint32_t best = GG_NO_MARKER;
    for (uint32_t i = 0; i < s->nmarkers; i++) {
        const gg_marker *m = &s->markers[i], *b = &s->markers[best == GG_NO_MARKER ? 0 : best];
        if (skip[i] || m->thread != thread || m->start_ns > t || t >= m->end_ns)
            continue;
        if (best == GG_NO_MARKER || m->start_ns > b->start_ns ||
            (m->start_ns == b->start_ns && m->end_ns <= b->end_ns))
            best = i;
    }
    return best;
}

/* Markers as gargalo_mark_begin/end make them: per thread, a stack of open intervals. */
static void random_markers(gargalo_session *s, uint32_t *seed)
{
    for (uint32_t thread = 0; thread < 3; thread++) {
        uint64_t t = 0, open[16];
        int depth = 0;
        while (t < 2000) {
            *seed = *seed * 1103515245u + 12345u;
            uint32_t r = *seed >> 8;
            t += r % 7;
            if (depth < 16 && (depth == 0 || r % 3 != 0))
                open[depth++] = t;
            else
                add_marker(s, open[--depth], t, thread, "k", r % 2 ? "x" : "y");
        }
        while (depth)
            add_marker(s, open[--depth], t, thread, "k", "z");
    }
}

/* Every marker covering each moment, innermost first, as the plain scan finds them. */
static void test_against_scan(void **state)
{
    gargalo_session *s = gg_session_new();
    uint32_t seed = 7;
    random_markers(s, &seed);
    assert_true(s->nmarkers > 500);
    gg_marker_index ix;
    assert_int_equal(gg_marker_index_build(&ix, s), 0);
    bool *skip = calloc(s->nmarkers, sizeof(*skip));
    for (uint32_t thread = 0; thread < 4; thread++)
        for (uint64_t t = 0; t < 2100 * FX_MS; t += FX_MS / 2) {
            uint32_t m = gg_marker_at(&ix, thread, t), want;
            memset(skip, 0, s->nmarkers * sizeof(*skip));
            for (; (want = scan(s, thread, t, skip)) != GG_NO_MARKER;
                 m = gg_marker_outer(&ix, m, t)) {
                assert_int_equal(m, want);
                skip[want] = true;
            }
            assert_int_equal(m, GG_NO_MARKER);
        }
    free(skip);
    gg_marker_index_free(&ix);
    gargalo_session_free(s);
}

static void test_kinds(void **state)
{
    gargalo_session *s = gg_session_new();
    add_marker(s, 0, 10, 0, "sql", "SELECT 1");
    add_marker(s, 20, 50, 0, "request", "GET /");
    add_marker(s, 60, 75, 0, "sql", "SELECT 1");
    add_marker(s, 80, 90, 1, "sql", "SELECT 2");
    add_marker(s, 95, 105, 1, "cache", "SELECT 1"); /* same text, other category */
    gg_marker_kinds k;
    assert_int_equal(gg_marker_kinds_build(&k, s), 0);
    assert_int_equal(k.n, 4);
    assert_string_equal(k.kinds[0].text, "GET /");
    assert_int_equal(k.kinds[0].total_ns, 30 * FX_MS);
    assert_string_equal(k.kinds[1].category, "sql");
    assert_string_equal(k.kinds[1].text, "SELECT 1");
    assert_int_equal(k.kinds[1].count, 2);
    assert_int_equal(k.kinds[1].total_ns, 25 * FX_MS);
    /* equal totals: by category, then text */
    assert_string_equal(k.kinds[2].category, "cache");
    assert_string_equal(k.kinds[3].text, "SELECT 2");
    static const uint32_t of[] = {1, 0, 1, 3, 2};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(k.of[i], of[i]);
    gg_marker_kinds_free(&k);
    gargalo_session_free(s);
}

/* Everything the renderers build from a session's markers, for one category's sites;
 * frees the session with the rest. */
typedef struct built {
    gargalo_session *s;
    gg_marker_index ix;
    gg_marker_kinds k;
    gg_marker_sites ms;
} built;

static void build(built *b, gargalo_session *s, const char *category)
{
    b->s = s;
    assert_int_equal(gg_marker_index_build(&b->ix, s), 0);
    assert_int_equal(gg_marker_kinds_build(&b->k, s), 0);
    assert_int_equal(gg_marker_sites_build(&b->ms, &b->ix, &b->k, category), 0);
}

static void unbuild(built *b)
{
    gg_marker_sites_free(&b->ms);
    gg_marker_kinds_free(&b->k);
    gg_marker_index_free(&b->ix);
    gargalo_session_free(b->s);
}

static const gg_marker_site *site_of(const gg_marker_sites *ms, uint32_t kind, uint32_t frame)
{
    for (size_t i = 0; i < ms->n; i++)
        if (ms->sites[i].kind == kind && ms->sites[i].frame == frame)
            return &ms->sites[i];
    return NULL;
}

/* The statement covers the samples at 20 .. 49 ms: 8 end in handle_request's call of
 * sqlite3_step, 7 in my_callback, 14 in parse_json (7 of them in memcpy), 1 in
 * app+0x1234. The request's kind is not of the category. */
static void test_sites(void **state)
{
    built b;
    build(&b, fx_rich_session(), "sql");
    assert_string_equal(b.k.kinds[1].category, "sql");
    assert_int_equal(b.ms.samples[1], 30);
    assert_int_equal(b.ms.ns[1], 30 * FX_MS);
    assert_int_equal(b.ms.samples[0], 0);
    assert_int_equal(b.ms.n, 4);
    static const struct {
        uint32_t frame, samples;
    } want[] = {{FX_PARSE, 14}, {FX_HANDLE, 8}, {FX_CALLBACK, 7}, {FX_UNKNOWN, 1}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(b.ms.sites[i].kind, 1);
        assert_int_equal(b.ms.sites[i].frame, want[i].frame);
        assert_int_equal(b.ms.sites[i].samples, want[i].samples);
        assert_int_equal(b.ms.sites[i].ns, want[i].samples * FX_MS);
    }
    gg_marker_sites_free(&b.ms);
    assert_int_equal(gg_marker_sites_build(&b.ms, &b.ix, &b.k, "request"), 0);
    assert_int_equal(b.ms.samples[0], 50);
    assert_int_equal(site_of(&b.ms, 0, FX_HANDLE)->samples, 13);
    unbuild(&b);
}

/* A sample covered by two markers of one kind counts once; a function seen at two lines
 * is one site named after the line most samples had. */
static void test_sites_count_once(void **state)
{
    gargalo_session *s = fx_session();
    uint32_t main_12 = fx_stack(s, (const uint32_t[]){FX_MAIN_12}, 1);
    for (uint64_t t = 101; t <= 103; t++)
        assert_int_equal(fx_sample(s, t * FX_MS, FX_MS, main_12), 0);
    add_marker(s, 0, 110, 0, "sql", "SELECT 1");
    add_marker(s, 0, 110, 0, "sql", "SELECT 1");
    built b;
    build(&b, s, "sql");
    assert_int_equal(b.ms.samples[0], 103);
    /* main at line 10 for 1 sample, at line 12 for 3 */
    assert_null(site_of(&b.ms, 0, FX_MAIN_10));
    const gg_marker_site *main_ = site_of(&b.ms, 0, FX_MAIN_12);
    assert_non_null(main_);
    assert_int_equal(main_->samples, 4);
    assert_int_equal(site_of(&b.ms, 0, FX_UNKNOWN)->samples, 4);
    unbuild(&b);
}

/* A sample blocked in the kernel under the library ("[blocked] ..." leaf, gargalo's own
 * frame) was called from the program's code above the library, not from the leaf. */
static void test_sites_skip_blocked_leaves(void **state)
{
    gargalo_session *s = fx_session();
    gg_frame blocked = {
        "[blocked] fdatasync fd 7: /srv/bolsa.db-wal", NULL, 0, "[kernel]", 0, false, false};
    uint32_t leaf = fx_frame(s, &blocked);
    uint32_t stack = fx_stack(s, (const uint32_t[]){FX_MAIN_10, FX_HANDLE, FX_STEP, leaf}, 4);
    for (uint64_t t = 101; t <= 105; t++)
        assert_int_equal(fx_sample(s, t * FX_MS, FX_MS, stack), 0);
    add_marker(s, 101, 110, 0, "sql", "COMMIT");
    built b;
    build(&b, s, "sql");
    assert_int_equal(b.ms.n, 1);
    assert_int_equal(b.ms.sites[0].frame, FX_HANDLE);
    assert_int_equal(b.ms.sites[0].samples, 5);
    unbuild(&b);
}

static void test_empty(void **state)
{
    built b;
    build(&b, gg_session_new(), "sql");
    assert_int_equal(gg_marker_at(&b.ix, 0, 0), GG_NO_MARKER);
    assert_int_equal(b.k.n, 0);
    assert_int_equal(b.ms.n, 0);
    unbuild(&b);
}

/* Per sample, the kinds covering it, the innermost of each category, ascending; samples
 * covered alike share a set. Kinds: request (0, 50 ms), sql BEGIN (1, 20 ms), sql SELECT
 * (2, 5 ms), in that order of total time. */
static void test_sets(void **state)
{
    gargalo_session *s = fx_session();
    add_marker(s, 0, 50, 0, "request", "GET /");
    add_marker(s, 10, 30, 0, "sql", "BEGIN");
    add_marker(s, 15, 20, 0, "sql", "SELECT");
    gg_marker_index ix;
    gg_marker_kinds k;
    gg_marker_sets ms;
    assert_int_equal(gg_marker_index_build(&ix, s), 0);
    assert_int_equal(gg_marker_kinds_build(&k, s), 0);
    assert_int_equal(gg_marker_sets_build(&ms, &ix, &k), 0);
    assert_int_equal(ms.n, 3); /* request; request and BEGIN; request and SELECT */
    for (size_t i = 0; i < s->nsamples; i++) {
        uint64_t t = s->samples[i].time_ns / FX_MS;
        uint32_t want[2] = {0, t >= 15 && t < 20 ? 2 : 1}, n = t >= 50             ? 0
                                                               : t >= 10 && t < 30 ? 2
                                                                                   : 1;
        if (!n) {
            assert_int_equal(ms.of[i], GG_NO_MARKER);
            continue;
        }
        const gg_marker_set *set = &ms.sets[ms.of[i]];
        assert_int_equal(set->count, n);
        for (uint32_t j = 0; j < n; j++)
            assert_int_equal(ms.kinds[set->first + j], want[j]);
    }
    gg_marker_sets_free(&ms);
    gg_marker_kinds_free(&k);
    gg_marker_index_free(&ix);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_lookup),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_against_scan),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_sites_count_once),
        cmocka_unit_test(test_sites_skip_blocked_leaves),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
