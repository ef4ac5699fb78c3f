/* utf8.c — strict UTF-8 validator, and a copy that makes any bytes valid text. */
#include "hilo/utf8.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there are not one. */
static int sequence_len(const unsigned char *s, const unsigned char *end) {
    unsigned char c = *s;
    if (c < 0x80) return 1;
    int n;
    unsigned cp;
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
    if (end - s <= n) return 0;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return n + 1;
}

bool hilo_utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        int n = sequence_len(s, end);
        if (!n) return false;
        s += n;
    }
    return true;
}

size_t hilo_utf8_clean_copy(char *dst, size_t size, const char *src) {
    if (!size) return 0;
    const unsigned char *s = (const unsigned char *)(src ? src : ""), *end = s;
    while (*end) end++;
    size_t o = 0;
    while (s < end) {
        int n = sequence_len(s, end);
        if (n == 1 && (*s < 0x20 || *s == 0x7F)) {
            if (o + 1 >= size) break;
            dst[o++] = ' ';
        } else if (n) {
            if (o + (size_t)n >= size) break; /* never half a character */
            for (int i = 0; i < n; i++) dst[o++] = (char)s[i];
        } else {
            if (o + 1 >= size) break;
            dst[o++] = '?';
            n = 1;
        }
        s += n;
    }
    dst[o] = '\0';
    return o;
}
