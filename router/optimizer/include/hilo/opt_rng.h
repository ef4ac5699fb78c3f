/* opt_rng.h — the optimizer's own seeded random numbers: xoshiro256** (Blackman & Vigna, 2018)
 * seeded through splitmix64, and the draws Thompson sampling needs (uniform, normal, Gamma, Beta).
 * Used by the contact optimizer (router/optimizer/) and its simulator (tests/sim/): the same seed
 * gives the same decisions on every machine, so a simulated run can be repeated exactly.
 * A generator is a plain value owned by its caller; it allocates nothing. Not for secrets. */
#ifndef HILO_OPT_RNG_H
#define HILO_OPT_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state; never all zero (seeding sees to it) */
} hilo_rng_t;

/* Seeds from one 64-bit number (any value, 0 included). */
void hilo_rng_seed(hilo_rng_t *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t hilo_rng_next(hilo_rng_t *r);
/* Uniform in [0, 1), 53 bits. */
double hilo_rng_uniform(hilo_rng_t *r);
/* Uniform integer in [0, n); n > 0. */
uint32_t hilo_rng_below(hilo_rng_t *r, uint32_t n);
/* Standard normal (Marsaglia's polar method; the second value of the pair is dropped so that
 * the generator's state is all there is to it). */
double hilo_rng_normal(hilo_rng_t *r);
/* Gamma(shape, 1), shape > 0 (Marsaglia & Tsang 2000; shape < 1 by the boost u^(1/shape)). */
double hilo_rng_gamma(hilo_rng_t *r, double shape);
/* Beta(a, b), a > 0 and b > 0, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
double hilo_rng_beta(hilo_rng_t *r, double a, double b);
/* splitmix64's finalizer: a fixed, well-mixed 64-bit hash of a 64-bit value. */
uint64_t hilo_rng_mix(uint64_t x);

#endif
