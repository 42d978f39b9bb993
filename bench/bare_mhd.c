/*
 * bare_mhd.c: the least a libmicrohttpd server can do to answer GET /health with a fixed
 * JSON body, in the same threading mode as bolsa (src/bolsa/http.c): an epoll polling
 * thread pool. The floor for bolsa's requests per second.
 *
 *     bare_mhd PORT [THREADS [BODY]]
 *
 * Listens on 127.0.0.1:PORT until SIGINT or SIGTERM. THREADS (default 4) is the size of
 * the thread pool, as bolsa's --threads; BODY (default {"status":"ok"}) is the answer, so
 * the harness can make it byte for byte what bolsa answers.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct MHD_Response *health;
static volatile sig_atomic_t stop;

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req)
{
    /* The first call only announces the request; answering there makes libmicrohttpd
     * close the connection, so answer on the second, as a real server does. */
    static int seen;
    if (*req == NULL) {
        *req = &seen;
        return MHD_YES;
    }
    if (strcmp(url, "/health") != 0 || strcmp(method, "GET") != 0) {
        static char nf[] = "{\"detail\":\"Not Found\"}";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof nf - 1, nf, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "application/json");
        enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return ok;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, health);
}

static void on_signal(int sig)
{
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bare_mhd PORT [THREADS [BODY]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    unsigned threads = argc >= 3 ? (unsigned)atoi(argv[2]) : 4;
    const char *body = argc == 4 ? argv[3] : "{\"status\":\"ok\"}";
    if (port <= 0 || port > 65535 || threads == 0) {
        fprintf(stderr, "bare_mhd: bad port or thread count\n");
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    health = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(health, "Content-Type", "application/json");

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bare_mhd: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("bare_mhd listening on 127.0.0.1:%d with %u threads\n", port, threads);
    fflush(stdout);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(health);
    return 0;
}
