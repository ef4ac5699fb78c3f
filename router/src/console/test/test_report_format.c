/* test_report_format.c — the reports in and out (report_format.c): a day's roll-up read (queues,
 * agents and their dispositions, reasons; a strategy's day as total less base; fields it does not
 * know skipped), dates (real ones only), and the CSV: quoting (commas, quotes, line breaks), the
 * formula guard on text fields (never on the value), the order of rows (days as given;
 * dimensions in a fixed order; ids and metrics sorted, queue metrics in their own order), and an
 * empty report (the header alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report_format.h"

static char *field(const char *text, bool text_field) {
    hilo_buf_t b = HILO_BUF_INIT;
    hilo_report_csv_field(&b, text, text_field);
    hilo_buf_append(&b, "", 0);
    return b.data;
}

static void expect_field(const char *text, bool text_field, const char *want) {
    char *got = field(text, text_field);
    assert_string_equal(got, want);
    free(got);
}

static void test_fields_quoted(void **state) {
    (void)state;
    expect_field("plain", true, "plain");
    expect_field("", true, "");
    expect_field("Ana \"la jefa\", Pérez", true, "\"Ana \"\"la jefa\"\", Pérez\"");
    expect_field("two\nlines", true, "\"two\nlines\"");
    expect_field("cr\rhere", false, "\"cr\rhere\"");
    /* A spreadsheet would run these as formulas: shown as text instead. */
    expect_field("=HYPERLINK(\"x\")", true, "\"'=HYPERLINK(\"\"x\"\")\"");
    expect_field("+57 300", true, "\"'+57 300\"");
    expect_field("-1", true, "\"'-1\"");
    expect_field("@SUM(A1)", true, "\"'@SUM(A1)\"");
    expect_field("-1", false, "-1"); /* not a text field: left as it is */
}

static void test_rows_in_order(void **state) {
    (void)state;
    json_t *days = json_loads(
        "[{\"date\":\"2026-11-24\",\"blocks\":{\"quiet_hours\":1},"
        " \"dispositions\":{\"refused\":1,\"dispute\":2},\"reasons\":{\"dispute\":2},"
        " \"agents\":{\"ben\":{\"closed\":1},\"ana\":{\"dispositions\":{\"refused\":1,\"dispute\":2},\"closed\":3,\"answered\":3}},"
        " \"queues\":{\"zz\":{\"closed\":1},\"en\":{\"sla_breached\":1,\"escalated\":4,\"answered\":3}}},"
        " {\"date\":\"2026-11-25\",\"queues\":{},\"agents\":{},\"reasons\":{\"=cmd\":1}}]",
        0, NULL);
    json_t *names = json_pack("{s:s}", "ana", "Ana, A.");
    assert_non_null(days);
    char *csv = hilo_report_csv(days, names);
    assert_string_equal(csv, "date,dimension,id,name,metric,value\r\n"
                             "2026-11-24,queue,en,,escalated,4\r\n"
                             "2026-11-24,queue,en,,answered,3\r\n"
                             "2026-11-24,queue,en,,sla_breached,1\r\n"
                             "2026-11-24,queue,zz,,closed,1\r\n"
                             "2026-11-24,agent,ana,\"Ana, A.\",answered,3\r\n"
                             "2026-11-24,agent,ana,\"Ana, A.\",closed,3\r\n"
                             "2026-11-24,agent,ana,\"Ana, A.\",dispositions:dispute,2\r\n"
                             "2026-11-24,agent,ana,\"Ana, A.\",dispositions:refused,1\r\n"
                             "2026-11-24,agent,ben,,closed,1\r\n"
                             "2026-11-24,reason,dispute,,count,2\r\n"
                             "2026-11-24,disposition,dispute,,count,2\r\n"
                             "2026-11-24,disposition,refused,,count,1\r\n"
                             "2026-11-24,compliance_block,quiet_hours,,count,1\r\n"
                             "2026-11-25,reason,\"'=cmd\",,count,1\r\n");
    free(csv);
    json_decref(days);
    json_decref(names);
}

static void test_empty_report(void **state) {
    (void)state;
    json_t *days = json_array();
    char *csv = hilo_report_csv(days, NULL);
    assert_string_equal(csv, "date,dimension,id,name,metric,value\r\n");
    free(csv);
    json_decref(days);
}

static void test_day_read(void **state) {
    (void)state;
    json_t *pairs = json_loads("[\"q|en|escalated\",\"4\", \"a|ana|answered\",\"3\", \"a|ana|disp:paid\",\"1\","
                               " \"r|dispute\",\"2\", \"d|paid\",\"1\", \"b|quiet_hours\",\"1\","
                               " \"s|demo|total:sent\",\"12\", \"s|demo|base:sent\",\"8\","
                               " \"s|demo|total:paid\",\"3\", \"s|demo|base:paid\",\"3\","
                               " \"s|new|total:sent\",\"5\","
                               " \"x|what\",\"1\", \"q|nobar\",\"1\", \"q|en|closed\",7]",
                               0, NULL);
    assert_non_null(pairs);
    json_t *day = hilo_report_day(20781, pairs);
    char *got = json_dumps(day, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, "{\"agents\":{\"ana\":{\"answered\":3,\"dispositions\":{\"paid\":1}}},"
                             "\"blocks\":{\"quiet_hours\":1},\"date\":\"2026-11-24\",\"day\":20781,"
                             "\"dispositions\":{\"paid\":1},\"queues\":{\"en\":{\"escalated\":4}},"
                             "\"reasons\":{\"dispute\":2},\"strategies\":{\"demo\":{\"sent\":4}}}");
    free(got);
    json_t *days = json_pack("[O,{s:{s:{}}}]", day, "agents", "ben");
    json_t *agents = hilo_report_agents(days);
    got = json_dumps(agents, JSON_COMPACT);
    assert_string_equal(got, "[\"ana\",\"ben\"]");
    free(got);
    json_decref(agents);
    json_decref(days);
    json_decref(day);
    json_decref(pairs);
}

static void test_dates(void **state) {
    (void)state;
    int64_t d = 0;
    assert_true(hilo_report_parse_date("2026-11-24", &d));
    assert_int_equal(d, 20781);
    assert_true(hilo_report_parse_date("2028-02-29", &d));
    const char *bad[] = {"2026-02-30", "2026-13-01", "2026-1-01", "26-11-24", "2026-11-24x", "", "1969-12-31"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(hilo_report_parse_date(bad[i], &d));
    assert_false(hilo_report_parse_date(NULL, &d));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_quoted),
        cmocka_unit_test(test_rows_in_order),
        cmocka_unit_test(test_empty_report),
        cmocka_unit_test(test_day_read),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
