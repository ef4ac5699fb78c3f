/* test_tz.c — TZif reading and local-time conversion against known values.
 *
 * Every expected local time below was obtained while writing the test with GNU date on Debian 12
 * (tzdata 2025b), e.g.  TZ=America/New_York date -d @1741503600 '+%F %T %a %Z %z'
 * -> 2025-03-09 03:00:00 Sun EDT -0400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/tz.h"

static hilo_tzdb_t *db;

static int setup(void **state) {
    db = hilo_tzdb_new(NULL);
    return 0;
}

static int teardown(void **state) {
    hilo_tzdb_destroy(&db);
    assert_null(db);
    return 0;
}

static const hilo_tz_t *zone(const char *name) {
    char err[256] = "";
    const hilo_tz_t *z = hilo_tzdb_get(db, name, err, sizeof err);
    if (!z) fail_msg("%s: %s", name, err);
    return z;
}

/* Checks "YYYY-MM-DD HH:MM:SS wday utoff" of one instant. */
static void expect(const char *name, int64_t t, const char *want, int wday, int32_t utoff) {
    hilo_tm_t tm;
    hilo_tz_local(zone(name), t, &tm);
    char got[32];
    snprintf(got, sizeof got, "%04d-%02d-%02d %02d:%02d:%02d", tm.year, tm.month, tm.day, tm.hour, tm.minute,
             tm.second);
    if (strcmp(got, want) != 0 || tm.wday != wday || tm.utoff != utoff)
        fail_msg("%s @%lld: got %s wday %d off %d, want %s wday %d off %d", name, (long long)t, got, tm.wday,
                 tm.utoff, want, wday, utoff);
}

static void test_known_offsets(void **state) {
    /* New York, around the 2025 spring-forward (Mar 9, 02:00 EST -> 03:00 EDT). */
    expect("America/New_York", 1741499999, "2025-03-09 00:59:59", 0, -5 * 3600);
    expect("America/New_York", 1741503600, "2025-03-09 03:00:00", 0, -4 * 3600);
    /* ... and the fall-back (Nov 2, 02:00 EDT -> 01:00 EST). */
    expect("America/New_York", 1762059599, "2025-11-02 00:59:59", 0, -4 * 3600);
    expect("America/New_York", 1762063200, "2025-11-02 01:00:00", 0, -5 * 3600);
    /* 2040 is past the file's last transition: the footer rule EST5EDT,M3.2.0,M11.1.0 decides. */
    expect("America/New_York", 2224051200, "2040-06-23 04:00:00", 6, -4 * 3600);
    /* Bogotá: no DST. */
    expect("America/Bogota", 1735689600, "2024-12-31 19:00:00", 2, -5 * 3600);
    /* Santiago: DST ends Apr 6, 2025 00:00 -03 -> Apr 5 23:00 -04; starts Sep 7 00:00 -> 01:00. */
    expect("America/Santiago", 1743904799, "2025-04-05 22:59:59", 6, -3 * 3600);
    expect("America/Santiago", 1743908400, "2025-04-05 23:00:00", 6, -4 * 3600);
    expect("America/Santiago", 1757217600, "2025-09-07 01:00:00", 0, -3 * 3600);
    /* Santiago's footer is TZif v3 ("<-04>4<-03>,M9.1.6/24,M4.1.6/24": hours up to 24). */
    expect("America/Santiago", 1893456000, "2029-12-31 21:00:00", 1, -3 * 3600);
    expect("America/Santiago", 2224051200, "2040-06-23 04:00:00", 6, -4 * 3600);
    expect("America/Lima", 1751328000, "2025-06-30 19:00:00", 1, -5 * 3600);
    expect("America/Mexico_City", 1751328000, "2025-06-30 18:00:00", 1, -6 * 3600);
    expect("Pacific/Honolulu", 1751328000, "2025-06-30 14:00:00", 1, -10 * 3600);
    /* Odd offsets. */
    expect("Asia/Kolkata", 1751328000, "2025-07-01 05:30:00", 2, 19800);
    expect("Australia/Lord_Howe", 1751328000, "2025-07-01 10:30:00", 2, 37800);
    expect("Pacific/Chatham", 4102444800, "2100-01-01 13:45:00", 5, 49500);
    expect("Europe/London", 2240611200, "2041-01-01 00:00:00", 2, 0);
}

static void test_local_to_utc(void **state) {
    const hilo_tz_t *ny = zone("America/New_York");
    /* Ordinary. */
    assert_int_equal(hilo_tz_utc(ny, 2025, 3, 9, 3, 0, 0), 1741503600);
    /* 02:30 does not exist on 2025-03-09: moved forward by the gap, like mktime -> 03:30 EDT. */
    assert_int_equal(hilo_tz_utc(ny, 2025, 3, 9, 2, 30, 0), 1741503600 + 1800);
    /* 01:30 happens twice on 2025-11-02: the earlier (EDT) instant. */
    assert_int_equal(hilo_tz_utc(ny, 2025, 11, 2, 1, 30, 0), 1762061400);
    const hilo_tz_t *bog = zone("America/Bogota");
    assert_int_equal(hilo_tz_utc(bog, 2024, 12, 31, 19, 0, 0), 1735689600);
}

static void test_calendar(void **state) {
    assert_int_equal(hilo_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(hilo_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(hilo_weekday(0), 4);                                   /* Thursday */
    assert_int_equal(hilo_weekday(hilo_days_from_civil(2025, 12, 25)), 4); /* Thursday */
    assert_int_equal(hilo_weekday(hilo_days_from_civil(1969, 12, 28)), 0); /* Sunday, negative days */
    for (int64_t d = -800000; d < 800000; d += 997) {
        int y, m, dd;
        hilo_civil_from_days(d, &y, &m, &dd);
        assert_true(hilo_date_valid(y, m, dd));
        assert_int_equal(hilo_days_from_civil(y, m, dd), d);
    }
    assert_false(hilo_date_valid(2025, 2, 29));
    assert_true(hilo_date_valid(2024, 2, 29));
    assert_false(hilo_date_valid(2100, 2, 29));
}

static void test_bad_names_and_cache(void **state) {
    char err[256];
    assert_null(hilo_tzdb_get(db, "../../etc/passwd", err, sizeof err));
    assert_non_null(strstr(err, "invalid time zone name"));
    assert_null(hilo_tzdb_get(db, "/etc/localtime", err, sizeof err));
    assert_null(hilo_tzdb_get(db, "", err, sizeof err));
    assert_null(hilo_tzdb_get(db, "America/Bogata", err, sizeof err));
    assert_non_null(strstr(err, "unknown time zone 'America/Bogata'"));
    /* Cached failure keeps its message. */
    err[0] = '\0';
    assert_null(hilo_tzdb_get(db, "America/Bogata", err, sizeof err));
    assert_non_null(strstr(err, "America/Bogata"));
    assert_null(hilo_tzdb_get(db, "zone.tab", err, sizeof err)); /* a file, but not TZif */
    assert_non_null(strstr(err, "not a TZif file"));
    /* Cache returns the same object. */
    assert_ptr_equal(zone("America/Lima"), zone("America/Lima"));
}

static void test_malformed_tzif(void **state) {
    char err[256];
    static const uint8_t junk[] = "TZif2 but nothing else";
    assert_null(hilo_tz_parse("x", junk, sizeof junk, err, sizeof err));
    assert_non_null(strstr(err, "not a TZif file"));
    uint8_t cut[44] = "TZif2";
    cut[39] = 1; /* one type promised, none present */
    assert_null(hilo_tz_parse("x", cut, sizeof cut, err, sizeof err));
    assert_non_null(strstr(err, "truncated"));
    uint8_t v1[44] = "TZif";
    assert_null(hilo_tz_parse("x", v1, sizeof v1, err, sizeof err));
    assert_non_null(strstr(err, "version 1"));
    /* A minimal valid v2 file: no transitions, one type, footer "<-05>5". */
    uint8_t f[200] = {0};
    size_t n = 0;
    for (int block = 0; block < 2; block++) {
        memcpy(f + n, "TZif2", 5);
        f[n + 39] = 1; /* typecnt */
        f[n + 43] = 4; /* charcnt */
        n += 44;
        const uint8_t type[6] = {0xff, 0xff, 0xb9, 0xb0, 0, 0}; /* -18000, std, abbr 0 */
        memcpy(f + n, type, 6);
        memcpy(f + n + 6, "-05", 4);
        n += 10;
    }
    memcpy(f + n, "\n<-05>5\n", 8);
    n += 8;
    hilo_tz_t *tz = hilo_tz_parse("Test/Zone", f, n, err, sizeof err);
    if (!tz) fail_msg("%s", err);
    hilo_tm_t tm;
    hilo_tz_local(tz, 0, &tm);
    assert_int_equal(tm.utoff, -18000);
    assert_int_equal(tm.hour, 19);
    assert_string_equal(tm.abbr, "-05");
    hilo_tz_free(&tz);
    /* The same with a footer we refuse (DST without rules). */
    memcpy(f + n - 8, "\nEST5EDT\n", 9);
    assert_null(hilo_tz_parse("x", f, n + 1, err, sizeof err));
    assert_non_null(strstr(err, "unsupported TZ footer"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_offsets),
        cmocka_unit_test(test_local_to_utc),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_bad_names_and_cache),
        cmocka_unit_test(test_malformed_tzif),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
