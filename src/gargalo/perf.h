/*
 * perf.h: the kernel's perf events for one thread, as gargalo uses them: a task-clock
 * event that samples on-CPU time, and (wall clock) what tells when the thread leaves and
 * regains the CPU. Each sample carries the user registers and a copy of the top of the
 * user stack, taken by the kernel; the thread itself runs no code of ours for it.
 *
 * What the kernel allows depends on privilege (docs/sampling.md):
 *   full      root, CAP_PERFMON or perf_event_paranoid <= 1: kernel-mode time sampled too,
 *             and every switch-out is a sample with registers and stack;
 *   user      perf_event_paranoid 2: user-mode samples only; switches come as records
 *             with times and no stack;
 *   none      refused (paranoid 3, seccomp, no perf in the kernel): use signals.
 */
#ifndef GG_PERF_H
#define GG_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum gg_perf_level { GG_PERF_NONE, GG_PERF_USER, GG_PERF_FULL } gg_perf_level;

/* The top of the stack copied with each sample, by the kernel or by the signal handler.
 * Deeper stacks lose their outermost frames; docs/sampling.md has the measurements
 * behind the size. */
#define GG_STACK_COPY 16384u

/* The registers sampled, in this order (x86-64 only; elsewhere the level is NONE). */
enum {
    GG_REG_AX,
    GG_REG_BX,
    GG_REG_CX,
    GG_REG_DX,
    GG_REG_SI,
    GG_REG_DI,
    GG_REG_BP,
    GG_REG_SP,
    GG_REG_IP,
    GG_REG_R8,
    GG_REG_R9,
    GG_REG_R10,
    GG_REG_R11,
    GG_REG_R12,
    GG_REG_R13,
    GG_REG_R14,
    GG_REG_R15,
    GG_NREGS
};

typedef enum gg_perf_kind {
    GG_PERF_ON_CPU,     /* a task-clock sample */
    GG_PERF_SWITCH_OUT, /* the thread left the CPU (stack only at the FULL level) */
    GG_PERF_SWITCH_IN,  /* it is back */
    GG_PERF_LOST,       /* the buffer was full: count records were lost */
    GG_PERF_COMM        /* a thread named itself (process-wide sessions) */
} gg_perf_kind;

/* One record, pointing into the reader's scratch memory: valid until the next record. */
typedef struct gg_perf_event {
    gg_perf_kind kind;
    pid_t tid;          /* the thread it is about */
    uint64_t time_ns;   /* CLOCK_MONOTONIC */
    uint64_t cpu_ns;    /* ON_CPU, per-thread events: the thread's task clock so far */
    uint64_t period_ns; /* ON_CPU, inherited events: the CPU time this sample stands for */
    char name[16];      /* COMM: the thread's new name */
    uint64_t lost;      /* LOST: how many */
    bool preempted;     /* SWITCH_OUT: still runnable, not blocked */
    bool has_regs;      /* regs and stack are set */
    uint64_t regs[GG_NREGS];
    const void *stack; /* a copy of the user stack from regs[GG_REG_SP] up */
    size_t stack_len;
} gg_perf_event;

/* How to open the events of one thread. */
typedef struct gg_perf_thread gg_perf_thread;

typedef struct gg_perf_config {
    bool wall;            /* also the switches: off-CPU time */
    bool switch_stacks;   /* FULL level: every switch-out a sample with registers and stack;
                             else switch records alone, cheaper (process-wide sessions) */
    bool inherit;         /* also the threads it creates (process-wide sessions); needs cpu */
    uint64_t interval_ns; /* task-clock period */
    gg_perf_level level;
    unsigned ring_pages;    /* data pages of the buffer (a power of two); 0: the default (perf.c) */
    int cpu;                /* only while on this CPU; -1: any (0 is a CPU: say -1) */
    gg_perf_thread *output; /* write into its buffer (same CPU), not one of our own; or NULL */
} gg_perf_config;

struct gg_perf_thread {
    bool by_period; /* samples carry their period (inherited events), not the clock */
    int clock_fd;   /* task clock: samples, and owns the ring buffer */
    int switch_fd;  /* context switches, written into the same buffer; -1 when none */
    uint64_t clock_id, switch_id;
    void *ring; /* the mmap'd buffer: one header page, then data */
    size_t ring_len, data_len;
    unsigned char *scratch; /* a record that wraps around the buffer end is copied here */
};

/* What the process may do with perf events, found once (by opening a probe event) and
 * remembered. Thread-safe. */
gg_perf_level gg_perf_level_probe(void);

/* Opens the events of thread tid (0: the caller), disabled. Returns 0, or GARGALO_ETIMER
 * when the kernel refuses (nothing is left open), GARGALO_ENOMEM. */
int gg_perf_open(gg_perf_thread *pt, pid_t tid, const gg_perf_config *cfg);
void gg_perf_close(gg_perf_thread *pt);
/* Starts and stops counting and sampling. Return 0 or GARGALO_ETIMER. */
int gg_perf_enable(gg_perf_thread *pt);
int gg_perf_disable(gg_perf_thread *pt);
/* Changes the task-clock period from the next sample on. */
int gg_perf_set_interval(gg_perf_thread *pt, uint64_t interval_ns);
/* The task clock's count now, in nanoseconds. */
uint64_t gg_perf_clock_ns(const gg_perf_thread *pt);

/* Calls fn for every record written so far, oldest first, and gives their space back
 * to the kernel. Not thread-safe for one pt: its caller serialises. */
typedef void (*gg_perf_event_fn)(void *ctx, const gg_perf_event *ev);
void gg_perf_read(gg_perf_thread *pt, gg_perf_event_fn fn, void *ctx);
/* The same over several buffers at once, merged in time order: a thread that moves
 * between CPUs leaves the CPU in one buffer and comes back in another. */
void gg_perf_read_merged(gg_perf_thread *const *pts, size_t n, gg_perf_event_fn fn, void *ctx);

#endif
