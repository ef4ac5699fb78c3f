/* buf.h — a growable byte buffer with printf-append, for building HTTP bodies, metrics text
 * and log fragments. The buffer owns its bytes; data is always NUL-terminated. */
#ifndef HILO_BUF_H
#define HILO_BUF_H

#include <stddef.h>

typedef struct {
    char *data;   /* NUL-terminated contents (NULL until the first append) */
    size_t len;   /* bytes used, without the NUL */
    size_t cap;   /* bytes allocated */
} hilo_buf_t;

#define HILO_BUF_INIT {NULL, 0, 0}

void hilo_buf_append(hilo_buf_t *b, const void *data, size_t len);
void hilo_buf_printf(hilo_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the bytes and resets *b to empty. */
void hilo_buf_free(hilo_buf_t *b);

#endif
