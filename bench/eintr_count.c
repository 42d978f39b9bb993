/*
 * eintr_count.c: how many waiting calls a profiled thread sees cut short with EINTR.
 *
 *     eintr_count [--rounds N] [--interval US]
 *
 * A thread profiled by gargalo (interval US, default 100) runs N rounds (default 60) of
 * five calls that wait 1 ms for something that never comes, each of which the kernel does
 * not restart after a signal whatever SA_RESTART says: nanosleep, poll on an empty pipe,
 * epoll_wait on an empty set, recv on a socket with a 1 ms SO_RCVTIMEO, sem_timedwait;
 * then 1 ms of CPU work, so that CPU-clock sessions sample too. Once with a wall-clock
 * session, once with a CPU-clock one. The mechanism is gargalo's default choice for this
 * process (perf events as root or at perf_event_paranoid <= 2, else signals), or
 * GARGALO_MECHANISM=perf|signal.
 *
 * Prints one JSON line: the mechanism, the perf-event level this process has, and per
 * clock the calls made, the EINTRs per call and in all, and the samples taken.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gargalo.h"
#include "perf.h"

enum { NANOSLEEP, POLL, EPOLL_WAIT, RECV, SEM_TIMEDWAIT, NCALLS };
static const char *const call_names[NCALLS] = {"nanosleep", "poll", "epoll_wait", "recv",
                                               "sem_timedwait"};

typedef struct fds {
    int pipe[2], ep, sock[2];
    sem_t sem;
} fds;

typedef struct count {
    long calls, eintr[NCALLS];
    size_t samples;
    gargalo_mechanism mechanism;
} count;

static void open_fds(fds *f)
{
    struct timeval tv = {0, 1000};
    if (pipe(f->pipe) || (f->ep = epoll_create1(0)) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, f->sock) ||
        setsockopt(f->sock[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
        sem_init(&f->sem, 0, 0)) {
        perror("eintr_count: setup");
        exit(1);
    }
}

static void spin_cpu_ms(double ms)
{
    struct timespec t0, t;
    volatile unsigned long x = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 1000; i++)
            x += (unsigned long)i * 7;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6 < ms);
}

/* One round of each call, each waiting 1 ms for nothing. */
static void wait_round(fds *f, count *c)
{
    struct pollfd p = {f->pipe[0], POLLIN, 0};
    struct epoll_event ev;
    struct timespec ns = {0, 1000000}, abs;
    char ch;
    c->eintr[NANOSLEEP] += nanosleep(&ns, NULL) != 0 && errno == EINTR;
    c->eintr[POLL] += poll(&p, 1, 1) < 0 && errno == EINTR;
    c->eintr[EPOLL_WAIT] += epoll_wait(f->ep, &ev, 1, 1) < 0 && errno == EINTR;
    c->eintr[RECV] += recv(f->sock[0], &ch, 1, 0) < 0 && errno == EINTR;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 1000000;
    if (abs.tv_nsec >= 1000000000)
        abs.tv_sec++, abs.tv_nsec -= 1000000000;
    c->eintr[SEM_TIMEDWAIT] += sem_timedwait(&f->sem, &abs) != 0 && errno == EINTR;
    c->calls += NCALLS;
    spin_cpu_ms(1);
}

static count run(fds *f, gargalo_clock clock, unsigned interval_us, int rounds)
{
    gargalo_options o;
    gargalo_session *s;
    gargalo_stats st;
    count c = {0};
    gargalo_options_init(&o);
    o.clock = clock;
    o.interval_us = interval_us;
    if (gargalo_start(&s, &o) != 0) {
        fprintf(stderr, "eintr_count: gargalo_start failed\n");
        exit(1);
    }
    for (int i = 0; i < rounds; i++)
        wait_round(f, &c);
    if (gargalo_stop(s) == 0 && gargalo_session_stats(s, &st) == 0) {
        c.samples = st.samples;
        c.mechanism = st.mechanism;
    }
    gargalo_session_free(s);
    return c;
}

static void print_count(const char *name, const count *c, const char *after)
{
    long total = 0;
    printf("\"%s\": {\"calls\": %ld, \"samples\": %zu, ", name, c->calls, c->samples);
    for (int k = 0; k < NCALLS; k++) {
        printf("\"%s\": %ld, ", call_names[k], c->eintr[k]);
        total += c->eintr[k];
    }
    printf("\"eintr\": %ld}%s", total, after);
}

int main(int argc, char **argv)
{
    int rounds = 60;
    unsigned interval_us = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval_us = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--rounds N] [--interval US]\n", argv[0]);
            return 2;
        }
    }
    static const char *const levels[] = {"none", "user", "full"};
    fds f;
    open_fds(&f);
    gargalo_preload();
    count wall = run(&f, GARGALO_CLOCK_WALL, interval_us, rounds);
    count cpu = run(&f, GARGALO_CLOCK_CPU, interval_us, rounds);
    printf("{\"mechanism\": \"%s\", \"level\": \"%s\", \"uid\": %d, \"interval_us\": %u, ",
           wall.mechanism == GARGALO_MECHANISM_PERF ? "perf" : "signal",
           levels[gg_perf_level_probe()], (int)getuid(), interval_us);
    print_count("wall", &wall, ", ");
    print_count("cpu", &cpu, "}\n");
    return 0;
}
