/*
 * process.h: process-wide sessions (gargalo_start_process): every thread of the process
 * sampled with perf events, the threads it creates during the session included.
 */
#ifndef GG_PROCESS_H
#define GG_PROCESS_H

#include "session.h"

struct gg_process;

/* Stops a running process-wide session, from any thread, and resolves what it recorded
 * (gargalo_stop's work). Returns 0 or GARGALO_ENOMEM. */
int gg_process_stop(gargalo_session *s);

/* Stops a running process-wide session and drops what it recorded (a session freed
 * while it runs). */
void gg_process_discard(gargalo_session *s);

#endif
