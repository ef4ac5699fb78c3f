/* provider.c — envelope lists, request/result structs and text buffers shared by the provider
 * modules. */
#include "hilo/provider.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

hilo_envelope_t *hilo_provider_envs_add(hilo_provider_envs_t *self, int channel) {
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 4;
        self->items = hilo_xrealloc(self->items, self->cap * sizeof *self->items);
    }
    hilo_envelope_t *env = hilo_xmalloc(sizeof *env);
    hilo_envelope_t init = HILO_ENVELOPE_INIT;
    *env = init;
    env->channel = channel;
    self->items[self->count++] = env;
    return env;
}

hilo_envelope_t *hilo_provider_envs_take(hilo_provider_envs_t *self, size_t i) {
    if (i >= self->count) return NULL;
    hilo_envelope_t *env = self->items[i];
    memmove(&self->items[i], &self->items[i + 1], (self->count - i - 1) * sizeof *self->items);
    self->count--;
    return env;
}

void hilo_provider_envs_clear(hilo_provider_envs_t *self) {
    for (size_t i = 0; i < self->count; i++) hilo_provider_envelope_free(&self->items[i]);
    free(self->items);
    self->items = NULL;
    self->count = self->cap = 0;
}

void hilo_provider_envelope_free(hilo_envelope_t **env_p) {
    if (!env_p || !*env_p) return;
    protobuf_c_message_free_unpacked(&(*env_p)->base, NULL);
    *env_p = NULL;
}

/* A field that still points at protobuf-c's shared default must not be freed. */
static void release(char **field) {
    if (*field && *field != (char *)protobuf_c_empty_string) free(*field);
    *field = (char *)protobuf_c_empty_string;
}

void hilo_provider_set(char **field, const char *s) {
    release(field);
    if (s && *s) *field = hilo_xstrdup(s);
}

void hilo_provider_setf(char **field, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = hilo_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    release(field);
    *field = s;
}

hilo_delivery_t *hilo_provider_env_delivery(hilo_envelope_t *env) {
    if (!env->delivery) {
        hilo_delivery_t init = HILO_DELIVERY_INIT;
        env->delivery = hilo_xmalloc(sizeof *env->delivery);
        *env->delivery = init;
    }
    return env->delivery;
}

hilo_voice_event_t *hilo_provider_env_voice(hilo_envelope_t *env) {
    if (!env->voice) {
        hilo_voice_event_t init = HILO_VOICE_EVENT_INIT;
        env->voice = hilo_xmalloc(sizeof *env->voice);
        *env->voice = init;
    }
    return env->voice;
}

hilo_button_t *hilo_provider_env_button(hilo_envelope_t *env) {
    if (!env->button) {
        hilo_button_t init = HILO_BUTTON_INIT;
        env->button = hilo_xmalloc(sizeof *env->button);
        *env->button = init;
    }
    return env->button;
}

hilo_media_t *hilo_provider_env_add_media(hilo_envelope_t *env) {
    env->media = hilo_xrealloc(env->media, (env->n_media + 1) * sizeof *env->media);
    hilo_media_t init = HILO_MEDIA_INIT;
    hilo_media_t *m = hilo_xmalloc(sizeof *m);
    *m = init;
    env->media[env->n_media++] = m;
    return m;
}

void hilo_provider_request_clear(hilo_provider_request_t *self) {
    free(self->method);
    free(self->url);
    free(self->content_type);
    free(self->body);
    free(self->bearer);
    free(self->basic_user);
    free(self->basic_pass);
    memset(self, 0, sizeof *self);
}

int hilo_provider_fail(hilo_provider_error_t *e, const char *code, const char *fmt, ...) {
    if (e) {
        snprintf(e->code, sizeof e->code, "%s", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    }
    return HILO_ERR;
}

size_t hilo_provider_utf8_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++; /* count every byte that starts a code point */
    return n;
}

static void buf_reserve(hilo_provider_buf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = hilo_xrealloc(b->data, cap);
    b->cap = cap;
}

void hilo_provider_buf_add(hilo_provider_buf_t *b, const char *s, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hilo_provider_buf_adds(hilo_provider_buf_t *b, const char *s) {
    hilo_provider_buf_add(b, s, strlen(s));
}

void hilo_provider_buf_addf(hilo_provider_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *hilo_provider_buf_take(hilo_provider_buf_t *b) {
    if (!b->data) return hilo_xstrdup("");
    char *s = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void hilo_provider_buf_free(hilo_provider_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
