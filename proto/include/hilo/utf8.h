/* utf8.h — strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
 * Used on every string that crosses a process boundary before it is stored. */
#ifndef HILO_UTF8_H
#define HILO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool hilo_utf8_valid(const char *s, size_t len);

#endif
