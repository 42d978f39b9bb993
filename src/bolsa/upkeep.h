/*
 * upkeep.h: a backend's periodic work, kept off the request path: one thread, with a
 * database connection of its own, that calls the backend's maintain() every period.
 * SQLite uses it to checkpoint its write-ahead log, which a committing request would
 * otherwise do itself (with an fsync) every few requests.
 */
#ifndef BOLSA_UPKEEP_H
#define BOLSA_UPKEEP_H

#include "store.h"

typedef struct bolsa_upkeep bolsa_upkeep;

/* Starts the thread for be (whose maintain must not be NULL) on url. Its connection is
 * opened by the thread and reopened after a failure. Returns BOLSA_E_OK, or BOLSA_E_NOMEM
 * or BOLSA_E_INTERNAL with err saying why no thread could be made. */
bolsa_errcode bolsa_upkeep_start(bolsa_upkeep **out, const bolsa_store_backend *be, const char *url,
                                 unsigned period_ms, bolsa_error *err);

/* Stops and joins the thread, closes its connection, frees u. NULL is a no-op. */
void bolsa_upkeep_stop(bolsa_upkeep *u);

#endif
