/*
 * wire.h: what `gargalo record` and the object it preloads into the program say to each
 * other. gargalo hands the program one end of a socket pair and describes the recording
 * in one environment variable; over the socket the program says it started (or why it
 * could not), and at the end sends the session as gargalo's JSON; gargalo may ask it to
 * stop early. Both sides are on one machine, so numbers travel in host order.
 */
#ifndef RECORD_WIRE_H
#define RECORD_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The variable naming the recording; see wire_setup. */
#define WIRE_ENV "GARGALO_RECORD"

/* File name of the preloaded object, which gargalo looks for beside itself. */
#define WIRE_PRELOAD_NAME "libgargalo-record.so"

typedef enum wire_tag {
    WIRE_STARTED = 'S', /* program -> gargalo: sampling starts now; no payload */
    WIRE_FAILED = 'F',  /* program -> gargalo: no profile (after 'S' too); the payload says why */
    WIRE_PROFILE = 'P', /* program -> gargalo: the session, gargalo's JSON */
    WIRE_STOP = 'Q'     /* gargalo -> program: stop now and send the profile (a signal) */
} wire_tag;

/* What the preloaded object needs to know: which descriptor is the socket (and its inode,
 * so a descriptor number the program reused is never taken for it), which process is the
 * one to record (its descendants are not), how to sample, and for how long (the program
 * times it from its own start of sampling, which gargalo cannot see). */
typedef struct wire_setup {
    int fd;
    unsigned long ino;
    pid_t pid;
    int cpu_clock; /* 1: GARGALO_CLOCK_CPU, 0: wall */
    unsigned interval_us;
    unsigned long duration_ms; /* 0: until the program exits */
} wire_setup;

/* The variable's value; 0, or -1 when it does not fit. */
int wire_setup_format(const wire_setup *st, char *out, size_t cap);
/* 0, or -1 when text is not a value wire_setup_format writes. */
int wire_setup_parse(const char *text, wire_setup *st);

/* The inode of the socket fd, or 0 when fd is not an open socket. */
unsigned long wire_socket_ino(int fd);

/* Sends one message whole, retrying after signals. 0, or -1 with errno (EPIPE when the
 * other side is gone: never SIGPIPE). */
int wire_send(int fd, wire_tag tag, const void *data, size_t len);

/* A message being received, possibly over several reads. */
typedef struct wire_reader {
    unsigned char head[1 + sizeof(uint64_t)];
    size_t got;   /* bytes of the head, then of the payload, received */
    char *data;   /* the payload, NUL-terminated once complete */
    size_t len;   /* its announced length */
    size_t limit; /* longest payload accepted */
} wire_reader;

void wire_reader_init(wire_reader *r, size_t limit);
void wire_reader_free(wire_reader *r);

/* A whole message; data is NUL-terminated and the caller's, to free(). */
typedef struct wire_msg {
    wire_tag tag;
    char *data;
    size_t len;
} wire_msg;

/* Reads what fd has. Returns 1 with a whole message in *m; 0 when fd has nothing more for
 * now (a non-blocking fd); -1 at the end of the stream, on an error or a payload over the
 * limit. One call reads at most one message. */
int wire_read(wire_reader *r, int fd, wire_msg *m);

#endif
