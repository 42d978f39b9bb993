/*
 * parked.h: where a thread of this process sits blocked in a system call, and its stack,
 * read without stopping it: the call, its stack pointer and pc from
 * /proc/self/task/TID/syscall, the stack from that pointer up with process_vm_readv
 * (which fails cleanly where a plain copy of another thread's stack could fault). What a
 * process-wide session learns of a thread that left the CPU without a stack sample.
 */
#ifndef GG_PARKED_H
#define GG_PARKED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "perf.h"

typedef struct gg_parked {
    uint64_t regs[GG_NREGS]; /* IP, SP, the call's number in AX and first argument in DI */
    size_t stack_len;        /* bytes read into the caller's stack buffer */
} gg_parked;

/* true when tid is inside a system call now: fills *p and stack (GG_STACK_COPY bytes,
 * the caller's). false when it runs, is gone, or the files cannot be read. */
bool gg_parked_read(pid_t tid, gg_parked *p, unsigned char *stack);

#endif
