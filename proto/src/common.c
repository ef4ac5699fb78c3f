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

void hilo_iso_ms(int64_t ms, char *out, size_t outlen) {
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) { /* before 1970: floor, not truncate */
        frac += 1000;
        secs -= 1;
    }
    struct tm tm;
    char date[24] = "?";
    if (gmtime_r(&secs, &tm)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", date, frac);
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
