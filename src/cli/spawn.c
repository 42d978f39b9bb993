/*
 * spawn.c: finding, checking and starting the program gargalo records (spawn.h).
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* ---- the preloaded object ---- */

int spawn_find_preload(char *out, size_t cap)
{
    static const char *const beside[] = {"", "/../lib"};
    char self[PATH_MAX], *slash;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return cli_error(CLI_FAIL, "cannot tell where gargalo is (/proc/self/exe: %s)",
                         strerror(errno));
    self[n] = '\0';
    if ((slash = strrchr(self, '/')))
        *slash = '\0';
    for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
        char path[PATH_MAX + 64], *real;
        snprintf(path, sizeof(path), "%s%s/%s", self, beside[i], WIRE_PRELOAD_NAME);
        if (access(path, R_OK) != 0 || !(real = realpath(path, NULL)))
            continue;
        /* LD_PRELOAD separates its entries with spaces and colons */
        bool fits = strlen(real) < cap && !strpbrk(real, ": ");
        if (fits)
            strcpy(out, real);
        free(real);
        if (fits)
            return CLI_OK;
        return cli_error(CLI_FAIL,
                         "%s/%s: LD_PRELOAD cannot name a path holding a space or a colon", self,
                         WIRE_PRELOAD_NAME);
    }
    return cli_error(CLI_FAIL,
                     "cannot find %s beside gargalo in %s, nor in %s/../lib (make builds it, "
                     "make install installs it)",
                     WIRE_PRELOAD_NAME, self, self);
}

/* ---- the program ---- */

/* name found as execvp finds it: in out, or SPAWN_NOT_FOUND / SPAWN_CANNOT_RUN after
 * saying why. */
static int find_program(const char *name, char *out, size_t cap)
{
    struct stat st;
    if (strchr(name, '/')) {
        snprintf(out, cap, "%s", name);
        if (stat(out, &st) != 0)
            return cli_error(SPAWN_NOT_FOUND, "%s: %s", name, strerror(errno));
        if (S_ISDIR(st.st_mode) || access(out, X_OK) != 0)
            return cli_error(SPAWN_CANNOT_RUN, "%s: %s", name,
                             S_ISDIR(st.st_mode) ? strerror(EISDIR) : strerror(errno));
        return 0;
    }
    const char *path = getenv("PATH");
    bool denied = false;
    for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; name[0];) {
        size_t len = strcspn(p, ":"); /* an empty entry is the current directory */
        snprintf(out, cap, "%.*s/%s", len ? (int)len : 1, len ? p : ".", name);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            denied = true;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    if (denied)
        return cli_error(SPAWN_CANNOT_RUN, "%s: %s", name, strerror(EACCES));
    return cli_error(SPAWN_NOT_FOUND, "%s: command not found", name);
}

/* Whether the ELF file fd (header eh) asks for a dynamic loader (PT_INTERP). */
static bool has_interpreter(int fd, const Elf64_Ehdr *eh)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        off_t at = (off_t)(eh->e_phoff + (uint64_t)i * eh->e_phentsize);
        if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph))
            return false;
        if (ph.p_type == PT_INTERP)
            return true;
    }
    return false;
}

/* A program the dynamic loader will preload into. Anything that is not ELF (a script)
 * is for exec to judge. */
static int check_loadable(const char *name, const char *path)
{
    Elf64_Ehdr eh;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    const char *why = NULL;
    if (eh.e_ident[EI_CLASS] != ELFCLASS64)
        why = "is a 32-bit program, and gargalo's preloaded library is 64-bit";
    else if ((st.st_mode & S_ISUID && st.st_uid != geteuid()) ||
             (st.st_mode & S_ISGID && st.st_gid != getegid()))
        why = "is set-user-ID or set-group-ID, and the dynamic loader preloads nothing into it";
    else if (!has_interpreter(fd, &eh))
        why = "is statically linked: gargalo is loaded into a program by the dynamic loader "
              "(LD_PRELOAD), which a static program does not use";
    close(fd);
    return why ? cli_error(CLI_FAIL, "cannot record %s: %s %s", name, path, why) : 0;
}

int spawn_check(const char *name)
{
    char path[PATH_MAX];
    int rc = find_program(name, path, sizeof(path));
    return rc ? rc : check_loadable(name, path);
}

/* ---- starting it ---- */

/* LD_PRELOAD with the preloaded object after whatever was there (a sanitizer's runtime
 * must stay first). */
static int add_preload(const char *preload)
{
    const char *old = getenv("LD_PRELOAD");
    char *v = NULL;
    if (!old || !*old)
        return setenv("LD_PRELOAD", preload, 1);
    if (asprintf(&v, "%s:%s", old, preload) < 0)
        return -1;
    int rc = setenv("LD_PRELOAD", v, 1);
    free(v);
    return rc;
}

/* In the child. gargalo has no other thread, so the environment may be changed here. */
static void run_child(char **argv, const char *preload, wire_setup *st, const sigset_t *mask,
                      int report)
{
    char setup[192];
    st->pid = getpid();
    int err = fcntl(st->fd, F_SETFD, 0); /* the socket stays across exec */
    if (!err)
        err = wire_setup_format(st, setup, sizeof(setup)) || setenv(WIRE_ENV, setup, 1) ||
              add_preload(preload);
    if (!err) {
        sigprocmask(SIG_SETMASK, mask, NULL);
        execvp(argv[0], argv);
    }
    err = errno ? errno : ENOMEM;
    if (write(report, &err, sizeof(err)) != (ssize_t)sizeof(err))
        err = 0;
    _exit(SPAWN_NOT_FOUND);
}

/* The child's exec worked when its report pipe closes empty (it is close-on-exec);
 * otherwise the pipe holds exec's errno and the child is ending. */
static int exec_result(pid_t pid, int report, const char *name)
{
    int err;
    ssize_t n;
    do
        n = read(report, &err, sizeof(err));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(err))
        return 0;
    waitpid(pid, NULL, 0);
    return cli_error(err == ENOENT ? SPAWN_NOT_FOUND : SPAWN_CANNOT_RUN, "%s: %s", name,
                     strerror(err));
}

int spawn_start(char **argv, const char *preload, wire_setup *st, const sigset_t *mask,
                spawn_child *out)
{
    int sv[2], report[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return cli_error(CLI_FAIL, "cannot make a socket for the program: %s", strerror(errno));
    if (pipe2(report, O_CLOEXEC) != 0) {
        close(sv[0]), close(sv[1]);
        return cli_error(CLI_FAIL, "cannot make a pipe: %s", strerror(errno));
    }
    st->fd = sv[1];
    st->ino = wire_socket_ino(sv[1]);
    fflush(NULL); /* nothing buffered here is written twice */
    pid_t pid = fork();
    if (pid == 0)
        run_child(argv, preload, st, mask, report[1]);
    int forked = errno;
    close(sv[1]), close(report[1]);
    int rc = pid < 0 ? cli_error(CLI_FAIL, "cannot fork: %s", strerror(forked))
                     : exec_result(pid, report[0], argv[0]);
    close(report[0]);
    if (rc) {
        close(sv[0]);
        return rc;
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    *out = (spawn_child){pid, sv[0]};
    return 0;
}
