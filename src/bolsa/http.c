/*
 * http.c: libmicrohttpd glue. Reads each body into a capped buffer, then runs the handler
 * chain on the worker thread that completed the request, and sends what it produced.
 * Around that: a request's state begins at its request line (so its path keeps its
 * decoded length), heads past bolsa's limits are refused in JSON, the connection watchdog
 * hears of every connection and request, and requests in flight are counted for a
 * graceful stop.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dynbuf.h"
#include "jsonalloc.h"
#include "watch.h"

#define BOLSA_HTTP_MAX_HEADERS 16

/* What a request's head may hold, answered in JSON past these: 414 for the request target
 * (path and query, as sent), 431 for the request line and header fields together or their
 * number. The common limits of web servers (8 KiB lines, 100 fields). */
#define BOLSA_HTTP_MAX_TARGET 8192
#define BOLSA_HTTP_MAX_HEAD 16384
#define BOLSA_HTTP_MAX_FIELDS 100
/* MHD keeps a request's head in a per-connection pool and answers 414 or 431 itself, in
 * HTML, before bolsa sees anything, when the head does not fit. Its default, 32 KiB, is
 * kept: bolsa's limits above fit well inside it, and a larger pool costs every request on
 * a kept-alive connection, as MHD zeroes the whole pool after each one (MHD_pool_reset);
 * measured at 1,140 kept-alive connections: 47 MB resident with 32 KiB, 157 MB with
 * 128 KiB. */
#define BOLSA_HTTP_POOL ((size_t)32 * 1024)

struct bolsa_request {
    struct MHD_Connection *conn;
    const char *method;
    bolsa_text path;
    const char *body;
    size_t body_len;
    const char *route;              /* set by the router */
    struct bolsa_http_state *state; /* the server's state of this request */
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

struct bolsa_deferred {
    struct MHD_Connection *conn;
    bolsa_response resp;
    atomic_int answered; /* bolsa_deferred_answer was called: d is the server's */
};

/* What the server keeps per request, from its request line to its answer. */
typedef struct bolsa_http_state {
    bolsa_deferred *deferred; /* the handler deferred its answer (bolsa_request_defer) */
    dynbuf body;
    int started;          /* the access handler has seen the headers */
    bolsa_errcode failed; /* why it is refused: its head (414, 431, 501, 413) or body */
    bolsa_timing timing;  /* started when the request line arrived */
    bolsa_text path;      /* percent-decoded, into buf: may hold NUL bytes */
    char buf[];           /* the path as sent (for the log), NUL, then decoded, NUL */
} bolsa_http_state;

struct bolsa_server {
    struct MHD_Daemon *mhd;
    bolsa_server_options opt;
    int port;
    bolsa_watch *watch;
    atomic_uint pending; /* requests from their request line to their end */
    atomic_int draining; /* answers close their connection */
    atomic_int holding;  /* handlers not yet started are not run */
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

bolsa_text bolsa_request_path(const bolsa_request *req)
{
    return req->path;
}

/* A query parameter being looked for, and the first value found. */
typedef struct bolsa_query_find {
    const char *name;
    bolsa_text found;
} bolsa_query_find;

static enum MHD_Result bolsa_query_match(void *cls, enum MHD_ValueKind kind, const char *key,
                                         size_t key_size, const char *value, size_t value_size)
{
    bolsa_query_find *f = cls;
    if (key_size != strlen(f->name) || memcmp(key, f->name, key_size))
        return MHD_YES;
    f->found = (bolsa_text){value, value ? value_size : 0};
    return MHD_NO; /* the first one counts */
}

/* Not MHD_lookup_connection_value: it matches names ignoring case and returns the value
 * as a C string, losing what follows a decoded NUL. */
bolsa_text bolsa_request_query(const bolsa_request *req, const char *name)
{
    bolsa_query_find f = {name, {NULL, 0}};
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, bolsa_query_match, &f);
    return f.found;
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

void bolsa_request_set_route(bolsa_request *req, const char *route)
{
    req->route = route;
}

const char *bolsa_request_route(const bolsa_request *req)
{
    return req->route;
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
    bolsa_jsonalloc_watch();
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (text && bolsa_jsonalloc_failed()) { /* a key may be missing from the text */
        free(text);
        text = NULL;
    }
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
static struct MHD_Response *bolsa_http_build(bolsa_server *srv, bolsa_response *resp)
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
    /* Stopping: the client learns not to send another request on this connection. */
    if (atomic_load(&srv->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    return r;
}

/* Logs one line per request; url is the path as sent, still percent-encoded, so a decoded
 * newline cannot forge a line. */
static void bolsa_http_log(const char *method, const char *url, const bolsa_response *resp)
{
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
}

static enum MHD_Result bolsa_http_send(bolsa_server *srv, struct MHD_Connection *conn,
                                       const char *method, const char *url, bolsa_response *resp)
{
    if (resp->status == 0) {
        bolsa_error e = {0};
        bolsa_error_set(&e, BOLSA_E_INTERNAL, NULL, NULL, "the handler gave no answer");
        bolsa_response_error(resp, &e);
    }
    struct MHD_Response *r = bolsa_http_build(srv, resp);
    enum MHD_Result ok = r ? MHD_queue_response(conn, (unsigned)resp->status, r) : MHD_NO;
    if (r)
        MHD_destroy_response(r);
    bolsa_http_log(method, url, resp);
    bolsa_response_free(resp);
    return ok;
}

/* The error of a request refused before its handler runs, from its code. */
static void bolsa_http_refusal(const bolsa_server *srv, bolsa_errcode code, bolsa_error *e)
{
    switch (code) {
    case BOLSA_E_TOO_LARGE:
        bolsa_error_set(e, code, "body", NULL, "Request body is larger than %zu bytes",
                        srv->opt.max_body);
        break;
    case BOLSA_E_URI_TOO_LONG:
        bolsa_error_set(e, code, NULL, NULL, "The request target is longer than %d bytes",
                        BOLSA_HTTP_MAX_TARGET);
        break;
    case BOLSA_E_HEADERS_TOO_LARGE:
        bolsa_error_set(e, code, "header", NULL,
                        "The request has more than %d header fields or %d bytes of head",
                        BOLSA_HTTP_MAX_FIELDS, BOLSA_HTTP_MAX_HEAD);
        break;
    case BOLSA_E_TRANSFER_ENCODING:
        bolsa_error_set(e, code, "header", "transfer-encoding",
                        "Transfer-Encoding should be chunked or absent");
        break;
    default:
        bolsa_error_set(e, BOLSA_E_NOMEM, "body", NULL, "out of memory reading the body");
    }
}

/* Answers a request refused before its handler ran: st->failed says why. */
static enum MHD_Result bolsa_http_refuse(bolsa_server *srv, struct MHD_Connection *conn,
                                         const char *method, bolsa_http_state *st)
{
    bolsa_response resp = {.timing = st->timing};
    bolsa_error e = {0};
    bolsa_http_refusal(srv, st->failed, &e);
    bolsa_response_error(&resp, &e);
    return bolsa_http_send(srv, conn, method, st->buf, &resp);
}

/* --- MHD callbacks ------------------------------------------------------------------- */

/* The connection's socket, as the watchdog knows it. */
static int bolsa_http_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/* --- answers given later --------------------------------------------------------------- */

bolsa_deferred *bolsa_request_defer(bolsa_request *req, bolsa_response *resp)
{
    bolsa_deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->conn = req->conn;
    d->resp.timing = resp->timing;
    req->state->deferred = d;
    /* Here, in the access handler, as MHD asks: an answer given before the handler returns
     * then finds the connection suspended already. */
    MHD_suspend_connection(req->conn);
    return d;
}

bolsa_response *bolsa_deferred_response(bolsa_deferred *d)
{
    return &d->resp;
}

void bolsa_deferred_answer(bolsa_deferred *d)
{
    /* MHD calls the access handler again for the connection, on its worker thread, which
     * sends d->resp (bolsa_http_finish). */
    atomic_store(&d->answered, 1);
    MHD_resume_connection(d->conn);
}

/* The deferred answer of a resumed connection goes out, and d with it. */
static enum MHD_Result bolsa_http_send_deferred(bolsa_server *srv, struct MHD_Connection *conn,
                                                const char *method, bolsa_http_state *st)
{
    bolsa_deferred *d = st->deferred;
    st->deferred = NULL;
    enum MHD_Result ok = bolsa_http_send(srv, conn, method, st->buf, &d->resp);
    free(d);
    return ok;
}

/* Request complete: run the handler chain here, on this worker thread, and answer. */
static enum MHD_Result bolsa_http_finish(bolsa_server *srv, struct MHD_Connection *conn,
                                         const char *method, bolsa_http_state *st)
{
    if (st->deferred)
        return bolsa_http_send_deferred(srv, conn, method, st);
    if (st->failed)
        return bolsa_http_refuse(srv, conn, method, st);
    /* Not run when the watchdog cut the connection as its last bytes came in, or when the
     * server is stopping: no work is done whose answer could not go out. */
    if (!bolsa_watch_received(srv->watch, bolsa_http_fd(conn)) || atomic_load(&srv->holding))
        return MHD_NO;
    bolsa_request req = {.conn = conn,
                         .method = method,
                         .path = st->path,
                         .body = st->body.data,
                         .body_len = st->body.len,
                         .state = st};
    bolsa_response resp = {.timing = st->timing};
    bolsa_endpoint_call(&srv->opt.endpoint, &req, &resp);
    if (st->deferred) { /* answered later, from bolsa_deferred_answer */
        bolsa_response_free(&resp);
        return MHD_YES;
    }
    return bolsa_http_send(srv, conn, method, st->buf, &resp);
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

/* What the head of a request (request line and header fields) says before its body is
 * read: too big (431), a transfer coding MHD would read until the connection closes (501),
 * a declared body over the limit (413). */
static bolsa_errcode bolsa_http_head_check(struct MHD_Connection *conn, size_t max_body)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL) > BOLSA_HTTP_MAX_FIELDS ||
        (ci && ci->header_size > BOLSA_HTTP_MAX_HEAD))
        return BOLSA_E_HEADERS_TOO_LARGE;
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te && strcasecmp(te, "chunked"))
        return BOLSA_E_TRANSFER_ENCODING;
    return bolsa_http_declared_too_large(conn, max_body) ? BOLSA_E_TOO_LARGE : BOLSA_E_OK;
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

/* MHD calls this with the request line's target as sent, before it decodes anything
 * (MHD_OPTION_URI_LOG_CALLBACK); what it returns is the request's *con_cls. The path is
 * decoded here, keeping its length: MHD hands the access handler a decoded C string, on
 * which "/health%00" would read as "/health". */
static void *bolsa_http_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
    bolsa_server *srv = cls;
    atomic_fetch_add(&srv->pending, 1); /* until bolsa_http_completed, which MHD always calls */
    size_t raw = strcspn(uri, "?");
    bolsa_http_state *st = calloc(1, sizeof(*st) + 2 * (raw + 1));
    if (!st)
        return NULL; /* the access handler then refuses the request */
    char *decoded = st->buf + raw + 1;
    memcpy(st->buf, uri, raw);
    memcpy(decoded, uri, raw);
    st->path = (bolsa_text){decoded, MHD_http_unescape(decoded)};
    if (strlen(uri) > BOLSA_HTTP_MAX_TARGET)
        st->failed = BOLSA_E_URI_TOO_LONG; /* answered once the head is in */
    dynbuf_init(&st->body, srv->opt.max_body);
    bolsa_timing_start(&st->timing);
    return st;
}

static enum MHD_Result bolsa_http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                         const char *method, const char *version,
                                         const char *upload_data, size_t *upload_data_size,
                                         void **con_cls)
{
    bolsa_server *srv = cls;
    bolsa_http_state *st = *con_cls;
    if (!st)
        return MHD_NO; /* no memory for its state: the connection is closed */
    if (!st->started) {
        st->started = 1;
        if (!st->failed)
            st->failed = bolsa_http_head_check(conn, srv->opt.max_body);
        /* Refused before a byte of the body is read; MHD closes the connection after. */
        if (st->failed)
            return bolsa_http_refuse(srv, conn, method, st);
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
    return bolsa_http_finish(srv, conn, method, st);
}

/* A request has ended: answered, or its connection closed. */
static void bolsa_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    bolsa_server *srv = cls;
    bolsa_http_state *st = *con_cls;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        bolsa_watch_answered(srv->watch, bolsa_http_fd(conn));
    atomic_fetch_sub(&srv->pending, 1);
    if (!st)
        return;
    /* A resumed connection that failed before its answer went out. One never answered
     * stays with the thread that holds it (a stop waits for deferred answers). */
    if (st->deferred && atomic_load(&st->deferred->answered)) {
        bolsa_response_free(&st->deferred->resp);
        free(st->deferred);
    }
    dynbuf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

/* A connection opened or is about to close (its socket still open). */
static void bolsa_http_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                  enum MHD_ConnectionNotificationCode code)
{
    bolsa_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        bolsa_watch_opened(srv->watch, bolsa_http_fd(conn));
    else
        bolsa_watch_closed(srv->watch, bolsa_http_fd(conn));
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

/* Fills opts (room for 10) with the daemon's options, ending with MHD_OPTION_END. */
static void bolsa_http_options(bolsa_server *s, int fd, struct MHD_OptionItem *opts)
{
    size_t n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, s->opt.threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)bolsa_http_begin, s};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)bolsa_http_completed, s};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)bolsa_http_connection, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                        (intptr_t)BOLSA_HTTP_POOL, NULL};
    if (s->opt.max_connections)
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, s->opt.max_connections, NULL};
    /* Without it one client can take every connection, and everyone else waits. */
    if (s->opt.max_per_address)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                            s->opt.max_per_address, NULL};
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* Hands the listening socket to MHD, which closes it from then on. MHD_USE_ITC lets
 * bolsa_server_quiesce wake the workers, and a resumed connection (bolsa_deferred_answer)
 * wake its worker. */
static bolsa_errcode bolsa_http_start_mhd(bolsa_server *s, int fd, bolsa_error *err)
{
    struct MHD_OptionItem opts[10];
    bolsa_http_options(s, fd, opts);
    s->mhd = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        0, NULL, NULL, bolsa_http_access, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
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
        rc = bolsa_watch_start(&s->watch, opt->request_timeout, err);
    if (!rc)
        rc = bolsa_http_start_mhd(s, fd, err);
    if (rc) {
        if (fd >= 0)
            close(fd);
        bolsa_watch_stop(s->watch);
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

void bolsa_server_quiesce(bolsa_server *s)
{
    atomic_store(&s->draining, 1);
    /* MHD stops watching the listening socket and hands it back; closed, it refuses new
     * connections at once instead of letting them wait in its queue. */
    int fd = MHD_quiesce_daemon(s->mhd);
    if (fd >= 0)
        close(fd);
}

unsigned bolsa_server_pending(const bolsa_server *s)
{
    return atomic_load(&s->pending);
}

void bolsa_server_hold(bolsa_server *s)
{
    atomic_store(&s->holding, 1);
}

void bolsa_server_stop(bolsa_server *s)
{
    if (!s)
        return;
    /* Also closes the listen socket, though it was ours, unless quiesced. */
    MHD_stop_daemon(s->mhd);
    bolsa_watch_stop(s->watch);
    free(s);
}
