/*
 * isolate.h: runs each test of a cmocka group in a child process of its own, one after
 * another. A test that changes process-wide state (a SIGPROF handler, timers, a thread
 * left running) then cannot make a later test pass or fail: each starts from the same
 * fresh process whatever ran before it, and a test that hangs or crashes fails alone.
 *
 * A drop-in for cmocka_run_group_tests:
 *
 *     return isolate_run_group_tests(tests, NULL, NULL);
 *
 * The group's setup and teardown, if given, run in each child around its one test. The
 * output is cmocka's own, under one group header and one summary for the whole run.
 *
 * Environment:
 *   ISOLATE_TEST=NAME[,NAME...]  only these tests, in this order (a name may repeat)
 *   ISOLATE_SKIP=NAME[,NAME...]  not these: each is reported skipped (a name that is no
 *                                test here is ignored, so one list can serve many programs)
 *   ISOLATE_TIMEOUT=SECONDS      a test still running after this long is killed and fails
 *                                (default 60)
 *   ISOLATE_FORK=0               the chosen tests one after another in this one process,
 *                                as cmocka_run_group_tests runs them (for a debugger)
 *
 * The parent only forks, reads its children's output and waits for them: it starts no
 * thread, so its forks are safe under TSan too.
 */
#ifndef ISOLATE_H
#define ISOLATE_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define ISOLATE_DEFAULT_TIMEOUT_S 60.0

#define isolate_run_group_tests(group_tests, group_setup, group_teardown)                          \
    isolate_run(#group_tests, group_tests, sizeof(group_tests) / sizeof((group_tests)[0]),         \
                group_setup, group_teardown)

enum isolate_verdict { ISOLATE_PASSED, ISOLATE_SKIPPED, ISOLATE_FAILED };

/* What a child printed, passed on line by line without cmocka's per-group header and
 * summary (the parent prints one of each for all), and cmocka's verdict among it. */
struct isolate_output {
    const char *name;
    char line[4096];
    size_t len;
    bool midline;    /* passing on the rest of a line longer than line[] */
    bool in_summary; /* after cmocka's "[==========] 1 test(s) run." */
    bool ok, failed, skipped;
};

static inline bool isolate_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline bool isolate_is_verdict(const char *line, const char *tag, const char *name)
{
    return isolate_starts(line, tag) && strcmp(line + strlen(tag), name) == 0;
}

/* Lines of cmocka's group summary: counts, the lists of names, " N FAILED TEST(S)". */
static inline bool isolate_is_summary(const char *line)
{
    size_t len = strlen(line);
    return len == 0 || isolate_starts(line, "[  PASSED  ] ") ||
           isolate_starts(line, "[  FAILED  ] ") || isolate_starts(line, "[  SKIPPED ] ") ||
           (line[0] == ' ' && len > 7 && strcmp(line + len - 7, "TEST(S)") == 0);
}

static inline void isolate_line(struct isolate_output *o, const char *line)
{
    if (isolate_starts(line, "[==========] ")) {
        o->in_summary = strstr(line, " test(s) run.") != NULL;
        return;
    }
    if (o->in_summary && isolate_is_summary(line))
        return;
    o->in_summary = false;
    o->ok |= isolate_is_verdict(line, "[       OK ] ", o->name);
    o->failed |= isolate_is_verdict(line, "[  FAILED  ] ", o->name);
    o->skipped |= isolate_is_verdict(line, "[  SKIPPED ] ", o->name);
    printf("%s\n", line);
}

static inline void isolate_feed(struct isolate_output *o, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (o->midline) {
            putchar(c);
            o->midline = c != '\n';
        } else if (c == '\n') {
            o->line[o->len] = '\0';
            isolate_line(o, o->line);
            o->len = 0;
        } else if (o->len + 1 < sizeof(o->line)) {
            o->line[o->len++] = c;
        } else { /* too long to be one of cmocka's lines: pass it on as it comes */
            fwrite(o->line, 1, o->len, stdout);
            putchar(c);
            o->len = 0;
            o->midline = true;
        }
    }
}

/* Reads and passes on what is there; returns read's result. */
static inline ssize_t isolate_read(int fd, struct isolate_output *o)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0)
        isolate_feed(o, buf, (size_t)n);
    return n;
}

static inline double isolate_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In the child: the one test, its output into the pipe; never returns. */
static inline void isolate_child(const char *group, const struct CMUnitTest *test,
                                 CMFixtureFunction setup, CMFixtureFunction teardown, int out)
{
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    close(out);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keeps its lines in order with stderr's */
    const struct CMUnitTest one[1] = {*test};
    int failures = _cmocka_run_group_tests(group, one, 1, setup, teardown);
    exit(failures ? 1 : 0);
}

/* In the parent: passes on the child's output until the child ends, or kills it at the
 * deadline (and says so in *killed); returns its wait status. */
static inline int isolate_wait(pid_t pid, int fd, double timeout_s, struct isolate_output *o,
                               bool *killed)
{
    double deadline = isolate_now_s() + timeout_s;
    int status;
    *killed = false;
    for (;;) {
        double left = deadline - isolate_now_s();
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            *killed = true;
            break;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (fd < 0) {
            nanosleep(&(struct timespec){0, 1000000}, NULL); /* output closed early */
        } else if (poll(&p, 1, left < 0.05 ? (int)(left * 1000) + 1 : 50) > 0) {
            ssize_t n = isolate_read(fd, o);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                close(fd);
                fd = -1;
            }
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
    }
    /* All the child wrote is in the pipe now, though a process it started may keep the
     * pipe open: read what is there without waiting for its end. */
    if (fd >= 0) {
        ssize_t n;
        fcntl(fd, F_SETFL, O_NONBLOCK);
        while ((n = isolate_read(fd, o)) > 0 || (n < 0 && errno == EINTR)) {
        }
        close(fd);
    }
    return status;
}

static inline enum isolate_verdict isolate_verdict_of(const char *name, int status, bool killed,
                                                      double timeout_s,
                                                      const struct isolate_output *o)
{
    if (killed) {
        printf("[  ERROR   ] --- %s: still running after %g s, killed\n", name, timeout_s);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (o->ok || o->skipped)
            return o->ok ? ISOLATE_PASSED : ISOLATE_SKIPPED;
        printf("[  ERROR   ] --- %s: its process ended without a result\n", name);
    } else if (WIFSIGNALED(status)) {
        printf("[  ERROR   ] --- %s: its process was killed by signal %d (%s)\n", name,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (!o->failed) { /* cmocka said OK, then something at exit failed (a leak) */
        printf("[  ERROR   ] --- %s: its process exited with status %d\n", name,
               WEXITSTATUS(status));
    }
    if (!o->failed)
        printf("[  FAILED  ] %s\n", name);
    return ISOLATE_FAILED;
}

static inline enum isolate_verdict isolate_one(const char *group, const struct CMUnitTest *test,
                                               CMFixtureFunction setup, CMFixtureFunction teardown,
                                               double timeout_s)
{
    int fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) {
        printf("[  ERROR   ] --- %s: pipe: %s\n[  FAILED  ] %s\n", test->name, strerror(errno),
               test->name);
        return ISOLATE_FAILED;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        isolate_child(group, test, setup, teardown, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        printf("[  ERROR   ] --- %s: fork: %s\n[  FAILED  ] %s\n", test->name, strerror(errno),
               test->name);
        return ISOLATE_FAILED;
    }
    struct isolate_output o = {.name = test->name};
    bool killed;
    int status = isolate_wait(pid, fds[0], timeout_s, &o, &killed);
    if (o.len > 0) { /* a last line without its newline */
        o.line[o.len] = '\0';
        isolate_line(&o, o.line);
    } else if (o.midline) {
        putchar('\n');
    }
    return isolate_verdict_of(test->name, status, killed, timeout_s, &o);
}

/* The indices of the tests the environment variable var names (NAME[,NAME...]), in its
 * order, into sel (room for n + its commas); returns their count. A name that is no test
 * here is left out, or if strict, makes it return -1 after saying so. */
static inline long isolate_names(const char *var, const struct CMUnitTest *tests, size_t n,
                                 size_t *sel, bool strict)
{
    long k = 0;
    for (const char *p = getenv(var); p && *p;) {
        size_t len = strcspn(p, ",");
        size_t i = 0;
        while (i < n && !(strlen(tests[i].name) == len && strncmp(tests[i].name, p, len) == 0))
            i++;
        if (i == n && strict) {
            printf("[  ERROR   ] --- %s: no test named \"%.*s\"; the tests are:\n", var, (int)len,
                   p);
            for (i = 0; i < n; i++)
                printf("    %s\n", tests[i].name);
            return -1;
        }
        if (i < n)
            sel[k++] = i;
        p += len + (p[len] == ',');
    }
    return k;
}

static inline size_t isolate_room(const char *var, size_t n)
{
    size_t room = n + 1;
    for (const char *c = getenv(var); c && *c; c++)
        room += *c == ',';
    return room;
}

/* The tests to run, in order: those ISOLATE_TEST names, or all. skip[i] tells whether
 * ISOLATE_SKIP names test i. NULL when a name is wrong. */
static inline size_t *isolate_select(const struct CMUnitTest *tests, size_t n, size_t *count,
                                     bool *skip)
{
    const char *chosen = getenv("ISOLATE_TEST");
    size_t *sel = malloc(isolate_room("ISOLATE_TEST", n) * sizeof(*sel));
    size_t *skipped = malloc(isolate_room("ISOLATE_SKIP", n) * sizeof(*skipped));
    long nskip = sel && skipped ? isolate_names("ISOLATE_SKIP", tests, n, skipped, false) : -1;
    long k = -1;
    for (long i = 0; i < nskip; i++)
        skip[skipped[i]] = true;
    free(skipped);
    if (nskip >= 0 && chosen && *chosen)
        k = isolate_names("ISOLATE_TEST", tests, n, sel, true);
    else if (nskip >= 0)
        for (k = 0; (size_t)k < n; k++)
            sel[k] = (size_t)k;
    if (k < 0) {
        free(sel);
        return NULL;
    }
    *count = (size_t)k;
    return sel;
}

static inline bool isolate_timeout(double *timeout_s)
{
    const char *s = getenv("ISOLATE_TIMEOUT");
    char *end;
    *timeout_s = ISOLATE_DEFAULT_TIMEOUT_S;
    if (!s || !*s)
        return true;
    *timeout_s = strtod(s, &end);
    if (*end == '\0' && isfinite(*timeout_s) && *timeout_s > 0)
        return true;
    printf("[  ERROR   ] --- ISOLATE_TIMEOUT=%s: not a number of seconds\n", s);
    return false;
}

static inline void isolate_say_skipped(const char *name)
{
    printf("[  SKIPPED ] %s (ISOLATE_SKIP)\n", name);
}

/* Without forking: the chosen tests together, as cmocka_run_group_tests runs them. */
static inline int isolate_run_here(const char *group, const struct CMUnitTest *tests,
                                   const size_t *sel, size_t k, const bool *skip,
                                   CMFixtureFunction setup, CMFixtureFunction teardown)
{
    struct CMUnitTest *chosen = malloc((k ? k : 1) * sizeof(*chosen));
    size_t m = 0;
    if (!chosen)
        return 1;
    for (size_t i = 0; i < k; i++) {
        if (skip[sel[i]])
            isolate_say_skipped(tests[sel[i]].name);
        else
            chosen[m++] = tests[sel[i]];
    }
    int failures = _cmocka_run_group_tests(group, chosen, m, setup, teardown);
    free(chosen);
    return failures;
}

static inline void isolate_list(const char *what, const struct CMUnitTest *tests, const size_t *sel,
                                const enum isolate_verdict *v, size_t k, enum isolate_verdict which,
                                size_t count)
{
    if (count == 0)
        return;
    printf("[  %s ] %zu test(s), listed below:\n", what, count);
    for (size_t i = 0; i < k; i++)
        if (v[i] == which)
            printf("[  %s ] %s\n", what, tests[sel[i]].name);
    printf("\n %zu %s TEST(S)\n", count, which == ISOLATE_FAILED ? "FAILED" : "SKIPPED");
}

static inline int isolate_run_forked(const char *group, const struct CMUnitTest *tests,
                                     const size_t *sel, size_t k, const bool *skip,
                                     CMFixtureFunction setup, CMFixtureFunction teardown)
{
    double timeout_s;
    enum isolate_verdict *v = malloc((k ? k : 1) * sizeof(*v));
    if (!v || !isolate_timeout(&timeout_s)) {
        free(v);
        return 1;
    }
    size_t count[3] = {0, 0, 0};
    printf("[==========] Running %zu test(s), each in a process of its own.\n", k);
    for (size_t i = 0; i < k; i++) {
        const struct CMUnitTest *t = &tests[sel[i]];
        if (skip[sel[i]]) {
            isolate_say_skipped(t->name);
            v[i] = ISOLATE_SKIPPED;
        } else {
            v[i] = isolate_one(group, t, setup, teardown, timeout_s);
        }
        count[v[i]]++;
    }
    printf("[==========] %zu test(s) run.\n", k - count[ISOLATE_SKIPPED]);
    printf("[  PASSED  ] %zu test(s).\n", count[ISOLATE_PASSED]);
    isolate_list("SKIPPED", tests, sel, v, k, ISOLATE_SKIPPED, count[ISOLATE_SKIPPED]);
    isolate_list("FAILED ", tests, sel, v, k, ISOLATE_FAILED, count[ISOLATE_FAILED]);
    free(v);
    return count[ISOLATE_FAILED] < 255 ? (int)count[ISOLATE_FAILED] : 255;
}

/* Runs the tests chosen by ISOLATE_TEST and ISOLATE_SKIP (all by default), each in a child
 * process; prints cmocka's output and summary; returns the number of tests that failed (at
 * most 255), or 1 when the environment asks for something wrong. */
static inline int isolate_run(const char *group, const struct CMUnitTest *tests, size_t n,
                              CMFixtureFunction setup, CMFixtureFunction teardown)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t k;
    bool *skip = calloc(n + 1, sizeof(*skip));
    size_t *sel = skip ? isolate_select(tests, n, &k, skip) : NULL;
    int failures = 1;
    const char *fork_env = getenv("ISOLATE_FORK");
    if (sel && fork_env && strcmp(fork_env, "0") == 0)
        failures = isolate_run_here(group, tests, sel, k, skip, setup, teardown);
    else if (sel)
        failures = isolate_run_forked(group, tests, sel, k, skip, setup, teardown);
    free(sel);
    free(skip);
    return failures;
}

#endif
