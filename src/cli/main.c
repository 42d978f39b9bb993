/*
 * main.c: the gargalo command: finds the subcommand in the table and hands it the rest
 * of the command line; `gargalo --help` and `gargalo help [COMMAND]` print manuals.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const cli_command *const commands[] = {
    &cli_record_command,
    &cli_render_command,
    &cli_diff_command,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char help_head[] =
    "NAME\n"
    "    gargalo - record a program's profile, render and compare profiles\n"
    "\n"
    "SYNOPSIS\n"
    "    gargalo COMMAND [OPTIONS] [ARGUMENTS]\n"
    "    gargalo COMMAND --help\n"
    "    gargalo --help\n"
    "\n"
    "DESCRIPTION\n"
    "    record runs a program with libgargalo loaded into it and profiles all of its\n"
    "    threads. render and diff work on sessions saved in gargalo's own JSON format:\n"
    "    gargalo record -f json, a program's gargalo_render_file(s, GARGALO_FORMAT_JSON,\n"
    "    ...), or bolsa's ?profile=true&profile_format=json. Each command has its own\n"
    "    manual: gargalo COMMAND --help.\n"
    "\n"
    "COMMANDS\n";

static const char help_tail[] =
    "\n"
    "OPTIONS\n"
    "    -h, --help\n"
    "        Print this manual. gargalo COMMAND --help (or gargalo help COMMAND) prints\n"
    "        a command's.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when a file cannot be read, is not a session, or the output cannot\n"
    "    be written; 2 for a wrong command line. record exits with the recorded program's\n"
    "    status (gargalo record --help).\n"
    "\n"
    "EXAMPLES\n"
    "    gargalo record -o profile.json -- ./server --port 8080\n"
    "    gargalo render profile.json\n"
    "    gargalo render profile.json -o profile.pb.gz\n"
    "    gargalo diff before.json after.json -o diff.html\n";

static void print_help(void)
{
    fputs(help_head, stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("    %-9s %s\n", commands[i]->name, commands[i]->summary);
    fputs(help_tail, stdout);
}

static const cli_command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

/* gargalo help [COMMAND] */
static int help(int argc, char **argv)
{
    const cli_command *c = argc > 2 ? find(argv[2]) : NULL;
    if (argc > 3 || (argc == 3 && !c))
        return cli_error(CLI_USAGE, "help: no command '%s' (see gargalo --help)", argv[2]);
    if (c)
        fputs(c->help, stdout);
    else
        print_help();
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_error(CLI_USAGE, "missing COMMAND (see gargalo --help)");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0)
        return help(argc, argv);
    if (name[0] == '-')
        return cli_error(CLI_USAGE, "unknown option '%s' (see gargalo --help)", name);
    const cli_command *c = find(name);
    if (!c)
        return cli_error(CLI_USAGE, "unknown command '%s' (see gargalo --help)", name);
    cli_set_command(c->name);
    return c->run(argc - 1, argv + 1);
}
