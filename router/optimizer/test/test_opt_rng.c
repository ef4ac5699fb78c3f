/* test_opt_rng.c — the optimizer's seeded generator: reproducible, and its draws have the
 * moments they should (router/optimizer/src/rng.c). Fixed seeds: the numbers never change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hilo/opt_rng.h"

static void test_same_seed_same_stream(void **state) {
    (void)state;
    hilo_rng_t a, b, c;
    hilo_rng_seed(&a, 42);
    hilo_rng_seed(&b, 42);
    hilo_rng_seed(&c, 43);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = hilo_rng_next(&a);
        assert_int_equal(x, hilo_rng_next(&b));
        differs += x != hilo_rng_next(&c);
    }
    assert_true(differs > 990);
    hilo_rng_seed(&a, 0); /* seed 0 is a seed like any other: the state is never all zero */
    assert_true(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
}

static void test_uniform_and_below(void **state) {
    (void)state;
    hilo_rng_t r;
    hilo_rng_seed(&r, 7);
    double sum = 0;
    int hits[5] = {0};
    for (int i = 0; i < 100000; i++) {
        double u = hilo_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        uint32_t k = hilo_rng_below(&r, 5);
        assert_true(k < 5);
        hits[k]++;
    }
    assert_true(sum / 100000 > 0.495 && sum / 100000 < 0.505);
    for (int k = 0; k < 5; k++) assert_true(hits[k] > 19000 && hits[k] < 21000);
}

static void check_gamma_mean(hilo_rng_t *r, double shape) {
    double sum = 0, sq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double g = hilo_rng_gamma(r, shape);
        assert_true(g >= 0);
        sum += g;
        sq += g * g;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    print_message("gamma(%g): mean %g var %g\n", shape, mean, var);
    assert_true(mean > shape * 0.98 && mean < shape * 1.02);
    assert_true(var > shape * 0.95 && var < shape * 1.05); /* Gamma(k, 1): variance k */
}

static void test_gamma_and_beta_moments(void **state) {
    (void)state;
    hilo_rng_t r;
    hilo_rng_seed(&r, 2026);
    check_gamma_mean(&r, 0.3);
    check_gamma_mean(&r, 1.0);
    check_gamma_mean(&r, 4.5);
    check_gamma_mean(&r, 50.0);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double b = hilo_rng_beta(&r, 2, 98);
        assert_true(b >= 0 && b <= 1);
        sum += b;
    }
    assert_true(sum / 100000 > 0.0195 && sum / 100000 < 0.0205);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_uniform_and_below),
        cmocka_unit_test(test_gamma_and_beta_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
