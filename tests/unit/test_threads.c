/*
 * test_threads.c: process-wide sessions: the roster (which threads are idle, where they
 * are parked, in what order threads come), the call tree's thread roots, and the text
 * tree's per-thread trees with idle threads folded into one line per wait call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "roster.h"
#include "tree.h"
#include "render_fixture.h"

/* A thread of a made-up session: up to three stacks ("a;b;c", root first; a name
 * starting with '!' is a libc function), each with a count of 1 ms samples. */
typedef struct spec {
    const char *name;
    pid_t tid;
    uint64_t cpu_ms;
    const char *stacks[3];
    int counts[3];
} spec;

static uint32_t named_frame(gargalo_session *s, const char *name, size_t len)
{
    char buf[128];
    bool lib = name[0] == '!';
    snprintf(buf, sizeof(buf), "%.*s", (int)(len - lib), name + lib);
    gg_frame f = {buf, lib ? NULL : "/src/app.c", 0, lib ? "libc.so.6" : "app", 0, lib, false};
    return fx_frame(s, &f);
}

static uint32_t spelled_stack(gargalo_session *s, const char *spelling)
{
    uint32_t fr[32], depth = 0;
    for (const char *p = spelling; *p; depth++) {
        size_t len = strcspn(p, ";");
        fr[depth] = named_frame(s, p, len);
        p += len + (p[len] == ';');
    }
    return fx_stack(s, fr, depth);
}

/* The threads' samples interleaved in time, as a ticker would take them. */
static gargalo_session *make(const spec *sp, size_t n, uint64_t duration_ms)
{
    gargalo_session *s = gg_session_new();
    uint32_t th[16], st[16][3];
    int left[16][3];
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(gg_session_add_thread(s, sp[i].tid, sp[i].name, &th[i]), 0);
        s->threads[th[i]].cpu_ns = sp[i].cpu_ms * FX_MS;
        for (int k = 0; k < 3; k++) {
            st[i][k] = sp[i].stacks[k] ? spelled_stack(s, sp[i].stacks[k]) : 0;
            left[i][k] = sp[i].stacks[k] ? sp[i].counts[k] : 0;
        }
    }
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 3; k++)
                if (left[i][k]-- > 0) {
                    gg_sample sm = {++t * FX_MS, FX_MS, st[i][k], th[i], GG_NO_LABELS};
                    assert_int_equal(gg_session_add_sample(s, &sm), 0);
                    more = true;
                }
    }
    gg_session_finish(s);
    s->process = true;
    s->duration_ns = duration_ms * FX_MS;
    return s;
}

static const spec roster[] = {
    /* parked in epoll_wait (the outermost wait call of the run), no CPU: idle */
    {"loop", 11, 0, {"main;serve;!epoll_wait;!__GI___syscall"}, {50}},
    /* glibc's internal names; the run's outermost wait is the condition wait */
    {"pool",
     12,
     0,
     {"start;worker;!___pthread_cond_wait;!__pthread_cond_wait_common;"
      "!__futex_abstimed_wait_common64"},
     {40}},
    /* polls in a busy loop: 100% in poll, but 30 ms of CPU in a 200 ms session */
    {"spin", 13, 30, {"main;spin;!__poll"}, {60}},
    /* 94% asleep: not quite idle */
    {"nap", 14, 0, {"main;nap;!__clock_nanosleep_time64", "main;nap;work"}, {47, 3}},
    /* 96% asleep, the rest blocked in read under the program's own frame: idle */
    {"doze", 15, 1, {"main;doze;!__GI___clock_nanosleep", "main;doze;!__libc_read"}, {48, 2}},
    /* epoll_wait is there, but not in the innermost library run: busy */
    {"cb", 16, 5, {"main;!epoll_wait;on_event;compute"}, {20}},
    /* a leaf in the program's own code named like a wait call: parked (it ends there) */
    {"mine", 17, 0, {"main;pause"}, {10}},
};

static void test_idle_rule(void **state)
{
    gargalo_session *s = make(roster, 7, 200);
    gg_roster r;
    assert_int_equal(gg_roster_build(&r, s), 0);
    const bool idle[] = {true, true, false, false, true, false, true};
    const char *parked[] = {
        "epoll_wait", "pthread_cond_wait", "poll", "clock_nanosleep", "clock_nanosleep", NULL,
        "pause"};
    for (uint32_t i = 0; i < 7; i++) {
        if (r.threads[i].idle != idle[i])
            fail_msg("%s: idle %d", s->threads[i].name, r.threads[i].idle);
        if (parked[i])
            assert_string_equal(gg_roster_call_name(r.threads[i].parked), parked[i]);
        else
            assert_int_equal(r.threads[i].parked, GG_ROSTER_NONE);
    }
    assert_int_equal(r.threads[3].weight_ns, 50 * FX_MS);
    assert_int_equal(r.threads[3].samples, 50);
    gg_roster_free(&r);
    gargalo_session_free(s);
}

/* Busy threads by CPU time, then weight; idle ones after them, in the same order. */
static void test_order(void **state)
{
    gargalo_session *s = make(roster, 7, 200);
    gg_roster r;
    assert_int_equal(gg_roster_build(&r, s), 0);
    /* busy: spin (30 ms CPU), cb (5), nap (0 CPU, 50 ms); idle: doze (1 ms CPU), loop (0,
     * 50 ms), pool (0, 40 ms), mine (0, 10 ms) */
    const uint32_t want[] = {2, 5, 3, 4, 0, 1, 6};
    assert_int_equal(r.n, 7);
    assert_int_equal(r.nidle, 4);
    for (uint32_t i = 0; i < 7; i++) {
        assert_int_equal(r.order[i], want[i]);
        assert_int_equal(r.threads[want[i]].rank, i);
    }
    gg_roster_free(&r);
    gargalo_session_free(s);
}

static uint32_t child_named(const gargalo_session *s, const gg_tree *t, uint32_t parent,
                            const char *label)
{
    for (uint32_t c = t->nodes[parent].first_child; c != GG_TREE_NONE; c = t->nodes[c].next) {
        dynbuf b;
        dynbuf_init(&b, 1 << 20);
        gg_tree_label(&b, s, t, c);
        bool same = b.data && strcmp(b.data, label) == 0;
        dynbuf_free(&b);
        if (same)
            return c;
    }
    fail_msg("no child %s", label);
    return GG_TREE_NONE;
}

static gg_tree threaded_tree(const gargalo_session *s, bool threads)
{
    gg_tree t;
    gg_tree_options o = {.show_all = false, .threads = threads};
    assert_int_equal(gg_tree_build_with(&t, s, &o), 0);
    return t;
}

/* The fixture: worker (busy) then idle (parked), each with its own tree below. */
static void test_thread_roots(void **state)
{
    gargalo_session *s = fx_rich_session();
    gg_tree t = threaded_tree(s, true);
    assert_true(gg_tree_threaded(&t));
    uint32_t w = t.nodes[0].first_child, i = t.nodes[w].next;
    assert_int_equal(t.nodes[i].next, GG_TREE_NONE);
    assert_int_equal(w, child_named(s, &t, 0, "worker (4242)"));
    assert_int_equal(i, child_named(s, &t, 0, "idle (4343)"));
    assert_int_equal(t.nodes[w].thread, 0);
    assert_int_equal(t.nodes[w].frame, GG_TREE_NONE);
    assert_false(t.nodes[w].idle);
    assert_true(t.nodes[i].idle);
    assert_int_equal(t.nodes[w].total_ns, 100 * FX_MS);
    assert_int_equal(t.nodes[i].total_ns, 40 * FX_MS);
    assert_int_equal(t.nodes[i].samples, 40);
    assert_int_equal(t.total_ns, 140 * FX_MS);
    /* both threads have main: one node each, under their own root */
    uint32_t wm = child_named(s, &t, w, "main"), im = child_named(s, &t, i, "main");
    assert_int_equal(t.nodes[wm].total_ns, 100 * FX_MS);
    assert_int_equal(t.nodes[im].total_ns, 40 * FX_MS);
    assert_int_equal(t.nodes[wm].depth, 2);
    uint32_t ep = child_named(s, &t, im, "epoll_wait [libc.so.6]");
    assert_int_equal(t.nodes[ep].self_ns, 40 * FX_MS);
    uint32_t path[8];
    assert_int_equal(gg_tree_hot_path(&t, path, 8), 5); /* worker > main > ... */
    assert_int_equal(path[0], w);
    gg_tree_free(&t);
    gargalo_session_free(s);
}

/* Each sample's leaf is in its own thread's tree. */
static void test_sample_leaf(void **state)
{
    gargalo_session *s = fx_rich_session();
    gg_tree t = threaded_tree(s, true);
    for (size_t k = 0; k < s->nsamples; k++) {
        uint32_t n = gg_tree_sample_leaf(&t, &s->samples[k]), top = n;
        while (t.nodes[top].parent != 0)
            top = t.nodes[top].parent;
        assert_int_equal(t.nodes[top].thread, s->samples[k].thread);
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, s->samples[k].stack, &depth);
        assert_true(depth > 0);
        if (!t.nodes[n].group)
            assert_true(
                t.nodes[n].frame == fr[depth - 1] ||
                !strcmp(s->frames[t.nodes[n].frame].function, s->frames[fr[depth - 1]].function));
    }
    gg_tree_free(&t);
    gargalo_session_free(s);
}

/* Without the option, or for a per-thread session, the tree is the merged one. */
static void test_no_thread_roots(void **state)
{
    gargalo_session *s = fx_rich_session();
    gg_tree t = threaded_tree(s, false);
    assert_false(gg_tree_threaded(&t));
    uint32_t m = child_named(s, &t, 0, "main");
    assert_int_equal(t.nodes[m].total_ns, 140 * FX_MS);
    assert_int_equal(t.nodes[m].thread, GG_TREE_NONE);
    gg_tree_free(&t);
    s->process = false;
    t = threaded_tree(s, true);
    assert_false(gg_tree_threaded(&t));
    assert_int_equal(t.nodes[child_named(s, &t, 0, "main")].depth, 1);
    gg_tree_free(&t);
    gargalo_session_free(s);
}

static char *text(const gargalo_session *s, int show_all)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = show_all;
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, &ro, &out, &len), 0);
    return out;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, hay);
}

static void test_text_fixture(void **state)
{
    gargalo_session *s = fx_rich_session();
    char *out = text(s, 0);
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
    out = text(s, 1);
    assert_contains(out, "\n\n40.0 ms  28.6%  idle (4343)  (idle: parked in epoll_wait)\n"
                         "└─ 40.0 ms  28.6%  main  src/main.c:10\n"
                         "   └─ 40.0 ms  28.6%  epoll_wait [libc.so.6]\n");
    assert_null(strstr(out, "idle thread"));
    free(out);
    gargalo_session_free(s);
}

/* Idle threads grouped by wait call, names counted, long lists cut. */
static void test_text_groups(void **state)
{
    spec sp[12];
    char names[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), i < 3 ? "pool" : "w%d", i);
        sp[i] = (spec){
            names[i], 100 + i, 0, {i < 3 ? "start;!pthread_cond_wait" : "x;!epoll_wait"}, {10}};
    }
    sp[11] = (spec){"busy", 99, 20, {"main;compute"}, {5}};
    gargalo_session *s = make(sp, 12, 200);
    char *out = text(s, 0);
    assert_contains(out, "Threads 12\n");
    assert_contains(out, "5.0 ms  4.3%  busy (99)\n└─ 5.0 ms  4.3%  main  src/app.c\n"
                         "   └─ 5.0 ms  4.3%  compute  src/app.c\n\n");
    assert_contains(out, "\n30.0 ms  26.1%  3 idle threads: parked in pthread_cond_wait "
                         "(pool ×3)\n");
    assert_contains(out, "\n80.0 ms  69.6%  8 idle threads: parked in epoll_wait (w3, w4, w5, "
                         "w6, w7, w8, w9, w10)\n");
    free(out);
    sp[11] = (spec){"late", 98, 0, {"x;!epoll_wait"}, {1}}; /* a ninth name: counted */
    gargalo_session_free(s);
    s = make(sp, 12, 200);
    out = text(s, 0);
    assert_contains(out, "9 idle threads: parked in epoll_wait (w3, w4, w5, w6, w7, w8, w9, w10 "
                         "and 1 more)\n");
    assert_null(strstr(out, "(no call")); /* every thread idle: only the groups */
    free(out);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_rule),       cmocka_unit_test(test_order),
        cmocka_unit_test(test_thread_roots),    cmocka_unit_test(test_sample_leaf),
        cmocka_unit_test(test_no_thread_roots), cmocka_unit_test(test_text_fixture),
        cmocka_unit_test(test_text_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
