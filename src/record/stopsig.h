/*
 * stopsig.h: the stop signals (SIGINT, SIGTERM, SIGHUP) in the recorded program. Where the
 * program leaves one to its default, which ends the process at once, a Ctrl-C at the
 * terminal (which reaches the program as well as gargalo) would lose the recording: so
 * such a signal is caught instead, the profile is sent, and then the signal is raised
 * again with its default action, so the program still ends by it. A thread that sent the
 * signal to its own process (raise) waits in the handler meanwhile: it never runs on. A program
 * that handles these signals itself (sigaction, sigwait, signalfd) replaces or bypasses the handler
 * and ends its own way, sending the profile at exit.
 */
#ifndef RECORD_STOPSIG_H
#define RECORD_STOPSIG_H

/* Catches the stop signals the program leaves to their default. Each one caught writes
 * its number (one byte) to a pipe, whose read end (non-blocking) is returned; a second one
 * before stopsig_raise ends the process at once. -1 when the pipe cannot be made (the
 * signals are then left alone). */
int stopsig_install(void);

/* The profile is out: sig gets its default action back (if the handler is still there)
 * and is sent to the process again. */
void stopsig_raise(int sig);

/* In a child the recorded process forked: the handlers that are still there go back to
 * the default. Async-signal-safe. */
void stopsig_forget(void);

#endif
