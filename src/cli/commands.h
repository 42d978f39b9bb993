/*
 * commands.h: the gargalo command's subcommands, one module each (cmd_*.c). main.c
 * dispatches through a table of these; a new subcommand is a new module and one entry.
 */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line, for gargalo --help */
    const char *help;    /* the subcommand's manual, for gargalo COMMAND --help */
    /* Runs with argv[0] the subcommand's name; returns the exit status. */
    int (*run)(int argc, char **argv);
} cli_command;

extern const cli_command cli_render_command;
extern const cli_command cli_diff_command;
extern const cli_command cli_record_command;

#endif
