/* test_name_index.c — the words the name index keeps and how a query matches them
 * (router/src/name_index.c). The index in Redis is tests/integration/test_console_search.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hilo/name_index.h"

static void test_words_are_folded_and_distinct(void **state) {
    (void)state;
    hilo_name_words_t w;
    hilo_name_words("María-José  O'Neil MARÍA", &w);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.w[0], "maria");
    assert_string_equal(w.w[1], "jose");
    assert_string_equal(w.w[2], "oneil");
    /* A decomposed accent (a + U+0301) folds as the precomposed one. */
    hilo_name_words("Mari\xcc\x81" "a", &w);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.w[0], "maria");
    hilo_name_words("", &w);
    assert_int_equal(w.n, 0);
    hilo_name_words(NULL, &w);
    assert_int_equal(w.n, 0);
    hilo_name_words(" ¡¿ - ", &w);
    assert_int_equal(w.n, 0);
}

static void test_long_words_are_cut_at_a_character(void **state) {
    (void)state;
    hilo_name_words_t w;
    char name[128];
    /* 31 'a' then "ñb": the cut at 32 bytes falls inside nothing (ñ folds to n), so 32 bytes. */
    memset(name, 'a', 40);
    name[40] = '\0';
    hilo_name_words(name, &w);
    assert_int_equal(w.n, 1);
    assert_int_equal(strlen(w.w[0]), HILO_NAME_WORD_MAX);
    /* Greek letters are two bytes each: 17 of them (34 bytes) keep 16 (32 bytes), never half. */
    name[0] = '\0';
    for (int i = 0; i < 17; i++) strcat(name, "\xce\xb1"); /* α */
    hilo_name_words(name, &w);
    assert_int_equal(w.n, 1);
    assert_int_equal(strlen(w.w[0]), 32);
    /* 16 Greek + 'x' (33 bytes): cut back to the 32 bytes of whole letters. */
    name[32] = 'x';
    name[33] = '\0';
    hilo_name_words(name, &w);
    assert_int_equal(strlen(w.w[0]), 32);
    /* At most HILO_NAME_WORDS_MAX words. */
    hilo_name_words("a b c d e f g h i j k", &w);
    assert_int_equal(w.n, HILO_NAME_WORDS_MAX);
}

static void test_every_query_word_must_begin_a_name_word(void **state) {
    (void)state;
    hilo_name_words_t name, q;
    hilo_name_words("Camila Rojas Pérez", &name);
    const char *yes[] = {"camila", "CAM", "rojas camila", "PEREZ", "pér", "ro pe", "Ｃａｍｉｌａ"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        hilo_name_words(yes[i], &q);
        if (!hilo_name_matches(&q, &name)) fail_msg("\"%s\" should match", yes[i]);
    }
    const char *no[] = {"amila", "camilo", "camila gomez", "", "  ", "rojass"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        hilo_name_words(no[i], &q);
        if (hilo_name_matches(&q, &name)) fail_msg("\"%s\" should not match", no[i]);
    }
}

static void test_keys_and_members(void **state) {
    (void)state;
    char buf[64];
    assert_int_equal(hilo_key_names(buf, sizeof buf, 7), (int)strlen("hilo:{p:7}:names"));
    assert_string_equal(buf, "hilo:{p:7}:names");
    assert_int_equal(hilo_name_member(buf, sizeof buf, "maria", "D-1"), 9);
    assert_string_equal(buf, "maria|D-1");
    assert_int_equal(hilo_name_member(buf, 5, "maria", "D-1"), -1);
    int p = hilo_name_partition("D-1");
    assert_true(p >= 0 && p < HILO_NAME_PARTITIONS);
    assert_int_equal(p, hilo_name_partition("D-1"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_are_folded_and_distinct),
        cmocka_unit_test(test_long_words_are_cut_at_a_character),
        cmocka_unit_test(test_every_query_word_must_begin_a_name_word),
        cmocka_unit_test(test_keys_and_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
