/*
 * rng.h: a small, fast, seedable pseudo-random generator (xoshiro256**, seeded through
 * splitmix64). Good enough for synthetic data; not for anything secret.
 */
#ifndef BOLSA_RNG_H
#define BOLSA_RNG_H

#include <stdint.h>

typedef struct bolsa_rng {
    uint64_t s[4];
} bolsa_rng;

/* Seeds *r so the same seed always yields the same sequence, on any machine. */
void bolsa_rng_seed(bolsa_rng *r, uint64_t seed);
/* A fresh seed from the kernel's entropy (getrandom), below 2^53. Callers seed with it
 * and report it, so that a run can be repeated. */
uint64_t bolsa_rng_entropy(void);
/* The next 64 random bits. */
uint64_t bolsa_rng_next(bolsa_rng *r);
/* A uniform integer in [0, n), without modulo bias; n must be > 0. */
uint64_t bolsa_rng_below(bolsa_rng *r, uint64_t n);

#endif
