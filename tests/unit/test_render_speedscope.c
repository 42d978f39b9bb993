/*
 * test_render_speedscope.c: the speedscope document's structure: one frame per function,
 * a sampled profile in nanoseconds with samples in time order, stacks root first,
 * library runs folded unless show_all; a process-wide session as one profile per thread,
 * busiest first; markers as evented profiles after them, one frame per kind, events
 * nested. (The browser test checks it against the schema.)
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "render_fixture.h"

static json_t *render(const gargalo_session *s, int show_all)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = show_all;
    ro.title = "t\"1";
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_SPEEDSCOPE, &ro, &out, &len), 0);
    json_error_t err;
    json_t *doc = json_loadb(out, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        fail_msg("invalid JSON: %s at %d", err.text, err.position);
    free(out);
    return doc;
}

static int frame_index(json_t *frames, const char *name)
{
    for (size_t i = 0; i < json_array_size(frames); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(frames, i), "name")), name) ==
            0)
            return (int)i;
    return -1;
}

static void test_document(void **state)
{
    gargalo_session *s = fx_session();
    json_t *doc = render(s, 0);
    assert_string_equal(json_string_value(json_object_get(doc, "$schema")),
                        "https://www.speedscope.app/file-format-schema.json");
    assert_string_equal(json_string_value(json_object_get(doc, "exporter")), "gargalo 0.1.0");
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "t\"1");
    assert_int_equal(json_integer_value(json_object_get(doc, "activeProfileIndex")), 0);
    json_t *frames = json_object_get(json_object_get(doc, "shared"), "frames");
    assert_int_equal(json_array_size(frames), 7); /* main once for its two lines */
    json_t *main_ = json_array_get(frames, (size_t)frame_index(frames, "main"));
    assert_string_equal(json_string_value(json_object_get(main_, "file")),
                        "/home/dev/app/src/main.c");
    assert_int_equal(json_integer_value(json_object_get(main_, "line")), 10);
    assert_true(frame_index(frames, "sqlite3_step [libsqlite3.so.0]") >= 0);
    assert_true(frame_index(frames, "app+0x1234") >= 0);
    assert_int_equal(frame_index(frames, "sqlite3VdbeExec [libsqlite3.so.0]"), -1);

    json_t *p = json_array_get(json_object_get(doc, "profiles"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "sampled");
    assert_string_equal(json_string_value(json_object_get(p, "unit")), "nanoseconds");
    assert_int_equal(json_integer_value(json_object_get(p, "startValue")), 0);
    assert_int_equal(json_integer_value(json_object_get(p, "endValue")), 100 * FX_MS);
    json_t *samples = json_object_get(p, "samples"), *weights = json_object_get(p, "weights");
    assert_int_equal(json_array_size(samples), 100);
    assert_int_equal(json_array_size(weights), 100);
    /* the first sample is the first stack: main > handle_request > sqlite3_step */
    json_t *first = json_array_get(samples, 0);
    assert_int_equal(json_array_size(first), 3);
    assert_int_equal(json_integer_value(json_array_get(first, 0)), frame_index(frames, "main"));
    assert_int_equal(json_integer_value(json_array_get(first, 2)),
                     frame_index(frames, "sqlite3_step [libsqlite3.so.0]"));
    /* the second is the callback below the folded run */
    json_t *second = json_array_get(samples, 1);
    assert_int_equal(json_array_size(second), 4);
    assert_int_equal(json_integer_value(json_array_get(second, 3)),
                     frame_index(frames, "my_callback"));
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(json_integer_value(json_array_get(weights, i)), FX_MS);
        json_t *st = json_array_get(samples, i);
        for (size_t k = 0; k < json_array_size(st); k++)
            assert_true(json_integer_value(json_array_get(st, k)) < 7);
    }
    json_decref(doc);
    gargalo_session_free(s);
}

static void test_show_all(void **state)
{
    gargalo_session *s = fx_session();
    json_t *doc = render(s, 1);
    json_t *frames = json_object_get(json_object_get(doc, "shared"), "frames");
    assert_int_equal(json_array_size(frames), 8);
    int vdbe = frame_index(frames, "sqlite3VdbeExec [libsqlite3.so.0]");
    assert_true(vdbe >= 0);
    json_t *p = json_array_get(json_object_get(doc, "profiles"), 0);
    json_t *second = json_array_get(json_object_get(p, "samples"), 1);
    assert_int_equal(json_array_size(second), 5);
    assert_int_equal(json_integer_value(json_array_get(second, 3)), vdbe);
    json_decref(doc);
    gargalo_session_free(s);
}

static void test_empty(void **state)
{
    gargalo_session *s = gg_session_new();
    json_t *doc = render(s, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "profiles")), 1);
    json_t *p = json_array_get(json_object_get(doc, "profiles"), 0);
    assert_int_equal(json_array_size(json_object_get(p, "samples")), 0);
    assert_int_equal(json_integer_value(json_object_get(p, "endValue")), 0);
    json_decref(doc);
    gargalo_session_free(s);
}

static json_t *profile_named(json_t *doc, size_t i, const char *name)
{
    json_t *p = json_array_get(json_object_get(doc, "profiles"), i);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "name")), name);
    return p;
}

/* Each thread's profile holds its samples in time order, as a session of that thread
 * alone would: the worker's are exactly the one-thread fixture's. */
static void test_threads(void **state)
{
    gargalo_session *s = fx_rich_session(), *alone = fx_session();
    json_t *doc = render(s, 0), *ref = render(alone, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "profiles")), 3); /* and markers' */
    assert_int_equal(json_integer_value(json_object_get(doc, "activeProfileIndex")), 0);
    json_t *w = profile_named(doc, 0, "worker (4242)"), *i = profile_named(doc, 1, "idle (4343)");
    json_t *r = json_array_get(json_object_get(ref, "profiles"), 0);
    assert_true(json_equal(json_object_get(w, "samples"), json_object_get(r, "samples")));
    assert_true(json_equal(json_object_get(w, "weights"), json_object_get(r, "weights")));
    assert_int_equal(json_integer_value(json_object_get(w, "endValue")), 100 * FX_MS);
    assert_int_equal(json_integer_value(json_object_get(i, "endValue")), 40 * FX_MS);
    json_t *frames = json_object_get(json_object_get(doc, "shared"), "frames");
    json_t *samples = json_object_get(i, "samples");
    assert_int_equal(json_array_size(samples), 40);
    for (size_t k = 0; k < 40; k++) {
        json_t *st = json_array_get(samples, k);
        assert_int_equal(json_array_size(st), 2);
        assert_int_equal(json_integer_value(json_array_get(st, 1)),
                         frame_index(frames, "epoll_wait [libc.so.6]"));
    }
    json_decref(doc), json_decref(ref);
    gargalo_session_free(alone);
    /* the idle thread, busy now and with more CPU time, comes first */
    s->threads[1].cpu_ns = 95 * FX_MS;
    doc = render(s, 0);
    profile_named(doc, 0, "idle (4343)");
    profile_named(doc, 1, "worker (4242)");
    json_decref(doc);
    gargalo_session_free(s);
}

/* A process-wide session without samples: one empty profile, named by the title. */
static void test_threads_empty(void **state)
{
    gargalo_session *s = gg_session_new();
    s->process = true;
    json_t *doc = render(s, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "profiles")), 1);
    json_t *p = profile_named(doc, 0, "t\"1");
    assert_int_equal(json_array_size(json_object_get(p, "samples")), 0);
    json_decref(doc);
    gargalo_session_free(s);
}

typedef struct event {
    const char *type, *frame;
    uint64_t at_ms;
} event;

/* A profile's events are want[0 .. n): type, the name of their frame, time in ms. */
static void assert_events(json_t *frames, json_t *p, const event *want, size_t n)
{
    json_t *events = json_object_get(p, "events");
    assert_int_equal(json_array_size(events), n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(events, i);
        assert_string_equal(json_string_value(json_object_get(e, "type")), want[i].type);
        assert_int_equal(json_integer_value(json_object_get(e, "frame")),
                         frame_index(frames, want[i].frame));
        assert_int_equal(json_integer_value(json_object_get(e, "at")), want[i].at_ms * FX_MS);
    }
}

/* The fixture's request and the statement in it: a second profile, evented. */
static void test_markers(void **state)
{
    gargalo_session *s = fx_rich_session();
    json_t *doc = render(s, 0);
    json_t *frames = json_object_get(json_object_get(doc, "shared"), "frames");
    json_t *profiles = json_object_get(doc, "profiles");
    assert_int_equal(json_array_size(profiles), 3); /* one per thread, then the markers' */
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(profiles, i), "type")),
                            "sampled");
    json_t *p = json_array_get(profiles, 2);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "evented");
    assert_string_equal(json_string_value(json_object_get(p, "name")), "markers");
    assert_string_equal(json_string_value(json_object_get(p, "unit")), "nanoseconds");
    assert_int_equal(json_integer_value(json_object_get(p, "startValue")), 0);
    assert_int_equal(json_integer_value(json_object_get(p, "endValue")), 140 * FX_MS);
    static const event want[] = {{"O", "request: POST /b", 10},
                                 {"O", "sql: INSERT INTO t VALUES (?)", 20},
                                 {"C", "sql: INSERT INTO t VALUES (?)", 50},
                                 {"C", "request: POST /b", 60}};
    assert_events(frames, p, want, 4);
    assert_int_equal(json_array_size(frames), 10); /* 8 functions, 2 kinds of marker */
    json_decref(doc);
    gargalo_session_free(s);
}

/* Two threads: a profile each, named after its thread. A marker outliving the one it
 * began in closes with it, one of no length opens and closes at once, and a marker
 * ending after the session stretches the profile. */
static void test_markers_nesting(void **state)
{
    gargalo_session *s = fx_session();
    uint32_t other;
    assert_int_equal(gg_session_add_thread(s, 77, "other", &other), 0);
    static const gg_marker ms[] = {
        {0, 50 * FX_MS, "a", "outer", 0},
        {10 * FX_MS, 80 * FX_MS, "a", "late", 0},
        {60 * FX_MS, 60 * FX_MS, "a", "empty", 0},
        {5 * FX_MS, 200 * FX_MS, "b", "long", 1},
    };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(gg_session_add_marker(s, &ms[i]), 0);
    json_t *doc = render(s, 0);
    json_t *frames = json_object_get(json_object_get(doc, "shared"), "frames");
    json_t *profiles = json_object_get(doc, "profiles");
    assert_int_equal(json_array_size(profiles), 3);
    json_t *p0 = json_array_get(profiles, 1), *p1 = json_array_get(profiles, 2);
    assert_string_equal(json_string_value(json_object_get(p0, "name")),
                        "markers: thread worker (4242)");
    assert_string_equal(json_string_value(json_object_get(p1, "name")),
                        "markers: thread other (77)");
    assert_int_equal(json_integer_value(json_object_get(p1, "endValue")), 200 * FX_MS);
    static const event want0[] = {{"O", "a: outer", 0},  {"O", "a: late", 10},
                                  {"C", "a: late", 50},  {"C", "a: outer", 50},
                                  {"O", "a: empty", 60}, {"C", "a: empty", 60}};
    static const event want1[] = {{"O", "b: long", 5}, {"C", "b: long", 200}};
    assert_events(frames, p0, want0, 6);
    assert_events(frames, p1, want1, 2);
    json_decref(doc);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),        cmocka_unit_test(test_show_all),
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_threads),
        cmocka_unit_test(test_threads_empty),   cmocka_unit_test(test_markers),
        cmocka_unit_test(test_markers_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
