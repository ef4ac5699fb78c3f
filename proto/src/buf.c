/* buf.c — growable byte buffer. */
#include "hilo/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

static void reserve(hilo_buf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = hilo_xrealloc(b->data, cap);
    b->cap = cap;
}

void hilo_buf_append(hilo_buf_t *b, const void *data, size_t len) {
    reserve(b, len);
    if (len) memcpy(b->data + b->len, data, len); /* (NULL, 0) is an empty append */
    b->len += len;
    b->data[b->len] = '\0';
}

void hilo_buf_printf(hilo_buf_t *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void hilo_buf_free(hilo_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
