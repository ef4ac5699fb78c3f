/* test_textnorm.c — the text normaliser (textnorm.h) and the UTF-8 helpers it reads with:
 * decomposed and precomposed accents fold alike, full-width letters and ligatures fold to
 * their ASCII forms, invalid UTF-8 separates words instead of ending or gluing them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hilo/textnorm.h"
#include "hilo/utf8.h"

static const char *fold_keep(const char *in, const char *keep) {
    static char out[256];
    hilo_textnorm_fold(in, strlen(in), out, sizeof out, keep, NULL);
    return out;
}

static const char *fold(const char *in) { return fold_keep(in, NULL); }

static void test_accents_precomposed_and_decomposed(void **state) {
    assert_string_equal(fold("¿Cuánto DEBO?"), "cuanto debo");
    /* NFD: "a" + U+0301 COMBINING ACUTE ACCENT — the same words, not "cua nto". */
    assert_string_equal(fold("¿Cua\xcc\x81nto debo?"), "cuanto debo");
    assert_string_equal(fold("N\xcc\x83" "andu\xcc\x81 Ñandú"), "nandu nandu");
    assert_string_equal(fold("  Ñandú, ÁÉÍÓÚ üñ!!  "), "nandu aeiou un");
    assert_string_equal(fold("BAJA"), "baja");
    assert_string_equal(fold("no ma\xcc\x81s"), "no mas");
}

static void test_fullwidth_and_compatibility(void **state) {
    assert_string_equal(fold("ＳＴＯＰ"), "stop"); /* full-width Latin: not nothing */
    assert_string_equal(fold("ＢＡＪＡ！"), "baja");
    assert_string_equal(fold("\xef\xac\x81nal"), "final");       /* U+FB01 LATIN SMALL LIGATURE FI */
    assert_string_equal(fold("m\xc2\xb2 1\xc2\xba"), "m2 1o"); /* superscript two, ordinal o */
    assert_string_equal(fold("Straße"), "strasse");             /* full case folding */
    assert_string_equal(fold("１２３"), "123");                  /* full-width digits */
    assert_string_equal(fold("$1.500,50 el 15/12"), "1 500 50 el 15 12");
    assert_string_equal(fold_keep("＄1.500,50 el 15/12", "/.,$"), "$1.500,50 el 15/12");
}

/* Turkish: Unicode's default folding, not Turkish rules. "İ" (dotted capital) folds to "i"
 * (its dot is a mark and goes); dotless "ı" stays a letter of its own, so "ILIK" and "ılık"
 * do not meet — accepted: the flows are Spanish and English. */
static void test_turkish_i(void **state) {
    assert_string_equal(fold("İSTANBUL"), "istanbul");
    assert_string_equal(fold("ılık"), "ılık");
}

static void test_punctuation_apostrophes_other_scripts(void **state) {
    assert_string_equal(fold("don't / can’t"), "dont cant");
    assert_string_equal(fold("emoji 😀 here"), "emoji here");
    assert_string_equal(fold("ΣΟΦΙΑ Москва"), "σοφια москва"); /* letters of any script stay */
    assert_string_equal(fold("ba\xc2\xadja"), "baja");            /* soft hyphen is invisible */
    assert_string_equal(fold("a\tb\r\nc\xc2\xa0" "d"), "a b c d");  /* controls and no-break space */
    assert_string_equal(fold(""), "");
    assert_string_equal(fold(" ¿?¡! "), "");
}

static void test_invalid_utf8(void **state) {
    /* A stray byte, a truncated sequence, an overlong, a surrogate: each separates, nothing
     * after it is lost, nothing crashes. */
    assert_string_equal(fold("st\xffop"), "st op");
    assert_string_equal(fold("baja\xc3"), "baja");
    assert_string_equal(fold("\xc0\xafhola"), "hola");
    assert_string_equal(fold("a\xed\xa0\x80" "b"), "a b");
    char out[8];
    assert_int_equal(hilo_textnorm_fold(NULL, 3, out, sizeof out, NULL, NULL), 0);
    assert_string_equal(out, "");
    /* An embedded NUL within len is a separator, not the end. */
    assert_int_equal(hilo_textnorm_fold("ab\0cd", 5, out, sizeof out, NULL, NULL), 5);
    assert_string_equal(out, "ab cd");
}

static void test_cut_at_character(void **state) {
    char out[4];
    bool cut = false;
    assert_int_equal(hilo_textnorm_fold("abcdef", 6, out, sizeof out, NULL, &cut), 3);
    assert_string_equal(out, "abc");
    assert_true(cut);
    assert_int_equal(hilo_textnorm_fold("abc   ", 6, out, sizeof out, NULL, &cut), 3);
    assert_false(cut); /* trailing separators are not text left out */
    assert_int_equal(hilo_textnorm_fold("abσ", 4, out, sizeof out, NULL, &cut), 2); /* σ needs 2 bytes */
    assert_string_equal(out, "ab");
    assert_true(cut);
}

static void test_utf8_decode_and_complete(void **state) {
    uint32_t cp = 0;
    assert_int_equal(hilo_utf8_decode("\xc3\xa1", 2, &cp), 2);
    assert_int_equal(cp, 0xE1);
    assert_int_equal(hilo_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(hilo_utf8_decode("\xc3\xa1", 1, &cp), 0); /* truncated */
    assert_int_equal(hilo_utf8_decode("\xe0\x80\x80", 3, &cp), 0); /* overlong */
    assert_int_equal(hilo_utf8_decode("\xed\xa0\x80", 3, &cp), 0); /* surrogate */
    assert_int_equal(hilo_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */
    assert_int_equal(hilo_utf8_chars("añ€😀"), 4);
    assert_int_equal(hilo_utf8_complete("ab\xe2\x82", 4), 2); /* half a euro goes */
    assert_int_equal(hilo_utf8_complete("ab\xe2\x82\xac", 5), 5);
    assert_int_equal(hilo_utf8_complete("ab", 2), 2);
    assert_int_equal(hilo_utf8_complete("\xc3", 1), 0);
}

/* Terminal columns: accents precomposed or combining, CJK and full-width two, invalid bytes one. */
static void test_display_width(void **state) {
    (void)state;
    /* "José Peña" in octal escapes: a hex escape would run on into the "a" after the ñ. */
    const char *w[] = {"Jos\303\251 Pe\303\261a", "Zoe\xcc\x88", "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e",
                       "\xef\xbc\xb3TOP", "ab\xff", ""};
    const size_t cols[] = {9, 3, 6, 5, 3, 0};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        size_t got = hilo_textnorm_width(w[i], strlen(w[i]));
        if (got != cols[i]) fail_msg("width of case %zu: %zu, wanted %zu", i, got, cols[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accents_precomposed_and_decomposed),
        cmocka_unit_test(test_fullwidth_and_compatibility),
        cmocka_unit_test(test_turkish_i),
        cmocka_unit_test(test_punctuation_apostrophes_other_scripts),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_cut_at_character),
        cmocka_unit_test(test_utf8_decode_and_complete),
        cmocka_unit_test(test_display_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
