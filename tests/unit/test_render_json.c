/*
 * test_render_json.c: gargalo's session JSON: a saved and reloaded session renders exactly
 * as the original in every format, and the loader turns every malformed input (truncated,
 * wrong types, indices out of range, huge numbers) into GARGALO_EFORMAT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "render_fixture.h"

static char *render(const gargalo_session *s, gargalo_format fmt, int show_all, size_t *len)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = show_all;
    char *out = NULL;
    assert_int_equal(gargalo_render(s, fmt, &ro, &out, len), 0);
    return out;
}

static gargalo_session *reload(const gargalo_session *s)
{
    size_t len;
    char *json = render(s, GARGALO_FORMAT_JSON, 0, &len);
    gargalo_session *back = NULL;
    assert_int_equal(gargalo_session_load(json, len, &back), 0);
    assert_non_null(back);
    free(json);
    return back;
}

static void assert_same_output(const gargalo_session *a, const gargalo_session *b)
{
    for (int fmt = GARGALO_FORMAT_TEXT; fmt <= GARGALO_FORMAT_JSON; fmt++) {
        for (int all = 0; all < 2; all++) {
            size_t la, lb;
            char *x = render(a, (gargalo_format)fmt, all, &la);
            char *y = render(b, (gargalo_format)fmt, all, &lb);
            assert_int_equal(la, lb);
            assert_memory_equal(x, y, la);
            free(x), free(y);
        }
    }
}

static void test_round_trip(void **state)
{
    gargalo_session *s = fx_session();
    gargalo_session *back = reload(s);
    assert_same_output(s, back);
    gargalo_stats a, b;
    assert_int_equal(gargalo_session_stats(s, &a), 0);
    assert_int_equal(gargalo_session_stats(back, &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_string_equal(back->thread_name, "worker");
    assert_int_equal(back->tid, 4242);
    assert_true(back->frames[FX_PARSE].inlined);
    assert_null(back->frames[FX_UNKNOWN].function);
    gargalo_session_free(back);
    gargalo_session_free(s);
}

/* Threads, label sets and markers come back as they were. */
static void test_round_trip_rich(void **state)
{
    gargalo_session *s = fx_rich_session();
    gargalo_session *back = reload(s);
    assert_same_output(s, back);
    assert_true(back->process);
    assert_int_equal(back->nthreads, 2);
    assert_string_equal(back->threads[1].name, "idle");
    assert_int_equal(back->threads[0].cpu_ns, 90 * FX_MS);
    assert_int_equal(back->nlabelsets, 2);
    uint32_t n;
    const gg_label *l = gg_labelset_labels(back, back->samples[99].labels, &n);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].key, "method"); /* sorted by key */
    assert_string_equal(l[1].value, "/b");
    assert_int_equal(back->samples[100].thread, 1);
    assert_int_equal(back->samples[100].labels, GG_NO_LABELS);
    assert_int_equal(back->nmarkers, 2);
    assert_string_equal(back->markers[1].text, "INSERT INTO t VALUES (?)");
    assert_int_equal(back->markers[1].end_ns, 50 * FX_MS);
    assert_int_equal(back->markers_dropped, 3);
    gargalo_session_free(back);
    gargalo_session_free(s);
}

/* Threads, labels and markers that point nowhere or contradict themselves. */
static void test_rejects_bad_extras(void **state)
{
    static const char *bad[] = {
        "\"scope\":\"galaxy\"",
        "\"threads\":[[1,\"a\",0],[1,\"b\",0]]",
        "\"threads\":[[1,2,0]]",
        "\"threads\":{}",
        "\"labelsets\":[[[\"k\",\"v\"],[\"k\",\"w\"]]]",
        "\"labelsets\":[[[\"k\"]]]",
        "\"labelsets\":[[[\"k\",1]]]",
        "\"markers\":[[5,4,0,\"c\",\"t\"]]",
        "\"markers\":[[1,2,7,\"c\",\"t\"]]",
        "\"markers\":[[1,2,0,null,\"t\"]]",
        "\"markers_dropped\":-1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char doc[512];
        gargalo_session *s = NULL;
        snprintf(doc, sizeof(doc),
                 "{\"gargalo\":1,\"clock\":\"wall\",\"start_unix_ns\":0,\"duration_ns\":0,"
                 "\"cpu_ns\":0,\"symbolize_ns\":0,\"dropped\":0,\"thread\":null,%s,"
                 "\"frames\":[],\"stacks\":[],\"samples\":[]}",
                 bad[i]);
        assert_int_equal(gargalo_session_load(doc, strlen(doc), &s), GARGALO_EFORMAT);
        assert_null(s);
    }
    static const char *bad_samples[] = {"[1,1,0,1,-1]", "[1,1,0,0,0]", "[1,1,0,0]"};
    for (size_t i = 0; i < sizeof(bad_samples) / sizeof(bad_samples[0]); i++) {
        char doc[512];
        gargalo_session *s = NULL;
        snprintf(doc, sizeof(doc),
                 "{\"gargalo\":1,\"clock\":\"wall\",\"start_unix_ns\":0,\"duration_ns\":0,"
                 "\"cpu_ns\":0,\"symbolize_ns\":0,\"dropped\":0,\"thread\":null,"
                 "\"threads\":[[1,\"a\",0]],\"frames\":[],\"stacks\":[[]],\"samples\":[%s]}",
                 bad_samples[i]);
        assert_int_equal(gargalo_session_load(doc, strlen(doc), &s), GARGALO_EFORMAT);
    }
}

static void test_round_trip_big(void **state)
{
    gargalo_session *s = fx_big_session(3000, 120);
    s->opt.clock = GARGALO_CLOCK_CPU;
    s->dropped = 7;
    gargalo_session *back = reload(s);
    assert_int_equal(back->opt.clock, GARGALO_CLOCK_CPU);
    assert_int_equal(back->dropped, 7);
    assert_same_output(s, back);
    gargalo_session_free(back);
    gargalo_session_free(s);
}

/* Odd strings survive: quotes, backslashes, control characters, non-ASCII. */
static void test_round_trip_strings(void **state)
{
    gargalo_session *s = gg_session_new();
    gg_frame f = {"operator\"<\\>\t\x01 caf\xc3\xa9",
                  "/tmp/a b/\xe2\x82\xac.c",
                  3,
                  "m\nod",
                  UINT64_MAX,
                  true,
                  false};
    assert_int_equal(fx_frame(s, &f), 0);
    uint32_t fr = 0;
    assert_int_equal(fx_stack(s, &fr, 1), 0);
    assert_int_equal(fx_sample(s, 5, 5, 0), 0);
    gargalo_session *back = reload(s);
    assert_string_equal(back->frames[0].function, f.function);
    assert_string_equal(back->frames[0].file, f.file);
    assert_string_equal(back->frames[0].module, f.module);
    assert_true(back->frames[0].offset == UINT64_MAX);
    assert_same_output(s, back);
    gargalo_session_free(back);
    gargalo_session_free(s);
}

static int load(const char *json)
{
    gargalo_session *s = NULL;
    int rc = gargalo_session_load(json, strlen(json), &s);
    gargalo_session_free(s);
    return rc;
}

#define HEAD                                                                                       \
    "{\"gargalo\":1,\"clock\":\"wall\",\"start_unix_ns\":1,\"duration_ns\":10,"                    \
    "\"cpu_ns\":5,\"symbolize_ns\":0,\"dropped\":0,\"tid\":1,\"thread\":\"t\","
#define FRAME                                                                                      \
    "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\","                               \
    "\"offset\":\"0x10\",\"library\":false,\"inlined\":false}"

static void test_minimal_documents(void **state)
{
    assert_int_equal(load(HEAD "\"frames\":[],\"stacks\":[],\"samples\":[]}"), 0);
    assert_int_equal(load(HEAD "\"frames\":[" FRAME "],\"stacks\":[[0],[]],"
                               "\"samples\":[[1,1,0],[1,2,1],[3,0,0]]}"),
                     0);
    /* two empty stacks: comparing them once handed memcmp a null pointer (UBSan) */
    assert_int_equal(load(HEAD "\"frames\":[],\"stacks\":[[],[]],\"samples\":[[1,1,1]]}"), 0);
    /* unknown keys are ignored, so later versions can add some */
    assert_int_equal(load(HEAD "\"extra\":{\"x\":[1]},\"frames\":[],\"stacks\":[],"
                               "\"samples\":[]}"),
                     0);
}

static void test_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "null",
        "[]",
        "{}",
        "{\"gargalo\":1}",
        "{\"gargalo\":2,\"clock\":\"wall\"}",
        HEAD "\"frames\":[],\"stacks\":[],\"samples\":[]",   /* truncated */
        HEAD "\"frames\":[],\"stacks\":[],\"samples\":[]}x", /* trailing */
        HEAD "\"frames\":{},\"stacks\":[],\"samples\":[]}",  /* types */
        HEAD "\"frames\":[1],\"stacks\":[],\"samples\":[]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,0,0,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,\"1\",0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,1.5,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,-1,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,1,1]]}", /* range */
        HEAD "\"frames\":[],\"stacks\":[[0]],\"samples\":[]}",
        HEAD "\"frames\":[" FRAME "],\"stacks\":[[1]],\"samples\":[]}",
        HEAD "\"frames\":[" FRAME "],\"stacks\":[[-1]],\"samples\":[]}",
        HEAD "\"frames\":[],\"stacks\":[],\"samples\":[[0,1,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[5,1,0],[4,1,0]]}", /* time order */
        HEAD "\"frames\":[],\"stacks\":[[]],"                                /* huge */
             "\"samples\":[[0,99999999999999999999999,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,1e30,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[]],\"samples\":[[0,9223372036854775807,0],"
             "[1,9223372036854775807,0],[2,9223372036854775807,0]]}",
        HEAD "\"frames\":[],\"stacks\":[[4294967296]],\"samples\":[]}",
        "{\"gargalo\":1,\"clock\":\"tsc\",\"start_unix_ns\":1,\"duration_ns\":1,\"cpu_ns\":1,"
        "\"symbolize_ns\":0,\"dropped\":0,\"frames\":[],\"stacks\":[],\"samples\":[]}",
        "{\"gargalo\":1,\"clock\":\"wall\",\"start_unix_ns\":-1,\"duration_ns\":1,\"cpu_ns\":1,"
        "\"symbolize_ns\":0,\"dropped\":0,\"frames\":[],\"stacks\":[],\"samples\":[]}",
        HEAD "\"tid\":2,\"frames\":[],\"stacks\":[],\"samples\":[]}", /* duplicate key */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (load(bad[i]) != GARGALO_EFORMAT)
            fail_msg("accepted: %s", bad[i]);
}

/* One field of the frame object replaced by each wrong value. */
static void test_rejects_bad_frames(void **state)
{
    static const char *const frames[] = {
        "{\"function\":1,\"file\":null,\"line\":1,\"module\":\"m\",\"offset\":\"0x1\","
        "\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":-1,\"module\":\"m\",\"offset\":\"0x1\","
        "\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":4294967296,\"module\":\"m\","
        "\"offset\":\"0x1\",\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\",\"offset\":16,"
        "\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\",\"offset\":\"0x\","
        "\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\","
        "\"offset\":\"0x10000000000000000\",\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\",\"offset\":\"0xg\","
        "\"library\":false,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\",\"offset\":\"0x1\","
        "\"library\":0,\"inlined\":false}",
        "{\"function\":\"f\",\"file\":null,\"line\":1,\"module\":\"m\",\"offset\":\"0x1\","
        "\"library\":false}",
        "{\"function\":\"f\\u0000g\",\"file\":null,\"line\":1,\"module\":\"m\","
        "\"offset\":\"0x1\",\"library\":false,\"inlined\":false}",
    };
    char doc[1024];
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        snprintf(doc, sizeof(doc), HEAD "\"frames\":[%s],\"stacks\":[],\"samples\":[]}", frames[i]);
        if (load(doc) != GARGALO_EFORMAT)
            fail_msg("accepted: %s", doc);
    }
}

/* Every strict prefix of a real document is malformed, and none crashes the loader. */
static void test_rejects_every_truncation(void **state)
{
    gargalo_session *s = fx_session();
    size_t len;
    char *json = render(s, GARGALO_FORMAT_JSON, 0, &len);
    for (size_t cut = 0; cut + 1 < len; cut++) {
        gargalo_session *out = NULL;
        if (gargalo_session_load(json, cut, &out) != GARGALO_EFORMAT)
            fail_msg("accepted a prefix of %zu bytes", cut);
        assert_null(out);
    }
    free(json);
    gargalo_session_free(s);
}

/* Flipping bytes must never crash; whatever loads must render. */
static void test_mutations_do_not_crash(void **state)
{
    gargalo_session *s = fx_session();
    size_t len;
    char *json = render(s, GARGALO_FORMAT_JSON, 0, &len);
    static const char subst[] = "0129-\"[]{},:e.";
    uint32_t seed = 7;
    for (int round = 0; round < 3000; round++) {
        char *copy = malloc(len);
        memcpy(copy, json, len);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % len] = subst[(seed >> 20) % (sizeof(subst) - 1)];
        }
        gargalo_session *out = NULL;
        if (gargalo_session_load(copy, len, &out) == 0) {
            for (int fmt = GARGALO_FORMAT_TEXT; fmt <= GARGALO_FORMAT_JSON; fmt++) {
                char *r;
                size_t rl;
                assert_int_equal(gargalo_render(out, (gargalo_format)fmt, NULL, &r, &rl), 0);
                free(r);
            }
        }
        gargalo_session_free(out);
        free(copy);
    }
    free(json);
    gargalo_session_free(s);
}

static void test_invalid_arguments(void **state)
{
    gargalo_session *s = NULL;
    assert_int_equal(gargalo_session_load(NULL, 0, &s), GARGALO_EINVAL);
    assert_int_equal(gargalo_session_load("{}", 2, NULL), GARGALO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_rich),
        cmocka_unit_test(test_rejects_bad_extras),
        cmocka_unit_test(test_round_trip_big),
        cmocka_unit_test(test_round_trip_strings),
        cmocka_unit_test(test_minimal_documents),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_rejects_bad_frames),
        cmocka_unit_test(test_rejects_every_truncation),
        cmocka_unit_test(test_mutations_do_not_crash),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
