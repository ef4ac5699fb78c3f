/* textnorm.c — the text normaliser (textnorm.h) over utf8proc's character tables.
 *
 * Why character by character (utf8proc_decompose_char) rather than utf8proc_map() over the
 * whole string: utf8proc_map refuses a string holding one invalid byte, and text from debtors
 * is matched whatever it holds; decoding ourselves (utf8.h) turns each bad byte into a
 * separator and folds the rest. Canonical reordering, which only a whole-string pass does, is
 * not needed: every combining mark is removed. */
#include "hilo/textnorm.h"

#include <string.h>
#include <utf8proc.h>

#include "hilo/utf8.h"

/* NFKD + case folding + marks and default-ignorables removed; LUMP maps the typographic
 * apostrophes and quotes, dashes and spaces onto their ASCII forms. */
#define FOLD_OPTIONS                                                                                       \
    (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE |      \
     UTF8PROC_LUMP)

/* The longest decomposition is 18 code points (U+FDFA); a character that needs more is a
 * separator. */
#define DECOMP_MAX 32

typedef struct {
    char *out;
    size_t outlen, o;
    bool pending; /* a separator was read since the last character written */
    bool cut;
} sink_t;

/* A separator is written only before the next character: none leads, none trails, and a run
 * of them is one space. */
static void put_space(sink_t *k) { k->pending = k->o > 0; }

static void put_char(sink_t *k, utf8proc_int32_t c) {
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t n = 1;
    if (c < 0x80)
        enc[0] = (utf8proc_uint8_t)c;
    else if ((n = utf8proc_encode_char(c, enc)) <= 0)
        return;
    size_t need = (size_t)n + (k->pending ? 1 : 0);
    if (k->o + need + 1 > k->outlen) { /* never half a character */
        k->cut = true;
        return;
    }
    if (k->pending) k->out[k->o++] = ' ';
    memcpy(k->out + k->o, enc, (size_t)n);
    k->o += (size_t)n;
    k->pending = false;
}

static bool is_word_char(utf8proc_int32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

static void put_folded(sink_t *k, utf8proc_int32_t c, const char *keep) {
    if (c == '\'' || c == '`') return; /* don't → dont */
    if (c < 0x80 && c != 0 && keep && strchr(keep, (int)c)) {
        put_char(k, c);
    } else if (is_word_char(c)) {
        put_char(k, c);
    } else {
        put_space(k);
    }
}

size_t hilo_textnorm_fold(const char *in, size_t len, char *out, size_t outlen, const char *keep, bool *cut) {
    if (cut) *cut = false;
    if (!out || outlen == 0) return 0;
    sink_t k = {out, outlen, 0, false, false};
    size_t i = 0;
    while (in && i < len && !k.cut) {
        uint32_t cp;
        size_t n = hilo_utf8_decode(in + i, len - i, &cp);
        if (n == 0) { /* not UTF-8: this byte separates */
            put_space(&k);
            i++;
            continue;
        }
        i += n;
        if (cp < 0x80) { /* ASCII: what utf8proc would give (lower case, nothing else changes), faster */
            put_folded(&k, (utf8proc_int32_t)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp), keep);
            continue;
        }
        utf8proc_int32_t d[DECOMP_MAX];
        int boundclass = 0;
        utf8proc_ssize_t m =
            utf8proc_decompose_char((utf8proc_int32_t)cp, d, DECOMP_MAX, (utf8proc_option_t)FOLD_OPTIONS, &boundclass);
        if (m < 0 || m > DECOMP_MAX) {
            put_space(&k);
            continue;
        }
        for (utf8proc_ssize_t j = 0; j < m && !k.cut; j++) put_folded(&k, d[j], keep);
    }
    out[k.o] = '\0';
    if (cut) *cut = k.cut;
    return k.o;
}

size_t hilo_textnorm_width(const char *in, size_t len) {
    size_t cols = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = hilo_utf8_decode(in + i, len - i, &cp);
        if (n == 0) {
            cols++;
            i++;
            continue;
        }
        i += n;
        int w = utf8proc_charwidth((utf8proc_int32_t)cp);
        if (w > 0) cols += (size_t)w;
    }
    return cols;
}
