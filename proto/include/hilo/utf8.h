/* utf8.h — strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
 * Used on every string that crosses a process boundary before it is stored. */
#ifndef HILO_UTF8_H
#define HILO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool hilo_utf8_valid(const char *s, size_t len);

/* Copies the C string src into dst (size bytes, NUL included) as valid UTF-8 text: a byte that
 * is not part of a valid sequence becomes '?', a control character a space, and a character
 * that does not fit whole is left out. For text from outside (a provider's answer) that must
 * cross the link, where invalid UTF-8 is refused. Returns the length written. */
size_t hilo_utf8_clean_copy(char *dst, size_t size, const char *src);

#endif
