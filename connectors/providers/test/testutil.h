/* testutil.h — helpers shared by the provider unit tests: fixture loading and whitespace
 * normalisation. Header-only so that each test stays one executable built from one file. */
#ifndef HILO_PROVIDERS_TESTUTIL_H
#define HILO_PROVIDERS_TESTUTIL_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads fixture `name` (malloc'd, NUL-terminated, *len = bytes); aborts the test when missing. */
static inline char *fixture(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", HILO_PROVIDER_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing fixture %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) abort();
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

/* XML comparison helper: drops whitespace between tags, before "/>" and at both ends; any
 * other whitespace run becomes one space. */
static inline char *xml_normalize(const char *in) {
    size_t n = strlen(in);
    char *out = malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (!isspace((unsigned char)in[i])) {
            *o++ = in[i];
            continue;
        }
        size_t j = i;
        while (j < n && isspace((unsigned char)in[j])) j++;
        char next = j < n ? in[j] : '\0';
        bool drop = o == out || next == '\0' || (o[-1] == '>' && next == '<') ||
                    (next == '/' && j + 1 < n && in[j + 1] == '>');
        if (!drop) *o++ = ' ';
        i = j - 1;
    }
    *o = '\0';
    return out;
}

#endif
