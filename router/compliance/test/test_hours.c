/* test_hours.c — contact hours with the shipped rule packs (deploy/compliance/) and the data
 * file errors. Instants were computed while writing the test with Python's zoneinfo over the
 * system tzdata and cross-checked with GNU date, e.g.
 *   TZ=America/New_York date -d @1752633000  ->  Tue Jul 15 22:30:00 EDT 2025 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/frame.h"
#include "hilo/hours.h"

#define MS(s) ((int64_t)(s) * 1000)

static hilo_hours_t *hours;

static int setup(void **state) {
    char err[512] = "";
    hours = hilo_hours_load(HILO_COMPLIANCE_DATA, NULL, err, sizeof err);
    if (!hours) fail_msg("%s", err);
    static const char *const map[][2] = {{"US", "us_reg_f"}, {"CO", "co_ley_2300"}, {"CL", "cl"},
                                         {"PE", "pe"},       {"MX", "mx"},          {"default", "block"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (hilo_hours_map(hours, map[i][0], map[i][1], err, sizeof err) != 0) fail_msg("%s", err);
    return 0;
}

static int teardown(void **state) {
    hilo_hours_destroy(&hours);
    assert_null(hours);
    return 0;
}

/* Runs one check and compares allowed, reason code and (when given) a piece of the text. */
static hilo_verdict_t check(const char *cc, const char *tz, int64_t t, int ch, bool allowed, hilo_reason_t why,
                            const char *text) {
    hilo_verdict_t v;
    bool ok = hilo_hours_check(hours, cc, tz, MS(t), ch, &v);
    if (ok != allowed || v.allowed != allowed || v.reason != why || (text && !strstr(v.text, text)))
        fail_msg("%s %s @%lld: got allowed=%d %s \"%s\", want allowed=%d %s \"%s\"", cc, tz, (long long)t, ok,
                 hilo_reason_name(v.reason), v.text, allowed, hilo_reason_name(why), text ? text : "");
    return v;
}

static void test_us_reg_f(void **state) {
    /* Tue 2025-07-15 22:30 EDT. */
    hilo_verdict_t v = check("US", "America/New_York", 1752633000, HILO_CHANNEL_SMS, false,
                             HILO_REASON_OUTSIDE_HOURS,
                             "22:30 in America/New_York is outside 08:00-21:00 (US Regulation F)");
    assert_int_equal(v.next_ms, MS(1752667200)); /* Wed 08:00 EDT */
    check("US", "America/New_York", 1752588000, HILO_CHANNEL_VOICE, true, HILO_REASON_OK, NULL); /* 10:00 */
    /* Country codes are case-insensitive. */
    check("us", "America/New_York", 1752588000, HILO_CHANNEL_VOICE, true, HILO_REASON_OK, NULL);
}

static void test_dst_boundaries(void **state) {
    /* Spring forward, Sun 2025-03-09: 08:00 EDT is 12:00Z (a fixed EST offset would say 07:00). */
    check("US", "America/New_York", 1741521540, HILO_CHANNEL_SMS, false, HILO_REASON_OUTSIDE_HOURS, "07:59");
    check("US", "America/New_York", 1741521600, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL);
    /* Fall back, Sun 2025-11-02: 07:30 EST is 12:30Z (a fixed EDT offset would say 08:30). */
    hilo_verdict_t v =
        check("US", "America/New_York", 1762086600, HILO_CHANNEL_SMS, false, HILO_REASON_OUTSIDE_HOURS, "07:30");
    assert_int_equal(v.next_ms, MS(1762088400)); /* 08:00 EST the same day */
    check("US", "America/New_York", 1762088400, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL);
    check("US", "America/New_York", 1762135140, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL); /* 20:59 */
    check("US", "America/New_York", 1762135200, HILO_CHANNEL_SMS, false, HILO_REASON_OUTSIDE_HOURS,
          "21:00"); /* the end is exclusive */
}

static void test_colombia(void **state) {
    /* Sun 2025-07-13 10:00. */
    hilo_verdict_t v = check("CO", "America/Bogota", 1752418800, HILO_CHANNEL_WHATSAPP, false,
                             HILO_REASON_CLOSED_DAY, "Sunday 10:00 in America/Bogota: no contact on Sundays");
    assert_int_equal(v.next_ms, MS(1752494400)); /* Mon 07:00 */
    /* Mon 2025-08-18: La Asunción, moved from Fri Aug 15 by Ley Emiliani. */
    v = check("CO", "America/Bogota", 1755529200, HILO_CHANNEL_SMS, false, HILO_REASON_HOLIDAY,
              "2025-08-18 (La Asunción de la Virgen) is a public holiday in CO");
    assert_int_equal(v.next_ms, MS(1755604800)); /* Tue 07:00 */
    /* Sat 2025-07-12: 14:00 passes, 16:00 is after 15:00. */
    check("CO", "America/Bogota", 1752346800, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL);
    v = check("CO", "America/Bogota", 1752354000, HILO_CHANNEL_SMS, false, HILO_REASON_OUTSIDE_HOURS,
              "16:00 in America/Bogota is outside 08:00-15:00");
    assert_int_equal(v.next_ms, MS(1752494400)); /* Sunday closed -> Mon 07:00 */
    /* 2030 is past holidays/CO.txt: fail closed. */
    check("CO", "America/Bogota", 1898607600, HILO_CHANNEL_SMS, false, HILO_REASON_NO_HOLIDAY_DATA, "2025-2029");
}

static void test_peru_chile_mexico(void **state) {
    /* Peru, Sat 2025-07-12 10:00. */
    hilo_verdict_t v = check("PE", "America/Lima", 1752332400, HILO_CHANNEL_SMS, false, HILO_REASON_CLOSED_DAY,
                             "no contact on Saturdays");
    assert_int_equal(v.next_ms, MS(1752494400)); /* Mon 07:00 */
    /* Chile: Sat 10:00 passes, Sun 10:00 closed, Tue 20:30 outside, Sep 18 holiday. */
    check("CL", "America/Santiago", 1752328800, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL);
    check("CL", "America/Santiago", 1752415200, HILO_CHANNEL_SMS, false, HILO_REASON_CLOSED_DAY, "Sunday");
    check("CL", "America/Santiago", 1752625800, HILO_CHANNEL_SMS, false, HILO_REASON_OUTSIDE_HOURS,
          "outside 08:00-20:00");
    check("CL", "America/Santiago", 1758200400, HILO_CHANNEL_SMS, false, HILO_REASON_HOLIDAY,
          "Independencia Nacional");
    /* Mexico: Tue 2025-07-15 22:30 blocked, 10:00 passes. */
    check("MX", "America/Mexico_City", 1752640200, HILO_CHANNEL_VOICE, false, HILO_REASON_OUTSIDE_HOURS,
          "22:30 in America/Mexico_City is outside 07:00-22:00");
    check("MX", "America/Mexico_City", 1752595200, HILO_CHANNEL_VOICE, true, HILO_REASON_OK, NULL);
}

static void test_unknown_country_and_zone(void **state) {
    check("BR", "America/Sao_Paulo", 1752588000, HILO_CHANNEL_SMS, false, HILO_REASON_NO_RULE_PACK, "'BR'");
    check(NULL, "America/New_York", 1752588000, HILO_CHANNEL_SMS, false, HILO_REASON_NO_RULE_PACK, "(none)");
    /* No zone: every US zone of the pack must be inside hours. 10:00 EDT is 04:00 in Honolulu. */
    hilo_verdict_t v = check("US", "", 1752588000, HILO_CHANNEL_SMS, false, HILO_REASON_OUTSIDE_HOURS,
                             "07:00 in America/Phoenix"); /* the first zone that fails */
    assert_non_null(strstr(v.text, "checked in all 8 zones of us_reg_f"));
    assert_int_equal(v.next_ms, MS(1752602400)); /* 14:00 EDT = 08:00 HST */
    check("US", NULL, 1752609600, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL); /* 16:00 EDT */
    /* A misspelt zone falls back the same way, and says so. */
    v = check("CO", "America/Bogata", 1752346800, HILO_CHANNEL_SMS, true, HILO_REASON_OK, NULL);
    check("CO", "America/Bogata", 1752418800, HILO_CHANNEL_SMS, false, HILO_REASON_CLOSED_DAY,
          "unknown time zone 'America/Bogata'");
    check("CO", "America/Bogota", 1752346800, 0, false, HILO_REASON_INVALID, "channel");
}

/* ---- data file errors ---------------------------------------------------------------------- */

static char dir[64];

static void write_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_error(const char *want_suffix) {
    char err[512] = "", want[320];
    snprintf(want, sizeof want, "%s/%s", dir, want_suffix);
    hilo_hours_t *h = hilo_hours_load(dir, NULL, err, sizeof err);
    if (h || !strstr(err, want)) fail_msg("got \"%s\", want \"%s\"", h ? "(loaded)" : err, want);
}

#define GOOD_PACK "name = Test\nsource = none\nholidays = XX\nmon-fri = 08:00-12:00, 14:00-18:00\n" \
                  "sat-sun = closed\nholiday = closed\n"

static void test_bad_files(void **state) {
    snprintf(dir, sizeof dir, "/tmp/hilo-hours-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char sub[96];
    snprintf(sub, sizeof sub, "%s/holidays", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file("holidays/XX.txt", "# test\n2025-01-01 New Year\n2026-01-01 New Year\n");
    write_file("t.pack", GOOD_PACK);
    char err[512];
    hilo_hours_t *h = hilo_hours_load(dir, NULL, err, sizeof err);
    if (!h) fail_msg("%s", err);
    hilo_hours_destroy(&h);

    write_file("t.pack", "name = Test\nsource = none\nmon-fri = 7:00-19:00\n");
    expect_error("t.pack:3: bad hours '7:00-19:00'");
    write_file("t.pack", "name = Test\n\n# comment\nsource = x\nmon-fri = 09:00-08:00\n");
    expect_error("t.pack:5: bad hours");
    write_file("t.pack", "name = Test\nsource = x\nmon-sun = 08:00-12:00\nsat = closed\n");
    expect_error("t.pack:4: 'sat' defines a day already defined");
    write_file("t.pack", "name = Test\nsource = x\nholidays = none\nmon-fri = 08:00-12:00\n");
    expect_error("t.pack:0: no hours for 'sat'");
    write_file("t.pack", "name = Test\nsource = x\nholidays = none\nmon-sun = closed\nfax.mon = closed\n");
    expect_error("t.pack:5: unknown channel 'fax'");
    write_file("t.pack", "name = Test\nsource = x\nholidays = none\nmon-sun = closed\nweekday = closed\n");
    expect_error("t.pack:5: unknown key 'weekday'");
    write_file("t.pack", "name = T\nsource = x\nholidays = none\nmon-sun = closed\ntimezones = Mars/Olympus\n");
    expect_error("t.pack:5: timezones: unknown time zone 'Mars/Olympus'");
    write_file("t.pack", "name = T\nsource = x\nholidays = none\nmon-sun = closed\ncap.voice = 7 per week\n");
    expect_error("t.pack:5: bad cap");
    write_file("t.pack", "name = T\nsource = x\nholidays = none\nmon-sun = closed\nafter_phone_conversation = a week\n");
    expect_error("t.pack:5: bad duration 'a week'");
    write_file("t.pack", "name = T\nsource = x\nholidays = none\nmon-sun = closed\nafter_phone_conversation = 7d\n"
                         "after_phone_conversation = 1d\n");
    expect_error("t.pack:6: ");

    write_file("t.pack", GOOD_PACK);
    write_file("holidays/XX.txt", "2025-01-01 New Year\n2025-02-30 Bad day\n");
    expect_error("holidays/XX.txt:2: expected 'YYYY-MM-DD name' with a real date");
    write_file("holidays/XX.txt", "2025-01-01 New Year\n\n2025-05-01\n");
    expect_error("holidays/XX.txt:3: expected a blank and the holiday's name");
    write_file("holidays/XX.txt", "2025-01-01 New Year\n2027-01-01 New Year\n");
    expect_error("holidays/XX.txt:0: no holidays for 2026");
    char path[256];
    snprintf(path, sizeof path, "%s/holidays/XX.txt", dir);
    unlink(path);
    expect_error("holidays/XX.txt:0: cannot open");
    snprintf(path, sizeof path, "%s/t.pack", dir);
    unlink(path);
    /* A directory without any pack (e.g. compliance_dir pointing at the wrong place). */
    char want[320];
    snprintf(want, sizeof want, "%s:0: no rule packs (*.pack files)", dir);
    h = hilo_hours_load(dir, NULL, err, sizeof err);
    if (h || strcmp(err, want) != 0) fail_msg("got \"%s\", want \"%s\"", h ? "(loaded)" : err, want);
    rmdir(sub);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_us_reg_f),
        cmocka_unit_test(test_dst_boundaries),
        cmocka_unit_test(test_colombia),
        cmocka_unit_test(test_peru_chile_mexico),
        cmocka_unit_test(test_unknown_country_and_zone),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
