/*
 * cmd_diff.c: `gargalo diff`, what changed between two saved sessions
 * (gargalo_diff_render), as a text tree, an HTML page or folded stack pairs.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static const char help[] =
    "NAME\n"
    "    gargalo diff - compare two saved sessions: what grew, what shrank\n"
    "\n"
    "SYNOPSIS\n"
    "    gargalo diff BEFORE.json AFTER.json [-f FORMAT] [-o FILE] [--normalize] [--show-all]\n"
    "                 [--tag KEY=VALUE] [--thread TID]\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads two sessions saved in gargalo's JSON format and merges their call trees by\n"
    "    function from the root, as the text call tree merges stacks. Each node shows its\n"
    "    time before and after and the change, 'before -> after (+change)'; siblings come\n"
    "    largest change first, so the first lines under a node say where its time moved.\n"
    "    Nodes found in one session only are marked new or gone. The threads of a\n"
    "    process-wide session are merged, as thread ids differ from run to run.\n"
    "\n"
    "    Formats: text (the tree, changes coloured on a terminal), html (one\n"
    "    self-contained page: what grew in red, what shrank in green, deeper colour for\n"
    "    larger changes), folded (one 'stack before after' line per stack of either\n"
    "    session, weights in nanoseconds, as flamegraph's difffolded.pl writes them, for\n"
    "    flamegraph.pl's differential flame graphs). Without -f, the output file's\n"
    "    extension (.txt, .html, .folded) names the format; without either, text on\n"
    "    standard output.\n"
    "\n"
    "OPTIONS\n"
    "    -f, --format FORMAT\n"
    "        text, html or folded.\n"
    "    -o, --output FILE\n"
    "        Write to FILE instead of standard output ('-' is standard output).\n"
    "    --normalize\n"
    "        Compare each node's share of its session's total (in percent, changes in\n"
    "        percentage points) instead of its time: for sessions of different lengths.\n"
    "        Folded: the BEFORE weights are scaled so that both totals are equal.\n"
    "    --show-all\n"
    "        Show every frame instead of folding runs of system library frames.\n"
    "    --tag KEY=VALUE\n"
    "        Compare only the samples carrying this label, in both sessions.\n"
    "    --thread TID\n"
    "        Compare only the samples of the thread with this id, which both sessions\n"
    "        must have (sessions recorded in one process).\n"
    "    -h, --help\n"
    "        Print this manual.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when a session cannot be read or loaded, has no thread TID, or the\n"
    "    output cannot be written; 2 for a wrong command line (unknown option or format,\n"
    "    missing or extra argument, a --tag that is not KEY=VALUE, a --thread that is not\n"
    "    a positive number).\n"
    "\n"
    "EXAMPLES\n"
    "    gargalo diff slow.json fast.json\n"
    "    gargalo diff --normalize monday.json tuesday.json -o change.html\n"
    "    gargalo diff before.json after.json -f folded | flamegraph.pl > diff.svg\n";

static const struct option options[] = {
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"normalize", no_argument, NULL, CLI_OPT_NORMALIZE},
    {"show-all", no_argument, NULL, CLI_OPT_SHOW_ALL},
    {"tag", required_argument, NULL, CLI_OPT_TAG},
    {"thread", required_argument, NULL, CLI_OPT_THREAD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const formats[] = {"text", "html", "folded", NULL};

/* The session without the thread a->thread (gargalo_diff_render says only that one of
 * them has none): the first whose filtered render is refused. */
static const char *without_thread(const cli_args *a, gargalo_session *const s[2],
                                  const gargalo_render_options *ro)
{
    for (int i = 0; i < 2; i++) {
        char *out;
        size_t len;
        int err = gargalo_render(s[i], GARGALO_FORMAT_FOLDED, ro, &out, &len);
        if (!err)
            free(out);
        if (err == GARGALO_EINVAL)
            return a->operands[i];
    }
    return a->operands[0];
}

/* Renders the difference of two loaded sessions and writes it. */
static int compare(const cli_args *a, gargalo_format fmt, gargalo_session *const s[2])
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = a->show_all;
    ro.normalize = a->normalize;
    ro.color = fmt == GARGALO_FORMAT_TEXT && cli_to_terminal(a->output);
    cli_filters(a, &ro);
    char *out;
    size_t len;
    int err = gargalo_diff_render(s[0], s[1], fmt, &ro, &out, &len);
    if (err == GARGALO_EINVAL && a->thread) /* the options were checked: only this is left */
        return cli_error(CLI_FAIL, "%s: no thread %ld in this session", without_thread(a, s, &ro),
                         a->thread);
    if (err)
        return cli_error(CLI_FAIL, "cannot compare %s and %s: %s", a->operands[0], a->operands[1],
                         gargalo_strerror(err));
    int rc = cli_write(a->output, out, len);
    free(out);
    return rc;
}

static int run(int argc, char **argv)
{
    cli_args a;
    gargalo_format fmt;
    gargalo_session *s[2] = {NULL, NULL};
    int rc = cli_parse(argc, argv, ":f:o:h", options, help, &a);
    if (rc)
        return rc == CLI_DONE ? CLI_OK : rc;
    if (a.noperands != 2)
        return cli_error(CLI_USAGE, "%s (see gargalo diff --help)",
                         a.noperands < 2 ? "needs two session files, BEFORE and AFTER"
                                         : "compares two session files, no more");
    rc = cli_pick_format(a.format, a.output, formats, &fmt);
    for (int i = 0; i < 2 && !rc; i++)
        rc = cli_load_session(a.operands[i], &s[i]);
    if (!rc)
        rc = compare(&a, fmt, s);
    gargalo_session_free(s[0]);
    gargalo_session_free(s[1]);
    return rc;
}

const cli_command cli_diff_command = {
    .name = "diff",
    .summary = "compare two saved sessions: what grew, what shrank",
    .help = help,
    .run = run,
};
