/* form.c — strict x-www-form-urlencoded decoding and encoding. */
#include "hilo/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

struct hilo_form {
    hilo_form_field_t *fields; /* owned, arrival order */
    size_t count;              /* used */
    size_t cap;                /* allocated */
};

hilo_form_t *hilo_form_new(void) {
    return hilo_xcalloc(1, sizeof(hilo_form_t));
}

void hilo_form_destroy(hilo_form_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_form_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->fields[i].name);
        free(self->fields[i].value);
    }
    free(self->fields);
    free(self);
    *self_p = NULL;
}

static void push(hilo_form_t *self, char *name, char *value) {
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->fields = hilo_xrealloc(self->fields, self->cap * sizeof *self->fields);
    }
    self->fields[self->count].name = name;
    self->fields[self->count].value = value;
    self->count++;
}

void hilo_form_add(hilo_form_t *self, const char *name, const char *value) {
    push(self, hilo_xstrdup(name), hilo_xstrdup(value ? value : ""));
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into a new string; NULL (and err) on a bad escape. */
static char *decode(const char *s, size_t n, size_t where, char *err, size_t errlen) {
    char *out = hilo_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                snprintf(err, errlen, "bad percent escape at byte %zu", where + i);
                free(out);
                return NULL;
            }
            if (hi == 0 && lo == 0) {
                snprintf(err, errlen, "%%00 (NUL) at byte %zu", where + i);
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

hilo_form_t *hilo_form_parse(const char *s, size_t len, char *err, size_t errlen) {
    hilo_form_t *self = hilo_form_new();
    if (memchr(s, '\0', len)) {
        snprintf(err, errlen, "NUL byte in form data");
        hilo_form_destroy(&self);
        return NULL;
    }
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != '&') end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && s[eq] != '=') eq++;
            char *name = decode(s + i, eq - i, i, err, errlen);
            char *value = NULL;
            if (name) value = eq < end ? decode(s + eq + 1, end - eq - 1, eq + 1, err, errlen) : hilo_xstrdup("");
            if (!name || !value) {
                free(name);
                hilo_form_destroy(&self);
                return NULL;
            }
            push(self, name, value);
        }
        i = end + 1;
    }
    return self;
}

size_t hilo_form_size(const hilo_form_t *self) {
    return self->count;
}

const hilo_form_field_t *hilo_form_at(const hilo_form_t *self, size_t i) {
    return i < self->count ? &self->fields[i] : NULL;
}

const char *hilo_form_get(const hilo_form_t *self, const char *name) {
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->fields[i].name, name) == 0) return self->fields[i].value;
    return NULL;
}

void hilo_form_encode(hilo_provider_buf_t *out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            hilo_provider_buf_add(out, (const char *)p, 1);
        } else if (c == ' ') {
            hilo_provider_buf_add(out, "+", 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            hilo_provider_buf_add(out, esc, 3);
        }
    }
}

void hilo_form_encode_pair(hilo_provider_buf_t *out, const char *name, const char *value) {
    if (out->len) hilo_provider_buf_add(out, "&", 1);
    hilo_form_encode(out, name);
    hilo_provider_buf_add(out, "=", 1);
    hilo_form_encode(out, value ? value : "");
}
