/*
 * test_render_text.c: the terminal call tree: header, lines with time, share, function and
 * file:line under tree glyphs, the min_percent cut, library grouping, colours; a
 * process-wide session's tree per thread, idle threads folded into one line per wait call;
 * the kinds of marker with the most time after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "render_fixture.h"

static char *render(const gargalo_session *s, const gargalo_render_options *ro)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, ro, &out, &len), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    return out;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, hay);
}

static void test_lines(void **state)
{
    gargalo_session *s = fx_session();
    char *out = render(s, NULL);
    assert_contains(out, "gargalo profile\n");
    assert_contains(out, "Duration 100.5 ms   Samples 100   CPU 50.0%   Clock wall");
    assert_contains(out, "Thread worker (4242)");
    assert_contains(out, "\n100.0 ms  100.0%  main  src/main.c:10\n"
                         "├─ 70.0 ms  70.0%  handle_request  src/server.c:40\n"
                         "│  └─ 70.0 ms  70.0%  sqlite3_step [libsqlite3.so.0] (+1 frame)\n"
                         "│     └─ 20.0 ms  20.0%  my_callback  src/cb.c:7\n"
                         "├─ 25.0 ms  25.0%  parse_json  src/parse.c:20\n"
                         "│  └─ 15.0 ms  15.0%  memcpy [libc.so.6]\n"
                         "└─ 4.0 ms  4.0%  app+0x1234\n");
    assert_null(strstr(out, "sqlite3VdbeExec"));
    assert_null(strstr(out, "\033["));
    free(out);
    gargalo_session_free(s);
}

static void test_show_all_and_title(void **state)
{
    gargalo_session *s = fx_session();
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = 1;
    ro.title = "nightly run";
    char *out = render(s, &ro);
    assert_true(strncmp(out, "nightly run\n", 12) == 0);
    assert_contains(out, "│  └─ 70.0 ms  70.0%  sqlite3_step [libsqlite3.so.0]\n"
                         "│     └─ 70.0 ms  70.0%  sqlite3VdbeExec [libsqlite3.so.0]\n"
                         "│        └─ 20.0 ms  20.0%  my_callback  src/cb.c:7\n");
    free(out);
    gargalo_session_free(s);
}

static void test_min_percent(void **state)
{
    gargalo_session *s = fx_session();
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.min_percent = 5;
    char *out = render(s, &ro);
    assert_null(strstr(out, "app+0x1234"));
    assert_contains(out, "(calls under 5.0% of the total are not shown)");
    /* parse_json is now the last visible child of main */
    assert_contains(out, "└─ 25.0 ms  25.0%  parse_json  src/parse.c:20\n"
                         "   └─ 15.0 ms  15.0%  memcpy [libc.so.6]\n");
    free(out);
    ro.min_percent = 100.5;
    out = render(s, &ro);
    assert_contains(out, "(no call above the threshold)");
    free(out);
    ro.min_percent = -1;
    char *bad;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, &ro, &bad, &len), GARGALO_EINVAL);
    gargalo_session_free(s);
}

static void test_colors(void **state)
{
    gargalo_session *s = fx_session();
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.color = 1;
    char *out = render(s, &ro);
    assert_contains(out, "\033[31m100.0 ms  100.0%\033[0m");  /* hot */
    assert_contains(out, "\033[33m25.0 ms  25.0%\033[0m");    /* warm */
    assert_contains(out, "\033[2mmemcpy [libc.so.6]\033[0m"); /* library */
    free(out);
    ro.color = -1; /* gargalo_render never writes to a terminal: off */
    out = render(s, &ro);
    assert_null(strstr(out, "\033["));
    free(out);
    gargalo_session_free(s);
}

static void test_empty(void **state)
{
    gargalo_session *s = gg_session_new();
    char *out = render(s, NULL);
    assert_contains(out, "Samples 0");
    assert_contains(out, "(no samples were recorded)");
    assert_null(strstr(out, "CPU")); /* no duration, no utilisation */
    free(out);
    gargalo_session_free(s);
}

static void test_deep_stack(void **state)
{
    gargalo_session *s = gg_session_new();
    gg_frame f = {"recurse", "r.c", 1, "app", 0, false, false};
    assert_int_equal(fx_frame(s, &f), 0);
    uint32_t fr[3000] = {0};
    assert_int_equal(fx_stack(s, fr, 3000), 0);
    assert_int_equal(fx_sample(s, 1, 1, 0), 0);
    char *out = render(s, NULL);
    size_t lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4 + 3000);
    free(out);
    gargalo_session_free(s);
}

/* A tree per thread, busiest first; the idle one folded, or in full with show_all. */
static void test_threads(void **state)
{
    gargalo_session *s = fx_rich_session();
    char *out = render(s, NULL);
    assert_contains(out, "Clock wall   Threads 2\n");
    assert_null(strstr(out, "Thread worker"));
    assert_contains(out, "\n\n100.0 ms  71.4%  worker (4242)\n"
                         "└─ 100.0 ms  71.4%  main  src/main.c:10\n"
                         "   ├─ 70.0 ms  50.0%  handle_request  src/server.c:40\n");
    assert_contains(out, "   └─ 4.0 ms  2.9%  app+0x1234\n"
                         "\n"
                         "40.0 ms  28.6%  1 idle thread: parked in epoll_wait (idle)\n");
    assert_null(strstr(out, "idle (4343)"));
    free(out);
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = 1;
    out = render(s, &ro);
    assert_contains(out, "\n\n40.0 ms  28.6%  idle (4343)  (idle: parked in epoll_wait)\n"
                         "└─ 40.0 ms  28.6%  main  src/main.c:10\n"
                         "   └─ 40.0 ms  28.6%  epoll_wait [libc.so.6]\n");
    assert_null(strstr(out, "idle thread"));
    free(out);
    gargalo_session_free(s);
}

/* The fixture's request and statement, heaviest first, their share of the 140 ms. */
static void test_markers(void **state)
{
    gargalo_session *s = fx_rich_session();
    char *out = render(s, NULL);
    assert_contains(out, "40.0 ms  28.6%  1 idle thread: parked in epoll_wait (idle)\n"
                         "\n"
                         "Top markers by total time (share: their total time over the "
                         "session's 140.0 ms)\n"
                         "      total   share    count  category  text\n"
                         "    50.0 ms   35.7%        1  request   POST /b\n"
                         "    30.0 ms   21.4%        1  sql       INSERT INTO t VALUES (?)\n"
                         "3 markers were dropped: their buffer was full\n");
    free(out);
    gargalo_session_free(s);
}

/* Idle threads grouped by wait call, names counted, long lists cut. */
static void test_idle_groups(void **state)
{
    fx_thread_spec sp[12];
    char names[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), i < 3 ? "pool" : "w%d", i);
        sp[i] = (fx_thread_spec){
            names[i], 100 + i, 0, {i < 3 ? "start;!pthread_cond_wait" : "x;!epoll_wait"}, {10}};
    }
    sp[11] = (fx_thread_spec){"busy", 99, 20, {"main;compute"}, {5}};
    gargalo_session *s = fx_threads_session(sp, 12, 200);
    char *out = render(s, NULL);
    assert_contains(out, "Threads 12\n");
    assert_contains(out, "5.0 ms  4.3%  busy (99)\n└─ 5.0 ms  4.3%  main  src/app.c\n"
                         "   └─ 5.0 ms  4.3%  compute  src/app.c\n\n");
    assert_contains(out, "\n30.0 ms  26.1%  3 idle threads: parked in pthread_cond_wait "
                         "(pool ×3)\n");
    assert_contains(out, "\n80.0 ms  69.6%  8 idle threads: parked in epoll_wait (w3, w4, w5, "
                         "w6, w7, w8, w9, w10)\n");
    free(out);
    sp[11] = (fx_thread_spec){"late", 98, 0, {"x;!epoll_wait"}, {1}}; /* a ninth name: counted */
    gargalo_session_free(s);
    s = fx_threads_session(sp, 12, 200);
    out = render(s, NULL);
    assert_contains(out, "9 idle threads: parked in epoll_wait (w3, w4, w5, w6, w7, w8, w9, w10 "
                         "and 1 more)\n");
    assert_null(strstr(out, "(no call")); /* every thread idle: only the groups */
    free(out);
    gargalo_session_free(s);
}

static void add_marker(gargalo_session *s, uint64_t start, uint64_t end, const char *category,
                       const char *text)
{
    assert_int_equal(gg_session_add_marker(s, &(gg_marker){start, end, category, text, 0}), 0);
}

/* Texts on one line, cut to a readable width without splitting a character; categories
 * cut to their column; ten kinds at most. */
static void test_markers_cut(void **state)
{
    gargalo_session *s = fx_session();
    char text[200];
    add_marker(s, 0, 90 * FX_MS, "sql", "SELECT a,\n       b\tFROM t\r\nWHERE x = ?");
    memset(text, 'x', 100), memcpy(text + 70, "é", 2), text[100] = 0;
    add_marker(s, 0, 80 * FX_MS, "a_very_long_category_name", text);
    for (int i = 0; i < 12; i++)
        add_marker(s, 0, (uint64_t)(20 - i) * FX_MS, "k", i % 2 ? "odd" : "even");
    for (int i = 0; i < 10; i++)
        add_marker(s, 0, FX_MS, "other", text + 90 - i);
    char *out = render(s, NULL);
    assert_contains(out,
                    "  90.0 ms   89.6%        1  sql           SELECT a, b FROM t WHERE x = ?\n");
    assert_contains(out, "  a_very_long…  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxxxxxé…\n");
    assert_contains(out, "  k             even\n");
    assert_contains(out, "(4 more kinds of marker)\n");
    assert_null(strstr(out, "dropped"));
    free(out);
    gargalo_session_free(s);
}

static void test_no_markers(void **state)
{
    gargalo_session *s = fx_session();
    char *out = render(s, NULL);
    assert_null(strstr(out, "markers"));
    free(out);
    s->markers_dropped = 2;
    out = render(s, NULL);
    assert_contains(out, "app+0x1234\n\n2 markers were dropped: their buffer was full\n");
    assert_null(strstr(out, "Top markers"));
    free(out);
    gargalo_session_free(s);
}

/* Blocked samples summed per descriptor, most time first, with the calls that waited on
 * each; a call without a descriptor on its own line. */
static void test_blocked(void **state)
{
    gargalo_session *s = fx_blocked_session();
    char *out = render(s, NULL);
    assert_contains(out, "      └─ 5.0 ms  5.0%  [blocked] read fd 5: pipe\n"
                         "\n"
                         "Blocked on (time in blocking system calls, by descriptor; share of "
                         "the sampled time)\n"
                         "      total   share  samples  descriptor                            "
                         "calls\n"
                         "    38.0 ms   38.0%       38  fd 7: .../bolsa.db-wal                "
                         "fdatasync, pwrite64\n"
                         "    20.0 ms   20.0%       20  fd 9: tcp 127.0.0.1:5432              "
                         "poll\n"
                         "    10.0 ms   10.0%       10  fd 3: pipe                            "
                         "read\n"
                         "     5.0 ms    5.0%        5  fd 5: pipe                            "
                         "read\n"
                         "     4.0 ms    4.0%        4  no descriptor                         "
                         "futex\n");
    free(out);
    gargalo_session_free(s);
    s = fx_session(); /* nothing blocked: no section */
    out = render(s, NULL);
    assert_null(strstr(out, "Blocked on"));
    free(out);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),       cmocka_unit_test(test_show_all_and_title),
        cmocka_unit_test(test_min_percent), cmocka_unit_test(test_colors),
        cmocka_unit_test(test_empty),       cmocka_unit_test(test_deep_stack),
        cmocka_unit_test(test_threads),     cmocka_unit_test(test_idle_groups),
        cmocka_unit_test(test_markers),     cmocka_unit_test(test_markers_cut),
        cmocka_unit_test(test_no_markers),  cmocka_unit_test(test_blocked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
