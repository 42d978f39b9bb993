/*
 * cli.c: the parts of the gargalo command every subcommand uses (cli.h). Every failure
 * becomes one line on stderr naming what went wrong and where, never a crash.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *command;

void cli_set_command(const char *name)
{
    command = name;
}

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "gargalo%s%s: ", command ? " " : "", command ? command : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

/* ---- options ---- */

/* getopt_long said no (with a leading ':' in shorts: ':' for a missing value, '?' for
 * an unknown option); says which option, as the user wrote it. */
static int bad_option(int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return cli_error(CLI_USAGE, "option '%s' needs a value (see gargalo %s --help)", arg,
                         command);
    if (optopt && strncmp(arg, "--", 2) != 0)
        return cli_error(CLI_USAGE, "unknown option '-%c' (see gargalo %s --help)", optopt,
                         command);
    return cli_error(CLI_USAGE, "unknown option '%s' (see gargalo %s --help)", arg, command);
}

/* --tag KEY=VALUE: a label, its key not empty (the value may be). */
static int tag_option(const char *arg, cli_args *a)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return cli_error(CLI_USAGE, "option '--tag' wants KEY=VALUE, a label%s, not '%s'",
                         eq ? " with a key" : "", arg);
    a->tag = arg;
    return CLI_OK;
}

/* --thread TID: a thread id, a positive decimal number. */
static int thread_option(const char *arg, cli_args *a)
{
    char *end;
    errno = 0;
    long tid = strtol(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || errno || tid <= 0 || tid > INT_MAX)
        return cli_error(CLI_USAGE,
                         "option '--thread' wants a thread id (a positive number), not '%s'", arg);
    a->thread = tid;
    return CLI_OK;
}

void cli_filters(const cli_args *a, gargalo_render_options *ro)
{
    ro->tag = a->tag;
    ro->thread = a->thread;
}

/* Where an option that takes its value as given keeps it; NULL for the others. */
static const char **value_slot(cli_args *a, int c)
{
    switch (c) {
    case 'f':
        return &a->format;
    case 'o':
        return &a->output;
    case CLI_OPT_CLOCK:
        return &a->clock;
    case CLI_OPT_INTERVAL:
        return &a->interval;
    case CLI_OPT_DURATION:
        return &a->duration;
    default:
        return NULL;
    }
}

int cli_parse(int argc, char **argv, const char *shorts, const struct option *longs,
              const char *help, cli_args *a)
{
    memset(a, 0, sizeof(*a));
    optind = 0; /* GNU getopt: start afresh, whatever parsed argv before */
    opterr = 0; /* the messages are ours */
    for (int c; (c = getopt_long(argc, argv, shorts, longs, NULL)) != -1;) {
        const char **slot = value_slot(a, c);
        if (slot) {
            *slot = optarg;
            continue;
        }
        switch (c) {
        case CLI_OPT_SHOW_ALL:
            a->show_all = true;
            break;
        case CLI_OPT_NORMALIZE:
            a->normalize = true;
            break;
        case CLI_OPT_TAG:
        case CLI_OPT_THREAD:
            if ((c == CLI_OPT_TAG ? tag_option : thread_option)(optarg, a))
                return CLI_USAGE;
            break;
        case 'h':
            fputs(help, stdout);
            return CLI_DONE;
        default:
            return bad_option(c, argv);
        }
    }
    a->operands = argv + optind;
    a->noperands = argc - optind;
    return CLI_OK;
}

/* ---- formats ---- */

/* Whether path ends in "." followed by ext. */
static bool has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), k = strlen(ext);
    return n > k + 1 && path[n - k - 1] == '.' && strcmp(path + n - k, ext) == 0;
}

/* The allowed format with the longest extension path ends in ("x.speedscope.json" is
 * speedscope, not json); -1 when none. */
static int format_of_path(const char *path, const char *const *allowed, gargalo_format *out)
{
    size_t best = 0;
    for (; *allowed; allowed++) {
        gargalo_format f;
        const char *ext;
        if (gargalo_format_parse(*allowed, &f) || !(ext = gargalo_format_extension(f)))
            continue;
        if (has_extension(path, ext) && strlen(ext) > best)
            best = strlen(ext), *out = f;
    }
    return best ? 0 : -1;
}

static void list_names(char *out, size_t cap, const char *const *names)
{
    out[0] = '\0';
    for (size_t n = 0; *names; names++, n = strlen(out))
        snprintf(out + n, cap - n, "%s%s", n ? ", " : "", *names);
}

int cli_pick_format(const char *name, const char *path, const char *const *allowed,
                    gargalo_format *out)
{
    char names[256];
    list_names(names, sizeof(names), allowed);
    *out = GARGALO_FORMAT_TEXT;
    if (name) {
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, name) == 0 && gargalo_format_parse(name, out) == 0)
                return CLI_OK;
        return cli_error(CLI_USAGE, "unknown format '%s' (one of %s)", name, names);
    }
    if (!path || strcmp(path, "-") == 0 || format_of_path(path, allowed, out) == 0)
        return CLI_OK;
    return cli_error(CLI_USAGE, "cannot tell the format of '%s' from its name (one of %s); use -f",
                     path, names);
}

/* ---- reading a session ---- */

/* Reads all of an open file; NULL with errno set on failure. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *data = malloc(cap);
    while (data) {
        if (n == cap) {
            char *p = realloc(data, cap * 2);
            if (!p)
                break;
            data = p, cap *= 2;
        }
        ssize_t r = read(fd, data + n, cap - n);
        if (r == 0) {
            *len = n;
            return data;
        }
        if (r > 0)
            n += (size_t)r;
        else if (errno != EINTR)
            break;
    }
    free(data);
    return NULL;
}

/* The whole file at path, or NULL after saying why not. */
static char *read_file(const char *path, size_t *len)
{
    struct stat st;
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        cli_error(CLI_FAIL, "%s: is a directory, not a session file", path);
    else if (!(data = read_all(fd, len)))
        cli_error(CLI_FAIL, "%s: cannot read: %s", path, strerror(errno));
    close(fd);
    return data;
}

/* Why gargalo_session_load refused data: not JSON at all, or JSON of another kind. */
static int explain_format(const char *path, const char *data, size_t len)
{
    json_error_t err;
    json_t *doc = json_loadb(data, len, 0, &err);
    if (!doc)
        return cli_error(CLI_FAIL, "%s: not valid JSON (line %d, column %d: %s)", path, err.line,
                         err.column, err.text);
    bool has_version = json_is_object(doc) && json_object_get(doc, "gargalo");
    json_decref(doc);
    if (!has_version)
        return cli_error(CLI_FAIL, "%s: JSON, but not a gargalo session", path);
    return cli_error(CLI_FAIL, "%s: a damaged gargalo session (%s)", path,
                     gargalo_strerror(GARGALO_EFORMAT));
}

int cli_load_session(const char *path, gargalo_session **out)
{
    size_t len;
    char *data = read_file(path, &len);
    if (!data)
        return CLI_FAIL;
    int err = len ? gargalo_session_load(data, len, out) : 0;
    int rc = CLI_OK;
    if (!len)
        rc = cli_error(CLI_FAIL, "%s: empty file, not a session", path);
    else if (err == GARGALO_EFORMAT)
        rc = explain_format(path, data, len);
    else if (err)
        rc = cli_error(CLI_FAIL, "%s: cannot load: %s", path, gargalo_strerror(err));
    free(data);
    return rc;
}

/* ---- output ---- */

static bool to_stdout(const char *path)
{
    return !path || strcmp(path, "-") == 0;
}

bool cli_to_terminal(const char *path)
{
    return to_stdout(path) && isatty(STDOUT_FILENO);
}

int cli_write(const char *path, const char *data, size_t len)
{
    if (to_stdout(path)) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return cli_error(CLI_FAIL, "cannot write to standard output: %s", strerror(errno));
        return CLI_OK;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_error(CLI_FAIL, "cannot write %s: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    int saved = errno;
    if (fclose(f) != 0 && ok)
        ok = false, saved = errno;
    if (ok)
        return CLI_OK;
    struct stat st; /* a half-written file goes; a device such as /dev/full stays */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(path);
    return cli_error(CLI_FAIL, "cannot write %s: %s", path, strerror(saved));
}
