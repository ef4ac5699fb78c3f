/* test_csv.c — the RFC 4180 reader: quotes, "" escapes, embedded commas and line breaks with
 * the right starting line numbers, BOM, CRLF and lone CR, malformed records and recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "hilo/common.h"

typedef struct {
    FILE *f;
    hilo_csv_t *csv;
} reader_t;

static reader_t open_text(const char *text, size_t len) {
    reader_t r;
    r.f = fmemopen((void *)text, len, "r");
    assert_non_null(r.f);
    r.csv = hilo_csv_new(r.f);
    return r;
}

static void close_reader(reader_t *r) {
    hilo_csv_destroy(&r->csv);
    assert_null(r->csv);
    fclose(r->f);
}

/* Reads one record and checks its line and fields (NULL-terminated list). */
static void expect(hilo_csv_t *csv, long line, ...) {
    assert_int_equal(hilo_csv_next(csv), HILO_CSV_RECORD);
    assert_int_equal(hilo_csv_line(csv), line);
    va_list ap;
    va_start(ap, line);
    size_t i = 0;
    for (const char *want; (want = va_arg(ap, const char *)); i++) {
        assert_true(i < hilo_csv_count(csv));
        size_t len;
        const char *got = hilo_csv_field(csv, i, &len);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
    }
    va_end(ap);
    assert_int_equal(hilo_csv_count(csv), i);
}

static void test_plain_and_quoted(void **state) {
    const char text[] = "a,b,c\n1,\"two, with comma\",\"say \"\"hi\"\"\"\n,,\n\"\",x,\n";
    reader_t r = open_text(text, sizeof text - 1);
    expect(r.csv, 1, "a", "b", "c", NULL);
    expect(r.csv, 2, "1", "two, with comma", "say \"hi\"", NULL);
    expect(r.csv, 3, "", "", "", NULL);
    expect(r.csv, 4, "", "x", "", NULL);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END); /* stays at the end */
    close_reader(&r);
}

static void test_embedded_newlines_keep_line_numbers(void **state) {
    const char text[] = "id,note\n"
                        "D1,\"first line\nsecond line\nthird\"\n"
                        "D2,plain\n"
                        "D3,\"crlf\r\ninside\"\n"
                        "D4,last";
    reader_t r = open_text(text, sizeof text - 1);
    expect(r.csv, 1, "id", "note", NULL);
    expect(r.csv, 2, "D1", "first line\nsecond line\nthird", NULL);
    expect(r.csv, 5, "D2", "plain", NULL);
    expect(r.csv, 6, "D3", "crlf\r\ninside", NULL); /* bytes inside quotes are kept as they are */
    expect(r.csv, 8, "D4", "last", NULL);           /* no final line break */
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END);
    close_reader(&r);
}

static void test_bom_crlf_and_blank_lines(void **state) {
    const char text[] = "\xEF\xBB\xBF" "debtor_id,full_name\r\n\r\nD1,Ana\r\n\r\nD2,\"B\"\r\n";
    reader_t r = open_text(text, sizeof text - 1);
    expect(r.csv, 1, "debtor_id", "full_name", NULL); /* no BOM bytes in the first name */
    expect(r.csv, 3, "D1", "Ana", NULL);
    expect(r.csv, 5, "D2", "B", NULL);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END);
    close_reader(&r);

    const char cr[] = "a,b\rc,d\r"; /* old Mac line ends */
    r = open_text(cr, sizeof cr - 1);
    expect(r.csv, 1, "a", "b", NULL);
    expect(r.csv, 2, "c", "d", NULL);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END);
    close_reader(&r);

    const char notbom[] = "\xEF\xBB" "x,y\n"; /* a partial BOM is data */
    r = open_text(notbom, sizeof notbom - 1);
    expect(r.csv, 1, "\xEF\xBBx", "y", NULL);
    close_reader(&r);

    r = open_text("", 0);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END);
    close_reader(&r);
}

static void test_lenient_quote_inside_unquoted_field(void **state) {
    const char text[] = "12\" screen,ok\n";
    reader_t r = open_text(text, sizeof text - 1);
    expect(r.csv, 1, "12\" screen", "ok", NULL);
    close_reader(&r);
}

static void test_malformed_records_are_skipped(void **state) {
    const char text[] = "a,b\n"
                        "\"closed\"junk,x\n"     /* text after a closing quote */
                        "good,row\n"
                        "\"never closed,y\nz\n"; /* runs to the end of the file */
    reader_t r = open_text(text, sizeof text - 1);
    expect(r.csv, 1, "a", "b", NULL);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_BAD);
    assert_int_equal(hilo_csv_line(r.csv), 2);
    assert_non_null(strstr(hilo_csv_error(r.csv), "after a closing quote"));
    expect(r.csv, 3, "good", "row", NULL);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_BAD);
    assert_int_equal(hilo_csv_line(r.csv), 4);
    assert_non_null(strstr(hilo_csv_error(r.csv), "unterminated quoted field (quote opened on line 4)"));
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_END);
    close_reader(&r);
}

static void test_nul_byte_is_reported_by_length(void **state) {
    const char text[] = "a\0b,c\n";
    reader_t r = open_text(text, sizeof text - 1);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_RECORD);
    size_t len;
    hilo_csv_field(r.csv, 0, &len);
    assert_int_equal(len, 3);
    close_reader(&r);
}

static void test_oversized_record(void **state) {
    size_t n = HILO_CSV_RECORD_MAX + 100;
    char *text = hilo_xmalloc(n + 16);
    memset(text, 'x', n);
    memcpy(text + n, "\nok,1\n", 6);
    reader_t r = open_text(text, n + 6);
    assert_int_equal(hilo_csv_next(r.csv), HILO_CSV_BAD);
    assert_non_null(strstr(hilo_csv_error(r.csv), "record longer than"));
    expect(r.csv, 2, "ok", "1", NULL);
    close_reader(&r);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_embedded_newlines_keep_line_numbers),
        cmocka_unit_test(test_bom_crlf_and_blank_lines),
        cmocka_unit_test(test_lenient_quote_inside_unquoted_field),
        cmocka_unit_test(test_malformed_records_are_skipped),
        cmocka_unit_test(test_nul_byte_is_reported_by_length),
        cmocka_unit_test(test_oversized_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
