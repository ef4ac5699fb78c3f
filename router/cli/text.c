/* text.c — terminal-safe text helpers. */
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hilo/common.h"
#include "hilo/textnorm.h"
#include "hilo/utf8.h"

char *hilo_text_printable(const char *s, size_t len, size_t max_chars) {
    /* Each input byte gives at most one output byte, plus "…" (3 bytes) and the NUL. */
    char *out = hilo_xmalloc(len + 4);
    size_t o = 0, chars = 0, i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t n = hilo_utf8_decode(s + i, len - i, &cp); /* 0: invalid, one '?' per byte */
        if (max_chars && chars + 1 == max_chars && i + (n ? n : 1) < len) {
            memcpy(out + o, "\xE2\x80\xA6", 3); /* "…": more follows than fits */
            o += 3;
            break;
        }
        if (n == 0) {
            out[o++] = '?';
            n = 1;
        } else if (c < 0x80) {
            out[o++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c < 0x20 || c == 0x7F) ? '?' : (char)c;
        } else if (c == 0xC2 && (unsigned char)s[i + 1] < 0xA0) {
            out[o++] = '?'; /* U+0080..U+009F are C1 controls: 0x9B is CSI on some terminals */
        } else {
            memcpy(out + o, s + i, n);
            o += n;
        }
        i += n;
        chars++;
    }
    out[o] = '\0';
    return out;
}

size_t hilo_text_width(const char *s) { return hilo_textnorm_width(s, strlen(s)); }

void hilo_text_pad(FILE *f, const char *s, size_t width) {
    fputs(s, f);
    for (size_t n = hilo_text_width(s); n < width; n++) fputc(' ', f);
}

