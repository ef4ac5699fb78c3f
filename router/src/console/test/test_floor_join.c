/* test_floor_join.c — the supervisor floor's parts joined into one message (floor_join.c):
 * one part, several parts with empty ones among them, the first part's "rest of the floor"
 * taken and the later ones' ignored, malformed parts refused with the message left as it was,
 * and a 2,000-agent floor in four parts that parses back whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "floor_join.h"

#define REST "{\"t\":\"floor\",\"now\":1795000000123,\"queues\":{\"general\":{\"waiting\":2}}}"

/* The joined message parsed back (fails the test when it is not one JSON object). */
static json_t *parsed(const hilo_buf_t *msg) {
    json_error_t err;
    json_t *m = json_loadb(msg->data, msg->len, JSON_REJECT_DUPLICATES, &err);
    if (!m) print_error("not JSON (%s): %s\n", err.text, msg->data);
    assert_non_null(m);
    assert_true(json_is_object(m));
    return m;
}

static void test_one_part(void **state) {
    hilo_buf_t msg = HILO_BUF_INIT;
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":{\"state\":\"available\"}}", REST), FLOOR_JOIN_OK);
    console_floor_join_end(&msg);
    assert_string_equal(msg.data, "{\"t\":\"floor\",\"now\":1795000000123,\"queues\":{\"general\":{\"waiting\":2}},"
                                  "\"agents\":{\"a1\":{\"state\":\"available\"}}}");
    assert_int_equal(msg.len, strlen(msg.data));
    hilo_buf_free(&msg);
}

static void test_parts_in_order_with_empty_ones(void **state) {
    hilo_buf_t msg = HILO_BUF_INIT;
    /* An empty first part: the next part's agents must not start with a comma. */
    assert_int_equal(console_floor_join_part(&msg, "{}", REST), FLOOR_JOIN_OK);
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1,\"a2\":2}", ""), FLOOR_JOIN_OK);
    assert_int_equal(console_floor_join_part(&msg, "{}", ""), FLOOR_JOIN_OK); /* no ",," */
    assert_int_equal(console_floor_join_part(&msg, "{\"a3\":3}", ""), FLOOR_JOIN_OK);
    console_floor_join_end(&msg);
    const char *agents = strstr(msg.data, "\"agents\":");
    assert_non_null(agents);
    assert_string_equal(agents, "\"agents\":{\"a1\":1,\"a2\":2,\"a3\":3}}");

    json_t *m = parsed(&msg);
    assert_string_equal(json_string_value(json_object_get(m, "t")), "floor");
    assert_int_equal(json_integer_value(json_object_get(m, "now")), 1795000000123LL);
    json_t *a = json_object_get(m, "agents");
    assert_int_equal(json_object_size(a), 3);
    assert_int_equal(json_integer_value(json_object_get(a, "a1")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "a3")), 3);
    json_decref(m);
    hilo_buf_free(&msg);
}

static void test_no_agents_at_all(void **state) {
    hilo_buf_t msg = HILO_BUF_INIT;
    assert_int_equal(console_floor_join_part(&msg, "{}", REST), FLOOR_JOIN_OK);
    assert_int_equal(console_floor_join_part(&msg, "{}", ""), FLOOR_JOIN_OK);
    console_floor_join_end(&msg);
    json_t *m = parsed(&msg);
    assert_true(json_is_object(json_object_get(m, "agents")));
    assert_int_equal(json_object_size(json_object_get(m, "agents")), 0);
    assert_non_null(json_object_get(m, "queues")); /* the rest of the floor is all there */
    json_decref(m);
    hilo_buf_free(&msg);
}

static void test_later_parts_rest_is_ignored(void **state) {
    hilo_buf_t msg = HILO_BUF_INIT;
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1}", REST), FLOOR_JOIN_OK);
    assert_int_equal(console_floor_join_part(&msg, "{\"a2\":2}", "{\"t\":\"other\",\"x\":1}"), FLOOR_JOIN_OK);
    console_floor_join_end(&msg);
    json_t *m = parsed(&msg);
    assert_string_equal(json_string_value(json_object_get(m, "t")), "floor");
    assert_null(json_object_get(m, "x"));
    assert_int_equal(json_object_size(json_object_get(m, "agents")), 2);
    json_decref(m);
    hilo_buf_free(&msg);
}

static void test_bad_agents_refused(void **state) {
    const char *bad[] = {NULL, "", "{", "[]", "\"a\"", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hilo_buf_t msg = HILO_BUF_INIT;
        assert_int_equal(console_floor_join_part(&msg, bad[i], REST), FLOOR_JOIN_BAD_PART);
        assert_int_equal(msg.len, 0); /* still "no part yet" */
        hilo_buf_free(&msg);
    }
}

static void test_missing_rest_refused_on_every_part(void **state) {
    hilo_buf_t msg = HILO_BUF_INIT;
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1}", NULL), FLOOR_JOIN_BAD_PART);
    assert_int_equal(msg.len, 0);
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1}", REST), FLOOR_JOIN_OK);
    size_t len = msg.len;
    assert_int_equal(console_floor_join_part(&msg, "{\"a2\":2}", NULL), FLOOR_JOIN_BAD_PART);
    assert_int_equal(msg.len, len);
    hilo_buf_free(&msg);
}

static void test_first_part_without_the_floor(void **state) {
    const char *bad[] = {"", "}", "x", "[1]", "{\"t\":\"floor\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hilo_buf_t msg = HILO_BUF_INIT;
        assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1}", bad[i]), FLOOR_JOIN_NO_FLOOR);
        assert_int_equal(msg.len, 0);
        hilo_buf_free(&msg);
    }
}

/* A floor object without members still makes a valid message (no "{," at the start). */
static void test_empty_floor_object(void **state) {
    (void)state;
    hilo_buf_t msg = HILO_BUF_INIT;
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1}", "{}"), FLOOR_JOIN_OK);
    console_floor_join_end(&msg);
    assert_string_equal(msg.data, "{\"agents\":{\"a1\":1}}");
    hilo_buf_free(&msg);
}

static void test_bad_part_leaves_message_unchanged(void **state) {
    hilo_buf_t msg = HILO_BUF_INIT;
    assert_int_equal(console_floor_join_part(&msg, "{\"a1\":1}", REST), FLOOR_JOIN_OK);
    char before[256];
    snprintf(before, sizeof before, "%s", msg.data);
    assert_int_equal(console_floor_join_part(&msg, "oops", ""), FLOOR_JOIN_BAD_PART);
    assert_string_equal(msg.data, before);
    hilo_buf_free(&msg);
}

/* Four parts of 500 agents each, the shape floor_stats.lua sends for a 2,000-agent floor. */
static void test_many_parts_parse_back_whole(void **state) {
    enum { PARTS = 4, PER_PART = 500 };
    hilo_buf_t msg = HILO_BUF_INIT;
    for (int p = 0; p < PARTS; p++) {
        hilo_buf_t part = HILO_BUF_INIT;
        hilo_buf_append(&part, "{", 1);
        for (int i = 0; i < PER_PART; i++)
            hilo_buf_printf(&part, "%s\"agent%04d\":{\"state\":\"available\",\"load\":{\"sms\":%d}}", i ? "," : "",
                            p * PER_PART + i, i % 3);
        hilo_buf_append(&part, "}", 1);
        assert_int_equal(console_floor_join_part(&msg, part.data, p == 0 ? REST : ""), FLOOR_JOIN_OK);
        hilo_buf_free(&part);
    }
    console_floor_join_end(&msg);
    json_t *m = parsed(&msg);
    json_t *a = json_object_get(m, "agents");
    assert_int_equal(json_object_size(a), PARTS * PER_PART);
    assert_non_null(json_object_get(a, "agent0000"));
    assert_non_null(json_object_get(a, "agent1999"));
    json_t *load = json_object_get(json_object_get(a, "agent0502"), "load");
    assert_int_equal(json_integer_value(json_object_get(load, "sms")), 2);
    json_decref(m);
    hilo_buf_free(&msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_part),
        cmocka_unit_test(test_parts_in_order_with_empty_ones),
        cmocka_unit_test(test_no_agents_at_all),
        cmocka_unit_test(test_later_parts_rest_is_ignored),
        cmocka_unit_test(test_bad_agents_refused),
        cmocka_unit_test(test_missing_rest_refused_on_every_part),
        cmocka_unit_test(test_first_part_without_the_floor),
        cmocka_unit_test(test_empty_floor_object),
        cmocka_unit_test(test_bad_part_leaves_message_unchanged),
        cmocka_unit_test(test_many_parts_parse_back_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
