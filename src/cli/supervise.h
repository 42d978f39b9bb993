/*
 * supervise.h: `gargalo record` while the program runs: it hears from the preloaded
 * object over the socket (started, failed, the profile), asks it to stop when a stop
 * signal comes, passes signals on to the program, writes the profile it receives (after
 * --duration, which the program times, while the program runs on), and reaps the
 * program.
 */
#ifndef CLI_SUPERVISE_H
#define CLI_SUPERVISE_H

#include "gargalo.h"
#include "spawn.h"

/* Where the profile goes. */
typedef struct supervise_plan {
    const char *program; /* as the user named it, for messages */
    const char *title;   /* the command line, for the profile */
    const char *output;  /* the file; "-" is standard output */
    gargalo_format format;
} supervise_plan;

/* Watches c until it exits, then closes c->sock. sigfd is a non-blocking signalfd of
 * SIGINT, SIGTERM, SIGHUP and SIGCHLD, all blocked. Returns gargalo's exit status: the
 * program's (128+N when signal N ended it) once its profile is written; when no profile
 * could be written, that status if it is not 0, else CLI_FAIL, after saying why. */
int supervise(const spawn_child *c, int sigfd, const supervise_plan *plan);

#endif
