/*
 * wire.c: the messages between `gargalo record` and the preloaded object (wire.h). A
 * message is a tag byte, a 64-bit payload length, then the payload.
 */
#include "wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WIRE_VERSION 1

int wire_setup_format(const wire_setup *st, char *out, size_t cap)
{
    int n = snprintf(out, cap, "v%d fd=%d ino=%lu pid=%ld clock=%s interval=%u duration=%lu",
                     WIRE_VERSION, st->fd, st->ino, (long)st->pid, st->cpu_clock ? "cpu" : "wall",
                     st->interval_us, st->duration_ms);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int wire_setup_parse(const char *text, wire_setup *st)
{
    int version, end = 0;
    long pid;
    char clock[8];
    if (sscanf(text, "v%d fd=%d ino=%lu pid=%ld clock=%7s interval=%u duration=%lu%n", &version,
               &st->fd, &st->ino, &pid, clock, &st->interval_us, &st->duration_ms, &end) != 7 ||
        text[end] != '\0' || version != WIRE_VERSION || st->fd < 0 || pid <= 0)
        return -1;
    st->pid = (pid_t)pid;
    st->cpu_clock = strcmp(clock, "cpu") == 0;
    return st->cpu_clock || strcmp(clock, "wall") == 0 ? 0 : -1;
}

unsigned long wire_socket_ino(int fd)
{
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode))
        return 0;
    return (unsigned long)sb.st_ino;
}

static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n, len -= (size_t)n;
    }
    return 0;
}

int wire_send(int fd, wire_tag tag, const void *data, size_t len)
{
    unsigned char head[1 + sizeof(uint64_t)];
    uint64_t n = len;
    head[0] = (unsigned char)tag;
    memcpy(head + 1, &n, sizeof(n));
    return send_all(fd, head, sizeof(head)) || send_all(fd, data, len) ? -1 : 0;
}

void wire_reader_init(wire_reader *r, size_t limit)
{
    memset(r, 0, sizeof(*r));
    r->limit = limit;
}

void wire_reader_free(wire_reader *r)
{
    free(r->data);
    wire_reader_init(r, r->limit);
}

/* The head is in: the payload's room, NUL included. -1 when it is over the limit. */
static int open_payload(wire_reader *r)
{
    uint64_t n;
    memcpy(&n, r->head + 1, sizeof(n));
    if (n > r->limit || !(r->data = malloc((size_t)n + 1)))
        return -1;
    r->len = (size_t)n;
    r->got = 0;
    return 0;
}

/* One read into the head or the payload: 1 when it brought bytes, 0 when there were
 * none for now, -1 at the end or on an error. */
static int read_some(wire_reader *r, int fd)
{
    bool in_head = !r->data;
    char *to = in_head ? (char *)r->head + r->got : r->data + r->got;
    size_t want = (in_head ? sizeof(r->head) : r->len) - r->got;
    ssize_t n = want ? read(fd, to, want) : 0;
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (want && n <= 0)
        return -1;
    r->got += (size_t)n;
    if (in_head && r->got == sizeof(r->head))
        return open_payload(r) ? -1 : 1;
    return 1;
}

int wire_read(wire_reader *r, int fd, wire_msg *m)
{
    for (;;) {
        if (r->data && r->got == r->len) {
            r->data[r->len] = '\0';
            *m = (wire_msg){(wire_tag)r->head[0], r->data, r->len};
            r->data = NULL; /* the caller's now */
            r->got = 0;
            return 1;
        }
        int rc = read_some(r, fd);
        if (rc <= 0)
            return rc;
    }
}
