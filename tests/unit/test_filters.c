/*
 * test_filters.c: the render options' tag and thread filters. A filtered render, in every
 * format and in a diff, must be byte for byte the render of a session built with only
 * the samples (and, for a thread, the markers) the filters keep; bad filters are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render_fixture.h"

static const gargalo_format formats[] = {GARGALO_FORMAT_TEXT,       GARGALO_FORMAT_HTML,
                                         GARGALO_FORMAT_SPEEDSCOPE, GARGALO_FORMAT_JSON,
                                         GARGALO_FORMAT_PPROF,      GARGALO_FORMAT_FOLDED};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

/* Whether a sample of the fixture carries key=value. */
static bool carries(const gargalo_session *s, const gg_sample *sm, const char *key,
                    const char *value)
{
    uint32_t n;
    const gg_label *l = gg_labelset_labels(s, sm->labels, &n);
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(l[i].key, key) && !strcmp(l[i].value, value))
            return true;
    return false;
}

/* The fixture with only the samples carrying key=value (any when key is NULL) of the
 * thread tid (any when 0), and only that thread's markers. */
static gargalo_session *only(const char *key, const char *value, pid_t tid)
{
    gargalo_session *s = fx_rich_session();
    size_t k = 0, m = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        const gg_sample *sm = &s->samples[i];
        if ((!key || carries(s, sm, key, value)) && (!tid || s->threads[sm->thread].tid == tid))
            s->samples[k++] = *sm;
    }
    s->nsamples = k;
    for (size_t i = 0; i < s->nmarkers; i++)
        if (!tid || s->threads[s->markers[i].thread].tid == tid)
            s->markers[m++] = s->markers[i];
    s->nmarkers = m;
    return s;
}

static void options(gargalo_render_options *ro, const char *tag, long thread)
{
    gargalo_render_options_init(ro);
    ro->title = "filters";
    ro->tag = tag;
    ro->thread = thread;
}

static void assert_same(const char *what, int fmt, char *a, size_t alen, char *b, size_t blen)
{
    if (alen != blen || memcmp(a, b, alen) != 0)
        fail_msg("%s, format %d: %zu bytes filtered, %zu from the reduced session:\n%.*s\n--\n%.*s",
                 what, fmt, alen, blen, (int)(alen < 2000 ? alen : 2000), a,
                 (int)(blen < 2000 ? blen : 2000), b);
    free(a), free(b);
}

/* Every format, and a diff of the session with itself in each of the diff's formats. */
static void check_filter(const char *tag, long thread, const char *key, const char *value,
                         size_t expect_samples)
{
    gargalo_session *full = fx_rich_session(), *ref = only(key, value, (pid_t)thread);
    gargalo_render_options ro, plain;
    options(&ro, tag, thread);
    options(&plain, NULL, 0);
    assert_int_equal(ref->nsamples, expect_samples);
    for (size_t f = 0; f < NFORMATS; f++) {
        char *a, *b;
        size_t alen, blen;
        if (formats[f] == GARGALO_FORMAT_TEXT && !expect_samples)
            continue; /* says why it is empty: test_empty_result */
        assert_int_equal(gargalo_render(full, formats[f], &ro, &a, &alen), 0);
        assert_int_equal(gargalo_render(ref, formats[f], &plain, &b, &blen), 0);
        assert_same(tag ? tag : "thread", formats[f], a, alen, b, blen);
    }
    for (size_t f = 0; f < 3; f++) {
        static const gargalo_format diffs[] = {GARGALO_FORMAT_TEXT, GARGALO_FORMAT_HTML,
                                               GARGALO_FORMAT_FOLDED};
        char *a, *b;
        size_t alen, blen;
        assert_int_equal(gargalo_diff_render(full, full, diffs[f], &ro, &a, &alen), 0);
        assert_int_equal(gargalo_diff_render(ref, ref, diffs[f], &plain, &b, &blen), 0);
        assert_same("diff", diffs[f], a, alen, b, blen);
    }
    gargalo_session_free(full);
    gargalo_session_free(ref);
}

static void test_tag(void **state)
{
    check_filter("route=/b", 0, "route", "/b", 50);
    check_filter("route=/a", 0, "route", "/a", 50);
    check_filter("method=POST", 0, "method", "POST", 50);
}

static void test_thread(void **state)
{
    check_filter(NULL, 4343, NULL, NULL, 40); /* the idle thread, none of the markers */
    check_filter(NULL, 4242, NULL, NULL, 100);
}

static void test_both(void **state)
{
    check_filter("route=/b", 4242, "route", "/b", 50);
    check_filter("route=/b", 4343, "route", "/b", 0);
    check_filter("route=/c", 0, "route", "/c", 0);
    check_filter("route=", 0, "route", "", 0); /* an empty value is a value */
}

/* The filtered JSON is a session of its own: it loads, and holds only what was kept. */
static void test_json_loads(void **state)
{
    gargalo_session *s = fx_rich_session(), *back;
    gargalo_render_options ro;
    options(&ro, "method=POST", 4242);
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_JSON, &ro, &out, &len), 0);
    assert_int_equal(gargalo_session_load(out, len, &back), 0);
    assert_int_equal(back->nsamples, 50);
    assert_int_equal(back->nmarkers, 2);
    assert_int_equal(back->nthreads, 2); /* the thread table stays whole */
    free(out);
    gargalo_session_free(back);
    gargalo_session_free(s);
}

static void test_empty_result(void **state)
{
    gargalo_session *s = fx_rich_session();
    gargalo_render_options ro;
    options(&ro, "route=/zzz", 0);
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, &ro, &out, &len), 0);
    assert_non_null(strstr(out, "Samples 0"));
    assert_non_null(strstr(out, "(no sample passes the filters)\n"));
    free(out);
    gargalo_session_free(s);
}

static void assert_refused(const gargalo_session *s, const char *tag, long thread)
{
    gargalo_render_options ro;
    options(&ro, tag, thread);
    char *out = NULL;
    size_t len;
    for (size_t f = 0; f < NFORMATS; f++)
        assert_int_equal(gargalo_render(s, formats[f], &ro, &out, &len), GARGALO_EINVAL);
    assert_int_equal(gargalo_diff_render(s, s, GARGALO_FORMAT_TEXT, &ro, &out, &len),
                     GARGALO_EINVAL);
    char path[] = "/tmp/gargalo-filters-XXXXXX";
    assert_non_null(mkdtemp(path));
    char file[64];
    snprintf(file, sizeof(file), "%s/out.txt", path);
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_TEXT, &ro, file), GARGALO_EINVAL);
    assert_int_equal(access(file, F_OK), -1); /* nothing written */
    assert_int_equal(rmdir(path), 0);
    assert_null(out);
}

static void test_refused(void **state)
{
    gargalo_session *s = fx_rich_session();
    assert_refused(s, "route", 0);
    assert_refused(s, "=/b", 0);
    assert_refused(s, "", 0);
    assert_refused(s, NULL, -1);
    assert_refused(s, NULL, 999); /* no such thread */
    assert_refused(s, "route=/b", 999);
    gargalo_session *other = fx_session(), *both[2] = {s, other};
    gargalo_render_options ro;
    options(&ro, NULL, 4343); /* the before session has it, the after one does not */
    char *out;
    size_t len;
    assert_int_equal(gargalo_diff_render(both[0], both[1], GARGALO_FORMAT_FOLDED, &ro, &out, &len),
                     GARGALO_EINVAL);
    gargalo_session_free(other);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag),          cmocka_unit_test(test_thread),
        cmocka_unit_test(test_both),         cmocka_unit_test(test_json_loads),
        cmocka_unit_test(test_empty_result), cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
