/*
 * fuzz_config.c: settings parsing, bolsa_config_load, on an argument list and an
 * environment built from the input. The input is strings cut at NUL bytes; one of the
 * form "BOLSA_...=value" goes into the environment, any other is the next argument.
 * Whatever they say, a success must leave every setting in its documented range and every
 * string setting NUL-terminated within its field, and a failure must be BOLSA_E_CONFIG
 * with a one-line message naming the problem.
 *
 * The environment is a private array put in place of environ for the one call, rather
 * than setenv: glibc keeps every value ever set, which a long run would pile up.
 */
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

extern char **environ;

static void check_string(const char *field, size_t size, const char *name)
{
    FUZZ_CHECK(memchr(field, '\0', size) != NULL, "%s not terminated", name);
}

static void check_config(const bolsa_config *c)
{
    FUZZ_CHECK(c->port >= 0 && c->port <= 65535, "port %d", c->port);
    FUZZ_CHECK(c->threads >= 1 && c->threads <= 256, "threads %d", c->threads);
    FUZZ_CHECK(c->max_rows >= 1, "max_rows %lld", (long long)c->max_rows);
    FUZZ_CHECK(c->profile == 0 || c->profile == 1, "profile %d", c->profile);
    FUZZ_CHECK(c->help == 0 || c->help == 1, "help %d", c->help);
    check_string(c->host, sizeof(c->host), "host");
    check_string(c->database_url, sizeof(c->database_url), "database_url");
    check_string(c->profile_dir, sizeof(c->profile_dir), "profile_dir");
    check_string(c->profile_token, sizeof(c->profile_token), "profile_token");
}

static void check_error(bolsa_errcode rc, const bolsa_error *err)
{
    FUZZ_CHECK(rc == BOLSA_E_CONFIG && err->code == rc, "code %d, error says %d", rc, err->code);
    FUZZ_CHECK(err->msg[0] != '\0', "no message");
    FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL, "message not terminated");
    FUZZ_CHECK(!strpbrk(err->msg, "\r\n"), "message of more than one line: %s", err->msg);
    FUZZ_CHECK(!strcmp(err->loc[0], "config"), "loc %s", err->loc[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parts p;
    fuzz_parts_split(&p, data, size);
    char *argv[FUZZ_MAX_PARTS + 2] = {"bolsa"}, *env[FUZZ_MAX_PARTS + 1];
    int argc = 1;
    size_t nenv = 0;
    for (size_t i = 0; i < p.n; i++) {
        if (!strncmp(p.part[i], "BOLSA_", 6) && strchr(p.part[i], '='))
            env[nenv++] = p.part[i];
        else
            argv[argc++] = p.part[i];
    }
    env[nenv] = NULL;
    argv[argc] = NULL;
    char **saved = environ;
    environ = env;
    bolsa_config cfg;
    bolsa_error err = {0};
    bolsa_errcode rc = bolsa_config_load(&cfg, argc, argv, &err);
    environ = saved;
    if (rc == BOLSA_E_OK)
        check_config(&cfg);
    else
        check_error(rc, &err);
    fuzz_parts_free(&p);
    return 0;
}
