/*
 * parked.c: a blocked thread's call and stack (parked.h).
 */
#define _GNU_SOURCE
#include "parked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* "nr arg1 ... arg6 sp pc" (hexadecimal but nr) of a thread inside a system call; false
 * when it is "running", "-1 sp pc" (blocked, but not in a call) or unreadable. */
static bool syscall_line(pid_t tid, uint64_t *nr, uint64_t *arg1, uint64_t *sp, uint64_t *pc)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "re");
    bool ok = f && fgets(line, sizeof(line), f);
    if (f)
        fclose(f);
    if (!ok || line[0] < '0' || line[0] > '9')
        return false;
    char *end;
    *nr = strtoull(line, &end, 10);
    *arg1 = strtoull(end, &end, 16);
    char *last = strrchr(line, ' ');
    if (!last)
        return false;
    *pc = strtoull(last + 1, NULL, 16);
    *last = '\0';
    last = strrchr(line, ' ');
    *sp = last ? strtoull(last + 1, NULL, 16) : 0;
    return *sp && *pc;
}

bool gg_parked_read(pid_t tid, gg_parked *p, unsigned char *stack)
{
    uint64_t nr, arg1;
    memset(p, 0, sizeof(*p));
    if (!syscall_line(tid, &nr, &arg1, &p->regs[GG_REG_SP], &p->regs[GG_REG_IP]))
        return false;
    p->regs[GG_REG_AX] = nr, p->regs[GG_REG_DI] = arg1;
    /* A page per piece: a read stops at the first piece it cannot make, so a stack whose
     * mapping ends within GG_STACK_COPY of the pointer still gives what lies below it. The
     * local buffer bounds the whole. */
    enum { PIECE = 4096, PIECES = GG_STACK_COPY / PIECE + 1 };
    struct iovec local = {stack, GG_STACK_COPY}, remote[PIECES];
    uintptr_t sp = (uintptr_t)p->regs[GG_REG_SP], page = sp - sp % PIECE;
    remote[0] = (struct iovec){(void *)sp, PIECE - sp % PIECE};
    for (int i = 1; i < PIECES; i++)
        remote[i] = (struct iovec){(void *)(page + (uintptr_t)i * PIECE), PIECE};
    ssize_t n = process_vm_readv(getpid(), &local, 1, remote, PIECES, 0);
    p->stack_len = n > 0 ? (size_t)n : 0;
    return true;
}
