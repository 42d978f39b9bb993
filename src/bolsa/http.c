/*
 * http.c: libmicrohttpd glue. Reads each body into a capped buffer, then runs the handler
 * chain on the worker thread that completed the request, and sends what it produced.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dynbuf.h"

#define BOLSA_HTTP_MAX_HEADERS 16

struct bolsa_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
};

struct bolsa_response {
    int status;
    char content_type[64];
    char *body;
    size_t body_len;
    size_t n_headers;
    char *headers[BOLSA_HTTP_MAX_HEADERS][2]; /* name, value: malloc'd */
    bolsa_timing timing;
    int unlogged; /* no request log line */
};

/* What the server keeps per request between MHD's calls of the access handler. */
typedef struct bolsa_http_state {
    dynbuf body;
    bolsa_errcode failed; /* BOLSA_E_TOO_LARGE or BOLSA_E_NOMEM while reading the body */
    bolsa_timing timing;  /* started when the headers arrived */
} bolsa_http_state;

struct bolsa_server {
    struct MHD_Daemon *mhd;
    bolsa_server_options opt;
    int port;
};

void bolsa_endpoint_call(const bolsa_endpoint *e, bolsa_request *req, bolsa_response *resp)
{
    e->handle(req, resp, e->ctx);
}

/* --- request ------------------------------------------------------------------------- */

const char *bolsa_request_method(const bolsa_request *req)
{
    return req->method;
}

const char *bolsa_request_path(const bolsa_request *req)
{
    return req->path;
}

const char *bolsa_request_query(const bolsa_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *bolsa_request_header(const bolsa_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *bolsa_request_body(const bolsa_request *req, size_t *len)
{
    *len = req->body_len;
    return req->body ? req->body : "";
}

/* --- response ------------------------------------------------------------------------ */

bolsa_errcode bolsa_response_set_header(bolsa_response *resp, const char *name, const char *value)
{
    size_t i = 0;
    while (i < resp->n_headers && strcasecmp(resp->headers[i][0], name))
        i++;
    if (i == BOLSA_HTTP_MAX_HEADERS)
        return BOLSA_E_INTERNAL;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return BOLSA_E_NOMEM;
    }
    if (i < resp->n_headers) {
        free(resp->headers[i][0]);
        free(resp->headers[i][1]);
    } else {
        resp->n_headers++;
    }
    resp->headers[i][0] = n;
    resp->headers[i][1] = v;
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_response_set_body(bolsa_response *resp, int status, const char *content_type,
                                      char *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->body = body;
    resp->body_len = body ? len : 0;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", content_type);
    return body ? BOLSA_E_OK : BOLSA_E_NOMEM;
}

bolsa_errcode bolsa_response_json(bolsa_response *resp, int status, json_t *body)
{
    /* 15 significant digits print 12.34 as 12.34, not 12.339999999999999. */
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (!text) {
        bolsa_error e = {0};
        bolsa_error_set(&e, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
        bolsa_response_error(resp, &e);
        return BOLSA_E_NOMEM;
    }
    return bolsa_response_set_body(resp, status, "application/json", text, strlen(text));
}

void bolsa_response_error(bolsa_response *resp, const bolsa_error *err)
{
    static const char fallback[] = "{\"detail\":[{\"loc\":[],\"msg\":\"out of memory\","
                                   "\"type\":\"out_of_memory\"}]}";
    char *text = bolsa_error_json(err);
    int status = bolsa_error_status(err->code);
    if (!text) {
        text = strdup(fallback);
        status = 500;
    }
    bolsa_response_set_body(resp, status, "application/json", text, text ? strlen(text) : 0);
}

int bolsa_response_status(const bolsa_response *resp)
{
    return resp->status;
}

const char *bolsa_response_body(const bolsa_response *resp, size_t *len)
{
    *len = resp->body_len;
    return resp->body;
}

bolsa_timing *bolsa_response_timing(bolsa_response *resp)
{
    return &resp->timing;
}

void bolsa_response_unlogged(bolsa_response *resp)
{
    resp->unlogged = 1;
}

static void bolsa_response_free(bolsa_response *resp)
{
    free(resp->body);
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i][0]);
        free(resp->headers[i][1]);
    }
}

/* --- sending ------------------------------------------------------------------------- */

/* Builds the MHD response from resp, taking its body. */
static struct MHD_Response *bolsa_http_build(bolsa_response *resp)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (!r)
        return NULL;
    resp->body = NULL; /* MHD frees it now */
    char timing[512];
    bolsa_timing_header(&resp->timing, timing, sizeof(timing));
    MHD_add_response_header(r, "Server-Timing", timing);
    if (resp->content_type[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (size_t i = 0; i < resp->n_headers; i++)
        MHD_add_response_header(r, resp->headers[i][0], resp->headers[i][1]);
    return r;
}

static enum MHD_Result bolsa_http_send(struct MHD_Connection *conn, const char *method,
                                       const char *url, bolsa_response *resp)
{
    if (resp->status == 0) {
        bolsa_error e = {0};
        bolsa_error_set(&e, BOLSA_E_INTERNAL, NULL, NULL, "the handler gave no answer");
        bolsa_response_error(resp, &e);
    }
    struct MHD_Response *r = bolsa_http_build(resp);
    enum MHD_Result ok = r ? MHD_queue_response(conn, (unsigned)resp->status, r) : MHD_NO;
    if (r)
        MHD_destroy_response(r);
    /* One write(2) per line: lines of different threads never mix, and no thread waits
     * on stdio's stream lock, which showed up under load. */
    char line[512];
    int n = resp->unlogged
                ? 0
                : snprintf(line, sizeof(line), "%s %.400s %d %.1f ms\n", method, url, resp->status,
                           (double)bolsa_timing_elapsed(&resp->timing) / 1e6);
    if (n > 0 &&
        write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
        /* nowhere left to report a failed log write */
    }
    bolsa_response_free(resp);
    return ok;
}

/* Answers a body that could not be read: too large (413) or no memory for it (500). */
static enum MHD_Result bolsa_http_body_failed(struct MHD_Connection *conn, const char *method,
                                              const char *url, bolsa_http_state *st, size_t max)
{
    bolsa_response resp = {.timing = st->timing};
    bolsa_error e = {0};
    if (st->failed == BOLSA_E_TOO_LARGE)
        bolsa_error_set(&e, BOLSA_E_TOO_LARGE, "body", NULL,
                        "Request body is larger than %zu bytes", max);
    else
        bolsa_error_set(&e, BOLSA_E_NOMEM, "body", NULL, "out of memory reading the body");
    bolsa_response_error(&resp, &e);
    return bolsa_http_send(conn, method, url, &resp);
}

/* --- MHD callbacks ------------------------------------------------------------------- */

/* Request complete: run the handler chain here, on this worker thread, and answer. */
static enum MHD_Result bolsa_http_finish(bolsa_server *srv, struct MHD_Connection *conn,
                                         const char *url, const char *method, bolsa_http_state *st)
{
    if (st->failed)
        return bolsa_http_body_failed(conn, method, url, st, srv->opt.max_body);
    bolsa_request req = {.conn = conn,
                         .method = method,
                         .path = url,
                         .body = st->body.data,
                         .body_len = st->body.len};
    bolsa_response resp = {.timing = st->timing};
    bolsa_endpoint_call(&srv->opt.endpoint, &req, &resp);
    return bolsa_http_send(conn, method, url, &resp);
}

/* A declared body over the limit is refused before any of it is read. */
static int bolsa_http_declared_too_large(struct MHD_Connection *conn, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return errno == ERANGE || (end != cl && n > max);
}

/* Appends a piece of the body: BOLSA_E_TOO_LARGE past the cap, BOLSA_E_NOMEM when the
 * memory ran out. */
static bolsa_errcode bolsa_http_body_add(dynbuf *body, const char *data, size_t len)
{
    switch (dynbuf_add(body, data, len)) {
    case DYNBUF_OK:
        return BOLSA_E_OK;
    case DYNBUF_NOMEM:
        return BOLSA_E_NOMEM;
    default:
        return BOLSA_E_TOO_LARGE;
    }
}

static enum MHD_Result bolsa_http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                         const char *method, const char *version,
                                         const char *upload_data, size_t *upload_data_size,
                                         void **con_cls)
{
    bolsa_server *srv = cls;
    bolsa_http_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        dynbuf_init(&st->body, srv->opt.max_body);
        bolsa_timing_start(&st->timing);
        *con_cls = st;
        /* Refused before a byte of it is read; MHD closes the connection after. */
        if (bolsa_http_declared_too_large(conn, srv->opt.max_body)) {
            st->failed = BOLSA_E_TOO_LARGE;
            return bolsa_http_body_failed(conn, method, url, st, srv->opt.max_body);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Past the cap the rest is read and dropped: memory stays bounded, and the client
         * still gets its 413 once it has finished sending. */
        if (!st->failed)
            st->failed = bolsa_http_body_add(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return bolsa_http_finish(srv, conn, url, method, st);
}

static void bolsa_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    bolsa_http_state *st = *con_cls;
    if (!st)
        return;
    dynbuf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

/* --- server -------------------------------------------------------------------------- */

/* Binds and listens ourselves rather than letting MHD do it, so that a port in use is
 * reported with its real cause instead of a bare start-up failure. */
static bolsa_errcode bolsa_http_listen(const char *host, int port, int *out, bolsa_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    int gai = getaddrinfo(host, service, &hints, &ai);
    if (gai)
        return bolsa_error_set(err, BOLSA_E_CONFIG, NULL, NULL, "bad host '%s': %s", host,
                               gai_strerror(gai));
    bolsa_errcode rc = BOLSA_E_OK;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
        rc = bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "cannot listen on %s:%d: %s", host,
                             port, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    freeaddrinfo(ai);
    if (!rc)
        *out = fd;
    return rc;
}

/* The port the kernel chose when asked for port 0, or the one asked for. */
static bolsa_errcode bolsa_http_bound_port(int fd, int *port, bolsa_error *err)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "cannot read the bound port: %s",
                               strerror(errno));
    if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return BOLSA_E_OK;
}

/* Hands the listening socket to MHD, which closes it from then on. */
static bolsa_errcode bolsa_http_start_mhd(bolsa_server *s, int fd, bolsa_error *err)
{
    s->mhd = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                              bolsa_http_access, s, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opt.threads,
                              MHD_OPTION_NOTIFY_COMPLETED, bolsa_http_completed, s,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!s->mhd)
        return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "libmicrohttpd failed to start");
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_server_start(bolsa_server **out, const bolsa_server_options *opt,
                                 bolsa_error *err)
{
    bolsa_server *s = calloc(1, sizeof(*s));
    if (!s)
        return bolsa_error_set(err, BOLSA_E_NOMEM, NULL, NULL, "out of memory");
    s->opt = *opt;
    int fd = -1;
    bolsa_errcode rc = bolsa_http_listen(opt->host, opt->port, &fd, err);
    if (!rc)
        rc = bolsa_http_bound_port(fd, &s->port, err);
    if (!rc)
        rc = bolsa_http_start_mhd(s, fd, err);
    if (rc) {
        if (fd >= 0)
            close(fd);
        free(s);
        return rc;
    }
    *out = s;
    return BOLSA_E_OK;
}

int bolsa_server_port(const bolsa_server *s)
{
    return s->port;
}

void bolsa_server_stop(bolsa_server *s)
{
    if (!s)
        return;
    /* Also closes the listen socket, though it was ours. */
    MHD_stop_daemon(s->mhd);
    free(s);
}
