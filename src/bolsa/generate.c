/*
 * generate.c: synthetic rows for POST /api/v1/transaction, the same rows for the same
 * seed, ticker list and count.
 */
#include "generate.h"

#include <string.h>

void bolsa_gen_init(bolsa_gen *g, const char (*tickers)[BOLSA_TICKER_MAX + 1], size_t n_tickers,
                    uint64_t count, uint64_t seed)
{
    bolsa_rng_seed(&g->rng, seed);
    g->tickers = tickers;
    g->n_tickers = n_tickers;
    g->remaining = count;
}

size_t bolsa_gen_next(void *gen, bolsa_row *rows, size_t cap)
{
    bolsa_gen *g = gen;
    size_t n = g->remaining < cap ? (size_t)g->remaining : cap;
    const uint64_t span = BOLSA_VALOR_MAX_CENTS - BOLSA_VALOR_MIN_CENTS + 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = g->n_tickers == 1 ? 0 : bolsa_rng_below(&g->rng, g->n_tickers);
        memcpy(rows[i].ativo, g->tickers[t], sizeof(rows[i].ativo));
        rows[i].valor_cents = BOLSA_VALOR_MIN_CENTS + (int64_t)bolsa_rng_below(&g->rng, span);
    }
    g->remaining -= n;
    return n;
}

bolsa_row_source bolsa_gen_source(bolsa_gen *g)
{
    return (bolsa_row_source){.next = bolsa_gen_next, .ctx = g};
}
