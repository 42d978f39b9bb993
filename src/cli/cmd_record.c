/*
 * cmd_record.c: `gargalo record`, a program run with libgargalo preloaded and profiled
 * whole, every thread from before its main to its exit: the command line here, the
 * program's start in spawn.c, the rest of its life in supervise.c, and the preloaded side
 * in src/record/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "spawn.h"
#include "supervise.h"

static const char help[] =
    "NAME\n"
    "    gargalo record - run a program and profile all of its threads, from start to exit\n"
    "\n"
    "SYNOPSIS\n"
    "    gargalo record [-o FILE] [-f FORMAT] [--clock wall|cpu] [--interval US]\n"
    "                   [--duration S] -- PROGRAM [ARGS...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs PROGRAM with gargalo loaded into it (LD_PRELOAD of libgargalo-record.so,\n"
    "    found beside the gargalo command or in ../lib from it), samples every thread of\n"
    "    the process with perf events from before its main until it exits, writes the\n"
    "    profile, and exits with the program's exit status. Threads are named as the\n"
    "    program named them; the program needs no change and no rebuild, and should have\n"
    "    debug information (-g) for file and line.\n"
    "\n"
    "    The profile is written in the format -f names; without -f, the one the output\n"
    "    file's extension names (.txt, .html, .speedscope.json, .json, .pb.gz, .folded);\n"
    "    without -o, to gargalo.html in the current directory (gargalo.EXT with -f). A line\n"
    "    on standard error then names the file, the threads and the samples.\n"
    "\n"
    "    Ctrl-C, SIGINT, SIGTERM or SIGHUP ends the recording early and the profile is\n"
    "    still written: gargalo asks the program for it, writes it, and the signal then\n"
    "    reaches the program as it would have without gargalo. Ctrl-C at the terminal\n"
    "    reaches the program directly; a signal sent to gargalo alone is passed on once the\n"
    "    profile is written. A program that leaves the signal to its default ends by it\n"
    "    after sending its profile; one that handles it ends its own way. A second Ctrl-C\n"
    "    while the profile is being made ends the program at once, without it. A program\n"
    "    that ends with _exit (dash does) or by a signal it does not handle (SIGKILL, a\n"
    "    crash) sends no profile: gargalo says so.\n"
    "\n"
    "    The process gargalo starts is recorded, whatever program it runs: when it replaces\n"
    "    itself with exec (env, nice, a script's exec), the new program is recorded from\n"
    "    its start, and the profile is the last program's. The processes it starts are not\n"
    "    recorded: a child it forks is left out of the profile while the parent's recording\n"
    "    goes on, and no program a descendant runs loads gargalo (LD_PRELOAD and\n"
    "    GARGALO_RECORD leave the descendants' environment).\n"
    "\n"
    "    Sampling uses perf events: root, CAP_PERFMON, or kernel.perf_event_paranoid at 2\n"
    "    or lower. Where they are refused, gargalo says so and exits with 1 before the\n"
    "    program's main runs. A statically linked, 32-bit or set-user-ID program cannot be\n"
    "    recorded (the dynamic loader preloads nothing into it): gargalo says so and exits\n"
    "    with 1 without running it.\n"
    "\n"
    "OPTIONS\n"
    "    -o, --output FILE\n"
    "        Write the profile to FILE ('-' is standard output). Default: gargalo.html.\n"
    "    -f, --format FORMAT\n"
    "        text, html, speedscope, json, pprof or folded.\n"
    "    --clock wall|cpu\n"
    "        wall (the default): a thread's time counts whether it runs or waits, blocked\n"
    "        threads are shown where they wait. cpu: only time on a CPU counts.\n"
    "    --interval US\n"
    "        Take a sample every US microseconds of each thread's CPU time, 50 to 1000000\n"
    "        (default 1000: at most a thousand samples a second per CPU).\n"
    "    --duration S\n"
    "        Stop recording after S seconds (a decimal number) and write the profile then;\n"
    "        the program runs on, and gargalo waits for it to exit.\n"
    "    -h, --help\n"
    "        Print this manual.\n"
    "\n"
    "EXIT STATUS\n"
    "    The program's exit status, or 128+N when signal N ended it, as shells give it.\n"
    "    127 when PROGRAM is not found, 126 when it cannot be run; 2 for a wrong command\n"
    "    line; 1 when it cannot be recorded (perf events refused, a static program), or\n"
    "    when no profile could be written and the program's own status is 0.\n"
    "\n"
    "EXAMPLES\n"
    "    gargalo record -- ./server --port 8080        # Ctrl-C when done; gargalo.html\n"
    "    gargalo record -o batch.pb.gz -- ./batch in.csv && go tool pprof -top batch.pb.gz\n"
    "    gargalo record --clock cpu -f text -o - -- ./solver problem.txt\n"
    "    gargalo record --duration 30 -o warm.json -- ./server\n";

static const struct option options[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"clock", required_argument, NULL, CLI_OPT_CLOCK},
    {"interval", required_argument, NULL, CLI_OPT_INTERVAL},
    {"duration", required_argument, NULL, CLI_OPT_DURATION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const formats[] = {"text",  "html",   "speedscope", "json",
                                      "pprof", "folded", NULL};

/* What the command line asks for, checked. */
typedef struct record_opts {
    supervise_plan plan;
    char default_output[64];
    char title[256];
    int cpu_clock;
    unsigned interval_us;
    unsigned long duration_ms;
} record_opts;

static int check_clock(const char *v, record_opts *o)
{
    if (v && strcmp(v, "cpu") != 0 && strcmp(v, "wall") != 0)
        return cli_error(CLI_USAGE, "unknown clock '%s' (wall or cpu)", v);
    o->cpu_clock = v && strcmp(v, "cpu") == 0;
    return CLI_OK;
}

static int check_interval(const char *v, record_opts *o)
{
    char *end;
    errno = 0;
    unsigned long us = v ? strtoul(v, &end, 10) : 0;
    if (v && (errno || end == v || *end || v[0] == '-' || us < 50 || us > 1000000))
        return cli_error(CLI_USAGE,
                         "--interval takes whole microseconds from 50 to 1000000, not '%s'", v);
    o->interval_us = (unsigned)us;
    return CLI_OK;
}

static int check_duration(const char *v, record_opts *o)
{
    char *end;
    double s = v ? strtod(v, &end) : 0;
    if (v && (end == v || *end || !isfinite(s) || s <= 0 || s > 1e7))
        return cli_error(CLI_USAGE,
                         "--duration takes seconds above 0 (such as 10 or 0.5), not '%s'", v);
    o->duration_ms = (unsigned long)(s * 1000 + 0.999); /* at least 1 ms */
    return CLI_OK;
}

/* The format and the file: -f, else the file's extension; without -o, gargalo.EXT. */
static int check_output(const cli_args *a, record_opts *o)
{
    supervise_plan *p = &o->plan;
    const char *name = a->format || a->output ? a->format : "html";
    int rc = cli_pick_format(name, a->output, formats, &p->format);
    if (rc || a->output) {
        p->output = a->output;
        return rc;
    }
    snprintf(o->default_output, sizeof(o->default_output), "gargalo.%s",
             gargalo_format_extension(p->format));
    p->output = o->default_output;
    return CLI_OK;
}

/* The command line as the profile's title, cut to fit. */
static void make_title(char **argv, record_opts *o)
{
    size_t n = 0, cap = sizeof(o->title);
    o->title[0] = '\0';
    for (; *argv && n + 1 < cap; argv++)
        n += (size_t)snprintf(o->title + n, cap - n, "%s%s", n ? " " : "", *argv);
    o->plan.title = o->title;
}

static int check_args(const cli_args *a, record_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (a->noperands < 1)
        return cli_error(CLI_USAGE, "missing the PROGRAM to run (see gargalo record --help)");
    int rc = check_clock(a->clock, o);
    if (!rc)
        rc = check_interval(a->interval, o);
    if (!rc)
        rc = check_duration(a->duration, o);
    if (!rc)
        rc = check_output(a, o);
    make_title(a->operands, o);
    o->plan.program = a->operands[0];
    return rc;
}

/* Fails now, before the program runs, if the profile could not be written at the end. A
 * file made to find out is removed; an existing one is left as it is. */
static int probe_output(const char *path)
{
    if (strcmp(path, "-") == 0)
        return CLI_OK;
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT &&
        (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) >= 0)
        unlink(path);
    if (fd < 0)
        return cli_error(CLI_FAIL, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return CLI_OK;
}

/* Starts the program and watches it, the stop signals and its end read from a signalfd
 * (blocked here, unblocked in the program). */
static int record(char **argv, const record_opts *o, const char *preload)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT), sigaddset(&set, SIGTERM), sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap the program unseen */
    sigprocmask(SIG_BLOCK, &set, &old);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0)
        return cli_error(CLI_FAIL, "cannot watch signals: %s", strerror(errno));
    wire_setup st = {
        .cpu_clock = o->cpu_clock, .interval_us = o->interval_us, .duration_ms = o->duration_ms};
    spawn_child c;
    int rc = spawn_start(argv, preload, &st, &old, &c);
    if (!rc)
        rc = supervise(&c, sigfd, &o->plan);
    close(sigfd);
    return rc;
}

static int run(int argc, char **argv)
{
    cli_args a;
    record_opts o;
    char preload[PATH_MAX];
    /* '+': the options end at PROGRAM, whose own options are its own */
    int rc = cli_parse(argc, argv, "+:o:f:h", options, help, &a);
    if (rc)
        return rc == CLI_DONE ? CLI_OK : rc;
    rc = check_args(&a, &o);
    if (!rc)
        rc = probe_output(o.plan.output);
    if (!rc)
        rc = spawn_find_preload(preload, sizeof(preload));
    if (!rc)
        rc = spawn_check(a.operands[0]);
    return rc ? rc : record(a.operands, &o, preload);
}

const cli_command cli_record_command = {
    .name = "record",
    .summary = "run a program and profile all of its threads, from start to exit",
    .help = help,
    .run = run,
};
