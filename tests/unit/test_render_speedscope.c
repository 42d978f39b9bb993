/*
 * test_render_speedscope.c: the speedscope document's structure: one frame per function,
 * a sampled profile in nanoseconds with samples in time order, stacks root first,
 * library runs folded unless show_all; a process-wide session as one profile per thread,
 * busiest first. (The browser test checks it against the schema.)
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
    assert_int_equal(json_array_size(json_object_get(doc, "profiles")), 2);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),      cmocka_unit_test(test_show_all),
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_threads),
        cmocka_unit_test(test_threads_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
