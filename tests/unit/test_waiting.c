/*
 * test_waiting.c: blocked samples summed per descriptor: the leaves resolve.c makes read
 * back into call, fd and description, sums and calls per descriptor, most time first,
 * leaves of no sample left out, and other frames never taken for blocked ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "render_fixture.h"
#include "waiting.h"

static void assert_call(const gg_waits *ws, const gg_wait *w, size_t i, const char *name,
                        uint64_t ms)
{
    assert_true(i < w->ncalls);
    const gg_wait_call *c = &ws->calls[w->first_call + i];
    assert_int_equal(c->len, strlen(name));
    assert_memory_equal(c->name, name, c->len);
    assert_int_equal(c->ns, ms * FX_MS);
    assert_int_equal(c->samples, ms);
}

static void test_fixture(void **state)
{
    gargalo_session *s = fx_blocked_session();
    gg_waits ws;
    assert_int_equal(gg_waits_build(&ws, s), 0);
    static const struct {
        int32_t fd;
        const char *what;
        uint64_t ms;
        size_t ncalls;
    } want[] = {{7, ".../bolsa.db-wal", 38, 2},
                {9, "tcp 127.0.0.1:5432", 20, 1},
                {3, "pipe", 10, 1},
                {5, "pipe", 5, 1},
                {-1, NULL, 4, 1}};
    assert_int_equal(ws.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ws.w[i].fd, want[i].fd);
        if (want[i].what)
            assert_string_equal(ws.w[i].what, want[i].what);
        else
            assert_null(ws.w[i].what);
        assert_int_equal(ws.w[i].ns, want[i].ms * FX_MS);
        assert_int_equal(ws.w[i].samples, want[i].ms);
        assert_int_equal(ws.w[i].ncalls, want[i].ncalls);
    }
    assert_call(&ws, &ws.w[0], 0, "fdatasync", 30);
    assert_call(&ws, &ws.w[0], 1, "pwrite64", 8);
    assert_call(&ws, &ws.w[1], 0, "poll", 20);
    assert_call(&ws, &ws.w[4], 0, "futex", 4);
    uint64_t blocked[5] = {0};
    for (size_t i = 0; i < s->nsamples; i++) {
        uint32_t w = ws.of_stack[s->samples[i].stack];
        if (w != GG_WAIT_NONE)
            blocked[w] += s->samples[i].weight_ns;
    }
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(blocked[i], ws.w[i].ns);
    gg_waits_free(&ws);
    gargalo_session_free(s);
}

/* Names as blocked.c writes them for unknown calls, a description holding ": ", a leaf no
 * sample ended in, and frames that only look alike. */
static void test_names(void **state)
{
    static const char *const names[] = {"[blocked] syscall 231 fd 4: /tmp/a: b",
                                        "[blocked] system call",
                                        "[blocked] read fd 6: unused",
                                        "[blocked]read fd 8: x",
                                        "blocked read fd 9: y",
                                        "main"};
    gargalo_session *s = gg_session_new();
    uint32_t fr[6];
    for (size_t i = 0; i < 6; i++) {
        gg_frame f = {names[i], NULL, 0, "[kernel]", i, false, false};
        fr[i] = fx_frame(s, &f);
    }
    for (uint32_t i = 0; i < 6; i++) {
        uint32_t st[2] = {fr[5], fr[i]};
        uint32_t stack = fx_stack(s, st, i == 5 ? 1 : 2);
        if (i != 2)
            assert_int_equal(fx_sample(s, (i + 1) * FX_MS, (i + 1) * FX_MS, stack), 0);
    }
    gg_waits ws;
    assert_int_equal(gg_waits_build(&ws, s), 0);
    assert_int_equal(ws.n, 2);        /* the unused leaf and the look-alikes left out */
    assert_int_equal(ws.w[0].fd, -1); /* 2 ms, then 1 ms */
    assert_null(ws.w[0].what);
    assert_int_equal(ws.w[0].ns, 2 * FX_MS);
    assert_int_equal(ws.calls[ws.w[0].first_call].len, strlen("system call"));
    assert_int_equal(ws.w[1].fd, 4);
    assert_string_equal(ws.w[1].what, "/tmp/a: b");
    assert_int_equal(ws.w[1].samples, 1);
    assert_memory_equal(ws.calls[ws.w[1].first_call].name, "syscall 231 ", 12);
    assert_int_equal(ws.calls[ws.w[1].first_call].len, strlen("syscall 231"));
    gg_waits_free(&ws);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
