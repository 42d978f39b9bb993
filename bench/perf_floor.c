/*
 * perf_floor.c: what one perf-event sample costs the thread it samples, with no profiler.
 *
 *     perf_floor [--runs R] [--ms MS] [--interval US]
 *
 * A CPU-bound loop of about MS milliseconds of CPU time (default 40) is timed plain, then timed
 * again while a task-clock event opened with perf_event_open on this very thread samples it every
 * US microseconds of its CPU time (default 100), in two layouts:
 *   - "ip":    the instruction pointer, thread and time only: the least a sample can be;
 *   - "stack": what gargalo asks for (src/gargalo/perf.c): identifier, thread, time, the
 *              clock's count, the user registers and a 16 KiB copy of the user stack.
 * As gargalo does, the event writes into an mmap'd ring buffer that wakes a reader thread
 * once half full; the reader walks the records and hands their space back to the kernel
 * (it counts them, and unwinds nothing). The kernel's sampling runs in the loop's thread:
 * the timer interrupt, the copy of registers and stack into the ring, the wake-up.
 * Plain and sampled runs alternate, R times each (default 9). The cost of one sample is
 * (median sampled - median plain) / median samples read, in microseconds, measured on the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), and the same on wall time (wall_cost_us).
 * On a shared machine the loop's wall time mostly says how long it waited for a CPU; its
 * CPU time counts what ran on its CPU while it was there, the kernel's interrupts and
 * copies included, as long as the kernel does not account interrupt time apart
 * (CONFIG_IRQ_TIME_ACCOUNTING, not set in Debian's kernels nor on the machines measured).
 *
 * Kernel-mode time is sampled too where the process may (root, CAP_PERFMON,
 * perf_event_paranoid <= 1), as gargalo's FULL level does; else user mode only ("user").
 * The ring is 2 MiB where locking that much memory is allowed, else 128 KiB, as gargalo's.
 *
 * The loop runs 32 KiB down the stack, so that each sample's stack copy is a whole
 * 16 KiB (stack_bytes in the JSON: the bytes a sample held), as in a program with deep
 * stacks (bolsa's SQLite requests use more than 16 KiB); near the top of a thread's stack
 * the kernel copies only what is there.
 *
 * Prints one JSON object: ip_us and stack_us, and each layout's runs.
 */
#define _GNU_SOURCE
#include <asm/perf_regs.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "spin.h"

#define STACK_COPY 16384u
#define PAGE 4096u
/* gargalo's 17 registers: AX..IP, then R8..R15. */
#define REGS_MASK (0x1ffull | 0xffull << PERF_REG_X86_R8)

/* One event and its ring buffer. */
typedef struct ring {
    int fd;
    void *map;
    size_t data_len, map_len;
    bool stack;
    uint64_t samples, lost, copied; /* copied: stack bytes, summed over the samples */
    pthread_mutex_t lock;           /* the reader thread and the final drain */
} ring;

static void set_layout(struct perf_event_attr *a, bool stack)
{
    if (!stack) {
        a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
        return;
    }
    a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                     PERF_SAMPLE_READ | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
    a->sample_regs_user = REGS_MASK;
    a->sample_stack_user = STACK_COPY;
}

static int open_event(bool stack, unsigned interval_us, bool kernel, unsigned pages)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.sample_period = interval_us * 1000ull;
    a.disabled = 1;
    a.exclude_kernel = !kernel;
    a.exclude_hv = 1;
    a.use_clockid = 1;
    a.clockid = CLOCK_MONOTONIC;
    a.watermark = 1;
    a.wakeup_watermark = pages * PAGE / 2;
    set_layout(&a, stack);
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static bool map_ring(ring *r, unsigned pages)
{
    r->data_len = (size_t)pages * PAGE;
    r->map_len = r->data_len + PAGE;
    r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    return r->map != MAP_FAILED;
}

/* The most the kernel allows: kernel mode and a 2 MiB ring, else less of either. */
static const char *open_ring(ring *r, bool stack, unsigned interval_us)
{
    static const struct {
        bool kernel;
        unsigned pages;
        const char *level;
    } tries[] = {{true, 512, "full"}, {false, 512, "user"}, {false, 32, "user"}};
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        r->fd = open_event(stack, interval_us, tries[i].kernel, tries[i].pages);
        if (r->fd >= 0 && map_ring(r, tries[i].pages))
            return tries[i].level;
        if (r->fd >= 0)
            close(r->fd);
    }
    fprintf(stderr, "perf_floor: perf_event_open refused: %s\n", strerror(errno));
    exit(1);
}

/* Copies n bytes of the ring from position pos, across its end if need be. */
static void ring_copy(const ring *r, uint64_t pos, void *dst, size_t n)
{
    const unsigned char *data = (const unsigned char *)r->map + PAGE;
    size_t off = pos & (r->data_len - 1), first = r->data_len - off < n ? r->data_len - off : n;
    memcpy(dst, data + off, first);
    memcpy((unsigned char *)dst + first, data, n - first);
}

/* The stack bytes the kernel really copied into a sample of gargalo's layout: after the
 * header, identifier, thread, time, read value, ABI and 17 registers come the size, the
 * bytes, and the size copied. */
static uint64_t stack_copied(const ring *r, uint64_t rec)
{
    uint64_t abi, size, dyn;
    ring_copy(r, rec + 8 + 4 * 8, &abi, sizeof(abi));
    if (!abi)
        return 0;
    ring_copy(r, rec + 8 + 5 * 8 + 17 * 8, &size, sizeof(size));
    ring_copy(r, rec + 8 + 6 * 8 + 17 * 8 + size, &dyn, sizeof(dyn));
    return size ? dyn : 0;
}

/* Walks every record written so far and gives the space back, as gargalo's reader does;
 * records are counted, and how much stack each sample holds read. */
static void drain(ring *r)
{
    pthread_mutex_lock(&r->lock);
    struct perf_event_mmap_page *mp = r->map;
    uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = mp->data_tail;
    while (tail < head) {
        struct perf_event_header h;
        ring_copy(r, tail, &h, sizeof(h));
        if (h.size < sizeof(h))
            break;
        if (h.type == PERF_RECORD_SAMPLE) {
            r->samples++;
            r->copied += r->stack ? stack_copied(r, tail) : 0;
        } else if (h.type == PERF_RECORD_LOST) {
            uint64_t lost[2]; /* id, count */
            ring_copy(r, tail + sizeof(h), lost, sizeof(lost));
            r->lost += lost[1];
        }
        tail += h.size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&r->lock);
}

typedef struct reader {
    ring *r;
    int stop_fd;
} reader;

/* gargalo's collector: asleep until the kernel says the buffer is half full. */
static void *reader_main(void *arg)
{
    reader *rd = arg;
    struct pollfd p[2] = {{rd->r->fd, POLLIN, 0}, {rd->stop_fd, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents)
            drain(rd->r);
    }
    return NULL;
}

/* One sampled run: returns its time; *samples gets the records it wrote. */
static span time_spin_sampled(ring *r, uint64_t iterations, double *samples, double *lost,
                              double *copied)
{
    reader rd = {r, eventfd(0, EFD_CLOEXEC)};
    pthread_t th;
    uint64_t one = 1;
    r->samples = r->lost = r->copied = 0;
    if (rd.stop_fd < 0 || pthread_create(&th, NULL, reader_main, &rd) != 0) {
        perror("perf_floor: reader");
        exit(1);
    }
    ioctl(r->fd, PERF_EVENT_IOC_ENABLE, 0);
    span ms = time_spin(iterations);
    ioctl(r->fd, PERF_EVENT_IOC_DISABLE, 0);
    if (write(rd.stop_fd, &one, sizeof(one)) != sizeof(one))
        exit(1);
    pthread_join(th, NULL);
    close(rd.stop_fd);
    drain(r);
    *samples = (double)r->samples;
    *lost = (double)r->lost;
    *copied = r->samples ? (double)r->copied / (double)r->samples : 0;
    return ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct result {
    const char *level;
    double plain_ms, timed_ms, plain_cpu_ms, timed_cpu_ms, samples, lost, cost_us, wall_cost_us;
    double copied; /* stack bytes a sample held, on average */
} result;

static result measure(bool stack, unsigned interval_us, uint64_t iterations, int runs)
{
    ring r = {.stack = stack, .lock = PTHREAD_MUTEX_INITIALIZER};
    result res = {.level = open_ring(&r, stack, interval_us)};
    double plain[runs], timed[runs], plain_cpu[runs], timed_cpu[runs], got[runs], lost[runs],
        copied[runs];
    for (int i = 0; i < runs; i++) {
        span p = time_spin(iterations),
             t = time_spin_sampled(&r, iterations, &got[i], &lost[i], &copied[i]);
        plain[i] = p.wall_ms, plain_cpu[i] = p.cpu_ms;
        timed[i] = t.wall_ms, timed_cpu[i] = t.cpu_ms;
    }
    munmap(r.map, r.map_len);
    close(r.fd);
    res.plain_ms = median(plain, runs);
    res.timed_ms = median(timed, runs);
    res.plain_cpu_ms = median(plain_cpu, runs);
    res.timed_cpu_ms = median(timed_cpu, runs);
    res.samples = median(got, runs);
    res.lost = median(lost, runs);
    res.copied = median(copied, runs);
    if (res.samples > 0) {
        res.cost_us = (res.timed_cpu_ms - res.plain_cpu_ms) * 1000.0 / res.samples;
        res.wall_cost_us = (res.timed_ms - res.plain_ms) * 1000.0 / res.samples;
    }
    return res;
}

static void print_result(const char *name, const result *r, const char *after)
{
    printf("\"%s\": {\"cost_us\": %.2f, \"wall_cost_us\": %.2f, \"samples\": %.0f, "
           "\"lost\": %.0f, \"stack_bytes\": %.0f, \"plain_cpu_ms\": %.3f, "
           "\"timed_cpu_ms\": %.3f, \"plain_ms\": %.3f, \"timed_ms\": %.3f, \"level\": \"%s\"}%s",
           name, r->cost_us, r->wall_cost_us, r->samples, r->lost, r->copied, r->plain_cpu_ms,
           r->timed_cpu_ms, r->plain_ms, r->timed_ms, r->level, after);
}

/* The loop's iterations for about target_ms, after a warm-up for the CPU's clock. */
static uint64_t calibrate(double target_ms)
{
    uint64_t iterations = 1000000;
    time_spin(iterations);
    for (int i = 0; i < 5; i++) {
        if (time_spin(iterations).cpu_ms >= target_ms / 4)
            break;
        iterations *= 4;
    }
    double probe[3];
    for (int i = 0; i < 3; i++)
        probe[i] = time_spin(iterations).cpu_ms;
    return (uint64_t)(iterations * target_ms / median(probe, 3));
}

typedef struct args {
    int runs;
    double target_ms;
    unsigned interval_us;
} args;

static void run(const args *a)
{
    uint64_t iterations = calibrate(a->target_ms);
    result ip = measure(false, a->interval_us, iterations, a->runs);
    result stack = measure(true, a->interval_us, iterations, a->runs);
    printf("{\"runs\": %d, \"loop_ms\": %.3f, \"interval_us\": %u, \"level\": \"%s\", "
           "\"ip_us\": %.2f, \"stack_us\": %.2f, \"stack_copy\": %u, ",
           a->runs, ip.plain_cpu_ms, a->interval_us, stack.level, ip.cost_us, stack.cost_us,
           STACK_COPY);
    print_result("ip", &ip, ", ");
    print_result("stack", &stack, "}\n");
}

/* Runs the measurement 32 KiB below here: a sample's stack copy is then whole, as in a
 * program with deep stacks, not cut short by the top of the stack a few KiB away. */
static void __attribute__((noinline)) run_deep(const args *a)
{
    volatile char pad[32768];
    for (size_t i = sizeof(pad); i > 0; i -= 4096)
        pad[i - 1] = 0;
    run(a);
    pad[0] = 0;
}

int main(int argc, char **argv)
{
    args a = {9, 40, 100};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            a.runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            a.target_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            a.interval_us = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--runs R] [--ms MS] [--interval US]\n", argv[0]);
            return 2;
        }
    }
    if (a.runs < 1 || a.target_ms <= 0 || a.interval_us < 10) {
        fprintf(stderr, "perf_floor: --runs and --ms must be positive, --interval >= 10\n");
        return 2;
    }
    run_deep(&a);
    return 0;
}
