/*
 * test_tree.c: the call tree built from a known synthetic session: totals, self times,
 * shares, library grouping and show_all, order of children, hot path, labels; a
 * process-wide session's thread roots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tree.h"
#include "render_fixture.h"

/* The node below `under` whose label is exactly label, or GG_TREE_NONE. */
static uint32_t find_under(const gargalo_session *s, const gg_tree *t, uint32_t under,
                           const char *label)
{
    for (uint32_t i = under + 1; i < t->n; i++) {
        uint32_t up = i;
        while (up > under)
            up = t->nodes[up].parent;
        if (up != under)
            continue;
        dynbuf b;
        dynbuf_init(&b, 1 << 20);
        gg_tree_label(&b, s, t, i);
        bool same = b.data && strcmp(b.data, label) == 0;
        dynbuf_free(&b);
        if (same)
            return i;
    }
    return GG_TREE_NONE;
}

/* The node whose label is exactly label, or GG_TREE_NONE. */
static uint32_t find(const gargalo_session *s, const gg_tree *t, const char *label)
{
    return find_under(s, t, 0, label);
}

static void assert_node(const gg_tree *t, uint32_t n, uint64_t total_ms, uint64_t self_ms,
                        uint64_t samples)
{
    assert_int_not_equal(n, GG_TREE_NONE);
    assert_int_equal(t->nodes[n].total_ns, total_ms * FX_MS);
    assert_int_equal(t->nodes[n].self_ns, self_ms * FX_MS);
    assert_int_equal(t->nodes[n].samples, samples);
}

static void test_grouped_totals(void **state)
{
    gargalo_session *s = fx_session();
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, false), 0);
    assert_int_equal(t.total_ns, 100 * FX_MS);
    assert_node(&t, 0, 100, 0, 100);
    uint32_t main_ = find(s, &t, "main");
    assert_node(&t, main_, 100, 1, 100);
    assert_int_equal(t.nodes[main_].depth, 1);
    assert_node(&t, find(s, &t, "handle_request"), 70, 0, 70);
    uint32_t step = find(s, &t, "sqlite3_step [libsqlite3.so.0] (+1 frame)");
    assert_node(&t, step, 70, 50, 70);
    assert_true(t.nodes[step].group);
    assert_int_equal(t.nodes[step].hidden, 1);
    uint32_t cb = find(s, &t, "my_callback");
    assert_node(&t, cb, 20, 20, 20);
    assert_int_equal(t.nodes[cb].parent, step); /* the callback shows again below the run */
    assert_node(&t, find(s, &t, "parse_json"), 25, 10, 25);
    assert_node(&t, find(s, &t, "memcpy [libc.so.6]"), 15, 15, 15);
    assert_node(&t, find(s, &t, "app+0x1234"), 4, 4, 4);
    assert_int_equal(find(s, &t, "sqlite3VdbeExec [libsqlite3.so.0]"), GG_TREE_NONE);
    assert_int_equal(t.n, 8); /* root and the 7 nodes above: main's two lines merged */
    assert_float_equal(gg_tree_percent(&t, step), 70.0, 1e-9);
    assert_float_equal(gg_tree_percent(&t, cb), 20.0, 1e-9);
    gg_tree_free(&t);
    gargalo_session_free(s);
}

static void test_show_all(void **state)
{
    gargalo_session *s = fx_session();
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, true), 0);
    uint32_t step = find(s, &t, "sqlite3_step [libsqlite3.so.0]");
    uint32_t vdbe = find(s, &t, "sqlite3VdbeExec [libsqlite3.so.0]");
    assert_node(&t, step, 70, 0, 70);
    assert_false(t.nodes[step].group);
    assert_node(&t, vdbe, 70, 50, 70);
    assert_int_equal(t.nodes[vdbe].parent, step);
    assert_int_equal(t.nodes[find(s, &t, "my_callback")].parent, vdbe);
    assert_int_equal(t.n, 9);
    gg_tree_free(&t);
    gargalo_session_free(s);
}

/* Depth-first order, parents first, heavier siblings first. */
static void test_order_and_hot_path(void **state)
{
    gargalo_session *s = fx_session();
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, false), 0);
    for (uint32_t i = 1; i < t.n; i++) {
        assert_true(t.nodes[i].parent < i);
        uint32_t nx = t.nodes[i].next;
        if (nx != GG_TREE_NONE)
            assert_true(t.nodes[nx].total_ns <= t.nodes[i].total_ns);
    }
    uint32_t main_ = find(s, &t, "main");
    uint32_t c = t.nodes[main_].first_child;
    assert_int_equal(c, find(s, &t, "handle_request"));
    c = t.nodes[c].next;
    assert_int_equal(c, find(s, &t, "parse_json"));
    c = t.nodes[c].next;
    assert_int_equal(c, find(s, &t, "app+0x1234"));
    assert_int_equal(t.nodes[c].next, GG_TREE_NONE);

    uint32_t path[8];
    assert_int_equal(gg_tree_hot_path(&t, path, 8), 4);
    assert_int_equal(path[0], main_);
    assert_int_equal(path[1], find(s, &t, "handle_request"));
    assert_int_equal(path[2], find(s, &t, "sqlite3_step [libsqlite3.so.0] (+1 frame)"));
    assert_int_equal(path[3], find(s, &t, "my_callback"));
    gg_tree_free(&t);
    gargalo_session_free(s);
}

/* A function's node shows the line that carried most of its time. */
static void test_node_line(void **state)
{
    gargalo_session *s = fx_session();
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, false), 0);
    uint32_t main_ = find(s, &t, "main");
    assert_int_equal(t.nodes[main_].frame, FX_MAIN_10); /* 71 ms at line 10, 29 at 12 */
    gg_tree_free(&t);
    gargalo_session_free(s);
}

static void test_stack_leaf(void **state)
{
    gargalo_session *s = fx_session();
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, false), 0);
    assert_int_equal(t.stack_leaf[0], find(s, &t, "sqlite3_step [libsqlite3.so.0] (+1 frame)"));
    assert_int_equal(t.stack_leaf[1], find(s, &t, "my_callback"));
    assert_int_equal(t.stack_leaf[5], find(s, &t, "main"));
    gg_tree_free(&t);
    gargalo_session_free(s);
}

static void test_empty_session(void **state)
{
    gargalo_session *s = gg_session_new();
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, false), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.total_ns, 0);
    assert_float_equal(gg_tree_percent(&t, 0), 0.0, 0);
    uint32_t path[1];
    assert_int_equal(gg_tree_hot_path(&t, path, 1), 0);
    gg_tree_free(&t);
    gargalo_session_free(s);
}

/* Recursion keeps one node per level; an empty stack counts for the root only. */
static void test_recursion_and_empty_stack(void **state)
{
    gargalo_session *s = gg_session_new();
    gg_frame f = {"fib", "fib.c", 3, "app", 0x10, false, false};
    assert_int_equal(fx_frame(s, &f), 0);
    uint32_t deep[3] = {0, 0, 0};
    assert_int_equal(fx_stack(s, deep, 3), 0);
    assert_int_equal(fx_stack(s, NULL, 0), 1);
    assert_int_equal(fx_sample(s, 1, 5, 0), 0);
    assert_int_equal(fx_sample(s, 2, 5, 1), 0);
    gg_tree t;
    assert_int_equal(gg_tree_build(&t, s, false), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.total_ns, 10);
    assert_int_equal(t.nodes[0].self_ns, 5);
    assert_int_equal(t.nodes[3].depth, 3);
    assert_int_equal(t.nodes[3].self_ns, 5);
    assert_int_equal(t.nodes[1].total_ns, 5);
    gg_tree_free(&t);
    gargalo_session_free(s);
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
    assert_int_equal(w, find_under(s, &t, 0, "worker (4242)"));
    assert_int_equal(i, find_under(s, &t, 0, "idle (4343)"));
    assert_int_equal(t.nodes[w].thread, 0);
    assert_int_equal(t.nodes[w].frame, GG_TREE_NONE);
    assert_false(t.nodes[w].idle);
    assert_true(t.nodes[i].idle);
    assert_int_equal(t.nodes[w].total_ns, 100 * FX_MS);
    assert_int_equal(t.nodes[i].total_ns, 40 * FX_MS);
    assert_int_equal(t.nodes[i].samples, 40);
    assert_int_equal(t.total_ns, 140 * FX_MS);
    /* both threads have main: one node each, under their own root */
    uint32_t wm = find_under(s, &t, w, "main"), im = find_under(s, &t, i, "main");
    assert_int_equal(t.nodes[wm].total_ns, 100 * FX_MS);
    assert_int_equal(t.nodes[im].total_ns, 40 * FX_MS);
    assert_int_equal(t.nodes[wm].depth, 2);
    uint32_t ep = find_under(s, &t, im, "epoll_wait [libc.so.6]");
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
    uint32_t m = find_under(s, &t, 0, "main");
    assert_int_equal(t.nodes[m].total_ns, 140 * FX_MS);
    assert_int_equal(t.nodes[m].thread, GG_TREE_NONE);
    gg_tree_free(&t);
    s->process = false;
    t = threaded_tree(s, true);
    assert_false(gg_tree_threaded(&t));
    assert_int_equal(t.nodes[find_under(s, &t, 0, "main")].depth, 1);
    gg_tree_free(&t);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouped_totals),
        cmocka_unit_test(test_show_all),
        cmocka_unit_test(test_order_and_hot_path),
        cmocka_unit_test(test_node_line),
        cmocka_unit_test(test_stack_leaf),
        cmocka_unit_test(test_empty_session),
        cmocka_unit_test(test_recursion_and_empty_stack),
        cmocka_unit_test(test_thread_roots),
        cmocka_unit_test(test_sample_leaf),
        cmocka_unit_test(test_no_thread_roots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
