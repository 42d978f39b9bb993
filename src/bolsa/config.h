/*
 * config.h: the service's settings, from command-line flags over environment variables
 * over built-in defaults. Parsing only; nothing here opens or starts anything.
 */
#ifndef BOLSA_CONFIG_H
#define BOLSA_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct bolsa_config {
    char host[256];          /* --host, BOLSA_HOST: 127.0.0.1 */
    int port;                /* --port, BOLSA_PORT: 8000 (0: any free port) */
    char database_url[1024]; /* --database-url, BOLSA_DATABASE_URL: sqlite:bolsa.db */
    int threads;             /* --threads, BOLSA_THREADS: 4, also the connection pool size */
    int64_t max_rows;        /* --max-rows, BOLSA_MAX_ROWS: 10000000, largest quantidadeAtivos */
    /* Profiler middleware settings. */
    int profile;             /* --profile, BOLSA_PROFILE: 0, 1 lets ?profile=1 profile a request */
    char profile_dir[1024];  /* --profile-dir, BOLSA_PROFILE_DIR: "." */
    char profile_token[256]; /* --profile-token, BOLSA_PROFILE_TOKEN: "" (none required) */
} bolsa_config;

typedef enum bolsa_config_status {
    BOLSA_CONFIG_OK,   /* run with *cfg */
    BOLSA_CONFIG_HELP, /* --help was given: print bolsa_config_usage, exit 0 */
    BOLSA_CONFIG_ERROR /* a bad value: errbuf says which, exit 2 */
} bolsa_config_status;

/* Fills *cfg from defaults, then the BOLSA_* environment (getenv), then argv[1..argc).
 * Flags take "--name value" or "--name=value". errbuf gets a one-line message on error. */
bolsa_config_status bolsa_config_load(bolsa_config *cfg, int argc, char **argv, char *errbuf,
                                      size_t errlen);
/* Prints every flag, its variable and its default. */
void bolsa_config_usage(FILE *out, const char *prog);

#endif
