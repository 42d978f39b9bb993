/*
 * test_render_folded.c: collapsed stacks against the call tree of the same session: the
 * lines under each node's path add up to the node's time, with library runs folded as
 * the tree folds them (or every frame with show_all); stacks that fold to the same text
 * merge; names cannot break the line format; a process-wide session's stacks start with
 * their thread, as the tree's thread roots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "options.h"
#include "render_fixture.h"
#include "tree.h"
#include "write.h"

typedef struct folded_t {
    char *text; /* the whole output, lines split in place */
    char *stack[16384];
    uint64_t weight[16384];
    size_t n;
} folded_t;

/* Renders and splits "stack weight" lines, checking each line's shape on the way. */
static folded_t *render(const gargalo_session *s, int show_all)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = show_all;
    folded_t *f = calloc(1, sizeof(*f));
    size_t len;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_FOLDED, &ro, &f->text, &len), 0);
    assert_true(len == 0 || f->text[len - 1] == '\n');
    for (char *line = strtok(f->text, "\n"); line; line = strtok(NULL, "\n")) {
        char *space = strrchr(line, ' '), *end;
        assert_non_null(space);
        *space = '\0';
        f->stack[f->n] = line;
        f->weight[f->n] = strtoull(space + 1, &end, 10);
        assert_true(*end == '\0' && end > space + 1);
        if (f->n > 0) /* sorted, each stack once */
            assert_true(strcmp(f->stack[f->n - 1], line) < 0);
        f->n++;
    }
    return f;
}

static void folded_free(folded_t *f)
{
    free(f->text);
    free(f);
}

/* Sum of the lines whose stack is path or starts with path + ";". */
static uint64_t weight_under(const folded_t *f, const char *path)
{
    uint64_t w = 0;
    for (size_t i = 0; i < f->n; i++)
        w += fx_path_under(f->stack[i], path) ? f->weight[i] : 0;
    return w;
}

/* The path of a tree node as the folded lines spell it: frame labels from the root. */
static void node_path(const gargalo_session *s, const gg_tree *t, uint32_t n, dynbuf *b)
{
    if (t->nodes[n].parent != 0) {
        node_path(s, t, t->nodes[n].parent, b);
        dynbuf_putc(b, ';');
    }
    if (t->nodes[n].thread != GG_TREE_NONE)
        gg_tree_label(b, s, t, n); /* "name (tid)" */
    else
        gg_write_frame_label(b, &s->frames[t->nodes[n].frame]);
}

/* Every node of the tree built with the same folding (and thread roots, which only a
 * process-wide session gets) gets its time back from the lines. */
static void check_against_tree(const gargalo_session *s, bool show_all)
{
    folded_t *f = render(s, show_all);
    gg_tree t;
    gg_tree_options o = {.show_all = show_all, .threads = true};
    assert_int_equal(gg_tree_build_with(&t, s, &o), 0);
    uint64_t all = 0;
    for (size_t i = 0; i < f->n; i++)
        all += f->weight[i];
    assert_int_equal(all, t.total_ns);
    for (uint32_t n = 1; n < t.n; n++) {
        dynbuf path;
        dynbuf_init(&path, GG_RENDER_MAX_BYTES);
        node_path(s, &t, n, &path);
        if (weight_under(f, path.data) != t.nodes[n].total_ns)
            fail_msg("%s: %llu in the lines, %llu in the tree", path.data,
                     (unsigned long long)weight_under(f, path.data),
                     (unsigned long long)t.nodes[n].total_ns);
        dynbuf_free(&path);
    }
    gg_tree_free(&t);
    folded_free(f);
}

static void test_fixture_matches_tree(void **state)
{
    gargalo_session *s = fx_session();
    check_against_tree(s, false);
    check_against_tree(s, true);
    folded_t *f = render(s, false);
    assert_int_equal(f->n, 6);
    assert_int_equal(weight_under(f, "main;handle_request;sqlite3_step [libsqlite3.so.0]"),
                     70 * FX_MS);
    assert_int_equal(weight_under(f, "main;handle_request;sqlite3_step [libsqlite3.so.0];"
                                     "sqlite3VdbeExec [libsqlite3.so.0]"),
                     0); /* folded into the run */
    folded_free(f);
    f = render(s, true);
    assert_int_equal(weight_under(f, "main;handle_request;sqlite3_step [libsqlite3.so.0];"
                                     "sqlite3VdbeExec [libsqlite3.so.0]"),
                     70 * FX_MS);
    folded_free(f);
    gargalo_session_free(s);
}

static void test_big_matches_tree(void **state)
{
    gargalo_session *s = fx_big_session(800, 100);
    check_against_tree(s, false);
    check_against_tree(s, true);
    gargalo_session_free(s);
}

static uint32_t add_stack(gargalo_session *s, const uint32_t *frames, uint32_t depth)
{
    return fx_stack(s, frames, depth);
}

/* Stacks differing only in a line, or only inside a library run, are one line; a name
 * with ';' or a line break stays one frame on one line. */
static void test_merging_and_names(void **state)
{
    gargalo_session *s = gg_session_new();
    fx_frames(s);
    gg_frame odd = {"odd;name\nhere", NULL, 0, "app", 0x9000, false, false};
    uint32_t oddf = fx_frame(s, &odd);
    const uint32_t a[] = {FX_MAIN_10, FX_HANDLE}, b[] = {FX_MAIN_12, FX_HANDLE};
    const uint32_t c[] = {FX_HANDLE, FX_STEP, FX_VDBE}, d[] = {FX_HANDLE, FX_STEP};
    const uint32_t e[] = {FX_MAIN_10, oddf};
    uint32_t st[] = {add_stack(s, a, 2), add_stack(s, b, 2), add_stack(s, c, 3), add_stack(s, d, 2),
                     add_stack(s, e, 2)};
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(fx_sample(s, (i + 1) * FX_MS, (i + 1) * FX_MS, st[i]), 0);
    gg_session_finish(s);
    folded_t *f = render(s, false);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->stack[0], "handle_request;sqlite3_step [libsqlite3.so.0]");
    assert_int_equal(f->weight[0], 7 * FX_MS);
    assert_string_equal(f->stack[1], "main;handle_request");
    assert_int_equal(f->weight[1], 3 * FX_MS);
    assert_string_equal(f->stack[2], "main;odd:name here");
    folded_free(f);
    f = render(s, true);
    assert_int_equal(f->n, 4); /* the library run unfolded: two stacks again */
    folded_free(f);
    gargalo_session_free(s);
}

static void test_empty(void **state)
{
    gargalo_session *s = gg_session_new();
    folded_t *f = render(s, false);
    assert_int_equal(f->n, 0);
    assert_string_equal(f->text, "");
    folded_free(f);
    gargalo_session_free(s);
}

/* Each thread's lines are those of a session of that thread alone, after its name; the
 * diff's folded stacks merge threads. */
static void test_threads(void **state)
{
    gargalo_session *s = fx_rich_session(), *alone = fx_session();
    check_against_tree(s, false);
    check_against_tree(s, true);
    folded_t *f = render(s, false), *ref = render(alone, false);
    assert_int_equal(f->n, ref->n + 1);
    const char *prefix = "worker (4242);";
    for (size_t i = 0; i < ref->n; i++) { /* "idle (4343);..." sorts first */
        assert_true(strncmp(f->stack[i + 1], prefix, strlen(prefix)) == 0);
        assert_string_equal(f->stack[i + 1] + strlen(prefix), ref->stack[i]);
        assert_int_equal(f->weight[i + 1], ref->weight[i]);
    }
    assert_string_equal(f->stack[0], "idle (4343);main;epoll_wait [libc.so.6]");
    assert_int_equal(f->weight[0], 40 * FX_MS);
    folded_free(f), folded_free(ref);
    char *out;
    size_t len;
    assert_int_equal(gargalo_diff_render(s, s, GARGALO_FORMAT_FOLDED, NULL, &out, &len), 0);
    assert_null(strstr(out, "(4242)"));
    assert_non_null(strstr(out, "\nmain;epoll_wait [libc.so.6] 40000000 40000000\n"));
    free(out);
    gargalo_session_free(alone);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_matches_tree),
        cmocka_unit_test(test_big_matches_tree),
        cmocka_unit_test(test_merging_and_names),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
