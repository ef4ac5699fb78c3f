/* test_bot_text.c — unit tests for the bot's pure pieces: folding and phrase matching,
 * amounts, dates and digits read from free text, plan arithmetic, promise rules, and the
 * bot state's JSON form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "hilo/bot.h"
#include "hilo/common.h"
#include "rules.h"
#include "state.h"
#include "text.h"

static int32_t day(const char *iso) {
    int32_t d = 0;
    assert_int_equal(bot_date_parse(iso, &d), 0);
    return d;
}

static const char *iso(int32_t days) {
    static char buf[4][11];
    static int i;
    i = (i + 1) % 4;
    bot_date_iso(days, buf[i]);
    return buf[i];
}

/* ---- folding and phrases ---- */

static void test_fold_case_accents_punctuation(void **state) {
    char out[128];
    bot_fold("¿Cuánto DEBO?", out, sizeof out, NULL);
    assert_string_equal(out, "cuanto debo");
    bot_fold("  Ñandú, ÁÉÍÓÚ üñ!!  ", out, sizeof out, NULL);
    assert_string_equal(out, "nandu aeiou un");
    bot_fold("don't / can’t", out, sizeof out, NULL);
    assert_string_equal(out, "dont cant");
    bot_fold("$1.500,50 el 15/12", out, sizeof out, "/.,$");
    assert_string_equal(out, "$1.500,50 el 15/12");
    bot_fold("emoji 😀 here", out, sizeof out, NULL);
    assert_string_equal(out, "emoji here");
    bot_fold("abcdef", out, 4, NULL); /* cut, still terminated */
    assert_string_equal(out, "abc");
}

static bool matches(const char *pattern, const char *text);

/* The one normaliser (textnorm.h): the bot folds as the opt-out keywords do. */
static void test_fold_unicode_forms(void **state) {
    char out[128];
    bot_fold("¿Cua\xcc\x81nto debo?", out, sizeof out, NULL); /* decomposed á (NFD) */
    assert_string_equal(out, "cuanto debo");
    bot_fold("ＳＡＬＤＯ", out, sizeof out, NULL); /* full-width */
    assert_string_equal(out, "saldo");
    bot_fold("\xef\xac\x81nal", out, sizeof out, NULL); /* the ligature fi */
    assert_string_equal(out, "final");
    bot_fold("sal\xff" "do", out, sizeof out, NULL); /* invalid UTF-8: a separator */
    assert_string_equal(out, "sal do");
    bot_fold("＄１.５００", out, sizeof out, "/.,$");
    assert_string_equal(out, "$1.500");
    assert_true(matches("cuanto debo", "¿Cua\xcc\x81nto DEBO?"));
    assert_true(matches("=stop", "ＳＴＯＰ"));
}

static bool matches(const char *pattern, const char *text) {
    bot_pattern_t p;
    char why[128];
    assert_int_equal(bot_pattern_compile(pattern, &p, why, sizeof why), 0);
    bot_words_t w;
    bot_words(text, NULL, &w);
    bool m = bot_pattern_match(&p, &w);
    bot_pattern_free(&p);
    return m;
}

static void test_phrases(void **state) {
    assert_true(matches("hablar con un asesor", "Quiero HABLAR con un asesor, por favor!"));
    assert_false(matches("hablar con un asesor", "hablar con asesor"));
    assert_true(matches("hablar ... asesor", "hablar con el asesor"));
    assert_true(matches("hablar ... asesor", "hablar asesor"));
    assert_false(matches("hablar ... asesor", "hablar con uno dos tres cuatro asesor"));
    assert_true(matches("pag*", "Pagaré mañana"));
    assert_false(matches("asesor", "asesoría"));
    assert_true(matches("talk to a person", "I want to talk to a person."));
    assert_true(matches("dont owe", "I don't owe this"));
    assert_true(matches("=alto", "ALTO!"));
    assert_false(matches("=alto", "mi saldo es muy alto"));
    bot_pattern_t p;
    char why[128];
    assert_int_equal(bot_pattern_compile("pa*go", &p, why, sizeof why), -1);
    assert_non_null(strstr(why, "'*' may only end a word"));
    assert_int_equal(bot_pattern_compile("... asesor", &p, why, sizeof why), -1);
    assert_int_equal(bot_pattern_compile("  ", &p, why, sizeof why), -1);
    assert_int_equal(bot_pattern_compile("¿?", &p, why, sizeof why), -1);
}

/* ---- digits and options ---- */

static void test_digits_typed_and_spoken(void **state) {
    char d[32];
    assert_int_equal(bot_extract_digits("4321", d, sizeof d), 4);
    assert_string_equal(d, "4321");
    assert_int_equal(bot_extract_digits("cuatro tres dos uno", d, sizeof d), 4);
    assert_string_equal(d, "4321");
    assert_int_equal(bot_extract_digits("Four three two one", d, sizeof d), 4);
    assert_string_equal(d, "4321");
    assert_int_equal(bot_extract_digits("4-3-2-1", d, sizeof d), 4);
    assert_string_equal(d, "4321");
    assert_int_equal(bot_extract_digits("mis últimos son 43 21, gracias", d, sizeof d), 4);
    assert_string_equal(d, "4321");
    assert_int_equal(bot_extract_digits("hola", d, sizeof d), 0);
    assert_string_equal(d, "");
    assert_int_equal(bot_extract_digits("123456789", d, 4), 9); /* counted past the buffer */
    assert_string_equal(d, "123");
}

static void test_options(void **state) {
    assert_int_equal(bot_extract_option("2"), 2);
    assert_int_equal(bot_extract_option("Opción 2"), 2);
    assert_int_equal(bot_extract_option("quiero la opcion 3 por favor"), 3);
    assert_int_equal(bot_extract_option("la segunda"), 2);
    assert_int_equal(bot_extract_option("option two"), 2);
    assert_int_equal(bot_extract_option("I'd like option 1"), 1);
    assert_int_equal(bot_extract_option("hola"), -1);
    assert_int_equal(bot_extract_option("2 3"), -1);
    assert_int_equal(bot_extract_option("pago 200"), -1);
    assert_int_equal(bot_extract_option("200"), -1);
    assert_int_equal(bot_extract_count("quiero 6 cuotas"), 6);
    assert_int_equal(bot_extract_count("12 months please"), 12);
    assert_int_equal(bot_extract_count("en seis meses"), 6);
    assert_int_equal(bot_extract_count("6"), -1);
}

/* ---- amounts ---- */

static void test_money_parse(void **state) {
    int64_t c = -1;
    assert_int_equal(bot_money_parse("1.234,56", &c), 0);
    assert_int_equal(c, 123456);
    assert_int_equal(bot_money_parse("1,234.56", &c), 0);
    assert_int_equal(c, 123456);
    assert_int_equal(bot_money_parse("150", &c), 0);
    assert_int_equal(c, 15000);
    assert_int_equal(bot_money_parse("200,5", &c), 0);
    assert_int_equal(c, 20050);
    assert_int_equal(bot_money_parse("1.500", &c), 0);
    assert_int_equal(c, 150000);
    assert_int_equal(bot_money_parse("12.3456", &c), -1);
    assert_int_equal(bot_money_parse("1..5", &c), -1);
    assert_int_equal(bot_money_parse("abc", &c), -1);
    assert_int_equal(bot_money_parse("12345678901234", &c), -1);
    assert_int_equal(hilo_bot_parse_amount(" $1,234.50 ", &c), HILO_OK);
    assert_int_equal(c, 123450);
    assert_int_equal(hilo_bot_parse_amount("-12.00", &c), HILO_OK);
    assert_int_equal(c, -1200);
    assert_int_equal(hilo_bot_parse_amount("", &c), HILO_ERR);
    assert_int_equal(hilo_bot_parse_amount("12 pesos", &c), HILO_ERR);
}

/* ---- dates ---- */

static void test_civil_dates(void **state) {
    assert_int_equal(bot_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(bot_days_from_civil(2000, 1, 1), 10957);
    assert_int_equal(bot_days_from_civil(2000, 3, 1), 11017);
    for (int32_t d = 0; d < 50000; d += 37) {
        int y, m, dd;
        bot_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(bot_days_from_civil(y, m, dd), d);
    }
    assert_string_equal(iso(day("2024-02-29") + 1), "2024-03-01");
    assert_int_equal(bot_weekday(day("2024-12-01")), 6); /* a Sunday */
    assert_int_equal(bot_weekday(day("2024-12-02")), 0);
    int32_t x;
    assert_int_equal(bot_date_parse("2023-02-29", &x), -1);
    assert_int_equal(bot_date_parse("2024-13-01", &x), -1);
    assert_int_equal(bot_date_parse("2024-1-01", &x), -1);
    assert_int_equal(bot_date_parse(NULL, &x), -1);
}

typedef struct {
    const char *text;
    bot_date_order_t order;
    int64_t cents;    /* -1: no amount */
    const char *date; /* NULL: no date; "bad": a date that does not exist */
} promise_case_t;

static void test_promise_extraction(void **state) {
    const char *today = "2024-12-01"; /* a Sunday */
    static const promise_case_t cases[] = {
        {"pago 200 el 15/12", BOT_DMY, 20000, "2024-12-15"},
        {"I can pay $150 on December 3", BOT_MDY, 15000, "2024-12-03"},
        {"200 mañana", BOT_DMY, 20000, "2024-12-02"},
        {"puedo pagar 1.500,50 el 3 de enero", BOT_DMY, 150050, "2025-01-03"},
        {"pago 200 el 3 de diciembre de 2024", BOT_DMY, 20000, "2024-12-03"},
        {"December 3rd, 2024 I pay 99.99", BOT_MDY, 9999, "2024-12-03"},
        {"12/15", BOT_MDY, -1, "2024-12-15"},
        {"15/12", BOT_MDY, -1, "2024-12-15"},      /* 15 cannot be a month */
        {"05/12", BOT_DMY, -1, "2024-12-05"},
        {"05/12", BOT_MDY, -1, "2025-05-12"},      /* May: over half a year gone, so next May */
        {"pago 200 el 20/11", BOT_DMY, 20000, "2024-11-20"}, /* recent past stays past */
        {"31/02", BOT_DMY, -1, "bad"},
        {"pasado mañana pago 300 pesos", BOT_DMY, 30000, "2024-12-03"},
        {"the day after tomorrow", BOT_MDY, -1, "2024-12-03"},
        {"hoy 50", BOT_DMY, 5000, "2024-12-01"},
        {"en 5 días pago 100", BOT_DMY, 10000, "2024-12-06"},
        {"in 2 weeks I will pay 80", BOT_MDY, 8000, "2024-12-15"},
        {"el viernes pago 120", BOT_DMY, 12000, "2024-12-06"},
        {"on Sunday", BOT_MDY, -1, "2024-12-08"},  /* today is Sunday: the next one */
        {"a fin de mes 250", BOT_DMY, 25000, "2024-12-31"},
        {"pago 200 el 15", BOT_DMY, 20000, "2024-12-15"},
        {"the 3rd", BOT_MDY, -1, "2024-12-03"},
        {"2024-12-20 USD 75", BOT_MDY, 7500, "2024-12-20"},
        {"pago 2 mil el viernes", BOT_DMY, 200000, "2024-12-06"},
        {"I may pay 100", BOT_MDY, 10000, NULL},   /* "may" is no month without a day */
        {"200 pesos", BOT_DMY, 20000, NULL},
        {"mañana por la mañana", BOT_DMY, -1, "2024-12-02"},
        {"nada que ver", BOT_DMY, -1, NULL},
    };
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        const promise_case_t *c = &cases[i];
        bot_promise_text_t p;
        bot_extract_promise(c->text, c->order, day(today), &p);
        char got[64] = "no date";
        if (p.bad_date) snprintf(got, sizeof got, "a bad date");
        if (p.has_date) snprintf(got, sizeof got, "%s", iso(p.date));
        const char *want = c->date ? (strcmp(c->date, "bad") == 0 ? "a bad date" : c->date) : "no date";
        if (strcmp(got, want) != 0) fail_msg("'%s': date %s, expected %s", c->text, got, want);
        long long cents = p.has_amount ? (long long)p.amount_cents : -1;
        if (cents != c->cents) fail_msg("'%s': amount %lld cents, expected %lld", c->text, cents, (long long)c->cents);
    }
    bot_promise_text_t p;
    bot_extract_promise("pago todo el 15/12", BOT_DMY, day(today), &p);
    assert_true(p.full);
    assert_false(p.has_amount);
}

/* ---- rules ---- */

static bot_rules_t sample_rules(void) {
    return (bot_rules_t){.verify_attempts = 3, .not_understood_max = 3, .promise_min_cents = 1000,
                         .promise_max_days = 30, .plan_n = {3, 6, 12}, .nplan_n = 3,
                         .plan_min_instalment_cents = 2500, .lump_discount_bp = 1000};
}

static void test_plan_offer_math(void **state) {
    bot_rules_t r = sample_rules();
    bot_plan_option_t o[BOT_PLAN_MAX];
    int n = bot_plan_offer(&r, 123456, o, BOT_PLAN_MAX);
    assert_int_equal(n, 4);
    assert_int_equal(o[0].n, 1);
    assert_int_equal(o[0].instalment_cents, 111111); /* 123456 - floor(12345.6) */
    assert_int_equal(o[0].total_cents, 111111);
    assert_int_equal(o[0].discount_bp, 1000);
    assert_int_equal(o[1].n, 3);
    assert_int_equal(o[1].instalment_cents, 41152); /* ceil(123456 / 3) */
    assert_int_equal(o[1].total_cents, 123456);
    assert_int_equal(o[2].instalment_cents, 20576);
    assert_int_equal(o[3].n, 12);
    assert_int_equal(o[3].instalment_cents, 10288);
    /* 100.00: 3 x 33.34 passes the 25.00 minimum, 6 x 16.67 and 12 x 8.34 do not. */
    n = bot_plan_offer(&r, 10000, o, BOT_PLAN_MAX);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].instalment_cents, 9000);
    assert_int_equal(o[1].n, 3);
    assert_int_equal(o[1].instalment_cents, 3334);
    r.lump_discount_bp = 0;
    n = bot_plan_offer(&r, 10000, o, BOT_PLAN_MAX);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].n, 3);
    assert_int_equal(bot_plan_offer(&r, 0, o, BOT_PLAN_MAX), 0);
    assert_int_equal(bot_plan_offer(&r, -500, o, BOT_PLAN_MAX), 0);
    assert_int_equal(bot_plan_offer(&r, 5000, o, BOT_PLAN_MAX), 0); /* 3 x 16.67 < 25.00 */
}

static void test_promise_rules(void **state) {
    bot_rules_t r = sample_rules();
    assert_int_equal(bot_promise_check_amount(&r, 123456, 20000), BOT_PROMISE_OK);
    assert_int_equal(bot_promise_check_amount(&r, 123456, 123456), BOT_PROMISE_OK);
    assert_int_equal(bot_promise_check_amount(&r, 123456, 123457), BOT_PROMISE_AMOUNT_HIGH);
    assert_int_equal(bot_promise_check_amount(&r, 123456, 999), BOT_PROMISE_AMOUNT_LOW);
    assert_int_equal(bot_promise_check_amount(&r, 123456, 0), BOT_PROMISE_AMOUNT_LOW);
    assert_int_equal(bot_promise_check_amount(&r, 500, 500), BOT_PROMISE_OK); /* below the minimum: all of it */
    assert_int_equal(bot_promise_check_amount(&r, 500, 400), BOT_PROMISE_AMOUNT_LOW);
    int32_t t = day("2024-12-01");
    assert_int_equal(bot_promise_check_date(&r, t, t), BOT_PROMISE_OK);
    assert_int_equal(bot_promise_check_date(&r, t, t + 30), BOT_PROMISE_OK);
    assert_int_equal(bot_promise_check_date(&r, t, t + 31), BOT_PROMISE_DATE_FAR);
    assert_int_equal(bot_promise_check_date(&r, t, t - 1), BOT_PROMISE_DATE_PAST);
}

/* ---- state ---- */

static void test_state_json_round_trip(void **state) {
    bot_state_t a, b;
    bot_state_init(&a);
    strcpy(a.step, "promise_confirm");
    strcpy(a.lang, "en");
    a.verified = true;
    a.verified_ms = 1733000000000;
    a.attempts = 1;
    a.misses = 2;
    strcpy(a.pending, "balance");
    strcpy(a.subject, "promise");
    a.promise_cents = 20000;
    a.has_promise_date = true;
    a.promise_date = day("2024-12-15");
    a.nplan = 2;
    a.plan[0] = (bot_plan_option_t){1, 111111, 111111, 1000};
    a.plan[1] = (bot_plan_option_t){3, 41152, 123456, 0};
    a.plan_choice = 1;
    strcpy(a.escalated, "dispute");
    a.turns = 7;
    a.created_ms = 1;
    a.updated_ms = 2;
    strcpy(a.channel, "sms");
    char *json = bot_state_to_json(&a);
    assert_non_null(strstr(json, "\"date\":\"2024-12-15\""));
    assert_int_equal(bot_state_from_json(json, &b), 0);
    assert_string_equal(b.step, a.step);
    assert_string_equal(b.lang, a.lang);
    assert_true(b.verified);
    assert_int_equal(b.verified_ms, a.verified_ms);
    assert_int_equal(b.attempts, 1);
    assert_int_equal(b.misses, 2);
    assert_string_equal(b.pending, "balance");
    assert_string_equal(b.subject, "promise");
    assert_int_equal(b.promise_cents, 20000);
    assert_true(b.has_promise_date);
    assert_int_equal(b.promise_date, a.promise_date);
    assert_int_equal(b.nplan, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(b.plan[i].n, a.plan[i].n);
        assert_int_equal(b.plan[i].instalment_cents, a.plan[i].instalment_cents);
        assert_int_equal(b.plan[i].total_cents, a.plan[i].total_cents);
        assert_int_equal(b.plan[i].discount_bp, a.plan[i].discount_bp);
    }
    assert_int_equal(b.plan_choice, 1);
    assert_string_equal(b.escalated, "dispute");
    assert_int_equal(b.turns, 7);
    assert_int_equal(b.created_ms, 1);
    assert_int_equal(b.updated_ms, 2);
    assert_string_equal(b.channel, "sms");
    free(json);
    assert_int_equal(bot_state_from_json("not json", &b), -1);
    assert_int_equal(b.plan_choice, -1); /* re-initialized */
    assert_int_equal(bot_state_from_json("{\"v\":2}", &b), -1);
    assert_int_equal(bot_state_from_json("{\"v\":1,\"attempts\":\"x\"}", &b), -1);
    assert_int_equal(bot_state_from_json("{\"v\":1,\"plan\":[{\"n\":3}],\"plan_choice\":5}", &b), -1);
    assert_int_equal(bot_state_from_json("{\"v\":1,\"promise\":{\"date\":\"2024-02-30\"}}", &b), -1);
    char long_step[200];
    snprintf(long_step, sizeof long_step, "{\"v\":1,\"step\":\"%0120d\"}", 0);
    assert_int_equal(bot_state_from_json(long_step, &b), -1);
    assert_int_equal(bot_state_from_json("{\"v\":1}", &b), 0);
    assert_false(b.verified);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_case_accents_punctuation),
        cmocka_unit_test(test_fold_unicode_forms),
        cmocka_unit_test(test_phrases),
        cmocka_unit_test(test_digits_typed_and_spoken),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_money_parse),
        cmocka_unit_test(test_civil_dates),
        cmocka_unit_test(test_promise_extraction),
        cmocka_unit_test(test_plan_offer_math),
        cmocka_unit_test(test_promise_rules),
        cmocka_unit_test(test_state_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
