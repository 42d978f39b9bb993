/*
 * main.c: bolsa's entry point: reads the configuration, opens the store, starts the HTTP
 * server and waits for SIGINT or SIGTERM to stop both cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "http.h"
#include "profiling.h"
#include "routes.h"
#include "store.h"

#define BOLSA_MAX_BODY ((size_t)1 << 20)

/* Blocks the stop signals in every thread (the workers inherit the mask) so that only
 * sigwait in main sees them. */
static void bolsa_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int bolsa_run(const bolsa_config *cfg)
{
    bolsa_error err = {0};
    bolsa_app app = {.store = NULL, .max_rows = cfg->max_rows};
    /* The request chain: the profiling middleware around the routes. */
    bolsa_profiling profiling;
    char msg[1200];
    bolsa_profiling_init(&profiling, cfg, (bolsa_endpoint){bolsa_routes_handle, &app});
    if (bolsa_profiling_prepare(&profiling, msg, sizeof(msg))) {
        fprintf(stderr, "bolsa: %s\n", msg);
        return 1;
    }
    bolsa_store *store = NULL;
    if (bolsa_store_open(&store, cfg->database_url, cfg->threads, &err)) {
        fprintf(stderr, "bolsa: cannot open the database %s: %s\n", cfg->database_url, err.msg);
        return 1;
    }
    app.store = store;
    sigset_t stop;
    bolsa_block_signals(&stop);
    bolsa_server_options opt = {.host = cfg->host,
                                .port = cfg->port,
                                .threads = cfg->threads,
                                .max_body = BOLSA_MAX_BODY,
                                .endpoint = bolsa_profiling_endpoint(&profiling)};
    bolsa_server *srv = NULL;
    if (bolsa_server_start(&srv, &opt, &err)) {
        fprintf(stderr, "bolsa: %s\n", err.msg);
        bolsa_store_close(store);
        return 1;
    }
    fprintf(stderr, "bolsa listening on http://%s:%d (%s)\n", cfg->host, bolsa_server_port(srv),
            cfg->database_url);
    int sig;
    sigwait(&stop, &sig);
    fprintf(stderr, "bolsa: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    bolsa_server_stop(srv);
    bolsa_store_close(store);
    return 0;
}

int main(int argc, char **argv)
{
    bolsa_config cfg;
    char msg[512];
    switch (bolsa_config_load(&cfg, argc, argv, msg, sizeof(msg))) {
    case BOLSA_CONFIG_HELP:
        bolsa_config_usage(stdout, argv[0]);
        return 0;
    case BOLSA_CONFIG_ERROR:
        fprintf(stderr, "bolsa: %s\n", msg);
        return 2;
    case BOLSA_CONFIG_OK:
        break;
    }
    return bolsa_run(&cfg);
}
