/*
 * test_labels.c: labels and markers of a per-thread session: each sample carries the
 * labels its thread had when it was taken; markers come out with their times, nested,
 * and bounded; wrong calls are refused or ignored. Run with both mechanisms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "isolate.h"
#include "sampler_testlib.h"

/* The value of key in sample i's labels, or NULL. */
static const char *label_of(const gargalo_session *s, size_t i, const char *key)
{
    uint32_t n;
    const gg_label *l = gg_labelset_labels(s, s->samples[i].labels, &n);
    for (uint32_t k = 0; k < n; k++)
        if (strcmp(l[k].key, key) == 0)
            return l[k].value;
    return NULL;
}

/* A label set before the start, one set halfway, one cleared: each sample carries what
 * was in effect at its time. */
static void test_labels_follow_time(void **state)
{
    gargalo_session *s;
    assert_int_equal(gargalo_label_set("route", "/a"), 0);
    assert_int_equal(gargalo_start(&s, NULL), 0);
    tl_spin_ns(CLOCK_MONOTONIC, 30000000);
    assert_int_equal(gargalo_label_set("route", "/b"), 0);
    assert_int_equal(gargalo_label_set("method", "POST"), 0);
    tl_spin_ns(CLOCK_MONOTONIC, 30000000);
    gargalo_label_clear(NULL);
    tl_spin_ns(CLOCK_MONOTONIC, 10000000);
    assert_int_equal(gargalo_stop(s), 0);
    size_t a = 0, b = 0, none = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        const char *route = label_of(s, i, "route");
        a += route && !strcmp(route, "/a");
        b += route && !strcmp(route, "/b"); /* a sample may fall between the two sets */
        none += !route;
        assert_true(!label_of(s, i, "method") || (route && !strcmp(route, "/b")));
    }
    printf("labels: %zu samples, %zu /a, %zu /b, %zu none\n", s->nsamples, a, b, none);
    assert_true(a > 0 && b > 0 && none > 0);
    assert_int_equal(a + b + none, s->nsamples);
    gargalo_session_free(s);
}

/* Markers nest, keep their order and text, and lie within the session. */
static void test_markers_nest(void **state)
{
    gargalo_session *s;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    gargalo_mark_begin("request", "GET /x");
    tl_spin_ns(CLOCK_MONOTONIC, 5000000);
    gargalo_mark_begin("sql", "SELECT ?");
    tl_spin_ns(CLOCK_MONOTONIC, 5000000);
    gargalo_mark_end();
    gargalo_mark_end();
    gargalo_mark_end(); /* one too many: ignored */
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(s->nmarkers, 2);
    const gg_marker *sql = &s->markers[0], *req = &s->markers[1]; /* ended first, first */
    assert_string_equal(sql->category, "sql");
    assert_string_equal(sql->text, "SELECT ?");
    assert_string_equal(req->text, "GET /x");
    assert_true(req->start_ns <= sql->start_ns && sql->end_ns <= req->end_ns);
    assert_true(sql->end_ns - sql->start_ns >= 5000000);
    assert_true(req->end_ns <= s->duration_ns);
    assert_int_equal(s->threads[sql->thread].tid, s->tid);
    gargalo_session_free(s);
}

/* Memory is bounded: past it, markers are counted as dropped, never lost silently. */
static void test_markers_bounded(void **state)
{
    gargalo_session *s;
    char text[1001];
    memset(text, 'x', 1000);
    text[1000] = '\0';
    assert_int_equal(gargalo_start(&s, NULL), 0);
    for (int i = 0; i < 20000; i++) {
        gargalo_mark_begin("sql", text);
        gargalo_mark_end();
    }
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_stats st;
    gargalo_session_stats(s, &st);
    printf("markers: %zu kept, %zu dropped\n", st.markers, st.markers_dropped);
    assert_true(st.markers_dropped > 0);
    assert_int_equal(st.markers + st.markers_dropped, 20000);
    gargalo_session_free(s);
}

/* Past 16 levels markers are not recorded, and their ends do not close the ones that
 * are: each recorded marker ends at its own end. */
static void test_markers_too_deep(void **state)
{
    gargalo_session *s;
    char text[16];
    assert_int_equal(gargalo_start(&s, NULL), 0);
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "d%d", i);
        gargalo_mark_begin("deep", text);
    }
    for (int i = 0; i < 20; i++) {
        tl_spin_ns(CLOCK_MONOTONIC, 2000000);
        gargalo_mark_end();
    }
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(s->nmarkers, 16);
    for (size_t i = 0; i < s->nmarkers; i++) {
        const gg_marker *m = &s->markers[i];
        snprintf(text, sizeof(text), "d%zu", 15 - i); /* the innermost ends first */
        assert_string_equal(m->text, text);
        /* d15 ends after the 5th end, 10 ms of spinning in; d0 after the 20th. */
        assert_true(m->end_ns - m->start_ns >= (5 + i) * 2000000);
    }
    gargalo_session_free(s);
}

/* Without a session nothing is recorded, and the next session sees none of it. */
static void test_unwatched_is_cheap_and_forgotten(void **state)
{
    gargalo_session *s;
    gargalo_mark_begin("sql", "before");
    gargalo_mark_end();
    assert_int_equal(gargalo_start(&s, NULL), 0);
    tl_spin_ns(CLOCK_MONOTONIC, 5000000);
    assert_int_equal(gargalo_stop(s), 0);
    assert_int_equal(s->nmarkers, 0);
    gargalo_session_free(s);
}

static void test_wrong_calls(void **state)
{
    char key[16];
    assert_int_equal(gargalo_label_set(NULL, "v"), GARGALO_EINVAL);
    assert_int_equal(gargalo_label_set("", "v"), GARGALO_EINVAL);
    for (int i = 0; i < GARGALO_MAX_LABELS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(gargalo_label_set(key, "v"), 0);
    }
    assert_int_equal(gargalo_label_set("one-too-many", "v"), GARGALO_ENOMEM);
    assert_int_equal(gargalo_label_set("k3", "replaced"), 0); /* an existing key: fine */
    gargalo_label_clear("no-such-key");
    gargalo_label_clear("k3");
    assert_int_equal(gargalo_label_set("one-more", "v"), 0);
    gargalo_label_clear(NULL);
    gargalo_mark_end(); /* nothing open */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_follow_time),
        cmocka_unit_test(test_markers_nest),
        cmocka_unit_test(test_markers_bounded),
        cmocka_unit_test(test_markers_too_deep),
        cmocka_unit_test(test_unwatched_is_cheap_and_forgotten),
        cmocka_unit_test(test_wrong_calls),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
