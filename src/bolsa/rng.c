/*
 * rng.c: xoshiro256** (Blackman and Vigna), its state filled by splitmix64 so that any
 * seed, even 0, gives a well-mixed, non-zero state.
 */
#include "rng.h"

#include <sys/random.h>
#include <time.h>

static uint64_t bolsa_rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t bolsa_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void bolsa_rng_seed(bolsa_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = bolsa_rng_splitmix(&seed);
}

uint64_t bolsa_rng_entropy(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        /* Only without a working getrandom: the clock still differs between requests. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    }
    /* 53 bits: the seed is reported in JSON, and a JavaScript client must be able to send
     * it back exactly. */
    return seed & ((1ULL << 53) - 1);
}

uint64_t bolsa_rng_next(bolsa_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = bolsa_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = bolsa_rng_rotl(s[3], 45);
    return result;
}

uint64_t bolsa_rng_below(bolsa_rng *r, uint64_t n)
{
    /* Lemire's multiply-shift: the high half of x * n is uniform in [0, n) once the few
     * low products that would favour some values are rejected. */
    unsigned __int128 m = (unsigned __int128)bolsa_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)bolsa_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}
