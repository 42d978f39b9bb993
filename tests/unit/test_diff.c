/*
 * test_diff.c: the differential call tree and gargalo_diff_render. Each node's time on
 * each side is checked against the samples of that session directly (the weight of the
 * stacks passing through the node's path), every path of either session is a node,
 * siblings come largest change first; then the text, HTML and folded outputs and the
 * errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "diff.h"
#include "options.h"
#include "render_fixture.h"
#include "write.h"

static const int before_counts[6] = {50, 20, 15, 10, 4, 1};
/* handle_request shrinks (70 -> 40), parse_json grows (25 -> 45), app+0x1234 goes. */
static const int after_counts[6] = {25, 15, 20, 25, 0, 2};

/* ---- an independent reference: paths of labels, straight from the samples ---- */

/* The labels of stack st, root first, a library run as its first frame (as the tree
 * folds it unless show_all), joined by ';'. */
static void stack_path(const gargalo_session *s, uint32_t st, bool show_all, dynbuf *b)
{
    uint32_t depth;
    const uint32_t *fr = gg_stack_frames(s, st, &depth);
    for (uint32_t i = 0; i < depth; i++) {
        bool lib = s->frames[fr[i]].is_library;
        if (!show_all && lib && i > 0 && s->frames[fr[i - 1]].is_library)
            continue;
        if (b->len)
            dynbuf_putc(b, ';');
        gg_write_frame_label(b, &s->frames[fr[i]]);
    }
}

/* A session seen as its stacks' paths, each with the weight of its samples. */
typedef struct ref_t {
    char **path;
    uint64_t *weight;
    size_t n;
} ref_t;

static ref_t reference(const gargalo_session *s, bool show_all)
{
    ref_t r = {calloc(s->nstacks + 1, sizeof(char *)), calloc(s->nstacks + 1, 8), s->nstacks};
    for (size_t i = 0; i < s->nsamples; i++)
        r.weight[s->samples[i].stack] += s->samples[i].weight_ns;
    for (uint32_t st = 0; st < s->nstacks; st++) {
        dynbuf b;
        dynbuf_init(&b, GG_RENDER_MAX_BYTES);
        stack_path(s, st, show_all, &b);
        r.path[st] = strdup(b.data ? b.data : "");
        dynbuf_free(&b);
    }
    return r;
}

static void ref_free(ref_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->path[i]);
    free(r->path), free(r->weight);
}

/* Weight of the stacks whose path is path or goes on below it. */
static uint64_t weight_through(const ref_t *r, const char *path)
{
    uint64_t w = 0;
    for (size_t i = 0; i < r->n; i++)
        w += fx_path_under(r->path[i], path) ? r->weight[i] : 0;
    return w;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The number of distinct path prefixes of the sampled stacks of both sessions. */
static size_t count_prefixes(const ref_t r[2])
{
    size_t n = 0, cap = 1024, distinct = 0;
    char **all = malloc(cap * sizeof(*all));
    for (int side = 0; side < 2; side++)
        for (size_t st = 0; st < r[side].n; st++)
            for (size_t end = 1; r[side].weight[st] && end <= strlen(r[side].path[st]); end++) {
                char c = r[side].path[st][end];
                if (c && c != ';')
                    continue;
                if (n == cap)
                    all = realloc(all, (cap *= 2) * sizeof(*all));
                all[n++] = strndup(r[side].path[st], end);
            }
    qsort(all, n, sizeof(*all), str_cmp);
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(all[i], all[i - 1]) != 0;
    for (size_t i = 0; i < n; i++)
        free(all[i]);
    free(all);
    return distinct;
}

static double absd(double x)
{
    return x < 0 ? -x : x;
}

/* A diff node's path as stack_path spells it. */
static void node_path(const gg_diff *d, uint32_t n, dynbuf *b)
{
    if (d->nodes[n].parent != 0) {
        node_path(d, d->nodes[n].parent, b);
        dynbuf_putc(b, ';');
    }
    int side = d->nodes[n].at[GG_AFTER] != GG_TREE_NONE ? GG_AFTER : GG_BEFORE;
    const gg_tree *t = &d->t[side];
    gg_write_frame_label(b, &d->s[side]->frames[t->nodes[d->nodes[n].at[side]].frame]);
}

static void check_diff(const gargalo_session *before, const gargalo_session *after, bool show_all)
{
    ref_t r[2] = {reference(before, show_all), reference(after, show_all)};
    gg_diff d;
    assert_int_equal(gg_diff_build(&d, before, after, show_all, false), 0);
    assert_int_equal(d.n - 1, count_prefixes(r));
    for (uint32_t n = 1; n < d.n; n++) {
        const gg_diff_node *nd = &d.nodes[n];
        dynbuf path;
        dynbuf_init(&path, GG_RENDER_MAX_BYTES);
        node_path(&d, n, &path);
        for (int side = 0; side < 2; side++)
            if (nd->ns[side] != weight_through(&r[side], path.data))
                fail_msg("%s, side %d: %llu", path.data, side, (unsigned long long)nd->ns[side]);
        assert_true(nd->change == (double)nd->ns[GG_AFTER] - (double)nd->ns[GG_BEFORE]);
        if (nd->next != GG_TREE_NONE) /* largest change first */
            assert_true(absd(nd->change) >= absd(d.nodes[nd->next].change));
        dynbuf_free(&path);
    }
    gg_diff_free(&d);
    ref_free(&r[0]), ref_free(&r[1]);
}

static void test_tree_against_samples(void **state)
{
    gargalo_session *a = fx_session_counts(before_counts), *b = fx_session_counts(after_counts);
    check_diff(a, b, false);
    check_diff(a, b, true);
    check_diff(b, a, false);
    check_diff(a, a, false);
    gargalo_session *big1 = fx_big_session(300, 60), *big2 = fx_big_session(200, 50);
    check_diff(big1, big2, false);
    check_diff(big2, big1, true);
    gargalo_session_free(big1), gargalo_session_free(big2);
    gargalo_session_free(a), gargalo_session_free(b);
}

static void test_normalized(void **state)
{
    static const int doubled[6] = {100, 40, 30, 20, 8, 2};
    gargalo_session *a = fx_session_counts(before_counts), *b = fx_session_counts(doubled);
    gg_diff d;
    assert_int_equal(gg_diff_build(&d, a, b, false, true), 0);
    for (uint32_t n = 0; n < d.n; n++) /* the same shape twice as long: no share moved */
        assert_true(absd(d.nodes[n].change) < 1e-9);
    gg_diff_free(&d);
    gargalo_session_free(b);
    b = fx_session_counts(after_counts);
    assert_int_equal(gg_diff_build(&d, a, b, false, true), 0);
    for (uint32_t n = 1; n < d.n; n++) {
        double want = gg_diff_percent(&d, n, GG_AFTER) - gg_diff_percent(&d, n, GG_BEFORE);
        assert_true(absd(d.nodes[n].change - want) < 1e-9);
    }
    gg_diff_free(&d);
    gargalo_session_free(a), gargalo_session_free(b);
}

static char *render(const gargalo_session *a, const gargalo_session *b, gargalo_format fmt,
                    int normalize, double min_percent)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.normalize = normalize;
    ro.min_percent = min_percent;
    char *out;
    size_t len;
    assert_int_equal(gargalo_diff_render(a, b, fmt, &ro, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    return out;
}

/* Each tree line: "A ms → B ms (±C ms)  label", with C = B - A. */
static void check_text_line(const char *line, int *nodes, bool *gone_seen)
{
    const char *p = line;
    while (*p == ' ' || strncmp(p, "│", 3) == 0 || strncmp(p, "├─", 6) == 0 ||
           strncmp(p, "└─", 6) == 0)
        p += *p == ' ' ? 1 : strncmp(p, "│", 3) == 0 ? 3 : 6;
    double x, y, c;
    int used = 0;
    if (sscanf(p, "%lf ms → %lf ms (%lf ms)  %n", &x, &y, &c, &used) != 3 || !used)
        fail_msg("not a tree line: %s", line);
    assert_true(absd((y - x) - c) < 0.11);
    (*nodes)++;
    *gone_seen |= strstr(p + used, "app+0x1234  (gone)") != NULL;
}

static void test_text(void **state)
{
    gargalo_session *a = fx_session_counts(before_counts), *b = fx_session_counts(after_counts);
    char *out = render(a, b, GARGALO_FORMAT_TEXT, 0, 0);
    assert_non_null(strstr(out, "gargalo diff\nBefore  Duration 100.5 ms   Samples 100"));
    assert_non_null(strstr(out, "Total    100.0 ms → 87.0 ms (-13.0 ms)\n"));
    int nodes = 0;
    bool gone = false;
    char *body = strstr(out, "\n\n") + 2;
    for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n"))
        check_text_line(line, &nodes, &gone);
    gg_diff d;
    assert_int_equal(gg_diff_build(&d, a, b, false, false), 0);
    assert_int_equal(nodes, d.n - 1); /* min_percent 0: every node */
    assert_true(gone);
    gg_diff_free(&d);
    free(out);
    out = render(a, b, GARGALO_FORMAT_TEXT, 1, 0.5);
    assert_non_null(strstr(out, "Shares   100.0% → 100.0% (+0.0 pts)"));
    assert_non_null(strstr(out, "handle_request"));
    free(out);
    gargalo_session_free(a), gargalo_session_free(b);
}

/* Occurrences of what in s (by hand: strstr from each match is quadratic under ASan). */
static size_t count(const char *s, const char *what)
{
    size_t n = 0, k = strlen(what);
    for (; *s; s++)
        n += strncmp(s, what, k) == 0;
    return n;
}

static void test_html(void **state)
{
    gargalo_session *a = fx_session_counts(before_counts), *b = fx_session_counts(after_counts);
    char *out = render(a, b, GARGALO_FORMAT_HTML, 0, 0);
    gg_diff d;
    assert_int_equal(gg_diff_build(&d, a, b, false, false), 0);
    assert_int_equal(count(out, "<li"), d.n - 1);
    assert_int_equal(count(out, "<details"), count(out, "</details>"));
    assert_int_equal(count(out, "<ul"), count(out, "</ul>"));
    assert_int_equal(count(out, "<li"), count(out, "</li>"));
    assert_null(strstr(out, "http")); /* nothing outside the page */
    assert_null(strstr(out, "<script"));
    assert_non_null(strstr(out, "class=\"ch shrank\""));
    assert_non_null(strstr(out, "class=\"ch grew\""));
    assert_non_null(strstr(out, "sqlite3_step [libsqlite3.so.0] (+1 frame)"));
    gg_diff_free(&d);
    free(out);
    gargalo_session_free(a), gargalo_session_free(b);
}

/* The weight of stack text in a single-session folded output; 0 when absent. */
static uint64_t folded_weight(const char *folded, const char *stack)
{
    size_t n = strlen(stack);
    for (const char *p = folded; *p; p = strchr(p, '\n') + 1)
        if (strncmp(p, stack, n) == 0 && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
    return 0;
}

static void test_folded(void **state)
{
    gargalo_session *s[2] = {fx_session_counts(before_counts), fx_session_counts(after_counts)};
    char *one[2], *both = render(s[0], s[1], GARGALO_FORMAT_FOLDED, 0, 0);
    size_t len, lines = 0;
    for (int side = 0; side < 2; side++)
        assert_int_equal(gargalo_render(s[side], GARGALO_FORMAT_FOLDED, NULL, &one[side], &len), 0);
    for (char *line = strtok(both, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        char *after = strrchr(line, ' ');
        *after = '\0';
        char *before = strrchr(line, ' ');
        *before = '\0';
        assert_int_equal(strtoull(before + 1, NULL, 10), folded_weight(one[0], line));
        assert_int_equal(strtoull(after + 1, NULL, 10), folded_weight(one[1], line));
    }
    assert_int_equal(lines, 6); /* app+0x1234 only before, the rest on both sides */
    free(both);
    both = render(s[0], s[1], GARGALO_FORMAT_FOLDED, 1, 0);
    uint64_t sum = 0;
    for (char *line = strtok(both, "\n"); line; line = strtok(NULL, "\n")) {
        *strrchr(line, ' ') = '\0';
        sum += strtoull(strrchr(line, ' ') + 1, NULL, 10);
    }
    assert_true(sum >= 87 * FX_MS - 6 && sum <= 87 * FX_MS + 6); /* scaled to after's total */
    free(both), free(one[0]), free(one[1]);
    gargalo_session_free(s[0]), gargalo_session_free(s[1]);
}

static void test_errors_and_empty(void **state)
{
    gargalo_session *a = fx_session(), *e = gg_session_new();
    char *out;
    size_t len;
    assert_int_equal(gargalo_diff_render(NULL, a, GARGALO_FORMAT_TEXT, NULL, &out, &len),
                     GARGALO_EINVAL);
    assert_int_equal(gargalo_diff_render(a, NULL, GARGALO_FORMAT_TEXT, NULL, &out, &len),
                     GARGALO_EINVAL);
    assert_int_equal(gargalo_diff_render(a, a, GARGALO_FORMAT_JSON, NULL, &out, &len),
                     GARGALO_EINVAL);
    assert_int_equal(gargalo_diff_render(a, a, GARGALO_FORMAT_PPROF, NULL, &out, &len),
                     GARGALO_EINVAL);
    a->state = GG_RUNNING;
    assert_int_equal(gargalo_diff_render(a, e, GARGALO_FORMAT_TEXT, NULL, &out, &len),
                     GARGALO_ESTATE);
    a->state = GG_STOPPED;
    out = render(e, e, GARGALO_FORMAT_TEXT, 0, 0.5);
    assert_non_null(strstr(out, "(no samples were recorded)"));
    free(out);
    out = render(e, a, GARGALO_FORMAT_TEXT, 0, 0.5); /* everything new */
    assert_non_null(strstr(out, "0.0 ms → 100.0 ms (+100.0 ms)  main  (new)"));
    free(out);
    gargalo_session_free(a), gargalo_session_free(e);
}

/* A stack thousands of frames deep: no recursion in building or walking. (HTML: the text
 * tree's indentation grows with the square of the depth.) */
static void test_deep(void **state)
{
    enum { DEPTH = 20000 };
    gargalo_session *s = gg_session_new();
    uint32_t *frames = malloc(DEPTH * sizeof(*frames));
    char name[32];
    for (uint32_t i = 0; i < DEPTH; i++) {
        snprintf(name, sizeof(name), "f%u", i);
        gg_frame f = {name, NULL, 0, "app", i, false, false};
        frames[i] = fx_frame(s, &f);
    }
    uint32_t st = fx_stack(s, frames, DEPTH);
    assert_int_equal(fx_sample(s, FX_MS, FX_MS, st), 0);
    gg_session_finish(s);
    char *out = render(s, s, GARGALO_FORMAT_HTML, 0, 0);
    assert_int_equal(count(out, "<li"), DEPTH);
    assert_non_null(strstr(out, "f19999"));
    free(out), free(frames);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_against_samples),
        cmocka_unit_test(test_normalized),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_folded),
        cmocka_unit_test(test_errors_and_empty),
        cmocka_unit_test(test_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
