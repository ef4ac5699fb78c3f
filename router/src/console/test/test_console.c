/* test_console.c — the input checks of console.c: debtor ids (portfolio ids and "u:+<E.164>"
 * unidentified contacts), agent ids, and the per-socket rate limit's token bucket (burst,
 * refill, cap, fractions carried over, refusals that take nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "console_int.h"

/* A string of n copies of c (n < 128). */
static const char *repeat(char *buf, char c, size_t n) {
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_debtor_portfolio_ids(void **state) {
    char buf[128];
    assert_true(console_debtor_ok("D1001"));
    assert_true(console_debtor_ok("acme.2024_07-x:+1"));
    assert_true(console_debtor_ok(repeat(buf, 'a', 64)));
    assert_false(console_debtor_ok(repeat(buf, 'a', 65)));
    assert_false(console_debtor_ok(NULL));
    assert_false(console_debtor_ok(""));
    /* Braces and '|' would break Redis hash tags and index members; spaces and '/' too. */
    assert_false(console_debtor_ok("D{1}"));
    assert_false(console_debtor_ok("D1|o1"));
    assert_false(console_debtor_ok("D 1"));
    assert_false(console_debtor_ok("D/1"));
    assert_false(console_debtor_ok("Dé"));
}

static void test_debtor_unidentified_contacts(void **state) {
    assert_true(console_debtor_ok("u:+16505551234"));
    assert_true(console_debtor_ok("u:+1"));                       /* shortest: "+" and one digit */
    assert_true(console_debtor_ok("u:+1234567890123456789"));     /* 20 characters after "u:" */
    assert_false(console_debtor_ok("u:+12345678901234567890"));   /* 21 */
    assert_false(console_debtor_ok("u:"));
    assert_false(console_debtor_ok("u:+"));
    assert_false(console_debtor_ok("u:16505551234"));             /* no '+' */
    assert_false(console_debtor_ok("u:++16505551234"));
    assert_false(console_debtor_ok("u:+1650555123x"));
    assert_false(console_debtor_ok("u:+1 650 555"));
    assert_false(console_debtor_ok("u:abc"));                     /* "u:" is reserved: never a portfolio id */
}

static void test_agent_ids(void **state) {
    char buf[128];
    assert_true(console_agent_id_ok("ana"));
    assert_true(console_agent_id_ok("A.b_c-9"));
    assert_true(console_agent_id_ok("7"));
    assert_true(console_agent_id_ok(repeat(buf, 'z', CONSOLE_ID_MAX)));
    assert_false(console_agent_id_ok(repeat(buf, 'z', CONSOLE_ID_MAX + 1)));
    assert_false(console_agent_id_ok(NULL));
    assert_false(console_agent_id_ok(""));
    assert_false(console_agent_id_ok("ana:1"));  /* ':' would split Redis key names */
    assert_false(console_agent_id_ok("ana bob"));
    assert_false(console_agent_id_ok("ana*"));
    assert_false(console_agent_id_ok("ana\n"));
}

/* --- the rate limit ------------------------------------------------------------------- */

static void test_rate_burst_then_refused(void **state) {
    double tokens = 5;   /* a new socket starts with a full bucket (ws_open) */
    int64_t ms = 1000;
    for (int i = 0; i < 5; i++) assert_true(console_rate_take(&tokens, &ms, 1000, 2, 5));
    assert_false(console_rate_take(&tokens, &ms, 1000, 2, 5));
    assert_false(console_rate_take(&tokens, &ms, 1000, 2, 5));
    assert_true(tokens >= 0 && tokens < 1);
}

static void test_rate_refills_with_time(void **state) {
    double tokens = 0;
    int64_t ms = 0;
    /* 2 per second: one token every 500 ms; at 250 ms only half of one. */
    assert_false(console_rate_take(&tokens, &ms, 250, 2, 5));
    assert_int_equal(ms, 250); /* the clock moves on a refusal too... */
    assert_true(console_rate_take(&tokens, &ms, 500, 2, 5)); /* ...and the half token is kept */
    assert_int_equal(ms, 500);
    assert_false(console_rate_take(&tokens, &ms, 500, 2, 5));
    assert_true(console_rate_take(&tokens, &ms, 1500, 2, 5)); /* two tokens came back */
    assert_true(console_rate_take(&tokens, &ms, 1500, 2, 5));
    assert_false(console_rate_take(&tokens, &ms, 1500, 2, 5));
}

static void test_rate_fraction_carries_over(void **state) {
    double tokens = 0;
    int64_t ms = 0;
    /* 10 per second, burst 1: messages every 50 ms get every other one through. */
    int passed = 0;
    for (int64_t t = 50; t <= 1000; t += 50) passed += console_rate_take(&tokens, &ms, t, 10, 1);
    assert_int_equal(passed, 10);
}

static void test_rate_capped_at_burst(void **state) {
    double tokens = 0;
    int64_t ms = 0;
    /* An hour idle fills the bucket to the burst, not to 3,600 tokens. */
    int passed = 0;
    for (int i = 0; i < 20; i++) passed += console_rate_take(&tokens, &ms, 3600000, 1, 4);
    assert_int_equal(passed, 4);
}

static void test_rate_zero_never_refills(void **state) {
    double tokens = 1;
    int64_t ms = 0;
    assert_true(console_rate_take(&tokens, &ms, 0, 0, 3));
    assert_false(console_rate_take(&tokens, &ms, 86400000, 0, 3));
}

static void test_rate_refusal_takes_nothing(void **state) {
    double tokens = 0;
    int64_t ms = 0;
    /* A client that keeps knocking while refused is not pushed further into debt: after
     * seven refusals (every 125 ms, an eighth of a token each) the first token is due on time. */
    for (int64_t t = 125; t < 1000; t += 125) assert_false(console_rate_take(&tokens, &ms, t, 1, 1));
    assert_true(console_rate_take(&tokens, &ms, 1000, 1, 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debtor_portfolio_ids),
        cmocka_unit_test(test_debtor_unidentified_contacts),
        cmocka_unit_test(test_agent_ids),
        cmocka_unit_test(test_rate_burst_then_refused),
        cmocka_unit_test(test_rate_refills_with_time),
        cmocka_unit_test(test_rate_fraction_carries_over),
        cmocka_unit_test(test_rate_capped_at_burst),
        cmocka_unit_test(test_rate_zero_never_refills),
        cmocka_unit_test(test_rate_refusal_takes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
