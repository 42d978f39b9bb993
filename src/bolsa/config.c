/*
 * config.c: one table of settings drives defaults, environment, flags and --help, so a
 * new setting is one row.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

typedef enum { BOLSA_OPT_STR, BOLSA_OPT_INT, BOLSA_OPT_I64, BOLSA_OPT_BOOL } bolsa_opt_kind;

typedef struct bolsa_opt {
    const char *flag; /* without the leading "--" */
    const char *env;
    bolsa_opt_kind kind;
    size_t offset;    /* into bolsa_config */
    size_t size;      /* of the field */
    int64_t min, max; /* of an integer field */
    const char *def;
    const char *help;
} bolsa_opt;

#define BOLSA_FIELD(f) offsetof(bolsa_config, f), sizeof(((bolsa_config *)0)->f)
#define BOLSA_STR(f) BOLSA_OPT_STR, BOLSA_FIELD(f), 0, 0
#define BOLSA_INT(f, lo, hi) BOLSA_OPT_INT, BOLSA_FIELD(f), lo, hi
#define BOLSA_I64(f, lo, hi) BOLSA_OPT_I64, BOLSA_FIELD(f), lo, hi
#define BOLSA_BOOL(f) BOLSA_OPT_BOOL, BOLSA_FIELD(f), 0, 1

static const bolsa_opt bolsa_opts[] = {
    {"host", "BOLSA_HOST", BOLSA_STR(host), "127.0.0.1", "address to listen on"},
    {"port", "BOLSA_PORT", BOLSA_INT(port, 0, 65535), "8000", "TCP port (0: any free port)"},
    {"database-url", "BOLSA_DATABASE_URL", BOLSA_STR(database_url), "sqlite:bolsa.db",
     "sqlite:PATH, postgresql://... or postgres://..."},
    {"threads", "BOLSA_THREADS", BOLSA_INT(threads, 1, 256), "4",
     "HTTP worker threads, also database connections"},
    {"max-rows", "BOLSA_MAX_ROWS", BOLSA_I64(max_rows, 1, INT64_MAX), "10000000",
     "largest quantidadeAtivos accepted"},
    {"profile", "BOLSA_PROFILE", BOLSA_BOOL(profile), "0",
     "1 lets a request ask to be profiled with ?profile=1"},
    {"profile-dir", "BOLSA_PROFILE_DIR", BOLSA_STR(profile_dir), ".", "where profiles are written"},
    {"profile-token", "BOLSA_PROFILE_TOKEN", BOLSA_STR(profile_token), "",
     "if set, ?profile=1 also needs this token"},
};

#define BOLSA_OPT_COUNT (sizeof(bolsa_opts) / sizeof(bolsa_opts[0]))

/* An integer or a yes-or-no field's value, before its range is checked. */
static bolsa_errcode bolsa_config_number(const bolsa_opt *o, const char *value, int64_t *out)
{
    if (o->kind != BOLSA_OPT_BOOL)
        return bolsa_input_parse_int(value, out);
    int on;
    bolsa_errcode rc = bolsa_input_parse_bool(value, &on);
    if (rc)
        return rc;
    *out = on;
    return BOLSA_E_OK;
}

/* Stores value into the field of o; source names where it came from for the message. */
static int bolsa_config_set(bolsa_config *cfg, const bolsa_opt *o, const char *value,
                            const char *source, char *errbuf, size_t errlen)
{
    char *field = (char *)cfg + o->offset;
    if (o->kind == BOLSA_OPT_STR) {
        if (strlen(value) >= o->size) {
            snprintf(errbuf, errlen, "%s: value too long (max %zu bytes)", source, o->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    int64_t v;
    bolsa_errcode bad = bolsa_config_number(o, value, &v);
    if (bad || v < o->min || v > o->max) {
        if (o->kind == BOLSA_OPT_BOOL)
            snprintf(errbuf, errlen, "%s: '%s' is not one of " BOLSA_INPUT_BOOL_WORDS, source,
                     value);
        else
            snprintf(errbuf, errlen, "%s: '%s' is not an integer from %lld to %lld", source, value,
                     (long long)o->min, (long long)o->max);
        return -1;
    }
    if (o->kind == BOLSA_OPT_I64)
        *(int64_t *)field = v;
    else
        *(int *)field = (int)v;
    return 0;
}

static const bolsa_opt *bolsa_config_find(const char *flag, size_t len)
{
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        if (strlen(bolsa_opts[i].flag) == len && !strncmp(bolsa_opts[i].flag, flag, len))
            return &bolsa_opts[i];
    }
    return NULL;
}

static int bolsa_config_env(bolsa_config *cfg, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        const bolsa_opt *o = &bolsa_opts[i];
        const char *v = getenv(o->env);
        if (bolsa_config_set(cfg, o, o->def, o->env, errbuf, errlen))
            return -1; /* a default that does not fit is a bug in the table */
        if (v && bolsa_config_set(cfg, o, v, o->env, errbuf, errlen))
            return -1;
    }
    return 0;
}

/* Handles argv[*i]; may consume the next argument as its value. */
static bolsa_config_status bolsa_config_flag(bolsa_config *cfg, int argc, char **argv, int *i,
                                             char *errbuf, size_t errlen)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
        return BOLSA_CONFIG_HELP;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const bolsa_opt *o = strncmp(arg, "--", 2) ? NULL : bolsa_config_find(arg + 2, len - 2);
    if (!o) {
        snprintf(errbuf, errlen, "unknown option '%.*s' (see --help)", (int)len, arg);
        return BOLSA_CONFIG_ERROR;
    }
    const char *value = eq ? eq + 1 : (*i + 1 < argc ? argv[*i + 1] : NULL);
    /* A bare boolean flag ("--profile", or followed by another flag) means 1. */
    if (!eq && o->kind == BOLSA_OPT_BOOL && (!value || !strncmp(value, "--", 2)))
        value = "1";
    else if (!eq && value)
        ++*i;
    if (!value) {
        snprintf(errbuf, errlen, "--%s needs a value", o->flag);
        return BOLSA_CONFIG_ERROR;
    }
    char source[64];
    snprintf(source, sizeof(source), "--%s", o->flag);
    if (bolsa_config_set(cfg, o, value, source, errbuf, errlen))
        return BOLSA_CONFIG_ERROR;
    return BOLSA_CONFIG_OK;
}

bolsa_config_status bolsa_config_load(bolsa_config *cfg, int argc, char **argv, char *errbuf,
                                      size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (errlen)
        errbuf[0] = '\0';
    if (bolsa_config_env(cfg, errbuf, errlen))
        return BOLSA_CONFIG_ERROR;
    for (int i = 1; i < argc; i++) {
        bolsa_config_status st = bolsa_config_flag(cfg, argc, argv, &i, errbuf, errlen);
        if (st != BOLSA_CONFIG_OK)
            return st;
    }
    return BOLSA_CONFIG_OK;
}

void bolsa_config_usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s [options]\n\nOptions (flags override environment variables):\n", prog);
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        const bolsa_opt *o = &bolsa_opts[i];
        fprintf(out, "  --%-14s %-20s %s (default: \"%s\")\n", o->flag, o->env, o->help, o->def);
    }
    fprintf(out, "  --%-14s %-20s %s\n", "help", "", "print this and exit");
}
