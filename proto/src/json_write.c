/* json_write.c — JSON objects written straight into a buffer (see json_write.h). */
#include "hilo/json_write.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The escape of byte c, or NULL when c is written as it is. */
static const char *escape_of(unsigned char c, char tmp[8]) {
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c >= 0x20) return NULL;
        snprintf(tmp, 8, "\\u%04X", c);
        return tmp;
    }
}

void hilo_json_string(hilo_buf_t *b, const char *s, size_t n) {
    hilo_buf_append(b, "\"", 1);
    size_t run = 0; /* bytes before i that need no escape, not yet written */
    char tmp[8];
    for (size_t i = 0; i < n; i++) {
        const char *esc = escape_of((unsigned char)s[i], tmp);
        if (!esc) {
            run++;
            continue;
        }
        hilo_buf_append(b, s + i - run, run);
        run = 0;
        hilo_buf_append(b, esc, strlen(esc));
    }
    hilo_buf_append(b, s + n - run, run);
    hilo_buf_append(b, "\"", 1);
}

void hilo_jobj_begin(hilo_jobj_t *o, hilo_buf_t *b) {
    o->b = b;
    o->first = true;
    hilo_buf_append(b, "{", 1);
}

void hilo_jobj_key(hilo_jobj_t *o, const char *key) {
    if (!o->first) hilo_buf_append(o->b, ",", 1);
    o->first = false;
    hilo_json_string(o->b, key, strlen(key));
    hilo_buf_append(o->b, ":", 1);
}

void hilo_jobj_strn(hilo_jobj_t *o, const char *key, const char *value, size_t n) {
    hilo_jobj_key(o, key);
    hilo_json_string(o->b, value, n);
}

void hilo_jobj_str(hilo_jobj_t *o, const char *key, const char *value) {
    hilo_jobj_strn(o, key, value, strlen(value));
}

void hilo_jobj_str_opt(hilo_jobj_t *o, const char *key, const char *value) {
    if (value && *value) hilo_jobj_str(o, key, value);
}

void hilo_jobj_int(hilo_jobj_t *o, const char *key, int64_t value) {
    char s[24];
    int n = snprintf(s, sizeof s, "%lld", (long long)value);
    hilo_jobj_key(o, key);
    hilo_buf_append(o->b, s, (size_t)n);
}

void hilo_jobj_real(hilo_jobj_t *o, const char *key, double value) {
    hilo_jobj_key(o, key);
    if (!isfinite(value)) {
        hilo_buf_append(o->b, "null", 4);
        return;
    }
    char s[48];
    int n = snprintf(s, sizeof s, "%.17g", value);
    if (!strchr(s, '.') && !strchr(s, 'e')) {
        memcpy(s + n, ".0", 3);
        n += 2;
    }
    /* The exponent without '+' or leading zeros: "1e-05" is "1e-5", "1e+20" is "1e20". */
    char *e = strchr(s, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, (size_t)(s + n - end) + 1);
            n -= (int)(end - start);
        }
    }
    hilo_buf_append(o->b, s, (size_t)n);
}

void hilo_jobj_end(hilo_jobj_t *o) { hilo_buf_append(o->b, "}", 1); }
