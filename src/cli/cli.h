/*
 * cli.h: what the gargalo command's subcommands share: exit statuses, one-line messages
 * on stderr, option parsing, reading a saved session, choosing a format, writing output.
 */
#ifndef CLI_H
#define CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "gargalo.h"

/* Exit statuses; CLI_DONE means "nothing left to do" (help was printed), exit 0. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_DONE = -1 };

/* Long options' values (short options use their letter). */
enum {
    CLI_OPT_SHOW_ALL = 256,
    CLI_OPT_NORMALIZE,
    CLI_OPT_TAG,
    CLI_OPT_THREAD,
    CLI_OPT_CLOCK,
    CLI_OPT_INTERVAL,
    CLI_OPT_DURATION
};

/* Every option any subcommand takes; each subcommand's table says which it accepts. */
typedef struct cli_args {
    const char *format; /* -f */
    const char *output; /* -o; NULL or "-" for stdout */
    bool show_all;
    bool normalize;
    const char *tag;      /* --tag KEY=VALUE, checked; NULL without */
    long thread;          /* --thread TID, checked (> 0); 0 without */
    const char *clock;    /* --clock, as given */
    const char *interval; /* --interval, as given */
    const char *duration; /* --duration, as given */
    char **operands;      /* what is left once the options are taken out */
    int noperands;
} cli_args;

/* Names messages after the subcommand running ("gargalo render: ..."). */
void cli_set_command(const char *name);

/* Prints "gargalo[ COMMAND]: message" on stderr and returns status. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses argv (argv[0] is the subcommand) with the subcommand's options. Prints help
 * (returning CLI_DONE) for -h/--help; CLI_USAGE with a message for anything wrong,
 * a --tag without KEY=VALUE or a --thread that is not a positive number included. */
int cli_parse(int argc, char **argv, const char *shorts, const struct option *longs,
              const char *help, cli_args *a);

/* The format to write: the one named by name, else the one whose file name extension
 * path has, else text; only formats listed in allowed (NULL-terminated names) count.
 * Returns 0, or CLI_USAGE with a message. */
int cli_pick_format(const char *name, const char *path, const char *const *allowed,
                    gargalo_format *out);

/* Loads the session saved in path (gargalo's JSON). Returns 0, or CLI_FAIL with a
 * message naming the file and the problem. */
int cli_load_session(const char *path, gargalo_session **out);

/* Whether output to path goes to a terminal (colours are then worth writing). */
bool cli_to_terminal(const char *path);

/* Sets the filters of a->tag and a->thread in ro. */
void cli_filters(const cli_args *a, gargalo_render_options *ro);

/* Writes len bytes to path, or stdout for NULL or "-". Returns 0, or CLI_FAIL with a
 * message (a partly written file is removed). */
int cli_write(const char *path, const char *data, size_t len);

#endif
