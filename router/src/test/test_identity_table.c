/* test_identity_table.c — the identity cache's bounded address -> debtor map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "identity_table.h"

static void test_put_get_replace_remove(void **state) {
    (void)state;
    hilo_identity_table_t t;
    hilo_identity_table_init(&t, 100);
    const char *d = "x";
    assert_false(hilo_identity_table_get(&t, "+16505551234", &d));
    hilo_identity_table_put(&t, "+16505551234", "D-1");
    hilo_identity_table_put(&t, "+16505550000", NULL); /* known to be nobody's */
    assert_true(hilo_identity_table_get(&t, "+16505551234", &d));
    assert_string_equal(d, "D-1");
    assert_true(hilo_identity_table_get(&t, "+16505550000", &d));
    assert_null(d);
    hilo_identity_table_put(&t, "+16505551234", "D-2");
    assert_true(hilo_identity_table_get(&t, "+16505551234", &d));
    assert_string_equal(d, "D-2");
    assert_int_equal(t.count, 2);
    assert_true(hilo_identity_table_remove(&t, "+16505551234"));
    assert_false(hilo_identity_table_remove(&t, "+16505551234"));
    assert_false(hilo_identity_table_get(&t, "+16505551234", &d));
    assert_int_equal(t.count, 1);
    hilo_identity_table_clear(&t);
    assert_int_equal(t.count, 0);
    assert_false(hilo_identity_table_get(&t, "+16505550000", &d));
    hilo_identity_table_free(&t);
}

/* Over the bound: the newest entry is always there, the count never passes max, and what
 * remains still answers right. */
static void test_bound(void **state) {
    (void)state;
    hilo_identity_table_t t;
    hilo_identity_table_init(&t, 50);
    char addr[32], debtor[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof addr, "+1650555%04d", i);
        snprintf(debtor, sizeof debtor, "D-%d", i);
        hilo_identity_table_put(&t, addr, debtor);
        const char *d;
        assert_true(hilo_identity_table_get(&t, addr, &d));
        assert_string_equal(d, debtor);
        assert_true(t.count <= 50);
    }
    assert_int_equal(t.count, 50);
    assert_int_equal(t.evicted, 950);
    int found = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof addr, "+1650555%04d", i);
        snprintf(debtor, sizeof debtor, "D-%d", i);
        const char *d;
        if (hilo_identity_table_get(&t, addr, &d)) {
            found++;
            assert_string_equal(d, debtor);
        }
    }
    assert_int_equal(found, 50);
    hilo_identity_table_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_remove),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
