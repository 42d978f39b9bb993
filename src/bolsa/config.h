/*
 * config.h: the service's settings, from command-line flags over environment variables
 * over built-in defaults. Parsing only; nothing here opens or starts anything.
 */
#ifndef BOLSA_CONFIG_H
#define BOLSA_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "errors.h"

typedef struct bolsa_config {
    char host[256];          /* --host, BOLSA_HOST: 127.0.0.1 */
    int port;                /* --port, BOLSA_PORT: 8000 (0: any free port) */
    char database_url[1024]; /* --database-url, BOLSA_DATABASE_URL: sqlite:bolsa.db */
    int threads;             /* --threads, BOLSA_THREADS: 4, also the connection pool size */
    int64_t max_rows;        /* --max-rows, BOLSA_MAX_ROWS: 10000000, largest quantidadeAtivos */
    /* Connections: how many, how many from one address, how long a request may take. */
    int max_connections;  /* --max-connections, BOLSA_MAX_CONNECTIONS: 4096 */
    int max_per_address;  /* --max-connections-per-address, ..._PER_ADDRESS: 64 (0: no limit) */
    int request_timeout;  /* --request-timeout, BOLSA_REQUEST_TIMEOUT: 30 s (0: none) */
    int shutdown_timeout; /* --shutdown-timeout, BOLSA_SHUTDOWN_TIMEOUT: 30 s to finish */
    /* Profiler middleware settings. */
    int profile;             /* --profile, BOLSA_PROFILE: 0, 1 lets ?profile=1 profile a request */
    char profile_dir[1024];  /* --profile-dir, BOLSA_PROFILE_DIR: "." */
    char profile_token[256]; /* --profile-token, BOLSA_PROFILE_TOKEN: "" (none required) */
    int profile_keep;        /* --profile-keep, BOLSA_PROFILE_KEEP: 200 profile files at most */
    int profile_keep_mb;     /* --profile-keep-mb, BOLSA_PROFILE_KEEP_MB: 256 MiB at most */
    /* Slow-request capture: every request sampled, the profiles of slow ones kept. */
    int profile_slow_ms;          /* --profile-slow-ms, BOLSA_PROFILE_SLOW_MS: 0 (off) */
    int profile_slow_interval_us; /* --profile-slow-interval-us, ..._INTERVAL_US: 1000 */
    char profile_slow_format[16]; /* --profile-slow-format, ..._FORMAT: html */
    /* Not a setting: --help (or -h) was given, so print bolsa_config_usage and exit. */
    int help;
} bolsa_config;

/* Fills *cfg from defaults, then the BOLSA_* environment (getenv), then argv[1..argc).
 * Flags take "--name value" or "--name=value". Returns BOLSA_E_OK, with cfg->help set
 * when --help came before any bad flag (flags after it are not read); or BOLSA_E_CONFIG
 * with err's msg a one-line message naming the flag or variable, and err's loc
 * ["config", that flag or variable] when the setting is known. */
bolsa_errcode bolsa_config_load(bolsa_config *cfg, int argc, char **argv, bolsa_error *err);
/* Prints every flag, its variable and its default. */
void bolsa_config_usage(FILE *out, const char *prog);

#endif
