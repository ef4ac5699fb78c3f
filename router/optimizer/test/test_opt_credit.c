/* test_opt_credit.c — late results credited to the decision that preceded them, once, within
 * the window (then the credit expires); holdout weeks apart; the reward; the packed layouts of a
 * cell (<= 1 KB) and of a debtor's credit (16 bytes), and their refusal of bad bytes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hilo/optimizer.h"

#define DAY 86400000LL
static const int64_t T0 = 1780000000000LL;

static hilo_opt_config_t cfg;
static hilo_opt_cell_t cell;
static hilo_opt_credit_t cr;

static int fresh(void **state) {
    (void)state;
    hilo_opt_config_default(&cfg);
    memset(&cell, 0, sizeof cell);
    cr = (hilo_opt_credit_t){.arm = -1};
    return 0;
}

static void test_late_result_reaches_its_decision(void **state) {
    (void)state;
    /* before any decision nothing is credited */
    assert_int_equal(hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_PAY, 100, T0), 0);

    hilo_opt_record_week(&cell, 9, 2, 0, T0, &cr);
    hilo_opt_decision_t d = {.arm = 5, .why = HILO_OPT_WHY_SAMPLED};
    hilo_opt_record_decision(&cell, 9, &d, 1, T0 + 1000, &cr);
    assert_true(cell.arm[5].n == 1 && cell.level[1].n == 1 && cell.treat.n == 1);
    /* a payment 3 days later goes to arm 5 and to the week */
    int got = hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_PAY, 250, T0 + 3 * DAY);
    assert_int_equal(got, HILO_OPT_CR_PAY | HILO_OPT_CR_WPAY);
    assert_true(cell.arm[5].pay == 1 && cell.level[1].pay == 1 && cell.treat.pay == 1);
    assert_true(cell.amount_n == 1 && cell.amount_sum == 250);
    /* the same kind again is not counted twice */
    assert_int_equal(hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_PROMISE, 250, T0 + 4 * DAY), 0);
    assert_true(cell.arm[5].pay == 1);
    /* a new decision: the next result is its own */
    d.arm = 17;
    hilo_opt_record_decision(&cell, 9, &d, 2, T0 + 5 * DAY, &cr);
    assert_int_equal(hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_REPLY, 0, T0 + 5 * DAY + 60000),
                     HILO_OPT_CR_REPLY | HILO_OPT_CR_WREPLY);
    assert_true(cell.arm[17].reply == 1 && cell.arm[5].reply == 0 && cell.level[2].reply == 1);
    /* past the window the credit has expired: nothing is counted */
    assert_int_equal(hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_OPTOUT, 0, T0 + 13 * DAY), 0);
    assert_true(cell.arm[17].bad == 0 && cell.treat.bad == 0);
    /* a result dated before its decision (clock skew between routers) is not counted either */
    d.arm = 1;
    hilo_opt_record_decision(&cell, 9, &d, 1, T0 + 20 * DAY, &cr);
    assert_int_equal(hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_PAY, 1, T0 + 19 * DAY), 0);
    /* a decision with no arm (nothing allowed) counts nothing and keeps the credit */
    hilo_opt_decision_t none = {.arm = -1, .why = HILO_OPT_WHY_NONE};
    hilo_opt_record_decision(&cell, 9, &none, 1, T0 + 21 * DAY, &cr);
    assert_int_equal(cr.arm, 1);
}

static void test_holdout_weeks_apart(void **state) {
    (void)state;
    hilo_opt_record_week(&cell, 1, 3, 1, T0, &cr);
    assert_true(cell.hold.n == 1 && cell.treat.n == 0 && cell.level[3].n == 0);
    assert_int_equal(hilo_opt_credit(&cfg, &cell, &cr, HILO_OPT_EV_COMPLAINT, 0, T0 + DAY), HILO_OPT_CR_WBAD);
    assert_true(cell.hold.bad == 1 && cell.level[3].bad == 0);
    assert_true(hilo_opt_reward(&cfg, HILO_OPT_EV_PAY, 120) == 120);
    assert_true(hilo_opt_reward(&cfg, HILO_OPT_EV_REPLY, 0) == 2);
    assert_true(hilo_opt_reward(&cfg, HILO_OPT_EV_DISPUTE, 0) == -50);
}

static void test_cell_layout(void **state) {
    (void)state;
    assert_true(HILO_OPT_CELL_BYTES <= 1024);
    hilo_opt_cell_t c, back;
    memset(&c, 0, sizeof c);
    for (int a = 0; a < HILO_OPT_ARMS; a++) c.arm[a] = (hilo_opt_stat_t){.n = 100.5f + a, .pay = 3, .reply = 7, .bad = 0.5f};
    c.level[4] = (hilo_opt_stat_t){.n = 10, .pay = 1};
    c.amount_n = 3, c.amount_sum = 912.25f;
    uint8_t buf[HILO_OPT_CELL_BYTES];
    char err[128];
    hilo_opt_cell_pack(&c, buf);
    assert_int_equal(hilo_opt_cell_unpack(buf, sizeof buf, &back, err, sizeof err), 0);
    assert_memory_equal(&c, &back, sizeof c);
    assert_int_equal(hilo_opt_cell_unpack(buf, sizeof buf - 1, &back, err, sizeof err), -1);
    assert_non_null(strstr(err, "bytes"));
    uint8_t bad[HILO_OPT_CELL_BYTES];
    memcpy(bad, buf, sizeof bad);
    float nan = NAN;
    memcpy(bad + 4, &nan, 4); /* arm 0's n (little-endian host in CI) */
    assert_int_equal(hilo_opt_cell_unpack(bad, sizeof bad, &back, err, sizeof err), -1);
    memcpy(bad, buf, sizeof bad);
    float many = 1e6f;
    memcpy(bad + 8, &many, 4); /* arm 0's pay: more than its decisions */
    assert_int_equal(hilo_opt_cell_unpack(bad, sizeof bad, &back, err, sizeof err), -1);
    assert_non_null(strstr(err, "more results"));
    bad[0] = 'X';
    assert_int_equal(hilo_opt_cell_unpack(bad, sizeof bad, &back, err, sizeof err), -1);
    assert_memory_equal(&c, &back, sizeof c); /* a refusal leaves the caller's copy alone */
}

static void test_credit_layout(void **state) {
    (void)state;
    hilo_opt_credit_t c = {.cell_id = 0xdeadbeef, .decided_s = 1780000000, .week_s = 1779990000, .arm = 23,
                           .nth = 3, .level = 7, .flags = HILO_OPT_CR_PAY | HILO_OPT_CR_HOLD},
                      back;
    uint8_t buf[HILO_OPT_CREDIT_BYTES];
    char err[128];
    hilo_opt_credit_pack(&c, buf);
    assert_int_equal(hilo_opt_credit_unpack(buf, sizeof buf, &back, err, sizeof err), 0);
    assert_memory_equal(&c, &back, sizeof c);
    c.arm = -1;
    hilo_opt_credit_pack(&c, buf);
    assert_int_equal(hilo_opt_credit_unpack(buf, sizeof buf, &back, err, sizeof err), 0);
    assert_int_equal(back.arm, -1);
    buf[12] = 26; /* arm 25: no such arm */
    assert_int_equal(hilo_opt_credit_unpack(buf, sizeof buf, &back, err, sizeof err), -1);
    assert_int_equal(hilo_opt_credit_unpack(buf, 15, &back, err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_late_result_reaches_its_decision, fresh),
        cmocka_unit_test_setup(test_holdout_weeks_apart, fresh),
        cmocka_unit_test(test_cell_layout),
        cmocka_unit_test(test_credit_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
