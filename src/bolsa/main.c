/*
 * main.c: bolsa's entry point: reads the configuration, opens the store, starts the HTTP
 * server and waits for SIGINT or SIGTERM to stop both cleanly: new connections are
 * refused, requests in flight finish and their answers go out (within
 * --shutdown-timeout), then bolsa exits. A second signal, or the timeout, ends it at once.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "debug.h"
#include "http.h"
#include "profiling.h"
#include "routes.h"
#include "store.h"
#include "timing.h"

#define BOLSA_MAX_BODY ((size_t)1 << 20)

/* What runs while bolsa serves: the store, the request chain (profiling's endpoints, then
 * the profiling middleware around the routes) and the server in front of it. */
typedef struct bolsa_service {
    bolsa_app app;
    bolsa_profiling profiling;
    bolsa_debug debug;
    bolsa_server *server;
} bolsa_service;

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

/* Raises the soft open-file limit to the hard one (the soft one is often 1,024, fewer than
 * bolsa's default connections) and returns the connections that fit under it, keeping room
 * for the database connections (a SQLite one holds three files), profiles and logs. */
static int bolsa_connections_fit(const bolsa_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return cfg->max_connections;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            getrlimit(RLIMIT_NOFILE, &rl); /* not raised: what there is */
    }
    long room = (long)rl.rlim_cur - 64 - 4L * cfg->threads;
    if (room >= cfg->max_connections)
        return cfg->max_connections;
    room = room > 1 ? room : 1;
    fprintf(stderr, "bolsa: --max-connections %d lowered to %ld: the open-file limit is %lu\n",
            cfg->max_connections, room, (unsigned long)rl.rlim_cur);
    return (int)room;
}

/* Checks the profiling settings before anything is opened, then opens the store, then
 * listens. On failure nothing is left open and err says why. */
static bolsa_errcode bolsa_service_start(bolsa_service *svc, const bolsa_config *cfg,
                                         sigset_t *stop, bolsa_error *err)
{
    svc->app = (bolsa_app){.store = NULL, .max_rows = cfg->max_rows};
    bolsa_profiling_init(&svc->profiling, cfg, (bolsa_endpoint){bolsa_routes_handle, &svc->app});
    bolsa_debug_init(&svc->debug, &svc->profiling, bolsa_profiling_endpoint(&svc->profiling));
    bolsa_errcode rc = bolsa_profiling_prepare(&svc->profiling, err);
    if (rc)
        return rc;
    rc = bolsa_store_open(&svc->app.store, cfg->database_url, cfg->threads, err);
    if (rc) {
        bolsa_error_context(err, "cannot open the database %s", cfg->database_url);
        return rc;
    }
    bolsa_block_signals(stop);
    bolsa_server_options opt = {.host = cfg->host,
                                .port = cfg->port,
                                .threads = cfg->threads,
                                .max_body = BOLSA_MAX_BODY,
                                .endpoint = bolsa_debug_endpoint(&svc->debug),
                                .max_connections = (unsigned)bolsa_connections_fit(cfg),
                                .max_per_address = (unsigned)cfg->max_per_address,
                                .request_timeout = (unsigned)cfg->request_timeout};
    rc = bolsa_server_start(&svc->server, &opt, err);
    if (rc)
        bolsa_store_close(svc->app.store);
    return rc;
}

/* Waits until no request is pending: 1. A second stop signal, or the deadline (ns of
 * bolsa_now_ns), first: 0. */
static int bolsa_wait_pending(bolsa_server *srv, const sigset_t *stop, uint64_t deadline)
{
    for (;;) {
        if (bolsa_server_pending(srv) == 0)
            return 1;
        uint64_t now = bolsa_now_ns();
        if (now >= deadline)
            return 0;
        uint64_t wait = deadline - now < 10000000 ? deadline - now : 10000000;
        struct timespec ts = {0, (long)wait};
        if (sigtimedwait(stop, NULL, &ts) > 0)
            return 0;
    }
}

/* Stops taking work and lets the requests in flight finish and answer, until the deadline
 * or a second signal. 1 when every one has answered. */
static int bolsa_drain(bolsa_server *srv, const sigset_t *stop, int timeout_s)
{
    uint64_t deadline = bolsa_now_ns() + (uint64_t)timeout_s * 1000000000ULL;
    bolsa_server_quiesce(srv);
    if (!bolsa_wait_pending(srv, stop, deadline))
        return 0;
    bolsa_server_hold(srv);
    /* A handler that started just before the hold answers too. */
    return bolsa_wait_pending(srv, stop, deadline);
}

/* Ends the process now, without waiting for the handlers still running: exiting closes
 * their database connections mid-transaction, and a transaction that was not committed is
 * rolled back (SQLite never applies an uncommitted write-ahead log; PostgreSQL aborts a
 * lost session's), so a chunked save leaves all its rows or none. The naive strategy's
 * rows already committed stay, as they do on any failure. */
static void bolsa_abandon(const bolsa_server *srv)
{
    fprintf(stderr, "bolsa: stopping now, %u request(s) unanswered\n", bolsa_server_pending(srv));
    _exit(1);
}

/* Serves until SIGINT or SIGTERM, then drains the server before closing the store. */
static bolsa_errcode bolsa_run(const bolsa_config *cfg, bolsa_error *err)
{
    bolsa_service svc;
    sigset_t stop;
    bolsa_errcode rc = bolsa_service_start(&svc, cfg, &stop, err);
    if (rc)
        return rc;
    fprintf(stderr, "bolsa listening on http://%s:%d (%s)\n", cfg->host,
            bolsa_server_port(svc.server), cfg->database_url);
    int sig;
    sigwait(&stop, &sig);
    fprintf(stderr, "bolsa: stopping (%s): %u request(s) in flight, %d s to finish\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", bolsa_server_pending(svc.server),
            cfg->shutdown_timeout);
    bolsa_debug_cut(&svc.debug); /* a whole-process profile answers now, not in a minute */
    if (!bolsa_drain(svc.server, &stop, cfg->shutdown_timeout))
        bolsa_abandon(svc.server);
    bolsa_server_stop(svc.server);
    bolsa_store_close(svc.app.store);
    return BOLSA_E_OK;
}

/* Exit status: 0, 1 when bolsa could not start or stopped with requests unanswered, 2 for
 * a bad setting. */
int main(int argc, char **argv)
{
    bolsa_config cfg;
    bolsa_error err = {0};
    if (bolsa_config_load(&cfg, argc, argv, &err)) {
        fprintf(stderr, "bolsa: %s\n", err.msg);
        return 2;
    }
    if (cfg.help) {
        bolsa_config_usage(stdout, argv[0]);
        return 0;
    }
    if (bolsa_run(&cfg, &err)) {
        fprintf(stderr, "bolsa: %s\n", err.msg);
        return 1;
    }
    return 0;
}
