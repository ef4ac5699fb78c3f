/* common.c — clocks and allocation helpers. */
#include "hilo/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t hilo_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hilo_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void oom(size_t n) {
    fprintf(stderr, "level=fatal mod=alloc msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *hilo_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *hilo_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *hilo_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *hilo_xstrdup(const char *s) {
    return hilo_xstrndup(s, strlen(s));
}

char *hilo_xstrndup(const char *s, size_t n) {
    char *p = hilo_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
