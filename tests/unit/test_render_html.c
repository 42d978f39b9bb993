/*
 * test_render_html.c: the HTML page is self-contained and offline (no URL, no src= or
 * href=, a strict Content-Security-Policy), carries the session as parseable JSON (with
 * its markers and SQL statements; a process-wide session's trees with a root per thread
 * and idle threads folded; the descriptors blocked samples waited on), and no function
 * name, marker text or title can break out of its element. (The browser test runs it.)
 */
#define _GNU_SOURCE /* strcasestr */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "render_fixture.h"

#define DATA_OPEN "<script type=\"application/json\" id=\"gg-data\">"

static char *render(const gargalo_session *s, const char *title, size_t *len)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.title = title;
    char *out;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_HTML, &ro, &out, len), 0);
    assert_int_equal(strlen(out), *len);
    return out;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strcasestr(p, needle)); p++)
        n++;
    return n;
}

/* The session JSON embedded in the page. */
static json_t *page_data(const char *html)
{
    const char *start = strstr(html, DATA_OPEN);
    assert_non_null(start);
    start += strlen(DATA_OPEN);
    const char *end = strstr(start, "</script>");
    assert_non_null(end);
    json_error_t err;
    json_t *d = json_loadb(start, (size_t)(end - start), 0, &err);
    if (!d)
        fail_msg("page data is not JSON: %s", err.text);
    return d;
}

static void test_offline(void **state)
{
    gargalo_session *s = fx_session();
    size_t len;
    char *html = render(s, NULL, &len);
    assert_non_null(strstr(html, "<meta http-equiv=\"Content-Security-Policy\" "
                                 "content=\"default-src 'none';"));
    static const char *const forbidden[] = {
        "http://", "https://", "src=",           "href=",     "url(",
        "@import", "fetch(",   "XMLHttpRequest", "WebSocket", "<!--gg:"};
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
        if (strcasestr(html, forbidden[i]))
            fail_msg("page contains %s", forbidden[i]);
    assert_non_null(strstr(html, "<title>gargalo profile</title>"));
    assert_non_null(strstr(html, "</html>"));
    free(html);
    gargalo_session_free(s);
}

static void test_data(void **state)
{
    gargalo_session *s = fx_session();
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html);
    assert_string_equal(json_string_value(json_object_get(d, "title")), "gargalo profile");
    assert_string_equal(json_string_value(json_object_get(d, "clock")), "wall");
    assert_int_equal(json_integer_value(json_object_get(d, "duration_ns")), 100 * FX_MS + 500000);
    json_t *names = json_object_get(json_object_get(d, "frames"), "name");
    assert_int_equal(json_array_size(names), FX_NFRAMES);
    assert_string_equal(json_string_value(json_array_get(names, FX_STEP)),
                        "sqlite3_step [libsqlite3.so.0]");
    assert_string_equal(json_string_value(json_array_get(names, FX_UNKNOWN)), "app+0x1234");
    json_t *trees = json_object_get(d, "trees");
    assert_int_equal(json_array_size(trees), 2);
    json_t *grouped = json_array_get(trees, 0), *all = json_array_get(trees, 1);
    assert_int_equal(json_array_size(json_object_get(grouped, "total")), 8);
    assert_int_equal(json_array_size(json_object_get(all, "total")), 9);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(grouped, "total"), 0)),
                     100 * FX_MS);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(grouped, "parent"), 0)), -1);
    assert_int_equal(json_array_size(json_object_get(grouped, "leaf")), 6);
    assert_null(json_object_get(grouped, "roots")); /* one thread: as it always was */
    assert_null(json_object_get(grouped, "sleaf"));
    json_t *samples = json_object_get(d, "samples");
    assert_int_equal(json_array_size(json_object_get(samples, "t")), 100);
    assert_int_equal(json_array_size(json_object_get(samples, "s")), 100);
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

static json_t *at(json_t *obj, const char *key, size_t i)
{
    json_t *a = json_object_get(obj, key);
    if (!json_is_array(a) || i >= json_array_size(a))
        fail_msg("no %s[%zu]", key, i);
    return json_array_get(a, i);
}

static json_int_t int_at(json_t *obj, const char *key, size_t i)
{
    return json_integer_value(at(obj, key, i));
}

/* The fixture's two markers, their kinds (most total time first) and its threads. */
static void test_markers(void **state)
{
    gargalo_session *s = fx_rich_session();
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html);
    json_t *th = json_object_get(d, "threads");
    assert_int_equal(int_at(th, "tid", 1), 4343);
    assert_string_equal(json_string_value(at(th, "name", 0)), "worker");
    json_t *m = json_object_get(d, "markers");
    assert_int_equal(json_array_size(json_object_get(m, "start")), 2);
    assert_int_equal(int_at(m, "start", 0), 10 * FX_MS);
    assert_int_equal(int_at(m, "end", 0), 60 * FX_MS);
    assert_int_equal(int_at(m, "start", 1), 20 * FX_MS);
    assert_int_equal(int_at(m, "end", 1), 50 * FX_MS);
    assert_int_equal(int_at(m, "thread", 1), 0);
    assert_int_equal(int_at(m, "kind", 0), 0);
    assert_int_equal(int_at(m, "kind", 1), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "dropped")), 3);
    json_t *k = json_object_get(d, "kinds");
    assert_string_equal(json_string_value(at(k, "category", 0)), "request");
    assert_string_equal(json_string_value(at(k, "text", 0)), "POST /b");
    assert_string_equal(json_string_value(at(k, "category", 1)), "sql");
    assert_string_equal(json_string_value(at(k, "text", 1)), "INSERT INTO t VALUES (?)");
    assert_int_equal(int_at(k, "count", 1), 1);
    assert_int_equal(int_at(k, "total", 0), 50 * FX_MS);
    assert_int_equal(int_at(k, "total", 1), 30 * FX_MS);
    json_t *samples = json_object_get(d, "samples");
    assert_int_equal(json_array_size(json_object_get(samples, "th")), 140);
    assert_int_equal(int_at(samples, "th", 99), 0);
    assert_int_equal(int_at(samples, "th", 100), 1);
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

/* The statement covers the worker's samples at 20 .. 49 ms; the functions they were in
 * below SQLite, most samples first. */
static void test_sql(void **state)
{
    gargalo_session *s = fx_rich_session();
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html);
    json_t *sql = json_object_get(d, "sql");
    assert_int_equal(json_array_size(sql), 1);
    json_t *st = json_array_get(sql, 0);
    assert_int_equal(json_integer_value(json_object_get(st, "kind")), 1);
    assert_int_equal(json_integer_value(json_object_get(st, "samples")), 30);
    assert_int_equal(json_integer_value(json_object_get(st, "ns")), 30 * FX_MS);
    static const struct {
        json_int_t frame, samples;
    } want[] = {{FX_PARSE, 14}, {FX_HANDLE, 8}, {FX_CALLBACK, 7}, {FX_UNKNOWN, 1}};
    json_t *sites = json_object_get(st, "sites");
    assert_int_equal(json_array_size(sites), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *site = json_array_get(sites, i);
        assert_int_equal(json_integer_value(json_object_get(site, "frame")), want[i].frame);
        assert_int_equal(json_integer_value(json_object_get(site, "samples")), want[i].samples);
        assert_int_equal(json_integer_value(json_object_get(site, "ns")), want[i].samples * FX_MS);
    }
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

/* The node under the root that node i lies in. */
static json_int_t top_of(json_t *tree, json_int_t i)
{
    while (int_at(tree, "parent", (size_t)i) != 0)
        i = int_at(tree, "parent", (size_t)i);
    return i;
}

static json_t *root_at(json_t *tree, size_t k)
{
    json_t *r = json_array_get(json_object_get(tree, "roots"), k);
    if (!r)
        fail_msg("no root %zu", k);
    return r;
}

/* A process-wide session: a root per thread ("name (tid)", frame -1) with the thread's
 * CPU time; the idle thread folded into a leaf naming its wait call in the first tree, in
 * full in the second; each sample's leaf under its own thread's root. */
static void test_threads(void **state)
{
    gargalo_session *s = fx_rich_session();
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html);
    json_t *grouped = at(d, "trees", 0), *all = at(d, "trees", 1);
    assert_null(json_object_get(grouped, "leaf")); /* by sample instead */
    assert_int_equal(json_array_size(json_object_get(grouped, "total")), 10);
    assert_int_equal(json_array_size(json_object_get(all, "total")), 13);
    json_t *w = root_at(grouped, 0), *g = root_at(grouped, 1);
    assert_int_equal(json_array_size(json_object_get(grouped, "roots")), 2);
    assert_string_equal(json_string_value(json_object_get(w, "name")), "worker (4242)");
    assert_int_equal(json_integer_value(json_object_get(w, "node")), 1);
    assert_int_equal(json_integer_value(json_object_get(w, "thread")), 0);
    assert_int_equal(json_integer_value(json_object_get(w, "cpu")), 90 * FX_MS);
    assert_true(json_is_null(json_object_get(w, "parked")));
    assert_int_equal(int_at(grouped, "frame", 1), -1);
    assert_string_equal(json_string_value(json_object_get(g, "name")),
                        "1 idle thread: parked in epoll_wait (idle)");
    assert_string_equal(json_string_value(json_object_get(g, "parked")), "epoll_wait");
    assert_int_equal(json_integer_value(json_object_get(g, "thread")), -1);
    assert_int_equal(json_integer_value(json_object_get(g, "node")), 9);
    assert_int_equal(int_at(grouped, "parent", 9), 0);
    assert_int_equal(int_at(grouped, "frame", 9), -1);
    assert_int_equal(int_at(grouped, "total", 9), 40 * FX_MS);
    assert_int_equal(int_at(grouped, "self", 9), 40 * FX_MS);
    assert_int_equal(int_at(grouped, "count", 9), 40);
    json_t *idle = root_at(all, 1);
    assert_string_equal(json_string_value(json_object_get(idle, "name")), "idle (4343)");
    assert_string_equal(json_string_value(json_object_get(idle, "parked")), "epoll_wait");
    assert_int_equal(json_integer_value(json_object_get(idle, "node")), 10);
    for (size_t i = 0; i < s->nsamples; i++) {
        json_int_t want = s->samples[i].thread == 0 ? 1 : 9;
        assert_int_equal(top_of(grouped, int_at(grouped, "sleaf", i)), want);
        assert_int_equal(top_of(all, int_at(all, "sleaf", i)), want == 1 ? 1 : 10);
    }
    assert_int_equal(int_at(grouped, "sleaf", 100), 9);
    assert_int_equal(int_at(all, "sleaf", 100), 12); /* epoll_wait under main */
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

/* Idle threads grouped by wait call, busy threads busiest first; every sample ends in a
 * node under the root of its thread or of its thread's group, and each root's time is
 * its samples'. */
static void test_thread_groups(void **state)
{
    static const fx_thread_spec sp[] = {
        {"MHD-worker", 11, 0, {"start;!epoll_wait"}, {30}},
        {"lazy", 12, 5, {"main;work"}, {10}},
        {"MHD-worker", 13, 0, {"start;!epoll_wait"}, {30}},
        {"upkeep", 14, 0, {"start;!pthread_cond_wait"}, {20}},
        {"listener", 15, 0, {"listen;!__GI_epoll_wait"}, {25}},
        {"busy", 16, 40, {"main;serve;parse", "main;serve"}, {30, 15}},
    };
    gargalo_session *s = fx_threads_session(sp, 6, 200);
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html), *tree = at(d, "trees", 0);
    static const char *const names[] = {
        "busy (16)", "lazy (12)", "3 idle threads: parked in epoll_wait (MHD-worker ×2, listener)",
        "1 idle thread: parked in pthread_cond_wait (upkeep)"};
    static const json_int_t threads[] = {5, 1, -1, -1};
    json_int_t node[4], ns[4] = {0};
    assert_int_equal(json_array_size(json_object_get(tree, "roots")), 4);
    for (size_t k = 0; k < 4; k++) {
        json_t *r = root_at(tree, k);
        assert_string_equal(json_string_value(json_object_get(r, "name")), names[k]);
        assert_int_equal(json_integer_value(json_object_get(r, "thread")), threads[k]);
        node[k] = json_integer_value(json_object_get(r, "node"));
        assert_int_equal(int_at(tree, "parent", (size_t)node[k]), 0);
    }
    for (size_t i = 0; i < s->nsamples; i++) {
        json_int_t top = top_of(tree, int_at(tree, "sleaf", i));
        uint32_t th = s->samples[i].thread;
        size_t k = th == 5 ? 0 : th == 1 ? 1 : th == 3 ? 3 : 2;
        assert_int_equal(top, node[k]);
        ns[k] += (json_int_t)s->samples[i].weight_ns;
    }
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(int_at(tree, "total", (size_t)node[k]), ns[k]);
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

/* The descriptors blocked samples waited on, most time first, with their calls, and the
 * row each stack's leaf is. */
static void test_waits(void **state)
{
    gargalo_session *s = fx_blocked_session();
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html), *w = json_object_get(d, "waits");
    json_t *rows = json_object_get(w, "rows");
    assert_int_equal(json_array_size(rows), 5);
    json_t *wal = json_array_get(rows, 0), *none = json_array_get(rows, 4);
    assert_int_equal(json_integer_value(json_object_get(wal, "fd")), 7);
    assert_string_equal(json_string_value(json_object_get(wal, "what")), ".../bolsa.db-wal");
    assert_int_equal(json_integer_value(json_object_get(wal, "ns")), 38 * FX_MS);
    assert_int_equal(json_integer_value(json_object_get(wal, "samples")), 38);
    json_t *calls = json_object_get(wal, "calls");
    assert_int_equal(json_array_size(calls), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 0), "name")),
                        "fdatasync");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(calls, 1), "ns")),
                     8 * FX_MS);
    assert_int_equal(json_integer_value(json_object_get(none, "fd")), -1);
    assert_true(json_is_null(json_object_get(none, "what")));
    json_t *stack = json_object_get(w, "stack");
    assert_int_equal(json_array_size(stack), s->nstacks);
    json_int_t ns[5] = {0};
    for (size_t i = 0; i < s->nsamples; i++) {
        json_int_t r = int_at(w, "stack", s->samples[i].stack);
        if (r >= 0)
            ns[r] += (json_int_t)s->samples[i].weight_ns;
    }
    for (size_t r = 0; r < 5; r++)
        assert_int_equal(ns[r], json_integer_value(json_object_get(json_array_get(rows, r), "ns")));
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

static void test_no_markers(void **state)
{
    gargalo_session *s = fx_session();
    size_t len;
    char *html = render(s, NULL, &len);
    json_t *d = page_data(html);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "markers"), "start")), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "kinds"), "text")), 0);
    assert_int_equal(json_array_size(json_object_get(d, "sql")), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "waits"), "rows")), 0);
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

/* A title or function name holding markup stays text. */
static void test_no_breakout(void **state)
{
    gargalo_session *s = gg_session_new();
    gg_frame f = {"</script><script>alert(1)</script>", "<!--x.c", 1, "app", 0, false, false};
    assert_int_equal(fx_frame(s, &f), 0);
    uint32_t fr = 0;
    assert_int_equal(fx_stack(s, &fr, 1), 0);
    assert_int_equal(fx_sample(s, 1, 1, 0), 0);
    gg_marker m = {0, 1, "sql</script>", "SELECT '</script><script>alert(3)'", 0};
    assert_int_equal(gg_session_add_marker(s, &m), 0);
    size_t len;
    char *html = render(s, "</title><script>alert(2)</script>", &len);
    assert_int_equal(count(html, "</script"), 2); /* the data and the page script */
    assert_int_equal(count(html, "<script"), 2);
    assert_non_null(strstr(html, "<title>&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    json_t *d = page_data(html);
    json_t *names = json_object_get(json_object_get(d, "frames"), "name");
    assert_string_equal(json_string_value(json_array_get(names, 0)), f.function);
    json_t *texts = json_object_get(json_object_get(d, "kinds"), "text");
    assert_string_equal(json_string_value(json_array_get(texts, 0)), m.text);
    json_decref(d);
    free(html);
    gargalo_session_free(s);
}

static void test_too_big(void **state)
{
    gargalo_session *s = fx_session();
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.max_bytes = 1000;
    char *out = NULL;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_HTML, &ro, &out, &len), GARGALO_ETOOBIG);
    assert_null(out);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline),     cmocka_unit_test(test_data),
        cmocka_unit_test(test_markers),     cmocka_unit_test(test_sql),
        cmocka_unit_test(test_threads),     cmocka_unit_test(test_thread_groups),
        cmocka_unit_test(test_waits),       cmocka_unit_test(test_no_markers),
        cmocka_unit_test(test_no_breakout), cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
