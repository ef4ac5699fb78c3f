/* test_form.c — x-www-form-urlencoded decoding and encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/form.h"

static void test_decode_plus_percent_and_order(void **state) {
    const char *body = "To=%2B18005551212&From=%2B14158675309&Body=Hola+se%C3%B1or%21&Digits=1&Digits=2&Flag&Empty=";
    char err[128] = "";
    hilo_form_t *f = hilo_form_parse(body, strlen(body), err, sizeof err);
    assert_non_null(f);
    assert_int_equal(hilo_form_size(f), 7);
    assert_string_equal(hilo_form_get(f, "To"), "+18005551212");
    assert_string_equal(hilo_form_get(f, "From"), "+14158675309");
    assert_string_equal(hilo_form_get(f, "Body"), "Hola se\xC3\xB1or!");
    assert_string_equal(hilo_form_get(f, "Digits"), "1"); /* the first of the repeated key */
    assert_string_equal(hilo_form_at(f, 3)->name, "Digits");
    assert_string_equal(hilo_form_at(f, 3)->value, "1");
    assert_string_equal(hilo_form_at(f, 4)->value, "2");
    assert_string_equal(hilo_form_get(f, "Flag"), "");
    assert_string_equal(hilo_form_get(f, "Empty"), "");
    assert_null(hilo_form_get(f, "Missing"));
    assert_null(hilo_form_at(f, 7));
    hilo_form_destroy(&f);
    assert_null(f);
    hilo_form_destroy(&f); /* NULL is fine */
}

static void test_decode_skips_empty_segments(void **state) {
    char err[128] = "";
    hilo_form_t *f = hilo_form_parse("&a=1&&b=%41%62&", 15, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(hilo_form_size(f), 2);
    assert_string_equal(hilo_form_get(f, "b"), "Ab");
    hilo_form_destroy(&f);
    f = hilo_form_parse("", 0, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(hilo_form_size(f), 0);
    hilo_form_destroy(&f);
}

static void test_decode_strict_errors(void **state) {
    const char *bad[] = {"a=%", "a=%4", "a=%G1", "a=%4G", "%zz=1", "a=1&b=%", "a=%00", "a=b%2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[128] = "";
        hilo_form_t *f = hilo_form_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (f) fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    char err[128] = "";
    assert_null(hilo_form_parse("a=1\0b=2", 7, err, sizeof err)); /* raw NUL byte */
}

static void test_encode_roundtrip(void **state) {
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_form_encode_pair(&b, "To", "+14158675309");
    hilo_form_encode_pair(&b, "Body", "Hola señor & co. 100%~_-.");
    assert_string_equal(b.data, "To=%2B14158675309&Body=Hola+se%C3%B1or+%26+co.+100%25~_-.");
    char err[128] = "";
    hilo_form_t *f = hilo_form_parse(b.data, b.len, err, sizeof err);
    assert_non_null(f);
    assert_string_equal(hilo_form_get(f, "Body"), "Hola señor & co. 100%~_-.");
    hilo_form_destroy(&f);
    hilo_provider_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_plus_percent_and_order),
        cmocka_unit_test(test_decode_skips_empty_segments),
        cmocka_unit_test(test_decode_strict_errors),
        cmocka_unit_test(test_encode_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
