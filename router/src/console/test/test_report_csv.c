/* test_report_csv.c — a report as CSV (report_csv.c): quoting (commas, quotes, line breaks),
 * the formula guard on text fields (never on the value), the order of rows (days as given;
 * dimensions in a fixed order; ids and metrics sorted, queue metrics in their own order), and
 * an empty report (the header alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report_csv.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_quoted),
        cmocka_unit_test(test_rows_in_order),
        cmocka_unit_test(test_empty_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
