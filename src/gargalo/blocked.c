/*
 * blocked.c: the system call behind an off-CPU sample, and what its descriptor is
 * (blocked.h).
 *
 * The call's number: a signal that interrupted a restartable call finds the pc rewound
 * to the syscall instruction and the number back in rax; a perf switch-out finds the pc
 * just after the instruction, with rax already overwritten, and the number is read from
 * the "mov $NR, %eax" that glibc's wrappers put a few bytes before it.
 */
#define _GNU_SOURCE
#include "blocked.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "perf.h"
#include "unwind.h"

/* In a system call, but which one the code does not say. */
#define GG_SOME_SYSCALL 0x7fffffff
#define GG_LOOK_BACK 24

typedef struct gg_call {
    int32_t nr;
    const char *name;
    bool fd_first; /* its first argument is the descriptor it waits on */
} gg_call;

/* The x86-64 calls a thread commonly blocks in. */
static const gg_call gg_calls[] = {
    {0, "read", true},          {1, "write", true},
    {3, "close", true},         {5, "fstat", true},
    {7, "poll", false},         {9, "mmap", false},
    {10, "mprotect", false},    {11, "munmap", false},
    {16, "ioctl", true},        {17, "pread64", true},
    {18, "pwrite64", true},     {19, "readv", true},
    {20, "writev", true},       {23, "select", false},
    {24, "sched_yield", false}, {26, "msync", false},
    {28, "madvise", false},     {35, "nanosleep", false},
    {40, "sendfile", true},     {42, "connect", true},
    {43, "accept", true},       {44, "sendto", true},
    {45, "recvfrom", true},     {46, "sendmsg", true},
    {47, "recvmsg", true},      {61, "wait4", false},
    {72, "fcntl", true},        {73, "flock", true},
    {74, "fsync", true},        {75, "fdatasync", true},
    {77, "ftruncate", true},    {87, "unlink", false},
    {202, "futex", false},      {230, "clock_nanosleep", false},
    {232, "epoll_wait", true},  {257, "openat", false},
    {263, "unlinkat", false},   {270, "pselect6", false},
    {271, "ppoll", false},      {277, "sync_file_range", true},
    {281, "epoll_pwait", true}, {285, "fallocate", true},
    {288, "accept4", true},     {441, "epoll_pwait2", true},
};

static const gg_call *call_of(int32_t nr)
{
    for (size_t i = 0; i < sizeof(gg_calls) / sizeof(gg_calls[0]); i++)
        if (gg_calls[i].nr == nr)
            return &gg_calls[i];
    return NULL;
}

/* The number loaded into eax before the syscall at the end of code, the nearest load
 * first: "mov $imm32, %eax" (b8 imm32), or "xor %eax, %eax" (31 c0) for 0, read. */
static int32_t number_before(const unsigned char *code, size_t n)
{
    for (size_t i = n - 2; i-- > 0;) {
        uint32_t imm;
        if (i + 2 <= n - 2 && code[i] == 0x31 && code[i + 1] == 0xc0)
            return 0;
        if (i + 5 > n - 2 || code[i] != 0xb8)
            continue;
        memcpy(&imm, code + i + 1, sizeof(imm));
        if (imm < 1024)
            return (int32_t)imm;
    }
    return GG_SOME_SYSCALL;
}

static int32_t call_number(const uint64_t *regs)
{
    unsigned char code[GG_LOOK_BACK];
    uintptr_t ip = (uintptr_t)regs[GG_REG_IP];
    if (gg_unwind_read(ip, code, 2) && code[0] == 0x0f && code[1] == 0x05)
        return (int32_t)regs[GG_REG_AX]; /* rewound for a restart */
    if (!gg_unwind_read(ip - GG_LOOK_BACK, code, GG_LOOK_BACK) || code[GG_LOOK_BACK - 2] != 0x0f ||
        code[GG_LOOK_BACK - 1] != 0x05)
        return GG_NO_SYSCALL;
    return number_before(code, GG_LOOK_BACK);
}

/* poll's first descriptor, when its array lies in the copied stack (as it usually does:
 * one struct pollfd on the caller's stack). */
static int32_t first_poll_fd(const uint64_t *regs, const void *stack, size_t len)
{
    uint64_t at = regs[GG_REG_DI], sp = regs[GG_REG_SP];
    int32_t fd;
    if (at < sp || at - sp + sizeof(fd) > len)
        return -1;
    memcpy(&fd, (const unsigned char *)stack + (at - sp), sizeof(fd));
    return fd;
}

int32_t gg_blocked_fd(int32_t nr, const uint64_t *regs, const void *stack, size_t len)
{
    const gg_call *c = call_of(nr);
    if (c && c->fd_first)
        return (int32_t)regs[GG_REG_DI];
    if (c && (c->nr == 7 || c->nr == 271))
        return first_poll_fd(regs, stack, len);
    return -1;
}

void gg_blocked_call(const uint64_t *regs, const void *stack, size_t len, int32_t *nr, int32_t *fd)
{
    *nr = call_number(regs);
    *fd = gg_blocked_fd(*nr, regs, stack, len);
}

/* ---- describing a descriptor, at stop ---- */

/* The peer of the socket with this inode, from /proc/net/TABLE, as "tcp 1.2.3.4:5". */
static bool peer_of(const char *table, const char *inode, char *out, size_t size)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/net/%s", table);
    FILE *f = fopen(path, "re");
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f)) {
        unsigned a, b, c, d, port, st;
        char rem[64], ino[32];
        if (sscanf(line, "%*s %*s %63s %x %*s %*s %*s %*s %*s %31s", rem, &st, ino) != 3 ||
            strcmp(ino, inode) != 0)
            continue;
        found = true;
        if (sscanf(rem, "%2x%2x%2x%2x:%x", &d, &c, &b, &a, &port) == 5)
            snprintf(out, size, "%s %u.%u.%u.%u:%u", table, a, b, c, d, port);
        else
            snprintf(out, size, "%s socket", table); /* IPv6: the protocol is enough */
    }
    if (f)
        fclose(f);
    return found;
}

static void describe_socket(const char *target, char *out, size_t size)
{
    static const char *const tables[] = {"tcp", "udp", "tcp6", "udp6"};
    char inode[32];
    if (sscanf(target, "socket:[%31[0-9]]", inode) != 1) {
        snprintf(out, size, "socket");
        return;
    }
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (peer_of(tables[i], inode, out, size))
            return;
    snprintf(out, size, "unix socket");
}

/* What the descriptor is now: "pipe", "eventfd", "tcp 127.0.0.1:5432", a path (long
 * ones keep their end). */
static void describe_fd(int32_t fd, char *out, size_t size)
{
    char link[64], target[512];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", (int)fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0) {
        snprintf(out, size, "closed since");
        return;
    }
    target[n] = '\0';
    if (strncmp(target, "socket:", 7) == 0)
        describe_socket(target, out, size);
    else if (strncmp(target, "pipe:", 5) == 0)
        snprintf(out, size, "pipe");
    else if (strncmp(target, "anon_inode:", 11) == 0)
        snprintf(out, size, "%.100s", strchr(target, '[') ? strchr(target, '[') + 1 : target + 11);
    else if (n > 48)
        snprintf(out, size, ".../%.200s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
    else
        snprintf(out, size, "%.200s", target);
    out[strcspn(out, "]")] = '\0';
}

void gg_blocked_describe(int32_t nr, int32_t fd, char *buf, size_t size)
{
    const gg_call *c = call_of(nr);
    char name[32], what[256];
    if (c)
        snprintf(name, sizeof(name), "%s", c->name);
    else if (nr == GG_SOME_SYSCALL)
        snprintf(name, sizeof(name), "system call");
    else
        snprintf(name, sizeof(name), "syscall %d", (int)nr);
    if (fd < 0) {
        snprintf(buf, size, "[blocked] %s", name);
        return;
    }
    describe_fd(fd, what, sizeof(what));
    snprintf(buf, size, "[blocked] %s fd %d: %s", name, (int)fd, what);
}
