/*
 * sqlmark.h: the markers the stores put around the statements they run, so that a
 * profiled request's page lists its SQL (gargalo's "sql" markers: statement, executions,
 * time, call sites). Each marker spans one execution, as the database library runs it:
 * SQLite, from the first bind to the reset; PostgreSQL, from sending the statement to
 * reading its result. A COPY's marker spans the whole COPY, and the libpq calls inside
 * it (sending data, ending it, waiting for the server's result) get markers of their own,
 * in the category "libpq". Texts are normalized (sqltext.h): no literal or bound value
 * ever reaches a profile.
 *
 * Markers cost a few nanoseconds on a thread no session samples (gargalo keeps only the
 * nesting), so they are always on. Normalizing is the dearer part: statements run many
 * times per request keep their normalized text (bolsa_sqlmark_begin_text).
 */
#ifndef BOLSA_SQLMARK_H
#define BOLSA_SQLMARK_H

#include "sqltext.h"

/* Begins a statement's marker with its text already normalized. NULL (a text that could
 * not be kept, out of memory) marks it as "?". */
void bolsa_sqlmark_begin_text(const char *normalized);
/* Begins a statement's marker, normalizing sql now: for statements run once or twice a
 * request (BEGIN, COMMIT, a query). */
void bolsa_sqlmark_begin(const char *sql, bolsa_sql_dialect dialect);
/* Begins the marker of a libpq call that is a step of a statement (a COPY's data, its
 * end, the wait for its result) or no statement at all (a reconnect), named by it. */
void bolsa_sqlmark_call(const char *what);
/* Ends the innermost marker begun above. */
void bolsa_sqlmark_end(void);

#endif
