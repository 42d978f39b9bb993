/*
 * test_isolate.c: the runner of isolate.h, which the sampler tests rely on to count right.
 * Run with ISOLATE_FIXTURE=1, this program is instead a group of tests that pass, fail,
 * skip, crash, hang, end early or leave state behind; the tests here run it so and check
 * what the runner made of each. They do not print its output, whose summary lines would
 * be counted as this program's own: to see it, run ISOLATE_FIXTURE=1 test_isolate.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "isolate.h"

#define LONG_LINE 5000

/* ---- the fixture group ---- */

static void passes(void **state)
{
    assert_int_equal(1 + 1, 2);
}

static void fails(void **state)
{
    assert_int_equal(1 + 1, 3);
}

static void skipped(void **state)
{
    skip();
}

static void aborts(void **state)
{
    abort();
}

static void hangs(void **state)
{
    for (;;)
        pause();
}

static void exits_early(void **state)
{
    _exit(0);
}

static void long_line(void **state)
{
    for (int i = 0; i < LONG_LINE; i++)
        putchar('x');
    putchar('\n');
}

static void on_sigprof(int sig) {}

static void sets_state(void **state)
{
    signal(SIGPROF, on_sigprof);
}

static void sees_fresh_state(void **state)
{
    struct sigaction sa;
    sigaction(SIGPROF, NULL, &sa);
    assert_ptr_equal(sa.sa_handler, SIG_DFL);
}

static int run_fixture(void)
{
    const struct CMUnitTest fixture[] = {
        cmocka_unit_test(passes),
        cmocka_unit_test(fails),
        cmocka_unit_test(skipped),
        cmocka_unit_test(aborts),
        cmocka_unit_test(hangs),
        cmocka_unit_test(exits_early),
        cmocka_unit_test(long_line),
        cmocka_unit_test(sets_state),
        cmocka_unit_test(sees_fresh_state),
    };
    return isolate_run_group_tests(fixture, NULL, NULL);
}

/* ---- the tests of the runner ---- */

static char self[4096];

/* The fixture's output (stdout and stderr) run with the environment settings env;
 * *status is its exit status. */
static char *fixture(const char *env, int *status)
{
    char cmd[8192];
    snprintf(
        cmd, sizeof(cmd),
        "env -u ISOLATE_TEST -u ISOLATE_TIMEOUT -u ISOLATE_FORK ISOLATE_FIXTURE=1 %s '%s' 2>&1",
        env, self);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024) {
            out = realloc(out, cap *= 2);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    int ws = pclose(p);
    assert_true(WIFEXITED(ws));
    *status = WEXITSTATUS(ws);
    return out;
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_each_outcome_counted_once(void **state)
{
    int status;
    char *out = fixture("ISOLATE_TIMEOUT=1", &status);
    assert_int_equal(status, 4); /* fails, aborts, hangs, exits_early */
    assert_non_null(strstr(out, "[==========] Running 9 test(s)"));
    /* One summary for the run, none from the children: what scripts/test.sh counts. */
    assert_int_equal(count(out, "[  PASSED  ] "), 1);
    assert_non_null(strstr(out, "\n[  PASSED  ] 4 test(s).\n"));
    assert_int_equal(count(out, "[  SKIPPED ] 1 test(s), listed below:\n[  SKIPPED ] skipped\n"),
                     1);
    assert_int_equal(count(out, "test(s), listed below:"), 2);
    assert_non_null(strstr(out, "[  FAILED  ] 4 test(s), listed below:\n[  FAILED  ] fails\n"
                                "[  FAILED  ] aborts\n[  FAILED  ] hangs\n"
                                "[  FAILED  ] exits_early\n\n 4 FAILED TEST(S)\n"));
    /* Each failure said once where it happened, with its reason. */
    assert_int_equal(count(out, "\n[  FAILED  ] fails\n"), 2);
    assert_non_null(strstr(out, "[  ERROR   ] --- aborts: its process was killed by signal 6"));
    assert_non_null(strstr(out, "[  ERROR   ] --- hangs: still running after 1 s, killed\n"));
    assert_non_null(strstr(out, "[  ERROR   ] --- exits_early: its process ended without a"));
    assert_int_equal(count(out, "\n[  FAILED  ] aborts\n"), 2);
    assert_non_null(strstr(out, "[       OK ] sees_fresh_state\n"));
    free(out);
}

static void test_each_test_in_a_fresh_process(void **state)
{
    int status;
    char *out = fixture("ISOLATE_TEST=sets_state,sees_fresh_state", &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "[  PASSED  ] 2 test(s)."));
    free(out);
    /* In one process, as cmocka runs them, the handler set by the first is still there. */
    out = fixture("ISOLATE_FORK=0 ISOLATE_TEST=sets_state,sees_fresh_state", &status);
    assert_int_equal(status, 1);
    assert_non_null(strstr(out, "[  FAILED  ] sees_fresh_state"));
    free(out);
}

static void test_chosen_tests_run_in_their_order(void **state)
{
    int status;
    char *out = fixture("ISOLATE_TEST=sees_fresh_state,passes,passes", &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "[==========] Running 3 test(s)"));
    char *first = strstr(out, "[ RUN      ] sees_fresh_state");
    char *second = strstr(out, "[ RUN      ] passes");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    assert_int_equal(count(out, "[ RUN      ] passes"), 2);
    assert_int_equal(count(out, "[ RUN      ] "), 3);
    assert_non_null(strstr(out, "[  PASSED  ] 3 test(s)."));
    free(out);
}

static void test_long_lines_pass_through(void **state)
{
    int status;
    char *out = fixture("ISOLATE_TEST=long_line", &status);
    assert_int_equal(status, 0);
    char xs[LONG_LINE + 3] = "\n";
    memset(xs + 1, 'x', LONG_LINE);
    strcpy(xs + 1 + LONG_LINE, "\n");
    assert_non_null(strstr(out, xs));
    assert_non_null(strstr(out, "[  PASSED  ] 1 test(s)."));
    free(out);
}

static void test_skipped_by_name(void **state)
{
    int status;
    char *out = fixture("ISOLATE_TEST=passes,hangs ISOLATE_SKIP=elsewhere,hangs,fails", &status);
    assert_int_equal(status, 0);
    assert_null(strstr(out, "[ RUN      ] hangs"));
    assert_non_null(strstr(out, "[  SKIPPED ] hangs (ISOLATE_SKIP)\n"));
    assert_non_null(strstr(out, "[  PASSED  ] 1 test(s).\n[  SKIPPED ] 1 test(s), listed below:\n"
                                "[  SKIPPED ] hangs\n"));
    free(out);
    out = fixture("ISOLATE_FORK=0 ISOLATE_SKIP=hangs,fails,aborts,exits_early,sets_state", &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "[  SKIPPED ] fails (ISOLATE_SKIP)\n"));
    assert_null(strstr(out, "[ RUN      ] fails"));
    free(out);
}

static void test_unknown_names_and_timeouts_refused(void **state)
{
    int status;
    char *out = fixture("ISOLATE_TEST=passes,nope", &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "no test named \"nope\""));
    assert_non_null(strstr(out, "\n    sees_fresh_state\n"));
    assert_null(strstr(out, "[ RUN      ]"));
    free(out);
    out = fixture("ISOLATE_TIMEOUT=soon", &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "ISOLATE_TIMEOUT=soon: not a number of seconds"));
    free(out);
}

int main(void)
{
    if (getenv("ISOLATE_FIXTURE"))
        return run_fixture();
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_outcome_counted_once),
        cmocka_unit_test(test_each_test_in_a_fresh_process),
        cmocka_unit_test(test_chosen_tests_run_in_their_order),
        cmocka_unit_test(test_long_lines_pass_through),
        cmocka_unit_test(test_skipped_by_name),
        cmocka_unit_test(test_unknown_names_and_timeouts_refused),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
