/*
 * watch.h: the connection watchdog, for what libmicrohttpd does not do by itself:
 *
 * - A deadline for a whole request. MHD's connection timeout restarts on every byte
 *   received, so a client trickling one byte every 10 s holds a connection forever.
 * - Noticing a client that has gone. MHD (0.9.75, epoll, edge-triggered) takes a read
 *   that returns less than it asked for as "nothing more to read" and waits for the
 *   next readiness event; when the client's close (FIN) arrived together with its last
 *   bytes, there is no next event, and the connection sits in CLOSE_WAIT until its
 *   60 s idle timeout, holding its slot (see watch.c).
 *
 * Every connection waiting for a request (opened, or answered and kept alive) has the
 * time it began waiting; a thread looks at them a few times a second and shuts down
 * (shutdown(2)) those past the deadline and those whose client has closed with nothing
 * left to read. MHD then sees the socket end and closes the connection the usual way.
 * A request received whole is never cut: its handler may run as long as it needs.
 */
#ifndef BOLSA_WATCH_H
#define BOLSA_WATCH_H

#include "errors.h"

typedef struct bolsa_watch bolsa_watch;

/* Starts the thread. deadline_s: how long a connection may wait for a whole request
 * (headers and body) from its opening or its previous answer; 0 for no deadline (gone
 * clients are still noticed). Tracks sockets below the process's open-file limit. */
bolsa_errcode bolsa_watch_start(bolsa_watch **out, unsigned deadline_s, bolsa_error *err);
/* Stops the thread and frees w. NULL is a no-op. */
void bolsa_watch_stop(bolsa_watch *w);

/* From MHD's callbacks, on the connection's socket fd: */
/* A connection was accepted: it waits for its first request from now. */
void bolsa_watch_opened(bolsa_watch *w, int fd);
/* Its socket is about to be closed: forget it (before the fd can be reused). */
void bolsa_watch_closed(bolsa_watch *w, int fd);
/* Its request has arrived whole: no deadline while it is handled and answered. Returns 0
 * when the watchdog already shut the connection down: the request must not be run. */
int bolsa_watch_received(bolsa_watch *w, int fd);
/* Its answer has gone out and the connection stays open: it waits for the next one. */
void bolsa_watch_answered(bolsa_watch *w, int fd);

#endif
