/*
 * cmd_render.c: `gargalo render`, a saved session rendered again in any of libgargalo's
 * formats (gargalo_render), to a file or to stdout.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static const char help[] =
    "NAME\n"
    "    gargalo render - render a saved session as text, HTML, speedscope, pprof or folded "
    "stacks\n"
    "\n"
    "SYNOPSIS\n"
    "    gargalo render SESSION.json [-f FORMAT] [-o FILE] [--show-all] [--tag KEY=VALUE]\n"
    "                   [--thread TID]\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads a session saved in gargalo's own JSON format (GARGALO_FORMAT_JSON, or\n"
    "    bolsa's profile_format=json) and renders it as gargalo_render would have when it\n"
    "    was recorded. The format is the one -f names; without -f, the one the output\n"
    "    file's extension names (.txt, .html, .speedscope.json, .json, .pb.gz, .folded);\n"
    "    without either, the text call tree on standard output.\n"
    "\n"
    "    Formats: text (the call tree, coloured on a terminal), html (one self-contained\n"
    "    page), speedscope (speedscope's JSON), json (gargalo's session again), pprof\n"
    "    (gzip-compressed profile.proto for go tool pprof), folded (one 'root;...;leaf\n"
    "    nanoseconds' line per stack, for flamegraph.pl and speedscope).\n"
    "\n"
    "    A process-wide session (every thread of a process) shows one tree per thread,\n"
    "    busiest first; idle threads, parked in a wait call (epoll_wait, poll, a futex\n"
    "    or condition wait, a sleep, accept, read...) nearly all the time, are folded into\n"
    "    one line per wait call unless --show-all. speedscope gets one profile per thread,\n"
    "    folded stacks start with their thread, and pprof samples carry the labels and\n"
    "    their thread ('thread' and 'tid'), for go tool pprof -tags and -tagfocus.\n"
    "\n"
    "OPTIONS\n"
    "    -f, --format FORMAT\n"
    "        text, html, speedscope, json, pprof or folded.\n"
    "    -o, --output FILE\n"
    "        Write to FILE instead of standard output ('-' is standard output).\n"
    "    --show-all\n"
    "        Show every frame. By default a run of system library frames (libc,\n"
    "        libsqlite3, ...) is folded into its outermost function. pprof and json\n"
    "        always hold every frame. The text tree also shows idle threads in full.\n"
    "    --tag KEY=VALUE\n"
    "        Keep only the samples carrying this label (set by gargalo_label_set while\n"
    "        they were taken), in every format.\n"
    "    --thread TID\n"
    "        Keep only the samples of the thread with this id, and its markers.\n"
    "    -h, --help\n"
    "        Print this manual.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success (also when no sample passes the filters); 1 when the session cannot\n"
    "    be read or loaded, has no thread TID, or the output cannot be written; 2 for a\n"
    "    wrong command line (unknown option or format, missing or extra argument, a\n"
    "    --tag that is not KEY=VALUE, a --thread that is not a positive number).\n"
    "\n"
    "EXAMPLES\n"
    "    gargalo render profile.json\n"
    "    gargalo render profile.json -o profile.html\n"
    "    gargalo render profile.json -o profile.pb.gz && go tool pprof -top profile.pb.gz\n"
    "    gargalo render profile.json -f folded | flamegraph.pl --countname=ns > flame.svg\n"
    "    gargalo render process.json --tag route=/api/v1/transaction --thread 4242\n";

static const struct option options[] = {
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"show-all", no_argument, NULL, CLI_OPT_SHOW_ALL},
    {"tag", required_argument, NULL, CLI_OPT_TAG},
    {"thread", required_argument, NULL, CLI_OPT_THREAD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const formats[] = {"text",  "html",   "speedscope", "json",
                                      "pprof", "folded", NULL};

static int render(const cli_args *a, gargalo_format fmt)
{
    const char *path = a->operands[0];
    gargalo_session *s;
    int rc = cli_load_session(path, &s);
    if (rc)
        return rc;
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = a->show_all;
    ro.color = fmt == GARGALO_FORMAT_TEXT && cli_to_terminal(a->output);
    cli_filters(a, &ro);
    char *out;
    size_t len;
    int err = gargalo_render(s, fmt, &ro, &out, &len);
    gargalo_session_free(s);
    if (err == GARGALO_EINVAL && a->thread) /* the options were checked: only this is left */
        return cli_error(CLI_FAIL, "%s: no thread %ld in this session", path, a->thread);
    if (err)
        return cli_error(CLI_FAIL, "%s: cannot render: %s", path, gargalo_strerror(err));
    rc = cli_write(a->output, out, len);
    free(out);
    return rc;
}

static int run(int argc, char **argv)
{
    cli_args a;
    gargalo_format fmt;
    int rc = cli_parse(argc, argv, ":f:o:h", options, help, &a);
    if (rc)
        return rc == CLI_DONE ? CLI_OK : rc;
    if (a.noperands != 1)
        return cli_error(CLI_USAGE, "%s (see gargalo render --help)",
                         a.noperands ? "one SESSION file at a time" : "missing the SESSION file");
    rc = cli_pick_format(a.format, a.output, formats, &fmt);
    return rc ? rc : render(&a, fmt);
}

const cli_command cli_render_command = {
    .name = "render",
    .summary = "render a saved session as text, html, speedscope, json, pprof or folded",
    .help = help,
    .run = run,
};
