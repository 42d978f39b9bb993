/*
 * spawn.h: starting the program `gargalo record` records: the preloaded object found
 * beside gargalo, the program checked before it runs (found, and an ELF file the dynamic
 * loader can preload into), then forked and executed with LD_PRELOAD and the recording's
 * variable, one end of a socket pair inherited.
 */
#ifndef CLI_SPAWN_H
#define CLI_SPAWN_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "wire.h"

/* Exit statuses for a program that cannot be run, as shells give them. */
enum { SPAWN_NOT_FOUND = 127, SPAWN_CANNOT_RUN = 126 };

/* Finds libgargalo-record.so: beside the running gargalo (the build directory), else in
 * ../lib (gargalo installed in PREFIX/bin, the object in PREFIX/lib). Writes its absolute
 * path to out; returns 0, or CLI_FAIL with a message. */
int spawn_find_preload(char *out, size_t cap);

/* Whether name (found through PATH when it has no '/', as execvp finds it) can be
 * recorded. Returns 0; SPAWN_NOT_FOUND or SPAWN_CANNOT_RUN; CLI_FAIL for a program the
 * loader will not preload into (statically linked, 32-bit, set-user-ID), with a message. */
int spawn_check(const char *name);

/* The running program and gargalo's end of its socket (non-blocking, close-on-exec). */
typedef struct spawn_child {
    pid_t pid;
    int sock;
} spawn_child;

/* Starts argv[0] with the preload object at preload and the recording st describes (its
 * fd, ino and pid are filled in here); the child gets mask back as its signal mask.
 * Returns 0, SPAWN_NOT_FOUND or SPAWN_CANNOT_RUN (exec failed; the child is reaped), or
 * CLI_FAIL, each failure with a message. */
int spawn_start(char **argv, const char *preload, wire_setup *st, const sigset_t *mask,
                spawn_child *out);

#endif
