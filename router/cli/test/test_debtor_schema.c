/* test_debtor_schema.c — header mapping and every row rejection reason of the portfolio CSV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debtor_schema.h"
#include "hilo/common.h"

#define MAXF 32

/* Splits a comma-separated line (no quoting: tests do not need it) into fields. */
typedef struct {
    char *buf;
    const char *f[MAXF];
    size_t len[MAXF];
    size_t n;
} split_t;

static split_t split(const char *line) {
    split_t s = {.buf = hilo_xstrdup(line)};
    char *p = s.buf;
    for (;;) {
        char *comma = strchr(p, ',');
        s.f[s.n] = p;
        s.len[s.n] = comma ? (size_t)(comma - p) : strlen(p);
        s.n++;
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    return s;
}

static hilo_debtor_schema_t *schema_of(const char *header, char *err, size_t errlen) {
    split_t h = split(header);
    hilo_debtor_schema_t *s = hilo_debtor_schema_new(h.f, h.len, h.n, "1", NULL, err, errlen);
    free(h.buf);
    return s;
}

#define HEADER "debtor_id,full_name,phones,email,document_last4,balance,currency,days_past_due,timezone,language,country,Segment"
#define GOOD "D1001,Ana María Gómez,+16505551234; (650) 555-0000,ana@example.com,4321,1250.00,USD,45,America/New_York,es,US,gold"

static hilo_debtor_row_t *row_of(hilo_debtor_schema_t *s, const char *line) {
    split_t r = split(line);
    hilo_debtor_row_t *row = hilo_debtor_schema_row(s, r.f, r.len, r.n);
    free(r.buf);
    return row;
}

static const char *value_of(const hilo_debtor_row_t *row, const char *field) {
    for (size_t i = 0; i < row->nset; i++)
        if (strcmp(row->set_field[i], field) == 0) return row->set_value[i];
    return NULL;
}

static void test_header_mapping(void **state) {
    char err[256] = "";
    hilo_debtor_schema_t *s = schema_of(" Debtor_ID ,full_name,  notes  ", err, sizeof err);
    assert_non_null(s);
    hilo_debtor_row_t *row = row_of(s, " D7 , Bob ,  call after 5pm ");
    assert_non_null(row);
    assert_string_equal(row->id, "D7");
    assert_string_equal(value_of(row, "debtor_id"), "D7");
    assert_string_equal(value_of(row, "full_name"), "Bob");
    assert_string_equal(value_of(row, "attr:notes"), "call after 5pm");
    hilo_debtor_row_destroy(&row);
    assert_null(row);
    hilo_debtor_schema_destroy(&s);
    assert_null(s);

    assert_null(schema_of("full_name,phones", err, sizeof err));
    assert_string_equal(err, "missing required column debtor_id");
    assert_null(schema_of("debtor_id,phones", err, sizeof err));
    assert_string_equal(err, "missing required column full_name");
    assert_null(schema_of("debtor_id,full_name,DEBTOR_ID", err, sizeof err));
    assert_string_equal(err, "duplicate column 'DEBTOR_ID' (columns 1 and 3)");
    assert_null(schema_of("debtor_id,full_name,,x", err, sizeof err));
    assert_string_equal(err, "column 3 has no name");
    assert_null(schema_of("debtor_id,full_name,bad\xC3", err, sizeof err));
    assert_string_equal(err, "column 3: name is not valid UTF-8");
}

static void test_good_row(void **state) {
    char err[256];
    hilo_debtor_schema_t *s = schema_of(HEADER, err, sizeof err);
    assert_non_null(s);
    hilo_debtor_row_t *row = row_of(s, GOOD);
    assert_non_null(row);
    assert_string_equal(row->id, "D1001");
    assert_int_equal(row->nphones, 2);
    assert_string_equal(row->phones[0], "+16505551234");
    assert_string_equal(row->phones[1], "+16505550000"); /* national, default country code 1 */
    assert_string_equal(value_of(row, "phones"), "+16505551234;+16505550000");
    assert_string_equal(value_of(row, "full_name"), "Ana María Gómez");
    assert_string_equal(value_of(row, "balance"), "1250.00");
    assert_string_equal(value_of(row, "attr:Segment"), "gold");
    assert_int_equal(row->nclear, 0);
    hilo_debtor_row_destroy(&row);

    /* Optional columns left empty are cleared, not set; duplicate phones collapse. */
    row = row_of(s, "D2,Bo,6505551234;+1 650 555 1234;,,,,,,,,,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 1);
    assert_int_equal(row->nset, 3); /* debtor_id, full_name, phones */
    assert_int_equal(row->nclear, 9);
    assert_string_equal(row->clear_field[0], "email");
    assert_string_equal(row->clear_field[8], "attr:Segment");
    hilo_debtor_row_destroy(&row);

    row = row_of(s, "D3,Cy,;,,,0,,0,America/Argentina/Buenos_Aires,,,"); /* only separators: no phone */
    assert_non_null(row);
    assert_int_equal(row->nphones, 0);
    assert_null(value_of(row, "phones"));
    assert_string_equal(row->clear_field[0], "phones");
    hilo_debtor_row_destroy(&row);
    hilo_debtor_schema_destroy(&s);
}

/* Each case: a row and the exact reason it is refused for. */
static void test_each_rejection_reason(void **state) {
    static const struct {
        const char *row, *id, *why;
    } cases[] = {
        {"D1,Ana", "D1", "row has 2 fields, the header has 12"},
        {",Ana,,,,,,,,,,", "(empty)", "missing debtor_id"},
        {"u:+16505551234,Ana,,,,,,,,,,", "u:+16505551234",
         "invalid debtor_id (1-64 of A-Z a-z 0-9 . _ : + -, not starting with u:)"},
        {"D{1},Ana,,,,,,,,,,", "D{1}", "invalid debtor_id (1-64 of A-Z a-z 0-9 . _ : + -, not starting with u:)"},
        {"D1,  ,,,,,,,,,,", "D1", "missing full_name"},
        {"D1,Ana,,,12345,,,,,,,", "D1", "document_last4 '12345' is not exactly 4 digits"},
        {"D1,Ana,,,43a1,,,,,,,", "D1", "document_last4 '43a1' is not exactly 4 digits"},
        {"D1,Ana,,,,-5,,,,,,", "D1", "balance '-5' is not a decimal number >= 0"},
        {"D1,Ana,,,,1.250.00,,,,,,", "D1", "balance '1.250.00' is not a decimal number >= 0"},
        {"D1,Ana,,,,12.,,,,,,", "D1", "balance '12.' is not a decimal number >= 0"},
        {"D1,Ana,,,,1e3,,,,,,", "D1", "balance '1e3' is not a decimal number >= 0"},
        {"D1,Ana,,,,,usd,,,,,", "D1", "currency 'usd' is not 3 uppercase letters (ISO 4217, e.g. USD)"},
        {"D1,Ana,,,,,USDT,,,,,", "D1", "currency 'USDT' is not 3 uppercase letters (ISO 4217, e.g. USD)"},
        {"D1,Ana,,,,,,-1,,,,", "D1", "days_past_due '-1' is not an integer >= 0"},
        {"D1,Ana,,,,,,4.5,,,,", "D1", "days_past_due '4.5' is not an integer >= 0"},
        {"D1,Ana,,,,,,,America/Gotham,,,", "D1",
         "timezone 'America/Gotham' is not a known time zone (e.g. America/Bogota)"},
        {"D1,Ana,,,,,,,../../etc/passwd,,,", "D1",
         "timezone '../../etc/passwd' is not a known time zone (e.g. America/Bogota)"},
        {"D1,Ana,,,,,,,/etc/localtime,,,", "D1",
         "timezone '/etc/localtime' is not a known time zone (e.g. America/Bogota)"},
        {"D1,Ana,,,,,,,zone.tab,,,", "D1", "timezone 'zone.tab' is not a known time zone (e.g. America/Bogota)"},
        {"D1,Ana,,,,,,,America,,,", "D1", "timezone 'America' is not a known time zone (e.g. America/Bogota)"},
        {"D1,Ana,,,,,,,,spa,,", "D1", "language 'spa' is not a 2-letter language code (e.g. es, en)"},
        {"D1,Ana,,,,,,,,ES,,", "D1", "language 'ES' is not a 2-letter language code (e.g. es, en)"},
        {"D1,Ana \xC3\x28,,,,,,,,,,", "D1", "full_name is not valid UTF-8"},
        {"D1,Ana,,,,,,,,,,\xFF", "D1", "attr:Segment is not valid UTF-8"},
        {"D\xFF,Ana,,,,,,,,,,", "D?", "debtor_id is not valid UTF-8"},
    };
    char err[256];
    hilo_debtor_schema_t *s = schema_of(HEADER, err, sizeof err);
    assert_non_null(s);
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        hilo_debtor_row_t *row = row_of(s, cases[i].row);
        if (row) fail_msg("case %zu accepted: %s", i, cases[i].row);
        assert_string_equal(hilo_debtor_schema_error(s), cases[i].why);
        assert_string_equal(hilo_debtor_schema_error_id(s), cases[i].id);
    }
    /* A NUL byte inside a field (lengths say so even though C strings stop there). */
    const char *f[12] = {"D1", "A\0b", "", "", "", "", "", "", "", "", "", ""};
    size_t len[12] = {2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_null(hilo_debtor_schema_row(s, f, len, 12));
    assert_string_equal(hilo_debtor_schema_error(s), "full_name contains a NUL byte");
    hilo_debtor_schema_destroy(&s);
}

/* A phone that is not a valid number is left out and named; the row and its other phones load. */
static void test_bad_phone_others_load(void **state) {
    char err[256];
    hilo_debtor_schema_t *s = schema_of(HEADER, err, sizeof err);
    assert_non_null(s);
    hilo_debtor_row_t *row = row_of(s, "D1,Ana,+1650555; +16505551234;call me,,,,,,,,,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 1);
    assert_string_equal(row->phones[0], "+16505551234");
    assert_string_equal(value_of(row, "phones"), "+16505551234");
    assert_int_equal(row->nbad, 2);
    assert_string_equal(row->bad[0], "phone '+1650555': too short for its country");
    assert_string_equal(row->bad[1], "phone 'call me': unexpected character in phone number");
    hilo_debtor_row_destroy(&row);

    /* Of the right length but in no range the country assigned. */
    row = row_of(s, "D2,Bo,+1 555 555 0100;+16505551234,,,,,,,,US,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 1);
    assert_int_equal(row->nbad, 1);
    assert_string_equal(row->bad[0], "phone '+1 555 555 0100' (country US): not a valid number in its country");
    hilo_debtor_row_destroy(&row);

    /* Its only phone refused: the row loads without phones. */
    row = row_of(s, "D3,Cy,01 999,,,,,,,,PE,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 0);
    assert_null(value_of(row, "phones"));
    assert_int_equal(row->nbad, 1);
    assert_string_equal(row->bad[0], "phone '01 999' (country PE): too short for its country");
    hilo_debtor_row_destroy(&row);
    hilo_debtor_schema_destroy(&s);

    /* No country and no default country code: a national number cannot be placed. */
    split_t h = split(HEADER);
    s = hilo_debtor_schema_new(h.f, h.len, h.n, NULL, NULL, err, sizeof err);
    free(h.buf);
    row = row_of(s, "D1,Ana,6505551234;+16505551234,,,,,,,,,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 1);
    assert_string_equal(row->bad[0], "phone '6505551234': national number and no default country code");
    hilo_debtor_row_destroy(&row);
    hilo_debtor_schema_destroy(&s);
}

/* National numbers are read in the row's own country (column `country`), the default country
 * code (1 here) only for rows without one. */
static void test_phones_in_row_country(void **state) {
    char err[256];
    hilo_debtor_schema_t *s = schema_of(HEADER, err, sizeof err);
    assert_non_null(s);
    hilo_debtor_row_t *row = row_of(s, "P1,Pedro,01 4567890; 912 345 678,,,,,,,,PE,");
    assert_non_null(row);
    assert_int_equal(row->nbad, 0);
    assert_int_equal(row->nphones, 2);
    assert_string_equal(row->phones[0], "+5114567890"); /* not +1014567890 */
    assert_string_equal(row->phones[1], "+51912345678");
    hilo_debtor_row_destroy(&row);

    /* Any case; Mexico's old mobile spelling is the same number. */
    row = row_of(s, "M1,Marta,55 1234 5678; +52 1 55 1234 5678,,,,,,,, mx ,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 1);
    assert_string_equal(row->phones[0], "+525512345678");
    hilo_debtor_row_destroy(&row);

    row = row_of(s, "A1,Ariel,011 15 2345-6789,,,,,,,,AR,");
    assert_non_null(row);
    assert_string_equal(row->phones[0], "+5491123456789");
    hilo_debtor_row_destroy(&row);

    row = row_of(s, "C1,Carla,321 123 4567,,,,,,,,CO,");
    assert_non_null(row);
    assert_string_equal(row->phones[0], "+573211234567");
    hilo_debtor_row_destroy(&row);

    row = row_of(s, "L1,Luis,9 6123 4567,,,,,,,,CL,");
    assert_non_null(row);
    assert_string_equal(row->phones[0], "+56961234567");
    hilo_debtor_row_destroy(&row);

    /* No country: the default's. An unknown country: only international numbers load. */
    row = row_of(s, "U1,Uma,(650) 253-0000,,,,,,,,,");
    assert_non_null(row);
    assert_string_equal(row->phones[0], "+16502530000");
    hilo_debtor_row_destroy(&row);
    row = row_of(s, "X1,Xavi,4567890; +16505551234,,,,,,,,XX,");
    assert_non_null(row);
    assert_int_equal(row->nphones, 1);
    assert_string_equal(row->phones[0], "+16505551234");
    assert_int_equal(row->nbad, 1);
    assert_string_equal(row->bad[0],
                        "phone '4567890' (country XX): unknown country (want an ISO 3166-1 alpha-2 code, e.g. PE)");
    hilo_debtor_row_destroy(&row);
    row = row_of(s, "X2,Xavi,4567890,,,,,,,,Peru,");
    assert_non_null(row);
    assert_int_equal(row->nbad, 1);
    assert_string_equal(row->bad[0],
                        "phone '4567890' (country ?): unknown country (want an ISO 3166-1 alpha-2 code, e.g. PE)");
    hilo_debtor_row_destroy(&row);
    hilo_debtor_schema_destroy(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_mapping),
        cmocka_unit_test(test_good_row),
        cmocka_unit_test(test_each_rejection_reason),
        cmocka_unit_test(test_bad_phone_others_load),
        cmocka_unit_test(test_phones_in_row_country),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
