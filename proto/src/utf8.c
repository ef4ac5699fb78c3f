/* utf8.c — the UTF-8 decoder, validator, cleaning copy, character count and cut (utf8.h). */
#include "hilo/utf8.h"

size_t hilo_utf8_decode(const char *str, size_t len, uint32_t *cp_out) {
    const unsigned char *s = (const unsigned char *)str;
    if (len == 0) return 0;
    unsigned char c = *s;
    if (c < 0x80) {
        *cp_out = c;
        return 1;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        cp = c & 0x07;
    } else {
        return 0; /* continuation byte first, C0/C1 overlong lead, or > F4 */
    }
    if (len <= n) return 0;
    for (size_t i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    *cp_out = cp;
    return n + 1;
}

bool hilo_utf8_valid(const char *str, size_t len) {
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        size_t n = hilo_utf8_decode(str + i, len - i, &cp);
        if (!n) return false;
        i += n;
    }
    return true;
}

size_t hilo_utf8_clean_copy(char *dst, size_t size, const char *src) {
    if (!size) return 0;
    const char *s = src ? src : "";
    size_t len = 0;
    while (s[len]) len++;
    size_t o = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = hilo_utf8_decode(s + i, len - i, &cp);
        if (n == 1 && (cp < 0x20 || cp == 0x7F)) {
            if (o + 1 >= size) break;
            dst[o++] = ' ';
        } else if (n) {
            if (o + n >= size) break; /* never half a character */
            for (size_t k = 0; k < n; k++) dst[o++] = s[i + k];
        } else {
            if (o + 1 >= size) break;
            dst[o++] = '?';
            n = 1;
        }
        i += n;
    }
    dst[o] = '\0';
    return o;
}

size_t hilo_utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

size_t hilo_utf8_complete(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t start = len;
    while (start > 0 && len - start < 3 && (s[start - 1] & 0xC0) == 0x80) start--;
    if (start == 0) return len;
    unsigned char lead = s[start - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (start - 1) < need ? start - 1 : len;
}
