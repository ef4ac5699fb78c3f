/* test_history_view.c — one-line rendering of history items and the terminal-safe text helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "history_view.h"
#include "hilo/utf8.h"
#include "text.h"

static char *line_of(int64_t ms, const char *json, const char *delivery) {
    json_t *item = json_loads(json, 0, NULL);
    assert_non_null(item);
    char *line = hilo_history_line(ms, item, delivery);
    json_decref(item);
    return line;
}

static void test_lines(void **state) {
    /* 2026-11-22T10:00:00.123Z */
    char *l = line_of(1795341600123LL, "{\"ch\":\"whatsapp\",\"dir\":\"in\",\"kind\":\"text\",\"text\":\"hola\"}", NULL);
    assert_string_equal(l, "2026-11-22T10:00:00.123Z  whatsapp  in   text     hola");
    free(l);
    l = line_of(1795341600123LL, "{\"ch\":\"sms\",\"dir\":\"out\",\"kind\":\"text\",\"text\":\"a\\nb\\u001b[2J\"}",
                "delivered");
    assert_string_equal(l, "2026-11-22T10:00:00.123Z  sms       out  text     a b?[2J  [delivered]");
    free(l);
}

static void test_summaries(void **state) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"kind\":\"button\",\"button\":{\"payload\":\"pay_today\",\"title\":\"Pagar hoy\"}}",
         "[button] Pagar hoy (pay_today)"},
        {"{\"kind\":\"voice\",\"voice\":{\"event\":\"gather\",\"digits\":\"1\",\"speech\":\"sí\",\"confidence\":0.9}}",
         "[voice gather] digits 1, \"sí\" (0.90)"},
        {"{\"kind\":\"voice\",\"voice\":{\"event\":\"call_end\",\"status\":\"completed\",\"duration_s\":35}}",
         "[voice call_end] completed, 35 s"},
        {"{\"kind\":\"voice\",\"voice\":{\"event\":\"call_start\",\"call_id\":\"CA1\"}}", "[voice call_start] call CA1"},
        {"{\"kind\":\"media\",\"media\":[{\"mime_type\":\"image/jpeg\",\"caption\":\"recibo\"}]}",
         "[image/jpeg] recibo"},
        {"{\"kind\":\"media\",\"text\":\"mira\",\"media\":[{\"mime_type\":\"image/png\"},{\"filename\":\"a.pdf\"}]}",
         "[2 media: image/png, a.pdf] mira"},
        {"{\"kind\":\"template\",\"template\":{\"name\":\"reminder_1\"}}", "[template reminder_1]"},
        {"{\"kind\":\"text\"}", "[text]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *item = json_loads(cases[i].json, 0, NULL);
        assert_non_null(item);
        char *s = hilo_history_summary(item);
        assert_string_equal(s, cases[i].want);
        free(s);
        json_decref(item);
    }
    char *d = hilo_history_delivery("{\"state\":\"failed\",\"rank\":4,\"error_code\":\"131026\",\"error\":\"Undeliverable\"}");
    assert_string_equal(d, "failed: 131026 Undeliverable");
    free(d);
    /* A message sent in parts: which part failed, else how far each part got. */
    d = hilo_history_delivery("{\"state\":\"failed\",\"rank\":4,\"parts\":2,\"failed_part\":2,"
                              "\"error_code\":\"30003\",\"error\":\"Unreachable destination handset\","
                              "\"part_states\":{\"1\":{\"state\":\"delivered\",\"rank\":2},"
                              "\"2\":{\"state\":\"failed\",\"rank\":4}}}");
    assert_string_equal(d, "failed (part 2 of 2: 30003 Unreachable destination handset)");
    free(d);
    d = hilo_history_delivery("{\"state\":\"sent\",\"rank\":1,\"parts\":3,\"part_states\":"
                              "{\"1\":{\"state\":\"delivered\",\"rank\":2},\"3\":{\"state\":\"sent\",\"rank\":1}}}");
    assert_string_equal(d, "sent (3 parts: 1 delivered, 3 sent)");
    free(d);
    d = hilo_history_delivery("{\"state\":\"sent\",\"rank\":1,\"parts\":2}"); /* no part reported yet */
    assert_string_equal(d, "sent");
    free(d);
    assert_null(hilo_history_delivery("not json"));
}

static void test_text_helpers(void **state) {
    char *p = hilo_text_printable("a\x01\tb\xC2\x9B" "c\xFF\xC3", 9, 0);
    assert_string_equal(p, "a? b?c??");
    free(p);
    p = hilo_text_printable("Ana María Gómez", strlen("Ana María Gómez"), 8);
    assert_string_equal(p, "Ana Mar…");
    free(p);
    p = hilo_text_printable("exactly8", 8, 8);
    assert_string_equal(p, "exactly8");
    free(p);
    assert_int_equal(hilo_utf8_chars("Gómez"), 5);
    char when[40];
    hilo_iso_ms(0, when, sizeof when);
    assert_string_equal(when, "1970-01-01T00:00:00.000Z");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_summaries),
        cmocka_unit_test(test_text_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
