/* test_auth.c — the pure checks of auth.c: the Origin allowlist that guards /ws and
 * POST /api/login ("*", comma-separated lists, exact scheme://host:port matches, no Origin at
 * all) and the session token's hash (hex SHA-256, the suffix of hilo:session:<hash>). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"

/* A console with only the settings the allowlist reads (the struct is large: on the heap). */
typedef struct {
    hilo_router_config_t cfg;
    hilo_console_t *k;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->k = calloc(1, sizeof *f->k);
    if (!f->k) {
        free(f);
        return -1;
    }
    f->k->cfg = &f->cfg;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    free(f->k);
    free(f);
    return 0;
}

static bool allowed(void **state, const char *list, const char *origin) {
    fixture_t *f = *state;
    f->cfg.console_allowed_origins = list;
    return console_origin_allowed(f->k, origin);
}

static void test_origin_exact_match(void **state) {
    const char *list = "https://console.example.com:8443";
    assert_true(allowed(state, list, "https://console.example.com:8443"));
    assert_false(allowed(state, list, "http://console.example.com:8443"));   /* scheme */
    assert_false(allowed(state, list, "https://console.example.com:8444"));  /* port */
    assert_false(allowed(state, list, "https://console.example.com"));       /* a prefix of the entry */
    assert_false(allowed(state, list, "https://console.example.com:84"));
    assert_false(allowed(state, list, "https://console.example.com:8443/")); /* the entry is a prefix */
    assert_false(allowed(state, list, "https://console.example.com:8443.evil.test"));
    assert_false(allowed(state, list, "https://evil.test"));
}

static void test_origin_list(void **state) {
    const char *list = "http://localhost:8080, https://a.example:443,https://b.example:9000";
    assert_true(allowed(state, list, "http://localhost:8080"));
    assert_true(allowed(state, list, "https://a.example:443"));
    assert_true(allowed(state, list, "https://b.example:9000"));
    assert_false(allowed(state, list, "https://c.example:9000"));
    /* Separators never join or split an origin. */
    assert_false(allowed(state, list, "http://localhost:8080, https://a.example:443"));
    assert_false(allowed(state, list, " https://a.example:443"));
    /* Empty entries (",,", leading or trailing commas and spaces) are skipped. */
    assert_true(allowed(state, " ,, http://x.test:1 ,,", "http://x.test:1"));
    assert_false(allowed(state, " ,, http://x.test:1 ,,", "http://x.test:2"));
}

static void test_origin_star(void **state) {
    assert_true(allowed(state, "*", "https://anything.test:1"));
    assert_true(allowed(state, "http://a.test:1,*", "https://other.test:2"));
    assert_true(allowed(state, " * ", "https://other.test:2"));
    /* Only a lone "*" is the wildcard: no patterns. */
    assert_false(allowed(state, "https://*.example.com:443", "https://a.example.com:443"));
    assert_false(allowed(state, "**", "https://a.test:1"));
    assert_false(allowed(state, "*x", "https://a.test:1"));
}

static void test_origin_empty_list(void **state) {
    assert_false(allowed(state, "", "https://a.test:1"));
    assert_false(allowed(state, NULL, "https://a.test:1"));
    assert_false(allowed(state, " , ", "https://a.test:1"));
}

static void test_no_origin_is_not_a_browser(void **state) {
    /* No Origin header: not a cross-site browser request; the token still decides. */
    assert_true(allowed(state, "", NULL));
    assert_true(allowed(state, "", ""));
    assert_true(allowed(state, "https://a.test:1", NULL));
}

/* --- the session token's hash ----------------------------------------------------------- */

static void test_token_hash_vectors(void **state) {
    char out[65];
    memset(out, 'X', sizeof out);
    console_token_hash("abc", out); /* FIPS 180-2 test vector */
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    console_token_hash("", out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_token_hash_shape(void **state) {
    /* A login token: 64 hex characters; its hash is 64 lowercase hex characters, NUL-ended. */
    const char *token = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char a[65], b[65], c[65];
    memset(a, 'X', sizeof a);
    console_token_hash(token, a);
    assert_int_equal(a[64], '\0');
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_not_equal(a, token);
    console_token_hash(token, b);
    assert_string_equal(a, b); /* the same token names the same session on every router */
    console_token_hash("10112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", c);
    assert_string_not_equal(a, c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_origin_exact_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_star, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_empty_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_origin_is_not_a_browser, setup, teardown),
        cmocka_unit_test(test_token_hash_vectors),
        cmocka_unit_test(test_token_hash_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
