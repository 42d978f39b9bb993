/*
 * perf.c: perf_event_open for one thread, and the reader of its ring buffer (perf.h).
 *
 * Both events write into one buffer (PERF_EVENT_IOC_SET_OUTPUT) so records come in time
 * order, and both use one sample layout so one parser reads them:
 *   identifier, pid/tid, time, read value, user regs (abi + GG_NREGS), user stack
 *   (size, bytes, dynamic size). Side-band records end with identifier, pid/tid, time.
 */
#define _GNU_SOURCE
#include "perf.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gargalo.h"

#if defined(__x86_64__)
#include <asm/perf_regs.h>
/* perf's x86 register numbers, in the order of GG_REG_*: AX..IP are 0..8, R8..R15 16..23. */
#define GG_REGS_MASK (0x1ffull | 0xffull << PERF_REG_X86_R8)
#endif

/* Data pages of the ring buffer (a power of two; the collector is woken when it is half
 * full). The buffer is locked memory. Where the process may lock without limit (root, or
 * CAP_IPC_LOCK, or no RLIMIT_MEMLOCK), 2 MiB, about 120 samples, so that a collector kept
 * off the CPU for a few milliseconds loses nothing. Anyone else, CAP_PERFMON and
 * perf_event_paranoid <= 1 included, has perf_event_mlock_kb (516 KiB by default) per CPU
 * and then RLIMIT_MEMLOCK for all its buffers: 128 KiB each, so that many threads get
 * one (measured with CAP_PERFMON and an 8 MiB RLIMIT_MEMLOCK: with 2 MiB buffers, 4
 * threads got perf events and the others fell back to signals). A buffer refused all the
 * same is asked again at 128 KiB. */
#define GG_RING_PAGES_LARGE 512u
#define GG_RING_PAGES_SMALL 32u

static bool gg_lock_unlimited;

/* Whether the process may lock memory without limit: found with the level (probe). */
static bool lock_unlimited(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY)
        return true;
    return syscall(SYS_capget, &h, d) == 0 && (d[0].effective & (1u << CAP_IPC_LOCK));
}
#define GG_SCRATCH (GG_STACK_COPY + 1024u)

/* A sample's weight: the task clock read with it (exact, also across time the sample
 * missed), or, for inherited events, whose reads the kernel refused before Linux 6.13, its
 * period. Exactly one of READ and PERIOD is set, and they sit at the same place. */
#define GG_SAMPLE_TYPE                                                                             \
    (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_REGS_USER |         \
     PERF_SAMPLE_STACK_USER)

static int perf_event_open(struct perf_event_attr *a, pid_t tid, int cpu)
{
    return (int)syscall(SYS_perf_event_open, a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void base_attr(struct perf_event_attr *a, uint64_t config, gg_perf_level level)
{
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    a->type = PERF_TYPE_SOFTWARE;
    a->config = config;
    a->disabled = 1;
    a->exclude_kernel = level != GG_PERF_FULL;
    a->exclude_hv = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->sample_id_all = 1;
#if defined(__x86_64__)
    a->sample_type = GG_SAMPLE_TYPE | PERF_SAMPLE_READ;
    a->sample_regs_user = GG_REGS_MASK;
    a->sample_stack_user = GG_STACK_COPY;
#endif
}

static unsigned cfg_pages(const gg_perf_config *cfg)
{
    if (cfg->ring_pages)
        return cfg->ring_pages;
    return gg_lock_unlimited ? GG_RING_PAGES_LARGE : GG_RING_PAGES_SMALL;
}

/* Following the threads a thread creates: their samples come into its buffer. Only
 * threads (not forked processes), and with their names (COMM records). */
static void inherit_attr(struct perf_event_attr *a)
{
    a->inherit = 1;
    a->inherit_thread = 1;
    a->sample_type = (a->sample_type & ~(uint64_t)PERF_SAMPLE_READ) | PERF_SAMPLE_PERIOD;
}

/* The task clock: one sample every interval_ns of the thread's CPU time. Its buffer
 * wakes pollers once half full. */
static void clock_attr(struct perf_event_attr *a, const gg_perf_config *cfg)
{
    base_attr(a, PERF_COUNT_SW_TASK_CLOCK, cfg->level);
    a->sample_period = cfg->interval_ns;
    a->context_switch = cfg->wall; /* switch records: when the thread leaves and comes back */
    a->watermark = 1;
    a->wakeup_watermark = cfg_pages(cfg) * 4096u / 2;
    if (cfg->inherit) {
        inherit_attr(a);
        a->comm = 1;
    }
}

/* Whether the kernel lets this process sample at a level: the event opens, and a buffer
 * of the smallest size gargalo uses maps (how much it may lock is found per thread). */
static int probe_open(gg_perf_level level)
{
    struct perf_event_attr a;
    gg_perf_config cfg = {.wall = true,
                          .interval_ns = 1000000,
                          .level = level,
                          .ring_pages = GG_RING_PAGES_SMALL,
                          .cpu = -1};
    clock_attr(&a, &cfg);
    int fd = perf_event_open(&a, 0, -1); /* any CPU */
    if (fd < 0)
        return -1;
    size_t len = (GG_RING_PAGES_SMALL + 1) * 4096u;
    void *ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ring != MAP_FAILED)
        munmap(ring, len);
    close(fd);
    return ring == MAP_FAILED ? -1 : 0;
}

static gg_perf_level gg_level = GG_PERF_NONE;

static void probe(void)
{
    gg_lock_unlimited = lock_unlimited();
#if defined(__x86_64__)
    if (probe_open(GG_PERF_FULL) == 0)
        gg_level = GG_PERF_FULL;
    else if (probe_open(GG_PERF_USER) == 0)
        gg_level = GG_PERF_USER;
#endif
}

gg_perf_level gg_perf_level_probe(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe);
    return gg_level;
}

/* Not an error code of gargalo's: the buffer could not be mapped (the kernel would not lock
 * that much memory). */
#define GG_RING_REFUSED 1

static int map_ring(gg_perf_thread *pt, unsigned pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    pt->data_len = pages * page;
    pt->ring_len = pt->data_len + page;
    pt->ring = mmap(NULL, pt->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, pt->clock_fd, 0);
    if (pt->ring == MAP_FAILED) {
        pt->ring = NULL;
        return GG_RING_REFUSED;
    }
    pt->scratch = malloc(GG_SCRATCH);
    return pt->scratch ? 0 : GARGALO_ENOMEM;
}

/* Every switch-out as a sample with registers and stack: FULL level only, where the
 * switch happens in kernel mode and so may be sampled. */
static int open_switch_event(gg_perf_thread *pt, pid_t tid, const gg_perf_config *cfg)
{
    struct perf_event_attr a;
    base_attr(&a, PERF_COUNT_SW_CONTEXT_SWITCHES, GG_PERF_FULL);
    a.sample_period = 1; /* inherited events tell it from the clock by this period */
    if (cfg->inherit)
        inherit_attr(&a);
    int out = cfg->output ? cfg->output->clock_fd : pt->clock_fd;
    pt->switch_fd = perf_event_open(&a, tid, cfg->cpu);
    if (pt->switch_fd < 0 || ioctl(pt->switch_fd, PERF_EVENT_IOC_SET_OUTPUT, out) ||
        ioctl(pt->switch_fd, PERF_EVENT_IOC_ID, &pt->switch_id))
        return GARGALO_ETIMER;
    return 0;
}

static int open_with(gg_perf_thread *pt, pid_t tid, const gg_perf_config *cfg)
{
    struct perf_event_attr a;
    memset(pt, 0, sizeof(*pt));
    pt->switch_fd = -1;
    pt->by_period = cfg->inherit;
    clock_attr(&a, cfg);
    pt->clock_fd = perf_event_open(&a, tid, cfg->cpu);
    int rc = pt->clock_fd < 0 ? GARGALO_ETIMER : 0;
    if (!rc && cfg->output)
        rc = ioctl(pt->clock_fd, PERF_EVENT_IOC_SET_OUTPUT, cfg->output->clock_fd) ? GARGALO_ETIMER
                                                                                   : 0;
    else if (!rc)
        rc = map_ring(pt, cfg_pages(cfg));
    if (!rc && ioctl(pt->clock_fd, PERF_EVENT_IOC_ID, &pt->clock_id))
        rc = GARGALO_ETIMER;
    if (!rc && cfg->wall && cfg->switch_stacks && cfg->level == GG_PERF_FULL)
        rc = open_switch_event(pt, tid, cfg);
    if (rc)
        gg_perf_close(pt);
    return rc;
}

/* A buffer of the size asked for, or where the kernel will not lock that much, a small one
 * (the task clock's wake-up mark is set at open for the buffer's size: opened again). */
int gg_perf_open(gg_perf_thread *pt, pid_t tid, const gg_perf_config *cfg)
{
    int rc = open_with(pt, tid, cfg);
    if (rc == GG_RING_REFUSED && cfg_pages(cfg) > GG_RING_PAGES_SMALL) {
        gg_perf_config small = *cfg;
        small.ring_pages = GG_RING_PAGES_SMALL;
        rc = open_with(pt, tid, &small);
    }
    return rc == GG_RING_REFUSED ? GARGALO_ETIMER : rc;
}

void gg_perf_close(gg_perf_thread *pt)
{
    if (pt->switch_fd >= 0)
        close(pt->switch_fd);
    if (pt->ring)
        munmap(pt->ring, pt->ring_len);
    if (pt->clock_fd >= 0)
        close(pt->clock_fd);
    free(pt->scratch);
    memset(pt, 0, sizeof(*pt));
    pt->clock_fd = pt->switch_fd = -1;
}

static int both(gg_perf_thread *pt, unsigned long request, unsigned long arg)
{
    if (ioctl(pt->clock_fd, request, arg))
        return GARGALO_ETIMER;
    if (pt->switch_fd >= 0 && ioctl(pt->switch_fd, request, arg))
        return GARGALO_ETIMER;
    return 0;
}

int gg_perf_enable(gg_perf_thread *pt)
{
    return both(pt, PERF_EVENT_IOC_ENABLE, 0);
}

int gg_perf_disable(gg_perf_thread *pt)
{
    return both(pt, PERF_EVENT_IOC_DISABLE, 0);
}

int gg_perf_set_interval(gg_perf_thread *pt, uint64_t interval_ns)
{
    return ioctl(pt->clock_fd, PERF_EVENT_IOC_PERIOD, &interval_ns) ? GARGALO_ETIMER : 0;
}

uint64_t gg_perf_clock_ns(const gg_perf_thread *pt)
{
    uint64_t v = 0;
    return read(pt->clock_fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? v : 0;
}

/* ---- reading the ring buffer ---- */

/* A cursor over one record's bytes. */
typedef struct gg_cursor {
    const unsigned char *p, *end;
    bool bad;
} gg_cursor;

static uint64_t take_u64(gg_cursor *c)
{
    uint64_t v = 0;
    if (c->end - c->p < 8) {
        c->bad = true;
        return 0;
    }
    memcpy(&v, c->p, 8);
    c->p += 8;
    return v;
}

/* The user stack block: size, bytes, dynamic size (what the kernel really copied). */
static void take_stack(gg_cursor *c, gg_perf_event *ev)
{
    uint64_t size = take_u64(c);
    if (c->bad || size > (uint64_t)(c->end - c->p)) {
        c->bad = true;
        return;
    }
    ev->stack = c->p;
    c->p += size;
    uint64_t dyn = size ? take_u64(c) : 0;
    ev->stack_len = dyn < size ? dyn : size;
}

static void parse_sample(gg_cursor *c, const gg_perf_thread *pt, gg_perf_event *ev)
{
    uint64_t id = take_u64(c);
    ev->tid = (pid_t)(take_u64(c) >> 32); /* pid, then tid */
    ev->time_ns = take_u64(c);
    if (pt->by_period)
        ev->period_ns = take_u64(c);
    else
        ev->cpu_ns = take_u64(c);
    if (pt->by_period) /* many events write here: the switch event's period is 1 */
        ev->kind = ev->period_ns == 1 ? GG_PERF_SWITCH_OUT : GG_PERF_ON_CPU;
    else
        ev->kind = id == pt->switch_id && pt->switch_fd >= 0 ? GG_PERF_SWITCH_OUT : GG_PERF_ON_CPU;
    if (ev->kind == GG_PERF_SWITCH_OUT)
        ev->period_ns = 0;
    ev->has_regs = take_u64(c) != 0; /* abi: 0 when the thread had no user registers */
    for (int i = 0; ev->has_regs && i < GG_NREGS; i++)
        ev->regs[i] = take_u64(c);
    take_stack(c, ev);
    ev->has_regs = ev->has_regs && !c->bad && ev->stack_len;
}

/* The time from the block that ends a side-band record: pid/tid, time, identifier. */
static uint64_t trailer_time(const unsigned char *rec, size_t size)
{
    uint64_t t = 0;
    if (size >= sizeof(struct perf_event_header) + 24)
        memcpy(&t, rec + size - 16, 8);
    return t;
}

/* The thread of a side-band record, from the same block. */
static pid_t trailer_tid(const unsigned char *rec, size_t size)
{
    uint32_t ids[2] = {0, 0};
    if (size >= sizeof(struct perf_event_header) + 24)
        memcpy(ids, rec + size - 24, 8);
    return (pid_t)ids[1];
}

/* pid, tid, then the name, NUL-padded to 8 bytes. */
static bool parse_comm(gg_cursor *c, gg_perf_event *ev)
{
    uint64_t ids = take_u64(c);
    size_t room = (size_t)(c->end - c->p);
    ev->kind = GG_PERF_COMM;
    ev->tid = (pid_t)(ids >> 32);
    snprintf(ev->name, sizeof(ev->name), "%.*s", (int)(room < 15 ? room : 15), (const char *)c->p);
    return !c->bad;
}

/* Turns one record into an event; false for the records gargalo does not use. */
static bool parse(const gg_perf_thread *pt, const unsigned char *rec, size_t size,
                  gg_perf_event *ev)
{
    struct perf_event_header h;
    memcpy(&h, rec, sizeof(h));
    gg_cursor c = {rec + sizeof(h), rec + size, false};
    memset(ev, 0, sizeof(*ev));
    if (h.type == PERF_RECORD_SAMPLE) {
        parse_sample(&c, pt, ev);
        return !c.bad;
    }
    if (h.type == PERF_RECORD_LOST) {
        take_u64(&c);
        ev->kind = GG_PERF_LOST;
        ev->lost = take_u64(&c);
        ev->time_ns = trailer_time(rec, size);
        return !c.bad;
    }
    if (h.type == PERF_RECORD_COMM)
        return parse_comm(&c, ev);
    if (h.type != PERF_RECORD_SWITCH)
        return false;
    bool out = h.misc & PERF_RECORD_MISC_SWITCH_OUT;
    ev->kind = out ? GG_PERF_SWITCH_OUT : GG_PERF_SWITCH_IN;
    ev->preempted = h.misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT;
    ev->time_ns = trailer_time(rec, size);
    ev->tid = trailer_tid(rec, size);
    return true;
}

/* The record at tail, contiguous: in place, or copied to scratch when it wraps. */
static const unsigned char *record_at(gg_perf_thread *pt, uint64_t tail, size_t *size)
{
    const unsigned char *data = (const unsigned char *)pt->ring + (pt->ring_len - pt->data_len);
    size_t off = tail & (pt->data_len - 1);
    struct perf_event_header h;
    memcpy(&h, data + off, sizeof(h)); /* records are 8-aligned: a header never wraps */
    *size = h.size;
    if (off + h.size <= pt->data_len)
        return data + off;
    if (h.size > GG_SCRATCH)
        return NULL;
    size_t first = pt->data_len - off;
    memcpy(pt->scratch, data + off, first);
    memcpy(pt->scratch + first, data, h.size - first);
    return pt->scratch;
}

void gg_perf_read(gg_perf_thread *pt, gg_perf_event_fn fn, void *ctx)
{
    struct perf_event_mmap_page *mp = pt->ring;
    uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = mp->data_tail;
    gg_perf_event ev;
    while (tail < head) {
        size_t size;
        const unsigned char *rec = record_at(pt, tail, &size);
        if (size < sizeof(struct perf_event_header))
            break; /* cannot happen with a sane kernel; never loop forever */
        if (rec && parse(pt, rec, size, &ev))
            fn(ctx, &ev);
        tail += size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

/* ---- several buffers, merged ---- */

typedef struct gg_reader {
    gg_perf_thread *pt;
    uint64_t tail, head;
    gg_perf_event ev; /* the next event, valid while has */
    bool has;
} gg_reader;

/* Moves r to its next event the merge can use. */
static void reader_next(gg_reader *r)
{
    r->has = false;
    while (!r->has && r->tail < r->head) {
        size_t size;
        const unsigned char *rec = record_at(r->pt, r->tail, &size);
        if (size < sizeof(struct perf_event_header)) {
            r->tail = r->head; /* never loop forever on a broken buffer */
            break;
        }
        r->has = rec && parse(r->pt, rec, size, &r->ev);
        r->tail += size;
    }
}

static gg_reader *earliest(gg_reader *r, size_t n)
{
    gg_reader *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (r[i].has && (!best || r[i].ev.time_ns < best->ev.time_ns))
            best = &r[i];
    return best;
}

void gg_perf_read_merged(gg_perf_thread *const *pts, size_t n, gg_perf_event_fn fn, void *ctx)
{
    gg_reader r[n ? n : 1];
    for (size_t i = 0; i < n; i++) {
        struct perf_event_mmap_page *mp = pts[i]->ring;
        r[i] = (gg_reader){.pt = pts[i], .tail = mp->data_tail};
        r[i].head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
        reader_next(&r[i]);
    }
    for (gg_reader *e; (e = earliest(r, n));) {
        fn(ctx, &e->ev);
        reader_next(e);
    }
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&((struct perf_event_mmap_page *)pts[i]->ring)->data_tail, r[i].tail,
                         __ATOMIC_RELEASE);
}
