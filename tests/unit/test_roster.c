/*
 * test_roster.c: the threads of a process-wide session as renderers show them: which are
 * idle (parked in a wait call nearly all the time, with almost no CPU time), where each
 * is parked, and their order (busy ones by CPU time, then idle ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "roster.h"
#include "render_fixture.h"

static const fx_thread_spec roster[] = {
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
    gargalo_session *s = fx_threads_session(roster, 7, 200);
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
    gargalo_session *s = fx_threads_session(roster, 7, 200);
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

/* A blocked thread's stack ends in a leaf of gargalo's own (module "[kernel]"): where it
 * is parked is read above it. */
static void test_blocked_leaves(void **state)
{
    static const fx_thread_spec sp[] = {
        {"sleeper", 21, 0, {"main;sleeper;!usleep;!__clock_nanosleep"}, {50}},
        {"reader", 22, 0, {"main;reader;!__libc_read"}, {50}},
        {"syncer", 23, 0, {"main;syncer;!fdatasync"}, {50}},
    };
    static const char *const leaves[] = {"[blocked] clock_nanosleep", "[blocked] read fd 4: pipe",
                                         "[blocked] fdatasync fd 7: /db-wal"};
    gargalo_session *s = fx_threads_session(sp, 3, 200);
    for (uint32_t st = 0; st < 3; st++) { /* each thread's one stack, its leaf added */
        uint32_t depth, fr[8];
        const uint32_t *base = gg_stack_frames(s, st, &depth);
        memcpy(fr, base, depth * sizeof(*fr));
        gg_frame leaf = {leaves[st], NULL, 0, "[kernel]", 0, false, false};
        fr[depth] = fx_frame(s, &leaf);
        uint32_t blocked = fx_stack(s, fr, depth + 1);
        for (size_t i = 0; i < s->nsamples; i++)
            if (s->samples[i].stack == st)
                s->samples[i].stack = blocked;
    }
    gg_roster r;
    assert_int_equal(gg_roster_build(&r, s), 0);
    assert_true(r.threads[0].idle);
    assert_string_equal(gg_roster_call_name(r.threads[0].parked), "usleep");
    assert_true(r.threads[1].idle);
    assert_string_equal(gg_roster_call_name(r.threads[1].parked), "read");
    assert_false(r.threads[2].idle); /* fdatasync is work the thread asked for */
    gg_roster_free(&r);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_rule),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_blocked_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
