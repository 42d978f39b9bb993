/*
 * generate.h: the synthetic transactions of a POST, produced chunk by chunk through a
 * bolsa_row_source so that memory stays flat whatever the row count.
 */
#ifndef BOLSA_GENERATE_H
#define BOLSA_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "store.h"

#define BOLSA_VALOR_MIN_CENTS 100   /* R$ 1.00 */
#define BOLSA_VALOR_MAX_CENTS 10000 /* R$ 100.00 */

typedef struct bolsa_gen {
    bolsa_rng rng;
    const char (*tickers)[BOLSA_TICKER_MAX + 1]; /* borrowed, n_tickers > 0 */
    size_t n_tickers;
    uint64_t remaining;
} bolsa_gen;

/* Prepares count rows drawn from tickers with the given seed. The tickers must outlive g. */
void bolsa_gen_init(bolsa_gen *g, const char (*tickers)[BOLSA_TICKER_MAX + 1], size_t n_tickers,
                    uint64_t count, uint64_t seed);
/* Fills up to cap rows (ticker uniform over the list, valor uniform in cents over
 * BOLSA_VALOR_MIN_CENTS..BOLSA_VALOR_MAX_CENTS); returns how many, 0 at the end. */
size_t bolsa_gen_next(void *gen, bolsa_row *rows, size_t cap);
/* A row source reading from g. */
bolsa_row_source bolsa_gen_source(bolsa_gen *g);

#endif
