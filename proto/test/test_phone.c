/* test_phone.c — unit tests for the phone module: the libphonenumber shim (phonelib.h), hilo's
 * spelling rules and WhatsApp's spellings (phone.h), country by country for the rule packs'
 * countries (US, CO, CL, PE, MX) and Argentina, the reply address and the inbound cache.
 * Numbers are from the libphonenumber metadata's valid ranges (8.12.57, Debian 12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/phone.h"
#include "hilo/phonelib.h"

/* Parses and checks the result, printing the input when it differs. */
static void expect(const char *in, const char *region, const char *cc, unsigned flags, const char *want) {
    char out[HILO_PHONE_MAX];
    const char *why = NULL;
    int rc = hilo_phone_parse(in, region, cc, flags, out, sizeof out, &why);
    if (rc != HILO_OK) fail_msg("'%s' (region %s, cc %s, flags %u): refused: %s; want %s", in, region ? region : "-",
                                cc ? cc : "-", flags, why, want);
    if (strcmp(out, want) != 0)
        fail_msg("'%s' (region %s, cc %s, flags %u): got %s, want %s", in, region ? region : "-", cc ? cc : "-",
                 flags, out, want);
}

static void expect_refused(const char *in, const char *region, const char *cc, unsigned flags, const char *reason) {
    char out[HILO_PHONE_MAX];
    const char *why = NULL;
    if (hilo_phone_parse(in, region, cc, flags, out, sizeof out, &why) == HILO_OK)
        fail_msg("'%s' (region %s, cc %s, flags %u): accepted as %s, want refused (%s)", in, region ? region : "-",
                 cc ? cc : "-", flags, out, reason);
    if (strstr(why, reason) == NULL) fail_msg("'%s': reason '%s', want one with '%s'", in, why, reason);
}

/* ---- the shim ---- */

static void test_shim_parse(void **state) {
    (void)state;
    hilo_phonelib_number_t n;
    assert_int_equal(hilo_phonelib_parse("+52 55 1234 5678", NULL, 1, &n), HILO_PHONELIB_OK);
    assert_string_equal(n.e164, "+525512345678");
    assert_int_equal(n.country_code, 52);
    assert_string_equal(n.region, "MX");
    assert_true(n.possible && n.valid);

    assert_int_equal(hilo_phonelib_parse("01 4567890", "PE", 1, &n), HILO_PHONELIB_OK);
    assert_string_equal(n.e164, "+5114567890");
    assert_int_equal(n.type, HILO_PHONELIB_FIXED_LINE);
    assert_int_equal(hilo_phonelib_parse("912 345 678", "PE", 1, &n), HILO_PHONELIB_OK);
    assert_int_equal(n.type, HILO_PHONELIB_MOBILE);
    /* Without the validity check: the same E.164, nothing said about the ranges. */
    assert_int_equal(hilo_phonelib_parse("912 345 678", "PE", 0, &n), HILO_PHONELIB_OK);
    assert_string_equal(n.e164, "+51912345678");
    assert_true(n.possible);
    assert_false(n.valid);
    assert_int_equal(n.type, HILO_PHONELIB_UNKNOWN);

    /* Possible (a US length) but in no assigned range: the caller decides. */
    assert_int_equal(hilo_phonelib_parse("+1 555 555 0100", NULL, 1, &n), HILO_PHONELIB_OK);
    assert_true(n.possible);
    assert_false(n.valid);
    assert_string_equal(n.region, "");

    assert_int_equal(hilo_phonelib_parse("01 999", "PE", 1, &n), HILO_PHONELIB_OK);
    assert_false(n.possible);
    assert_int_equal(n.why_impossible, HILO_PHONELIB_TOO_SHORT);

    assert_int_equal(hilo_phonelib_parse("hello", "US", 1, &n), HILO_PHONELIB_NOT_A_NUMBER);
    assert_int_equal(hilo_phonelib_parse("+999 1234 5678", NULL, 1, &n), HILO_PHONELIB_BAD_COUNTRY_CODE);
    assert_int_equal(hilo_phonelib_parse("6502530000", NULL, 1, &n), HILO_PHONELIB_BAD_COUNTRY_CODE);
    assert_string_equal(n.e164, ""); /* zeroed on failure */
}

static void test_shim_regions(void **state) {
    (void)state;
    assert_int_equal(hilo_phonelib_country_code("PE"), 51);
    assert_int_equal(hilo_phonelib_country_code("AR"), 54);
    assert_int_equal(hilo_phonelib_country_code("XX"), 0);
    assert_int_equal(hilo_phonelib_country_code(""), 0);
    assert_int_equal(hilo_phonelib_country_code(NULL), 0);
    char r[3];
    assert_int_equal(hilo_phonelib_main_region(1, r), 1);
    assert_string_equal(r, "US");
    assert_int_equal(hilo_phonelib_main_region(57, r), 1);
    assert_string_equal(r, "CO");
    assert_int_equal(hilo_phonelib_main_region(999, r), 0);
    assert_string_equal(r, "");
    assert_int_equal(hilo_phonelib_main_region(800, r), 0); /* international freephone: no region */
    assert_string_equal(hilo_phonelib_strerror(HILO_PHONELIB_TOO_SHORT), "too short for its country");
}

/* ---- spellings ---- */

static void test_spellings_agree(void **state) {
    (void)state;
    const char *same[] = {"16502530000", "+16502530000", "whatsapp:+16502530000", "+1 (650) 253-0000",
                          "001 650 253 0000", "tel:+1-650-253-0000", "sip:+16502530000@pbx.example.com;transport=udp",
                          "6502530000", "1 650 253 0000"};
    for (size_t i = 0; i < HILO_ARRAY_LEN(same); i++) expect(same[i], NULL, "1", 0, "+16502530000");
    char out[HILO_PHONE_MAX];
    const char *why;
    assert_int_equal(hilo_phone_normalize("3211234567", "57", out, sizeof out, &why), HILO_OK);
    assert_string_equal(out, "+573211234567");
}

static void test_refusals(void **state) {
    (void)state;
    expect_refused("6502530000", NULL, NULL, 0, "national number and no default country code");
    expect_refused("hello", NULL, "1", 0, "unexpected character");
    expect_refused("", NULL, "1", 0, "no digits");
    expect_refused("+1234", NULL, "1", 0, "too short");
    expect_refused("+1234567890123456", NULL, "1", 0, "too long");
    expect_refused("+123456789012345678901", NULL, "1", 0, "too many digits");
    expect_refused("+999 1234 5678", NULL, "1", 0, "no such country calling code");
    expect_refused("12345", NULL, "1", 0, "too short");
    expect_refused("01 999", "PE", NULL, HILO_PHONE_VALID, "too short");
    expect_refused("4567890", "ZZ", NULL, 0, "unknown country");
    expect_refused("4567890", "Peru", NULL, 0, "unknown country");
    /* Possible but not valid: enough for an inbound address, not for the portfolio. */
    expect("+1 555 555 0100", NULL, "1", 0, "+15555550100");
    expect_refused("+1 555 555 0100", NULL, "1", HILO_PHONE_VALID, "not a valid number");
    char small[8];
    const char *why;
    assert_int_equal(hilo_phone_normalize("+16502530000", "1", small, sizeof small, &why), HILO_ERR);
    assert_string_equal(why, "output buffer too small");
}

/* The portfolio's national numbers read in the row's own country, not the default one. */
static void test_national_in_own_country(void **state) {
    (void)state;
    expect("01 4567890", "PE", "1", HILO_PHONE_VALID, "+5114567890");   /* Lima, trunk prefix 0 */
    expect("(01) 456-7890", "PE", NULL, HILO_PHONE_VALID, "+5114567890");
    expect("912 345 678", "PE", "1", HILO_PHONE_VALID, "+51912345678");
    expect("321 123 4567", "CO", "1", HILO_PHONE_VALID, "+573211234567");
    expect("601 2345678", "CO", "1", HILO_PHONE_VALID, "+576012345678");
    expect("9 6123 4567", "CL", "1", HILO_PHONE_VALID, "+56961234567");
    expect("2 2123 4567", "CL", "1", HILO_PHONE_VALID, "+56221234567");
    expect("55 1234 5678", "MX", "1", HILO_PHONE_VALID, "+525512345678");
    expect("044 55 1234 5678", "MX", "1", HILO_PHONE_VALID, "+525512345678");
    expect("(650) 253-0000", "US", "57", HILO_PHONE_VALID, "+16502530000");
    expect("011 15 2345-6789", "AR", "1", HILO_PHONE_VALID, "+5491123456789");
    /* The country code written without '+' is still understood in its own country... */
    expect("51 912 345 678", "PE", NULL, HILO_PHONE_VALID, "+51912345678");
    /* ...and a foreign number without '+' is read as international when that is the valid
     * reading. */
    expect("16502530000", "PE", NULL, HILO_PHONE_VALID, "+16502530000");
    /* Without a row country the configured default decides, as before. */
    expect("01 4567890", NULL, "51", HILO_PHONE_VALID, "+5114567890");
}

/* ---- WhatsApp's spellings, country by country ---- */

/* Every spelling in `spellings` must give `want`, with and without HILO_PHONE_WA_ID where it
 * starts with the country code (a wa_id), and whatever the default country. */
static void same_debtor(const char *want, const char *const *spellings, size_t n) {
    for (size_t i = 0; i < n; i++) {
        expect(spellings[i], NULL, "1", HILO_PHONE_WA_ID, want);
        expect(spellings[i], NULL, "57", HILO_PHONE_WA_ID | HILO_PHONE_VALID, want);
    }
}

static void test_whatsapp_us(void **state) {
    (void)state;
    const char *s[] = {"16502530000", "+16502530000", "whatsapp:+16502530000"};
    same_debtor("+16502530000", s, HILO_ARRAY_LEN(s));
    expect("(650) 253-0000", "US", NULL, HILO_PHONE_VALID, "+16502530000"); /* the portfolio's */
}

static void test_whatsapp_co(void **state) {
    (void)state;
    const char *s[] = {"573211234567", "+573211234567", "whatsapp:+573211234567"};
    same_debtor("+573211234567", s, HILO_ARRAY_LEN(s));
    expect("321 123 4567", "CO", NULL, HILO_PHONE_VALID, "+573211234567");
}

static void test_whatsapp_cl(void **state) {
    (void)state;
    const char *s[] = {"56961234567", "+56961234567", "whatsapp:+56961234567"};
    same_debtor("+56961234567", s, HILO_ARRAY_LEN(s));
    expect("9 6123 4567", "CL", NULL, HILO_PHONE_VALID, "+56961234567");
}

static void test_whatsapp_pe(void **state) {
    (void)state;
    const char *s[] = {"51912345678", "+51912345678", "whatsapp:+51912345678"};
    same_debtor("+51912345678", s, HILO_ARRAY_LEN(s));
    expect("912 345 678", "PE", NULL, HILO_PHONE_VALID, "+51912345678");
}

/* Mexico: WhatsApp's wa_id for a mobile keeps the "1" after 52 that Mexico retired in 2019. */
static void test_whatsapp_mx(void **state) {
    (void)state;
    const char *s[] = {"5215512345678", "+5215512345678", "whatsapp:+5215512345678", "+52 1 55 1234 5678",
                       "525512345678", "+525512345678"};
    same_debtor("+525512345678", s, HILO_ARRAY_LEN(s));
    expect("55 1234 5678", "MX", NULL, HILO_PHONE_VALID, "+525512345678");
    expect("5215512345678", NULL, "52", 0, "+525512345678"); /* bare digits in Mexico itself */
    expect("+5218112345678", NULL, NULL, HILO_PHONE_VALID, "+528112345678"); /* Monterrey */
    /* The rule is for 13 digits only: a 12-digit number with 1 after 52 is not touched. */
    expect_refused("+52 1 55 1234 567", NULL, NULL, HILO_PHONE_VALID, "not a valid number");
}

/* Argentina: mobiles are +54 9 <area> <number>; WhatsApp's wa_id has that form; the national
 * spelling is 0<area> 15 <number>; people also write the 15 inside the international form. */
static void test_whatsapp_ar(void **state) {
    (void)state;
    const char *s[] = {"5491123456789", "+5491123456789", "whatsapp:+5491123456789", "+54 9 11 2345-6789",
                       "+54 11 15 2345 6789", "+54 9 11 15 2345 6789", "5491115 23456789"};
    same_debtor("+5491123456789", s, HILO_ARRAY_LEN(s));
    expect("011 15 2345-6789", "AR", NULL, HILO_PHONE_VALID, "+5491123456789");
    expect("11 15 2345 6789", "AR", NULL, HILO_PHONE_VALID, "+5491123456789");
    /* Córdoba (area 351, 3 digits) and a 4-digit area (2954, Santa Rosa). */
    expect("+54 9 351 15 512 3456", NULL, NULL, HILO_PHONE_VALID, "+5493515123456");
    expect("0351 15 512-3456", "AR", NULL, HILO_PHONE_VALID, "+5493515123456");
    /* A fixed line stays a fixed line: +54 11 without 9 is not merged with the mobile. */
    expect("+54 11 2345 6789", NULL, NULL, HILO_PHONE_VALID, "+541123456789");
}

/* A wa_id is never read as a national number, even where that reading would be possible. */
static void test_wa_id_is_international(void **state) {
    (void)state;
    expect("16502530000", NULL, "52", HILO_PHONE_WA_ID, "+16502530000");
    expect("573211234567", NULL, "1", HILO_PHONE_WA_ID, "+573211234567");
    /* Without the flag, bare digits are read in the default country first. */
    expect("3211234567", NULL, "57", 0, "+573211234567");
    expect("6502530000", NULL, "1", 0, "+16502530000");
}

/* ---- the reply address ---- */

static void test_reply_address(void **state) {
    (void)state;
    char out[64];
    assert_true(hilo_phone_reply_address("5215512345678", "+525512345678", out, sizeof out));
    assert_string_equal(out, "5215512345678"); /* WhatsApp's own id for the debtor */
    assert_true(hilo_phone_reply_address("whatsapp:+5215512345678", "+525512345678", out, sizeof out));
    assert_string_equal(out, "whatsapp:+5215512345678");
    assert_true(hilo_phone_reply_address("+16502530000", "+16502530000", out, sizeof out));
    assert_string_equal(out, "+16502530000");
    /* Spellings a provider would not take back: the canonical number. */
    assert_true(hilo_phone_reply_address("sip:+16502530000@pbx.example.com", "+16502530000", out, sizeof out));
    assert_string_equal(out, "+16502530000");
    assert_true(hilo_phone_reply_address("+1 (650) 253-0000", "+16502530000", out, sizeof out));
    assert_string_equal(out, "+16502530000");
    assert_true(hilo_phone_reply_address("00 1 650 253 0000", "+16502530000", out, sizeof out));
    assert_string_equal(out, "+16502530000");
    char tiny[8];
    assert_false(hilo_phone_reply_address("5215512345678", "+525512345678", tiny, sizeof tiny));
}

/* ---- the cache ---- */

static void test_cache(void **state) {
    (void)state;
    hilo_phone_cache_t *c = hilo_phone_cache_new(100);
    char out[HILO_PHONE_MAX];
    const char *why;
    unsigned long long hits, lookups;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(hilo_phone_cache_parse(c, "5215512345678", "1", HILO_PHONE_WA_ID, out, sizeof out, &why),
                         HILO_OK);
        assert_string_equal(out, "+525512345678");
        assert_int_equal(hilo_phone_cache_parse(c, "6502530000", "1", 0, out, sizeof out, &why), HILO_OK);
        assert_string_equal(out, "+16502530000");
    }
    hilo_phone_cache_stats(c, &hits, &lookups);
    assert_int_equal(lookups, 6);
    assert_int_equal(hits, 4);
    /* The flags are part of the key: bare digits read otherwise as a wa_id (Singapore's). */
    assert_int_equal(hilo_phone_cache_parse(c, "6502530000", "1", HILO_PHONE_WA_ID, out, sizeof out, &why), HILO_OK);
    assert_string_equal(out, "+6502530000");
    /* Failures are not kept, and say why each time. */
    assert_int_equal(hilo_phone_cache_parse(c, "hello", "1", 0, out, sizeof out, &why), HILO_ERR);
    assert_int_equal(hilo_phone_cache_parse(c, "hello", "1", 0, out, sizeof out, &why), HILO_ERR);
    assert_non_null(strstr(why, "unexpected character"));
    /* Another default country code: nothing cached under the old one is answered. */
    assert_int_equal(hilo_phone_cache_parse(c, "3211234567", "57", 0, out, sizeof out, &why), HILO_OK);
    assert_string_equal(out, "+573211234567");
    assert_int_equal(hilo_phone_cache_parse(c, "6502530000", "57", 0, out, sizeof out, &why), HILO_OK);
    assert_string_equal(out, "+576502530000"); /* possible in Colombia, no longer the US number */
    /* Longer than a slot holds: parsed every time, still right. */
    const char *longer = "sip:+16502530000@a-rather-long-pbx-host-name.example.com";
    assert_int_equal(hilo_phone_cache_parse(c, longer, "1", 0, out, sizeof out, &why), HILO_OK);
    assert_string_equal(out, "+16502530000");
    hilo_phone_cache_destroy(&c);
    assert_null(c);
    hilo_phone_cache_destroy(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shim_parse),
        cmocka_unit_test(test_shim_regions),
        cmocka_unit_test(test_spellings_agree),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_national_in_own_country),
        cmocka_unit_test(test_whatsapp_us),
        cmocka_unit_test(test_whatsapp_co),
        cmocka_unit_test(test_whatsapp_cl),
        cmocka_unit_test(test_whatsapp_pe),
        cmocka_unit_test(test_whatsapp_mx),
        cmocka_unit_test(test_whatsapp_ar),
        cmocka_unit_test(test_wa_id_is_international),
        cmocka_unit_test(test_reply_address),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
