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
 * nesting), so they are always on. Normalizing is the dearer part (about 10 ns a byte),
 * so each statement is normalized once per connection: a prepared statement keeps its
 * text (bolsa_sqlmark_begin_text), and the others go through the connection's cache.
 */
#ifndef BOLSA_SQLMARK_H
#define BOLSA_SQLMARK_H

#include "sqltext.h"

#define BOLSA_SQLMARK_CACHE 8

/* The normalized texts of the statements a connection runs, each looked up by its SQL
 * (compared whole: the same address may hold another statement later). A connection
 * runs a handful; past BOLSA_SQLMARK_CACHE the oldest entry makes room. Zeroed is empty;
 * one thread uses it at a time, as its connection. */
typedef struct bolsa_sqlmark_cache {
    struct {
        char *sql, *text;
    } entry[BOLSA_SQLMARK_CACHE];
    unsigned next; /* the entry a new statement takes */
} bolsa_sqlmark_cache;

/* Begins a statement's marker with its text already normalized. NULL (a text that could
 * not be kept, out of memory) marks it as "?". */
void bolsa_sqlmark_begin_text(const char *normalized);
/* Begins a statement's marker, normalizing sql now: for statements run once in a while
 * (a checkpoint in the background). */
void bolsa_sqlmark_begin(const char *sql, bolsa_sql_dialect dialect);
/* sql's normalized text from cache, normalized and kept there the first time. Valid
 * until the cache's next use. NULL when there was no memory to keep it. */
const char *bolsa_sqlmark_text(bolsa_sqlmark_cache *cache, const char *sql,
                               bolsa_sql_dialect dialect);
/* Begins a statement's marker with sql's text from cache (bolsa_sqlmark_text). */
void bolsa_sqlmark_begin_cached(bolsa_sqlmark_cache *cache, const char *sql,
                                bolsa_sql_dialect dialect);
/* Frees what the cache holds and empties it. */
void bolsa_sqlmark_cache_free(bolsa_sqlmark_cache *cache);
/* Begins the marker of a libpq call that is a step of a statement (a COPY's data, its
 * end, the wait for its result) or no statement at all (a reconnect), named by it. */
void bolsa_sqlmark_call(const char *what);
/* Ends the innermost marker begun above. */
void bolsa_sqlmark_end(void);

#endif
