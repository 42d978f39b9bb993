/*
 * record_target.c: programs for `gargalo record` to record (tests/record/run.py). Each mode
 * does its work in functions of its own, so that a profile shows whose time is whose:
 *
 *   threads UNITS   three busy threads doing 50%, 30% and 20% of UNITS million rounds of
 *                   work (busy_50, busy_30, busy_20; named busy-50, ...), one thread blocked
 *                   in read all along (blocked_wait, named blocked); prints what each thread
 *                   really used as JSON: {"threads": [{"name", "tid", "cpu_ns", "wall_ns"}]}
 *   spin MS         computes for MS ms of wall time (spin_wall)
 *   sleep MS        sleeps MS ms (sleep_wait)
 *   exit N          computes a little, then exits with status N
 *   raise SIG       computes a little, then raises signal SIG
 *   _exit N         computes a little, then ends with _exit(N): no exit handler runs
 *   fork MS         a forked child computes (child_work) while the parent does (parent_work)
 *   fork-exec       a forked child runs `record_target env`; the parent waits
 *   exec-self MS    computes (before_exec), then execs `record_target after-exec MS`
 *   after-exec MS   computes for MS ms (after_exec_work)
 *   env             prints what it inherited: "LD_PRELOAD=... GARGALO_RECORD=... fds=N"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Rounds of work that stay in registers: the same cost in every thread. */
static __attribute__((noinline)) void spin(uint64_t rounds, uint64_t salt)
{
    uint64_t x = salt;
    for (uint64_t i = 0; i < rounds; i++)
        x = x * 6364136223846793005u + 1442695040888963407u + (x >> 29);
    sink += x;
}

/* ---- threads ---- */

typedef struct worker {
    const char *name;
    uint64_t rounds;
    void (*work)(uint64_t rounds);
    pid_t tid;
    uint64_t cpu_ns, wall_ns;
    pthread_t th;
} worker;

static int block_pipe[2];

static __attribute__((noinline)) void busy_50(uint64_t rounds)
{
    spin(rounds, 50);
    sink += 50; /* not a tail call: the function stays on the stack */
}

static __attribute__((noinline)) void busy_30(uint64_t rounds)
{
    spin(rounds, 30);
    sink += 30; /* not a tail call: the function stays on the stack */
}

static __attribute__((noinline)) void busy_20(uint64_t rounds)
{
    spin(rounds, 20);
    sink += 20; /* not a tail call: the function stays on the stack */
}

static __attribute__((noinline)) void blocked_wait(uint64_t rounds)
{
    char c;
    (void)rounds;
    while (read(block_pipe[0], &c, 1) < 0)
        ;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t wall = now_ns(CLOCK_MONOTONIC);
    w->tid = gettid();
    pthread_setname_np(pthread_self(), w->name);
    w->work(w->rounds);
    w->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID);
    w->wall_ns = now_ns(CLOCK_MONOTONIC) - wall;
    return NULL;
}

static void print_worker(const worker *w, const char *sep)
{
    printf("{\"name\": \"%s\", \"tid\": %d, \"cpu_ns\": %llu, \"wall_ns\": %llu}%s", w->name,
           (int)w->tid, (unsigned long long)w->cpu_ns, (unsigned long long)w->wall_ns, sep);
}

static int run_threads(uint64_t units, uint64_t start_ns)
{
    worker w[] = {{.name = "blocked", .work = blocked_wait},
                  {.name = "busy-50", .rounds = units * 500000, .work = busy_50},
                  {.name = "busy-30", .rounds = units * 300000, .work = busy_30},
                  {.name = "busy-20", .rounds = units * 200000, .work = busy_20}};
    worker main_w = {.name = "main", .tid = gettid()};
    if (pipe(block_pipe) != 0)
        return 1;
    for (int i = 0; i < 4; i++)
        pthread_create(&w[i].th, NULL, worker_main, &w[i]);
    for (int i = 1; i < 4; i++)
        pthread_join(w[i].th, NULL);
    if (write(block_pipe[1], "x", 1) != 1)
        return 1;
    pthread_join(w[0].th, NULL);
    main_w.cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID);
    main_w.wall_ns = now_ns(CLOCK_MONOTONIC) - start_ns;
    printf("{\"threads\": [");
    for (int i = 0; i < 4; i++)
        print_worker(&w[i], ", ");
    print_worker(&main_w, "]}\n");
    return 0;
}

/* ---- one thread ---- */

static __attribute__((noinline)) void spin_wall(uint64_t ms)
{
    uint64_t end = now_ns(CLOCK_MONOTONIC) + ms * 1000000u;
    while (now_ns(CLOCK_MONOTONIC) < end)
        spin(100000, 7);
}

static __attribute__((noinline)) void sleep_wait(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static __attribute__((noinline)) void parent_work(uint64_t ms)
{
    spin_wall(ms);
    sink += 11;
}

static __attribute__((noinline)) void child_work(uint64_t ms)
{
    spin_wall(ms);
    sink += 10;
}

static __attribute__((noinline)) void before_exec(uint64_t ms)
{
    spin_wall(ms);
    sink += 11;
}

static __attribute__((noinline)) void after_exec_work(uint64_t ms)
{
    spin_wall(ms);
    sink += 15;
}

static int run_fork(uint64_t ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        child_work(ms);
        exit(0);
    }
    parent_work(ms);
    int status = 1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run_fork_exec(const char *self)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "env", (char *)NULL);
        _exit(127);
    }
    int status = 1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run_exec_self(const char *self, const char *ms)
{
    before_exec(strtoull(ms, NULL, 10));
    fflush(stdout);
    execl(self, self, "after-exec", ms, (char *)NULL);
    return 127;
}

/* What a descendant inherited: the variables, and its open descriptors beyond 0-2. */
static int print_env(void)
{
    const char *pre = getenv("LD_PRELOAD"), *rec = getenv("GARGALO_RECORD");
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        fds += atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d);
    if (d)
        closedir(d);
    printf("LD_PRELOAD=%s GARGALO_RECORD=%s fds=%d\n", pre ? pre : "(unset)", rec ? rec : "(unset)",
           fds);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    const char *mode = argc > 1 ? argv[1] : "", *arg = argc > 2 ? argv[2] : "0";
    uint64_t n = strtoull(arg, NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "threads") == 0)
        return run_threads(n, start);
    if (strcmp(mode, "spin") == 0 || strcmp(mode, "exit") == 0 || strcmp(mode, "raise") == 0 ||
        strcmp(mode, "_exit") == 0)
        spin_wall(strcmp(mode, "spin") == 0 ? n : 50);
    if (strcmp(mode, "_exit") == 0)
        _exit((int)n);
    if (strcmp(mode, "sleep") == 0)
        sleep_wait(n);
    if (strcmp(mode, "exit") == 0)
        return (int)n;
    if (strcmp(mode, "raise") == 0)
        raise((int)n);
    if (strcmp(mode, "fork") == 0)
        return run_fork(n);
    if (strcmp(mode, "fork-exec") == 0)
        return run_fork_exec("/proc/self/exe");
    if (strcmp(mode, "exec-self") == 0)
        return run_exec_self("/proc/self/exe", arg);
    if (strcmp(mode, "after-exec") == 0)
        after_exec_work(n);
    if (strcmp(mode, "env") == 0)
        return print_env();
    return 0;
}
