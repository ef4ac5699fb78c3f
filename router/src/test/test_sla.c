/* test_sla.c — the [sla] section and the business day (router/src/sla.c): defaults (the first
 * response from [console] sla_s), per-queue lines whose queue names hold dots, the targets as
 * the scripts read them, bad lines refused with FILE:LINE; the business day in Bogota (19:30 is
 * still today, local midnight starts tomorrow), a day starting at 06:00, and the defaults giving
 * UTC day numbers as before. The floor's figures: tests/integration/test_console_supervisor.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_file.h"

#include "hilo/common.h"
#include "sla.h"

static void test_targets(void **state) {
    (void)state;
    char path[64];
    hilo_config_t *c = conf_file("[sla]\nresolution_s = 3600\nes.dispute.first_response_s = 300\n"
                                 "en.collections.resolution_s = 900\n",
                                 path, sizeof path);
    hilo_sla_config_t s;
    assert_int_equal(hilo_sla_config_load(c, 45, &s), HILO_OK);
    assert_int_equal(hilo_sla_target(&s, "nope")->first_response_ms, 45000);
    assert_int_equal(hilo_sla_target(&s, "nope")->resolution_ms, 3600000);
    assert_int_equal(hilo_sla_target(&s, "es.dispute")->first_response_ms, 300000);
    assert_int_equal(hilo_sla_target(&s, "es.dispute")->resolution_ms, 3600000);
    assert_int_equal(hilo_sla_target(&s, "en.collections")->first_response_ms, 45000);
    assert_int_equal(hilo_sla_target(&s, "en.collections")->resolution_ms, 900000);
    assert_string_equal(s.targets_json, "{\"*\":{\"f\":45000,\"r\":3600000},\"es.dispute\":{\"f\":300000,\"r\":3600000},"
                                        "\"en.collections\":{\"f\":45000,\"r\":900000}}");
    assert_string_equal(s.zone, "UTC");
    assert_int_equal(s.start_min, 0);
    hilo_config_destroy(&c);
    unlink(path);
}

static int load(hilo_config_t *c) {
    hilo_sla_config_t s;
    return hilo_sla_config_load(c, 60, &s);
}

static void refused(const char *text, const char *want) { conf_refused(text, load, want); }

static void test_bad_lines(void **state) {
    (void)state;
    refused("[sla]\nes.dispute.first_respons_s = 3\n", "2: [sla] es.dispute.first_respons_s");
    refused("[sla]\nfirst_response_s = 3\nes.dispute.resolution = 3\n", "3: [sla] es.dispute.resolution");
    refused("[sla]\nes.dispute.first_response_s = 0\n", "2: [sla] es.dispute.first_response_s");
    refused("[console]\nbusiness_day_zone = Mars/Olympus\n", "2: [console] business_day_zone");
    refused("[console]\nbusiness_day_start = 7:00\n", "2: [console] business_day_start");
}

static void test_business_day(void **state) {
    (void)state;
    hilo_tzdb_t *db = hilo_tzdb_new(NULL);
    char err[128];
    const hilo_tz_t *bog = hilo_tzdb_get(db, "America/Bogota", err, sizeof err);
    assert_non_null(bog);
    const int64_t h = 3600000, nov24 = hilo_days_from_civil(2026, 11, 24);
    const int64_t local0 = nov24 * 86400000 + 5 * h; /* 2026-11-24 00:00 in Bogota (UTC-5) */
    int64_t day, start;
    /* 19:30 in Bogota is 00:30 UTC on the 25th: still the 24th's business day. */
    hilo_sla_business_day(bog, 0, local0 + 19 * h + h / 2, &day, &start);
    assert_int_equal(day, nov24);
    assert_int_equal(start, local0);
    hilo_sla_business_day(bog, 0, local0 + 24 * h, &day, &start);
    assert_int_equal(day, nov24 + 1);
    assert_int_equal(start, local0 + 24 * h);
    /* A day starting at 06:00: 05:59 belongs to the day before. */
    hilo_sla_business_day(bog, 360, local0 + 6 * h - 60000, &day, &start);
    assert_int_equal(day, nov24 - 1);
    assert_int_equal(start, local0 + 6 * h - 24 * h);
    /* UTC, midnight: the UTC day numbers the counters had before. */
    const hilo_tz_t *utc = hilo_tzdb_get(db, "UTC", err, sizeof err);
    assert_non_null(utc);
    hilo_sla_business_day(utc, 0, nov24 * 86400000 + 23 * h, &day, &start);
    assert_int_equal(day, nov24);
    assert_int_equal(start, nov24 * 86400000);
    hilo_tzdb_destroy(&db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_business_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
