/*
 * blocked.h: which system call a thread was blocked in, and on what. From the registers
 * of a sample taken inside a call (a perf switch-out, or a signal that interrupted one)
 * it finds the call's number and its file descriptor; at stop it describes the
 * descriptor (a file's path, a socket's protocol and peer, a pipe, an eventfd), so the
 * profile can say "[blocked] fdatasync fd 7: /srv/bolsa.db-wal". x86-64 only.
 */
#ifndef GG_BLOCKED_H
#define GG_BLOCKED_H

#include <stddef.h>
#include <stdint.h>

#define GG_NO_SYSCALL (-1)

/* The call the thread sat in (*nr, or GG_NO_SYSCALL when it was not in one) and the
 * descriptor it waited on (*fd, or -1). regs are in GG_REG_* order; stack is the copy of
 * the stack from regs[GG_REG_SP] (poll's descriptors are read from it). Call inside
 * gg_unwind_frozen: it reads the instructions before the pc. */
void gg_blocked_call(const uint64_t *regs, const void *stack, size_t len, int32_t *nr, int32_t *fd);

/* The descriptor call nr waits on, from its arguments (regs[GG_REG_DI], or poll's array
 * in the stack copy), or -1: for a call whose number is known by other means (the
 * kernel's /proc/self/task/TID/syscall). */
int32_t gg_blocked_fd(int32_t nr, const uint64_t *regs, const void *stack, size_t len);

/* "[blocked] NAME fd N: WHAT" (or without the fd part) into buf, for a call found by
 * gg_blocked_call, the descriptor described as it is now in this process. */
void gg_blocked_describe(int32_t nr, int32_t fd, char *buf, size_t size);

#endif
