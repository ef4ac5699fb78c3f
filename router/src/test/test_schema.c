/* test_schema.c — how the router and `hilo migrate` judge the stored schema version
 * (router/src/schema.c): parsing the key's `version`, which keys count as hilo data, the
 * verdict for each case, and the refusal's advice. The Redis side is
 * tests/integration/test_schema_migrate.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hilo/keys.h"
#include "hilo/schema.h"

static long parse(const char *s) { return hilo_schema_parse(s, strlen(s)); }

static void test_parse(void **state) {
    (void)state;
    assert_int_equal(parse("1"), 1);
    assert_int_equal(parse("2"), 2);
    assert_int_equal(parse("117"), 117);
    assert_int_equal(parse(""), -1);
    assert_int_equal(parse("0"), -1);
    assert_int_equal(parse("-2"), -1);
    assert_int_equal(parse("2 "), -1);
    assert_int_equal(parse("two"), -1);
    assert_int_equal(parse("1234567890"), -1); /* more digits than a version will ever have */
}

static bool data(const char *k) { return hilo_schema_is_data_key(k, strlen(k)); }

static void test_data_keys(void **state) {
    (void)state;
    assert_true(data("hilo:addr:+16505551234"));
    assert_true(data("hilo:{d:D1}:conv"));
    assert_true(data("hilo:debtors"));
    assert_true(data("hilo:testing")); /* only the hilo:test: prefix is the tests' */
    assert_false(data(HILO_KEY_SCHEMA));
    assert_false(data(HILO_KEY_TEST_CLOCK));
    assert_false(data("other:app:key"));
    assert_false(data("hilo"));
}

static void test_judge(void **state) {
    (void)state;
    assert_int_equal(hilo_schema_judge(0, false), HILO_SCHEMA_FRESH);
    assert_int_equal(hilo_schema_judge(0, true), HILO_SCHEMA_VERSION == HILO_SCHEMA_OLDEST ? HILO_SCHEMA_CURRENT
                                                                                        : HILO_SCHEMA_OLDER);
    assert_int_equal(hilo_schema_judge(HILO_SCHEMA_VERSION, true), HILO_SCHEMA_CURRENT);
    assert_int_equal(hilo_schema_judge(HILO_SCHEMA_VERSION, false), HILO_SCHEMA_CURRENT);
    assert_int_equal(hilo_schema_judge(HILO_SCHEMA_VERSION + 1, true), HILO_SCHEMA_NEWER);
    assert_int_equal(hilo_schema_judge(-1, true), HILO_SCHEMA_BROKEN);
    if (HILO_SCHEMA_VERSION > 1) assert_int_equal(hilo_schema_judge(1, false), HILO_SCHEMA_OLDER);
}

static void test_refusal(void **state) {
    (void)state;
    char buf[400];
    hilo_schema_refusal(buf, sizeof buf, 0);
    assert_non_null(strstr(buf, "schema version 1 (written before schema versions)"));
    assert_non_null(strstr(buf, "hilo migrate"));
    hilo_schema_refusal(buf, sizeof buf, HILO_SCHEMA_VERSION + 1);
    assert_non_null(strstr(buf, "newer than this hilo knows"));
    assert_null(strstr(buf, "hilo migrate"));
    hilo_schema_refusal(buf, sizeof buf, -1);
    assert_non_null(strstr(buf, "no schema version number"));
    assert_null(strchr(buf, '"')); /* it goes into a quoted log value as it is */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_data_keys),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
