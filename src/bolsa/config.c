/*
 * config.c: one table of settings drives defaults, environment, flags and --help, so a
 * new setting is one row.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

typedef enum {
    BOLSA_OPT_STR,
    BOLSA_OPT_INT,
    BOLSA_OPT_I64,
    BOLSA_OPT_BOOL,
    BOLSA_OPT_CHOICE /* a string, one of the row's choices */
} bolsa_opt_kind;

typedef struct bolsa_opt {
    const char *flag; /* without the leading "--" */
    const char *env;
    bolsa_opt_kind kind;
    size_t offset;       /* into bolsa_config */
    size_t size;         /* of the field */
    int64_t min, max;    /* of an integer field */
    const char *choices; /* of a BOLSA_OPT_CHOICE field: the values it takes, "a|b|c" */
    const char *def;
    const char *help;
} bolsa_opt;

#define BOLSA_FIELD(f) offsetof(bolsa_config, f), sizeof(((bolsa_config *)0)->f)
#define BOLSA_STR(f) BOLSA_OPT_STR, BOLSA_FIELD(f), 0, 0, NULL
#define BOLSA_INT(f, lo, hi) BOLSA_OPT_INT, BOLSA_FIELD(f), lo, hi, NULL
#define BOLSA_I64(f, lo, hi) BOLSA_OPT_I64, BOLSA_FIELD(f), lo, hi, NULL
#define BOLSA_BOOL(f) BOLSA_OPT_BOOL, BOLSA_FIELD(f), 0, 1, NULL
#define BOLSA_CHOICE(f, choices) BOLSA_OPT_CHOICE, BOLSA_FIELD(f), 0, 0, choices

static const bolsa_opt bolsa_opts[] = {
    {"host", "BOLSA_HOST", BOLSA_STR(host), "127.0.0.1", "address to listen on"},
    {"port", "BOLSA_PORT", BOLSA_INT(port, 0, 65535), "8000", "TCP port (0: any free port)"},
    {"database-url", "BOLSA_DATABASE_URL", BOLSA_STR(database_url), "sqlite:bolsa.db",
     "sqlite:PATH, postgresql://... or postgres://..."},
    {"threads", "BOLSA_THREADS", BOLSA_INT(threads, 1, 256), "4",
     "HTTP worker threads, also database connections"},
    {"max-rows", "BOLSA_MAX_ROWS", BOLSA_I64(max_rows, 1, INT64_MAX), "10000000",
     "largest quantidadeAtivos accepted"},
    {"max-connections", "BOLSA_MAX_CONNECTIONS", BOLSA_INT(max_connections, 1, 1000000), "4096",
     "connections open at once (fewer if the open-file limit is lower)"},
    {"max-connections-per-address", "BOLSA_MAX_CONNECTIONS_PER_ADDRESS",
     BOLSA_INT(max_per_address, 0, 1000000), "64",
     "connections open at once from one client address (0: no limit)"},
    {"request-timeout", "BOLSA_REQUEST_TIMEOUT", BOLSA_INT(request_timeout, 0, 3600), "30",
     "seconds a connection may take to send a whole request (0: no limit)"},
    {"shutdown-timeout", "BOLSA_SHUTDOWN_TIMEOUT", BOLSA_INT(shutdown_timeout, 0, 3600), "30",
     "seconds requests in flight at SIGTERM or SIGINT have to finish and answer"},
    {"profile", "BOLSA_PROFILE", BOLSA_BOOL(profile), "0",
     "1 lets a request ask to be profiled with ?profile=1"},
    {"profile-dir", "BOLSA_PROFILE_DIR", BOLSA_STR(profile_dir), ".", "where profiles are written"},
    {"profile-token", "BOLSA_PROFILE_TOKEN", BOLSA_STR(profile_token), "",
     "if set, ?profile=1 also needs this token"},
    {"profile-keep", "BOLSA_PROFILE_KEEP", BOLSA_INT(profile_keep, 1, 100000), "200",
     "most profile files kept; the oldest go first"},
    {"profile-keep-mb", "BOLSA_PROFILE_KEEP_MB", BOLSA_INT(profile_keep_mb, 1, 1048576), "256",
     "most MiB of profile files kept; the oldest go first"},
    {"profile-slow-ms", "BOLSA_PROFILE_SLOW_MS", BOLSA_INT(profile_slow_ms, 0, 3600000), "0",
     "with --profile 1, keep the profile of every request slower than this (0: off)"},
    {"profile-slow-interval-us", "BOLSA_PROFILE_SLOW_INTERVAL_US",
     BOLSA_INT(profile_slow_interval_us, 50, 1000000), "1000",
     "sampling interval of slow-request capture, in microseconds"},
    {"profile-slow-format", "BOLSA_PROFILE_SLOW_FORMAT",
     BOLSA_CHOICE(profile_slow_format, "html|speedscope|text|json|pprof|folded"), "html",
     "format of slow requests' profiles: html, speedscope, text, json, pprof or folded"},
};

#define BOLSA_OPT_COUNT (sizeof(bolsa_opts) / sizeof(bolsa_opts[0]))

/* An integer or a yes-or-no field's value, before its range is checked. */
static bolsa_errcode bolsa_config_number(const bolsa_opt *o, const char *value, int64_t *out)
{
    if (o->kind != BOLSA_OPT_BOOL)
        return bolsa_input_parse_int(value, strlen(value), out);
    int on;
    bolsa_errcode rc = bolsa_input_parse_bool(value, strlen(value), &on);
    if (rc)
        return rc;
    *out = on;
    return BOLSA_E_OK;
}

/* The first len bytes of a value as a one-line message shows them: control characters
 * become '?', so that a value cannot end the line bolsa logs and forge the next one. */
static const char *bolsa_config_shown(const char *value, size_t len, char *out, size_t size)
{
    size_t i = 0;
    for (; i < len && value[i] && i + 1 < size; i++)
        out[i] = (unsigned char)value[i] < 0x20 || value[i] == 0x7f ? '?' : value[i];
    out[i] = '\0';
    return out;
}

/* A value the field cannot take: says which values it can. */
static bolsa_errcode bolsa_config_bad_value(const bolsa_opt *o, const char *value,
                                            const char *source, bolsa_error *err)
{
    char shown[1024];
    bolsa_config_shown(value, strlen(value), shown, sizeof(shown));
    if (o->kind == BOLSA_OPT_BOOL)
        return bolsa_error_set(err, BOLSA_E_CONFIG, "config", source,
                               "%s: '%s' is not one of " BOLSA_INPUT_BOOL_WORDS, source, shown);
    return bolsa_error_set(err, BOLSA_E_CONFIG, "config", source,
                           "%s: '%s' is not an integer from %lld to %lld", source, shown,
                           (long long)o->min, (long long)o->max);
}

/* 1 when value is one of the '|'-separated choices. */
static int bolsa_config_is_choice(const char *choices, const char *value)
{
    size_t len = strlen(value);
    for (const char *c = choices; len && *c;) {
        size_t n = strcspn(c, "|");
        if (n == len && !strncmp(c, value, n))
            return 1;
        c += n + (c[n] == '|');
    }
    return 0;
}

/* A value that is not one of the row's choices. */
static bolsa_errcode bolsa_config_bad_choice(const bolsa_opt *o, const char *value,
                                             const char *source, bolsa_error *err)
{
    char shown[256];
    bolsa_config_shown(value, strlen(value), shown, sizeof(shown));
    return bolsa_error_set(err, BOLSA_E_CONFIG, "config", source, "%s: '%s' is not one of %s",
                           source, shown, o->choices);
}

/* Stores value into the field of o; source names where it came from for the message. */
static bolsa_errcode bolsa_config_set(bolsa_config *cfg, const bolsa_opt *o, const char *value,
                                      const char *source, bolsa_error *err)
{
    char *field = (char *)cfg + o->offset;
    if (o->kind == BOLSA_OPT_CHOICE && !bolsa_config_is_choice(o->choices, value))
        return bolsa_config_bad_choice(o, value, source, err);
    if (o->kind == BOLSA_OPT_STR || o->kind == BOLSA_OPT_CHOICE) {
        if (strlen(value) >= o->size)
            return bolsa_error_set(err, BOLSA_E_CONFIG, "config", source,
                                   "%s: value too long (max %zu bytes)", source, o->size - 1);
        memcpy(field, value, strlen(value) + 1);
        return BOLSA_E_OK;
    }
    int64_t v;
    if (bolsa_config_number(o, value, &v) || v < o->min || v > o->max)
        return bolsa_config_bad_value(o, value, source, err);
    if (o->kind == BOLSA_OPT_I64)
        *(int64_t *)field = v;
    else
        *(int *)field = (int)v;
    return BOLSA_E_OK;
}

static const bolsa_opt *bolsa_config_find(const char *flag, size_t len)
{
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        if (strlen(bolsa_opts[i].flag) == len && !strncmp(bolsa_opts[i].flag, flag, len))
            return &bolsa_opts[i];
    }
    return NULL;
}

static bolsa_errcode bolsa_config_env(bolsa_config *cfg, bolsa_error *err)
{
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        const bolsa_opt *o = &bolsa_opts[i];
        const char *v = getenv(o->env);
        /* A default that does not fit is a bug in the table, reported like a bad value. */
        bolsa_errcode rc = bolsa_config_set(cfg, o, o->def, o->env, err);
        if (rc)
            return rc;
        if (v && (rc = bolsa_config_set(cfg, o, v, o->env, err)))
            return rc;
    }
    return BOLSA_E_OK;
}

/* Handles argv[*i]; may consume the next argument as its value. */
static bolsa_errcode bolsa_config_flag(bolsa_config *cfg, int argc, char **argv, int *i,
                                       bolsa_error *err)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        cfg->help = 1;
        return BOLSA_E_OK;
    }
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const bolsa_opt *o = strncmp(arg, "--", 2) ? NULL : bolsa_config_find(arg + 2, len - 2);
    char shown[256];
    if (!o)
        return bolsa_error_set(err, BOLSA_E_CONFIG, "config", NULL,
                               "unknown option '%s' (see --help)",
                               bolsa_config_shown(arg, len, shown, sizeof(shown)));
    char source[64];
    snprintf(source, sizeof(source), "--%s", o->flag);
    const char *value = eq ? eq + 1 : (*i + 1 < argc ? argv[*i + 1] : NULL);
    /* A bare boolean flag ("--profile", or followed by another flag) means 1. */
    if (!eq && o->kind == BOLSA_OPT_BOOL && (!value || !strncmp(value, "--", 2)))
        value = "1";
    else if (!eq && value)
        ++*i;
    if (!value)
        return bolsa_error_set(err, BOLSA_E_CONFIG, "config", source, "%s needs a value", source);
    return bolsa_config_set(cfg, o, value, source, err);
}

bolsa_errcode bolsa_config_load(bolsa_config *cfg, int argc, char **argv, bolsa_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    bolsa_errcode rc = bolsa_config_env(cfg, err);
    for (int i = 1; !rc && !cfg->help && i < argc; i++)
        rc = bolsa_config_flag(cfg, argc, argv, &i, err);
    return rc;
}

void bolsa_config_usage(FILE *out, const char *prog)
{
    int flag_w = 4, env_w = 0; /* the widest of each, so that the columns line up */
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        flag_w =
            (int)strlen(bolsa_opts[i].flag) > flag_w ? (int)strlen(bolsa_opts[i].flag) : flag_w;
        env_w = (int)strlen(bolsa_opts[i].env) > env_w ? (int)strlen(bolsa_opts[i].env) : env_w;
    }
    fprintf(out, "usage: %s [options]\n\nOptions (flags override environment variables):\n", prog);
    for (size_t i = 0; i < BOLSA_OPT_COUNT; i++) {
        const bolsa_opt *o = &bolsa_opts[i];
        fprintf(out, "  --%-*s %-*s %s (default: \"%s\")\n", flag_w, o->flag, env_w, o->env,
                o->help, o->def);
    }
    fprintf(out, "  --%-*s %-*s %s\n", flag_w, "help", env_w, "", "print this and exit");
}
