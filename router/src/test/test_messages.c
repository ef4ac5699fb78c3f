/* test_messages.c — [messages] (router/src/messages.c): a queue's own text before every queue's,
 * the debtor's language before the default, nothing when no line says it; a queue's hours
 * (days and times, in UTC and in New York) before the section's, always open without a line; bad
 * lines refused with FILE:LINE. Sending them: tests/integration/test_system_messages.py. */
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
#include "hilo/tz.h"
#include "messages.h"

static void test_texts(void **state) {
    (void)state;
    char path[64];
    hilo_config_t *c = conf_file("[messages]\ndefault_language = en\nwaiting.en = busy\nwaiting.es = ocupados\n"
                                 "waiting.es.dispute.es = reclamos\nack.en = hello\n",
                                 path, sizeof path);
    hilo_messages_t m;
    assert_int_equal(hilo_messages_load(c, &m), HILO_OK);
    assert_string_equal(hilo_messages_text(&m, HILO_MSG_WAITING, "es.dispute", "es"), "reclamos");
    assert_string_equal(hilo_messages_text(&m, HILO_MSG_WAITING, "es.collections", "es"), "ocupados");
    assert_string_equal(hilo_messages_text(&m, HILO_MSG_WAITING, "es.dispute", "en"), "busy");
    assert_string_equal(hilo_messages_text(&m, HILO_MSG_WAITING, NULL, "pt"), "busy");
    assert_string_equal(hilo_messages_text(&m, HILO_MSG_ACK, "x", "es"), "hello");
    assert_null(hilo_messages_text(&m, HILO_MSG_CLOSING, NULL, "en"));
    hilo_config_destroy(&c);
    unlink(path);
}

/* 2026-11-24 (a Tuesday) at hh:mm UTC, in ms. */
static int64_t tuesday(int hh, int mm, int plus_days) {
    return ((hilo_days_from_civil(2026, 11, 24) + plus_days) * 86400 + hh * 3600 + mm * 60) * 1000;
}

static void test_hours(void **state) {
    (void)state;
    char path[64];
    hilo_config_t *c = conf_file("[messages]\nhours.es.dispute = mon-fri 08:00-18:00\nhours = 07:00-22:00\n"
                                 "hours.weekend = sat-sun 10:00-14:30\n",
                                 path, sizeof path);
    hilo_messages_t m;
    assert_int_equal(hilo_messages_load(c, &m), HILO_OK);
    assert_true(hilo_messages_open(&m, "es.dispute", NULL, tuesday(8, 0, 0)));
    assert_false(hilo_messages_open(&m, "es.dispute", NULL, tuesday(7, 59, 0)));
    assert_false(hilo_messages_open(&m, "es.dispute", NULL, tuesday(18, 0, 0)));
    assert_false(hilo_messages_open(&m, "es.dispute", NULL, tuesday(12, 0, 4))); /* Saturday */
    assert_true(hilo_messages_open(&m, "other", NULL, tuesday(21, 59, 4)));    /* the section's, every day */
    assert_false(hilo_messages_open(&m, "other", NULL, tuesday(22, 0, 0)));
    assert_true(hilo_messages_open(&m, "weekend", NULL, tuesday(14, 29, 5)));  /* Sunday */
    assert_false(hilo_messages_open(&m, "weekend", NULL, tuesday(12, 0, 0)));
    hilo_tzdb_t *db = hilo_tzdb_new(NULL);
    char err[128];
    const hilo_tz_t *ny = hilo_tzdb_get(db, "America/New_York", err, sizeof err);
    assert_non_null(ny);
    assert_true(hilo_messages_open(&m, "es.dispute", ny, tuesday(13, 0, 0)));   /* 08:00 EST */
    assert_false(hilo_messages_open(&m, "es.dispute", ny, tuesday(23, 30, 0))); /* 18:30 EST */
    hilo_tzdb_destroy(&db);
    hilo_config_destroy(&c);
    unlink(path);
    c = conf_file("[messages]\nack.en = hi\n", path, sizeof path);
    assert_int_equal(hilo_messages_load(c, &m), HILO_OK);
    assert_true(hilo_messages_open(&m, "any", NULL, tuesday(3, 0, 0))); /* no hours: always open */
    hilo_config_destroy(&c);
    unlink(path);
}

static int load(hilo_config_t *c) {
    hilo_messages_t m;
    return hilo_messages_load(c, &m);
}

static void refused(const char *text, const char *want) { conf_refused(text, load, want); }

static void test_refused(void **state) {
    (void)state;
    refused("[messages]\nack.en = hi\ngreeting.en = hello\n", "3: [messages] greeting.en");
    refused("[messages]\nack = hi\n", "2: [messages] ack");
    refused("[messages]\nack.e-n-9 = hi\n", "2: [messages] ack.e-n-9");
    refused("[messages]\nhours = 18:00-08:00\n", "2: [messages] hours");
    refused("[messages]\nhours.es = mon-fry 08:00-18:00\n", "2: [messages] hours.es");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_hours),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
