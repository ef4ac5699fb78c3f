/* utf8.h — the one UTF-8 decoder (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF) and the
 * small jobs built on it: validation of every string that crosses a process boundary before it
 * is stored, a copy that makes any bytes valid text, counting characters, and cutting text
 * without splitting a character. Every module that walks UTF-8 uses these, so that one rule
 * decides what a character is (the text normaliser, textnorm.h, reads its characters here). */
#ifndef HILO_UTF8_H
#define HILO_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the character at s (len bytes available, len > 0): returns its length (1-4) with
 * the code point in *cp, or 0 when the bytes there are not one valid sequence (*cp untouched).
 * A caller that skips invalid input goes on one byte. */
size_t hilo_utf8_decode(const char *s, size_t len, uint32_t *cp);

bool hilo_utf8_valid(const char *s, size_t len);

/* Copies the C string src into dst (size bytes, NUL included) as valid UTF-8 text: a byte that
 * is not part of a valid sequence becomes '?', a control character a space, and a character
 * that does not fit whole is left out. For text from outside (a provider's answer) that must
 * cross the link, where invalid UTF-8 is refused. Returns the length written. */
size_t hilo_utf8_clean_copy(char *dst, size_t size, const char *src);

/* Characters (code points) in the valid UTF-8 C string s. */
size_t hilo_utf8_chars(const char *s);

/* The length of s (len bytes) without a trailing incomplete sequence: cutting valid text at n
 * bytes without leaving half a character is s[hilo_utf8_complete(s, n)] = '\0'. */
size_t hilo_utf8_complete(const char *s, size_t len);

#endif
