/* rng.c — xoshiro256** and the draws built on it (hilo/opt_rng.h). Written for hilo from the
 * published algorithms: xoshiro256** and splitmix64 (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", 2018), the polar normal (Marsaglia & Bray 1964) and the
 * Gamma sampler of Marsaglia & Tsang ("A simple method for generating gamma variables", 2000). */
#include <math.h>

#include "hilo/mix64.h"
#include "hilo/opt_rng.h"

uint64_t hilo_rng_mix(uint64_t x) { return hilo_mix64(x); }

void hilo_rng_seed(hilo_rng_t *r, uint64_t seed) {
    /* splitmix64: consecutive outputs of a Weyl sequence, each finalised; never four zeros */
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        r->s[i] = hilo_rng_mix(seed);
    }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t hilo_rng_next(hilo_rng_t *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double hilo_rng_uniform(hilo_rng_t *r) { return (double)(hilo_rng_next(r) >> 11) * 0x1.0p-53; }

uint32_t hilo_rng_below(hilo_rng_t *r, uint32_t n) {
    /* multiply-shift (Lemire): the bias is below 2^-32 for our small n, and it is deterministic */
    return (uint32_t)(((hilo_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double hilo_rng_normal(hilo_rng_t *r) {
    double u, v, s;
    do {
        u = 2.0 * hilo_rng_uniform(r) - 1.0;
        v = 2.0 * hilo_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double hilo_rng_gamma(hilo_rng_t *r, double shape) {
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a): the squeeze below needs a >= 1 */
        double u = hilo_rng_uniform(r);
        return hilo_rng_gamma(r, shape + 1.0) * pow(u > 0 ? u : 0x1.0p-53, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = hilo_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = hilo_rng_uniform(r);
        if (u < 1.0 - 0.0331 * (x * x) * (x * x)) return d * v;
        if (u > 0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

double hilo_rng_beta(hilo_rng_t *r, double a, double b) {
    double x = hilo_rng_gamma(r, a), y = hilo_rng_gamma(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}
