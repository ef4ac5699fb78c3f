/* test_batch.c — the helpers over batch results in batch.c that every console file uses:
 * res_ok (error replies and failed commands), res_hash (HGETALL's flat array to an object)
 * and jstr (a string field or NULL). Replies are built as batch.c hands them over: strings,
 * integers, arrays, null, {"error": "..."}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "console_int.h"

static json_t *loads(const char *text) {
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static void test_res_ok(void **state) {
    assert_false(res_ok(NULL)); /* the command failed or Redis is down */
    json_t *err = loads("{\"error\":\"NOSCRIPT No matching script\"}");
    assert_false(res_ok(err));
    json_t *nil = json_null(), *str = json_string("OK"), *num = json_integer(0), *arr = json_array();
    assert_true(res_ok(nil)); /* a nil reply is an answer, not a failure */
    assert_true(res_ok(str));
    assert_true(res_ok(num));
    assert_true(res_ok(arr));
    json_t *obj = loads("{\"errors\":1}"); /* only the "error" key marks an error reply */
    assert_true(res_ok(obj));
    json_decref(err);
    json_decref(nil);
    json_decref(str);
    json_decref(num);
    json_decref(arr);
    json_decref(obj);
}

static void test_res_hash_pairs(void **state) {
    json_t *r = loads("[\"agent\",\"ana\",\"role\",\"supervisor\",\"exp_ms\",\"1795000000123\",\"n\",7]");
    json_t *h = res_hash(r);
    assert_true(json_is_object(h));
    assert_int_equal(json_object_size(h), 4);
    assert_string_equal(jstr(h, "agent"), "ana");
    assert_string_equal(jstr(h, "role"), "supervisor");
    assert_string_equal(jstr(h, "exp_ms"), "1795000000123");
    assert_int_equal(json_integer_value(json_object_get(h, "n")), 7); /* values keep their type */
    json_decref(h);
    /* The object is new: the reply is untouched and may be freed first. */
    assert_int_equal(json_array_size(r), 8);
    json_decref(r);
}

static void test_res_hash_odd_and_bad_fields(void **state) {
    /* A trailing field without a value and non-string field names are skipped. */
    json_t *r = loads("[\"a\",\"1\",5,\"x\",null,\"y\",\"b\",\"2\",\"dangling\"]");
    json_t *h = res_hash(r);
    assert_int_equal(json_object_size(h), 2);
    assert_string_equal(jstr(h, "a"), "1");
    assert_string_equal(jstr(h, "b"), "2");
    assert_null(json_object_get(h, "x"));
    assert_null(json_object_get(h, "dangling"));
    json_decref(h);
    json_decref(r);
}

static void test_res_hash_duplicate_field_last_wins(void **state) {
    json_t *r = loads("[\"state\",\"offered\",\"state\",\"assigned\"]");
    json_t *h = res_hash(r);
    assert_int_equal(json_object_size(h), 1);
    assert_string_equal(jstr(h, "state"), "assigned");
    json_decref(h);
    json_decref(r);
}

static void test_res_hash_not_an_array(void **state) {
    /* Missing key (empty array), nil, an error reply, a failed command: always an object. */
    const char *texts[] = {"[]", "null", "{\"error\":\"WRONGTYPE\"}", "\"x\"", "3"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        json_t *r = loads(texts[i]);
        json_t *h = res_hash(r);
        assert_true(json_is_object(h));
        assert_int_equal(json_object_size(h), 0);
        json_decref(h);
        json_decref(r);
    }
    json_t *h = res_hash(NULL);
    assert_true(json_is_object(h));
    assert_int_equal(json_object_size(h), 0);
    json_decref(h);
}

static void test_jstr(void **state) {
    json_t *o = loads("{\"s\":\"text\",\"e\":\"\",\"n\":1,\"z\":null,\"a\":[\"x\"]}");
    assert_string_equal(jstr(o, "s"), "text");
    assert_string_equal(jstr(o, "e"), "");
    assert_null(jstr(o, "n")); /* present but not a string */
    assert_null(jstr(o, "z"));
    assert_null(jstr(o, "a"));
    assert_null(jstr(o, "missing"));
    assert_null(jstr(NULL, "s"));
    json_t *arr = loads("[\"s\"]");
    assert_null(jstr(arr, "s")); /* not an object */
    json_decref(arr);
    json_decref(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_res_ok),
        cmocka_unit_test(test_res_hash_pairs),
        cmocka_unit_test(test_res_hash_odd_and_bad_fields),
        cmocka_unit_test(test_res_hash_duplicate_field_last_wins),
        cmocka_unit_test(test_res_hash_not_an_array),
        cmocka_unit_test(test_jstr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
