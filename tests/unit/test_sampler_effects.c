/*
 * test_sampler_effects.c: what a program may see of being profiled, and the ways a
 * profiler can break a program: blocking calls cut short, a deadlock with the dynamic
 * loader, a forked child that cannot profile, a host that resets SIGPROF, wrong names for
 * PLT stubs and for a library loaded where another was unloaded.
 * Run once with the default mechanism and once with GARGALO_MECHANISM=signal.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "isolate.h"
#include "options.h"
#include "sampler_testlib.h"

int ggdl_add_plt(int a, int b);

/* ---- blocking calls with a timeout ---- */

typedef struct eintr_fds {
    int pipe[2];
    int ep;
    int sock[2];
    sem_t sem;
} eintr_fds;

static void eintr_setup(eintr_fds *f)
{
    struct timeval tv = {0, 1000};
    assert_int_equal(pipe(f->pipe), 0);
    f->ep = epoll_create1(0);
    assert_true(f->ep >= 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sock), 0);
    assert_int_equal(setsockopt(f->sock[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(sem_init(&f->sem, 0, 0), 0);
}

static void eintr_teardown(eintr_fds *f)
{
    close(f->pipe[0]), close(f->pipe[1]), close(f->ep), close(f->sock[0]), close(f->sock[1]);
    sem_destroy(&f->sem);
}

/* One round of each waiting call, each with a 1 ms timeout; returns how many said EINTR. */
static int wait_round(eintr_fds *f)
{
    struct pollfd p = {f->pipe[0], POLLIN, 0};
    struct epoll_event ev;
    struct timespec ns = {0, 1000000}, abs;
    char c;
    int eintr = 0;
    eintr += nanosleep(&ns, NULL) != 0 && errno == EINTR;
    eintr += poll(&p, 1, 1) < 0 && errno == EINTR;
    eintr += epoll_wait(f->ep, &ev, 1, 1) < 0 && errno == EINTR;
    eintr += recv(f->sock[0], &c, 1, 0) < 0 && errno == EINTR;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 1000000;
    if (abs.tv_nsec >= 1000000000)
        abs.tv_sec++, abs.tv_nsec -= 1000000000;
    eintr += sem_timedwait(&f->sem, &abs) != 0 && errno == EINTR;
    tl_spin_ns(CLOCK_MONOTONIC, 1000000); /* CPU time too, for CPU-clock sessions */
    return eintr;
}

static void check_eintr(gargalo_clock clock)
{
    eintr_fds f;
    gargalo_options o;
    gargalo_session *s;
    gargalo_options_init(&o);
    o.clock = clock;
    o.interval_us = 100;
    eintr_setup(&f);
    assert_int_equal(gargalo_start(&s, &o), 0);
    int eintr = 0;
    for (int i = 0; i < 60; i++)
        eintr += wait_round(&f);
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_stats st;
    gargalo_session_stats(s, &st);
    printf("%s clock, %s: %d EINTR in 300 waiting calls, %zu samples\n",
           clock == GARGALO_CLOCK_CPU ? "cpu" : "wall",
           st.mechanism == GARGALO_MECHANISM_PERF ? "perf events" : "signals", eintr, st.samples);
    if (st.mechanism == GARGALO_MECHANISM_PERF) {
        assert_true(st.samples > 0);
        assert_int_equal(eintr, 0);
    } else if (clock == GARGALO_CLOCK_WALL) {
        /* signals interrupt these calls (docs/sampling.md); a CPU-time timer, checked only
         * on the scheduler's tick, may never fire for 1 ms bursts of work */
        assert_true(st.samples > 0);
    }
    gargalo_session_free(s);
    eintr_teardown(&f);
}

static void test_no_eintr_wall(void **state)
{
    check_eintr(GARGALO_CLOCK_WALL);
}

static void test_no_eintr_cpu(void **state)
{
    check_eintr(GARGALO_CLOCK_CPU);
}

/* ---- the dynamic loader ---- */

/* The directory of this test binary, where the test libraries are built. */
static const char *test_dir(void)
{
    static char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    assert_true(n > 0);
    dir[n] = '\0';
    *strrchr(dir, '/') = '\0';
    return dir;
}

static void *open_lib(const char *tag)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/libggdl_%s.so", test_dir(), tag);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    return h;
}

typedef struct loader_run {
    atomic_int stop;
    atomic_long rounds;
    uint64_t seconds_ns;
    int start_rc;
} loader_run;

/* Profiled at the smallest interval while it loads, calls into and unloads a library. */
static void *loader_thread(void *arg)
{
    loader_run *run = arg;
    gargalo_options o;
    gargalo_session *s;
    gargalo_options_init(&o);
    o.interval_us = GG_INTERVAL_MIN_US;
    if ((run->start_rc = gargalo_start(&s, &o)))
        return NULL;
    uint64_t end = tl_now_ns(CLOCK_MONOTONIC) + run->seconds_ns;
    while (tl_now_ns(CLOCK_MONOTONIC) < end) {
        void *h = open_lib("a");
        unsigned long (*spin)(unsigned long) =
            (unsigned long (*)(unsigned long))dlsym(h, "ggdl_spin_a");
        spin(20000);
        dlclose(h);
        atomic_fetch_add(&run->rounds, 1);
    }
    gargalo_stop(s);
    gargalo_session_free(s);
    return NULL;
}

/* A hang here is the failure: the join gives up after ten times the run's length. */
static void test_dlopen_loop_never_hangs(void **state)
{
    for (int i = 0; i < 3; i++) {
        loader_run run = {.seconds_ns = 700000000};
        pthread_t th;
        struct timespec limit;
        assert_int_equal(pthread_create(&th, NULL, loader_thread, &run), 0);
        clock_gettime(CLOCK_REALTIME, &limit);
        limit.tv_sec += 7;
        assert_int_equal(pthread_timedjoin_np(th, NULL, &limit), 0);
        assert_int_equal(run.start_rc, 0);
        assert_true(atomic_load(&run.rounds) > 10);
    }
}

/* ---- fork ---- */

static int child_profiles(void)
{
    gargalo_session *s;
    if (gargalo_start(&s, NULL) != 0)
        return 2;
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, 30000000);
    gargalo_stats st;
    if (gargalo_stop(s) != 0 || gargalo_session_stats(s, &st) != 0)
        return 3;
    gargalo_session_free(s);
    return st.samples > 20 ? 0 : 4;
}

static void expect_child_ok(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* After a session and gargalo_preload in the parent, a forked child profiles itself. */
static void test_forked_child_profiles(void **state)
{
    gargalo_session *s;
    assert_int_equal(gargalo_preload(), 0);
    assert_int_equal(gargalo_start(&s, NULL), 0);
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, 5000000);
    assert_int_equal(gargalo_stop(s), 0);
    gargalo_session_free(s);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_profiles());
    expect_child_ok(pid);
}

/* ---- a host that changes SIGPROF ---- */

/* In a child, so that a killed process fails this test instead of the whole binary. */
static int run_after_reset(void (*disposition)(int))
{
    gargalo_options o;
    gargalo_session *s;
    gargalo_options_init(&o);
    o.mechanism = GARGALO_MECHANISM_SIGNAL;
    if (gargalo_start(&s, &o) != 0)
        return 2;
    gargalo_stop(s);
    gargalo_session_free(s);
    signal(SIGPROF, disposition);
    int rc = gargalo_start(&s, &o);
    if (rc)
        return rc == GARGALO_ESIGNAL ? 0 : 3; /* refusing is fine; dying is not */
    tl_spin_ns(CLOCK_THREAD_CPUTIME_ID, 30000000);
    gargalo_stats st;
    if (gargalo_stop(s) != 0 || gargalo_session_stats(s, &st) != 0)
        return 4;
    gargalo_session_free(s);
    return st.samples > 20 ? 0 : 5; /* never an empty session */
}

static void test_sigprof_reset_to_default(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(run_after_reset(SIG_DFL));
    expect_child_ok(pid);
}

static void test_sigprof_reset_to_ignore(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(run_after_reset(SIG_IGN));
    expect_child_ok(pid);
}

/* ---- names ---- */

/* How many samples have a frame whose function starts with name. */
static size_t samples_named(const gargalo_session *s, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, s->samples[i].stack, &depth);
        for (uint32_t k = 0; k < depth; k++) {
            const char *fn = s->frames[fr[k]].function;
            if (fn && strncmp(fn, name, strlen(name)) == 0) {
                n++;
                break;
            }
        }
    }
    return n;
}

static volatile int plt_sink;

/* A loop calling a tiny library function spends part of its time in the PLT stub: that
 * time is named after the stub's target, never after the section before it (_init). */
static void test_plt_stub_names(void **state)
{
    gargalo_options o;
    gargalo_session *s;
    gargalo_options_init(&o);
    o.interval_us = 100; /* wall clock: a CPU timer's signals come only on the tick */
    assert_int_equal(gargalo_start(&s, &o), 0);
    int x = 0; /* not volatile: the loop must be mostly calls, for the stub to show */
    uint64_t end = tl_now_ns(CLOCK_THREAD_CPUTIME_ID) + 300000000;
    while (tl_now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 100000; i++)
            x = ggdl_add_plt(x, i);
    plt_sink = x;
    assert_int_equal(gargalo_stop(s), 0);
    size_t in_init = samples_named(s, "_init"), in_stub = samples_named(s, "ggdl_add_plt@plt");
    printf("plt: %zu samples, %zu in the stub, %zu named _init\n", s->nsamples, in_stub, in_init);
    assert_int_equal(in_init, 0);
    assert_true(s->nsamples > 100);
    if (!tl_late_signals(s))
        assert_true(in_stub > s->nsamples / 50);
    gargalo_session_free(s);
}

/* Profiles a call to the library's spin function. */
static gargalo_session *profile_spin(void *h, const char *symbol)
{
    unsigned long (*spin)(unsigned long) = (unsigned long (*)(unsigned long))dlsym(h, symbol);
    gargalo_options o;
    gargalo_session *s;
    assert_non_null(spin);
    gargalo_options_init(&o);
    o.clock = GARGALO_CLOCK_CPU;
    assert_int_equal(gargalo_start(&s, &o), 0);
    uint64_t end = tl_now_ns(CLOCK_THREAD_CPUTIME_ID) + 60000000;
    while (tl_now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        spin(100000);
    assert_int_equal(gargalo_stop(s), 0);
    return s;
}

/* A library unloaded, another loaded in its place: the second profile names the second. */
static void test_reloaded_library_names(void **state)
{
    void *a = open_lib("a");
    gargalo_session *s = profile_spin(a, "ggdl_spin_a");
    assert_true(tl_late_signals(s) || samples_named(s, "ggdl_spin_a") > s->nsamples / 2);
    gargalo_session_free(s);
    void *where_a = dlsym(a, "ggdl_spin_a");
    dlclose(a);
    void *b = open_lib("b");
    void *where_b = dlsym(b, "ggdl_spin_b");
    s = profile_spin(b, "ggdl_spin_b");
    printf("reload: a's code at %p, b's at %p; %zu samples, %zu named ggdl_spin_b\n", where_a,
           where_b, s->nsamples, samples_named(s, "ggdl_spin_b"));
    assert_int_equal(samples_named(s, "ggdl_spin_a"), 0);
    assert_true(tl_late_signals(s) || samples_named(s, "ggdl_spin_b") > s->nsamples / 2);
    gargalo_session_free(s);
    dlclose(b);
}

typedef struct late_write {
    int fd;
    uint64_t delay_ns;
} late_write;

static void *write_later(void *arg)
{
    late_write *w = arg;
    tl_sleep_ns(w->delay_ns);
    assert_int_equal(write(w->fd, "x", 1), 1);
    return NULL;
}

/* A thread blocked in read() on a pipe: its blocked time ends in a leaf that names the
 * call, the descriptor and what it is. */
static void test_blocked_names_the_pipe(void **state)
{
    int fds[2];
    char c, want[64];
    pthread_t th;
    gargalo_session *s;
    assert_int_equal(pipe(fds), 0);
    late_write w = {fds[1], 60000000};
    assert_int_equal(gargalo_start(&s, NULL), 0);
    pthread_create(&th, NULL, write_later, &w);
    while (read(fds[0], &c, 1) < 0) { /* a signal may interrupt it: read again */
    }
    assert_int_equal(gargalo_stop(s), 0);
    pthread_join(th, NULL);
    snprintf(want, sizeof(want), "[blocked] read fd %d: pipe", fds[0]);
    size_t named = samples_named(s, want);
    uint64_t blocked_ns = 0;
    for (size_t i = 0; i < s->nsamples; i++)
        if (tl_stack_has(s, s->samples[i].stack, want))
            blocked_ns += s->samples[i].weight_ns;
    printf("blocked: %zu samples named '%s', %.1f ms, %zu dropped\n", named, want, blocked_ns / 1e6,
           s->dropped);
    /* A record lost on a saturated machine (the collector late, the ring full) may be the
     * switch that began the wait. */
    if (!tl_late_signals(s) && !s->dropped)
        assert_true(named > 0 && blocked_ns >= 40000000);
    close(fds[0]), close(fds[1]);
    gargalo_session_free(s);
}

/* A connected TCP socket to a listener on 127.0.0.1, and the listener's port. */
static int connected_socket(int *listener, int *accepted, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    *listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(*listener, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(*listener, 1), 0);
    assert_int_equal(getsockname(*listener, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    *accepted = accept(*listener, NULL, NULL);
    assert_true(*accepted >= 0);
    return fd;
}

/* A thread waiting in poll() on a TCP socket, as libpq waits for its server: the leaf
 * names poll, the socket's descriptor (read from the pollfd array on the thread's stack)
 * and its peer, "tcp 127.0.0.1:PORT". */
static void test_blocked_names_the_socket(void **state)
{
    int listener, accepted, port;
    char c, want[96];
    pthread_t th;
    gargalo_session *s;
    int fd = connected_socket(&listener, &accepted, &port);
    late_write w = {accepted, 60000000};
    assert_int_equal(gargalo_start(&s, NULL), 0);
    pthread_create(&th, NULL, write_later, &w);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) < 1) { /* a signal may interrupt it: wait again */
    }
    assert_int_equal(read(fd, &c, 1), 1);
    assert_int_equal(gargalo_stop(s), 0);
    pthread_join(th, NULL);
    snprintf(want, sizeof(want), "[blocked] poll fd %d: tcp 127.0.0.1:%d", fd, port);
    uint64_t blocked_ns = 0;
    for (size_t i = 0; i < s->nsamples; i++)
        if (tl_stack_has(s, s->samples[i].stack, want))
            blocked_ns += s->samples[i].weight_ns;
    printf("blocked: %zu samples named '%s', %.1f ms\n", samples_named(s, want), want,
           blocked_ns / 1e6);
    if (!tl_late_signals(s))
        assert_true(blocked_ns >= 40000000);
    close(fd), close(accepted), close(listener);
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_eintr_wall),
        cmocka_unit_test(test_no_eintr_cpu),
        cmocka_unit_test(test_dlopen_loop_never_hangs),
        cmocka_unit_test(test_forked_child_profiles),
        cmocka_unit_test(test_sigprof_reset_to_default),
        cmocka_unit_test(test_sigprof_reset_to_ignore),
        cmocka_unit_test(test_plt_stub_names),
        cmocka_unit_test(test_reloaded_library_names),
        cmocka_unit_test(test_blocked_names_the_pipe),
        cmocka_unit_test(test_blocked_names_the_socket),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
