/* test_promise_ledger.c — the entries a turn writes for a promise and for a payment plan
 * (router/src/promise_ledger.c): the monthly schedule (short months, leap years, the turn of
 * the year), instalments adding up to the total, the due index and the audit. The same
 * entries settled by the real scripts: tests/integration/test_engine_plans.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "promise_ledger.h"

static void test_add_months(void **state) {
    (void)state;
    static const struct {
        int y, m, d, add, wy, wm, wd;
    } cases[] = {
        {2027, 1, 31, 1, 2027, 2, 28},  {2028, 1, 31, 1, 2028, 2, 29}, {2027, 1, 31, 2, 2027, 3, 31},
        {2026, 12, 15, 1, 2027, 1, 15}, {2026, 11, 30, 3, 2027, 2, 28}, {2026, 8, 31, 1, 2026, 9, 30},
        {2026, 5, 10, 12, 2027, 5, 10}, {2026, 5, 10, 0, 2026, 5, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int y, m, d;
        hilo_promise_ledger_add_months(cases[i].y, cases[i].m, cases[i].d, cases[i].add, &y, &m, &d);
        char got[16], want[16];
        snprintf(got, sizeof got, "%04d-%02d-%02d", y, m, d);
        snprintf(want, sizeof want, "%04d-%02d-%02d", cases[i].wy, cases[i].wm, cases[i].wd);
        assert_string_equal(got, want);
    }
}

static json_t *ledger_entry(json_t *effects, const char *id) {
    const char *s = json_string_value(json_object_get(json_object_get(effects, "promises"), id));
    assert_non_null(s);
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    return j;
}

static hilo_bot_action_t plan_action(int n, int64_t instalment, int64_t total, const char *first_due) {
    hilo_bot_action_t a;
    memset(&a, 0, sizeof a);
    a.kind = HILO_BOT_PLAN_ACCEPTED;
    a.instalments = n;
    a.amount_cents = instalment;
    a.total_cents = total;
    snprintf(a.currency, sizeof a.currency, "USD");
    snprintf(a.due_date, sizeof a.due_date, "%s", first_due);
    return a;
}

static void test_plan(void **state) {
    (void)state;
    json_t *effects = json_object();
    hilo_promise_ledger_t l = {effects, 1795536000000, "sms", NULL};
    hilo_bot_action_t a = plan_action(3, 33334, 100000, "2027-01-31");
    hilo_promise_ledger_plan(&l, &a);

    json_t *audit = json_object_get(effects, "audit");
    assert_int_equal(json_array_size(audit), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(audit, 0), "ev")), "plan");
    json_t *aj = json_loads(json_string_value(json_object_get(json_array_get(audit, 0), "j")), 0, NULL);
    const char *plan_id = json_string_value(json_object_get(aj, "id"));
    assert_non_null(plan_id);
    assert_int_equal(strncmp(plan_id, "p1795536000000-", 15), 0);

    json_t *plan = ledger_entry(effects, plan_id);
    assert_string_equal(json_string_value(json_object_get(plan, "kind")), "plan");
    assert_string_equal(json_string_value(json_object_get(plan, "state")), "pending");
    assert_string_equal(json_string_value(json_object_get(plan, "first_due")), "2027-01-31");
    json_t *ids = json_object_get(plan, "instalment_ids");
    assert_int_equal(json_array_size(ids), 3);

    static const char *const dues[] = {"2027-01-31", "2027-02-28", "2027-03-31"};
    static const json_int_t amounts[] = {33334, 33334, 33332};
    json_int_t sum = 0;
    for (size_t k = 0; k < 3; k++) {
        const char *iid = json_string_value(json_array_get(ids, k));
        char want_id[64];
        snprintf(want_id, sizeof want_id, "%s.%zu", plan_id, k + 1);
        assert_string_equal(iid, want_id);
        json_t *p = ledger_entry(effects, iid);
        assert_string_equal(json_string_value(json_object_get(p, "kind")), "promise");
        assert_string_equal(json_string_value(json_object_get(p, "plan")), plan_id);
        assert_int_equal(json_integer_value(json_object_get(p, "instalment")), k + 1);
        assert_int_equal(json_integer_value(json_object_get(p, "of")), 3);
        assert_string_equal(json_string_value(json_object_get(p, "due")), dues[k]);
        assert_int_equal(json_integer_value(json_object_get(p, "amount_cents")), amounts[k]);
        sum += json_integer_value(json_object_get(p, "amount_cents"));
        /* No zone: the due day ends at 23:59:59.999 UTC, and the due index has that score. */
        int y, m, d;
        sscanf(dues[k], "%d-%d-%d", &y, &m, &d);
        json_int_t end = (json_int_t)(hilo_days_from_civil(y, m, d) * 86400 + 86399) * 1000 + 999;
        assert_int_equal(json_integer_value(json_object_get(p, "due_ms")), end);
        char score[24];
        snprintf(score, sizeof score, "%lld", (long long)end);
        assert_string_equal(json_string_value(json_object_get(json_object_get(effects, "due"), iid)), score);
        json_decref(p);
    }
    assert_int_equal(sum, 100000);
    assert_null(json_object_get(json_object_get(effects, "due"), plan_id)); /* the plan itself is never due */
    assert_int_equal(json_object_size(json_object_get(effects, "due")), 3);
    json_decref(plan);
    json_decref(aj);
    json_decref(effects);
}

/* A lump sum is a plan of one: its only instalment is the (discounted) total. */
static void test_lump_sum(void **state) {
    (void)state;
    json_t *effects = json_object();
    hilo_promise_ledger_t l = {effects, 1795536000000, "whatsapp", NULL};
    hilo_bot_action_t a = plan_action(1, 112500, 112500, "2026-12-01");
    hilo_promise_ledger_plan(&l, &a);
    assert_int_equal(json_object_size(json_object_get(effects, "promises")), 2);
    assert_int_equal(json_object_size(json_object_get(effects, "due")), 1);
    json_decref(effects);
}

static void test_promise(void **state) {
    (void)state;
    json_t *effects = json_object();
    hilo_promise_ledger_t l = {effects, 1795536000000, "sms", NULL};
    hilo_bot_action_t a;
    memset(&a, 0, sizeof a);
    a.kind = HILO_BOT_PROMISE;
    a.amount_cents = 20000;
    snprintf(a.currency, sizeof a.currency, "USD");
    snprintf(a.due_date, sizeof a.due_date, "2026-11-30");
    hilo_promise_ledger_promise(&l, &a);
    json_t *promises = json_object_get(effects, "promises");
    assert_int_equal(json_object_size(promises), 1);
    const char *id = json_object_iter_key(json_object_iter(promises));
    json_t *p = ledger_entry(effects, id);
    assert_string_equal(json_string_value(json_object_get(p, "due")), "2026-11-30");
    assert_string_equal(json_string_value(json_object_get(p, "channel")), "sms");
    assert_null(json_object_get(p, "plan"));
    assert_non_null(json_object_get(json_object_get(effects, "due"), id));
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(effects, "audit"), 0), "ev")),
                        "promise");
    json_decref(p);
    json_decref(effects);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_months),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_lump_sum),
        cmocka_unit_test(test_promise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
