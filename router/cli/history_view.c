/* history_view.c — one-line rendering of history items for `hilo thread`. */
#include "history_view.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "text.h"

/* A member string, or NULL when absent, not a string or empty. */
static const char *str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* Writes one part of a description: " a", then ", b", ", c". */
static void part(FILE *m, bool *first, const char *fmt, const char *value) {
    fputs(*first ? " " : ", ", m);
    *first = false;
    fprintf(m, fmt, value);
}

static void describe_media(FILE *m, const json_t *media, const char *text) {
    size_t n = json_array_size(media);
    fputs("[", m);
    if (n > 1) fprintf(m, "%zu media: ", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *one = json_array_get(media, i);
        const char *type = str(one, "mime_type");
        if (!type) type = str(one, "filename");
        fprintf(m, "%s%s", i ? ", " : "", type ? type : "media");
    }
    if (n == 0) fputs("media", m);
    fputs("]", m);
    const char *caption = n ? str(json_array_get(media, 0), "caption") : NULL;
    if (text) fprintf(m, " %s", text);
    if (caption && (!text || strcmp(caption, text) != 0)) fprintf(m, " %s", caption);
}

static void describe_voice(FILE *m, const json_t *v, const char *text) {
    const char *event = str(v, "event");
    fprintf(m, "[voice%s%s]", event ? " " : "", event ? event : "");
    bool first = true;
    const char *s;
    if ((s = str(v, "digits"))) part(m, &first, "digits %s", s);
    if ((s = str(v, "speech"))) {
        part(m, &first, "\"%s\"", s);
        const json_t *conf = json_object_get(v, "confidence");
        if (json_is_number(conf)) fprintf(m, " (%.2f)", json_number_value(conf));
    }
    if ((s = str(v, "status"))) part(m, &first, "%s", s);
    const json_t *dur = json_object_get(v, "duration_s");
    if (json_is_integer(dur)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld s", (long long)json_integer_value(dur));
        part(m, &first, "%s", buf);
    }
    if (text) part(m, &first, "%s", text);
    if (first && (s = str(v, "call_id"))) part(m, &first, "call %s", s);
}

char *hilo_history_summary(const json_t *item) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return hilo_xstrdup("?");
    const char *kind = str(item, "kind");
    const char *text = str(item, "text");
    const json_t *media = json_object_get(item, "media");
    const json_t *button = json_object_get(item, "button");
    const json_t *voice = json_object_get(item, "voice");
    const json_t *tmpl = json_object_get(item, "template");
    if (json_is_object(button)) {
        const char *title = str(button, "title"), *payload = str(button, "payload");
        fprintf(m, "[button] %s", title ? title : payload ? payload : "");
        if (title && payload) fprintf(m, " (%s)", payload);
    } else if (json_is_object(voice)) {
        describe_voice(m, voice, text);
    } else if (json_array_size(media) > 0 || (kind && strcmp(kind, "media") == 0)) {
        describe_media(m, media, text);
    } else if (json_is_object(tmpl) || (kind && strcmp(kind, "template") == 0)) {
        const char *name = str(tmpl, "name");
        fprintf(m, "[template%s%s]", name ? " " : "", name ? name : "");
        if (text) fprintf(m, " %s", text);
    } else if (text) {
        fputs(text, m);
    } else {
        fprintf(m, "[%s]", kind ? kind : "empty");
    }
    fclose(m);
    char *out = hilo_text_printable(buf, len, 0);
    free(buf);
    return out;
}

char *hilo_history_delivery(const char *status_json) {
    json_t *s = json_loads(status_json, 0, NULL);
    const char *state = str(s, "state");
    if (!state) {
        json_decref(s);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        json_decref(s);
        return NULL;
    }
    fputs(state, m);
    const char *code = str(s, "error_code"), *error = str(s, "error");
    /* A message sent in parts (a long SMS) also carries each part's state: say which part
     * failed, else how far each part got (router/lua/lib/delivery_state.lua). */
    json_int_t parts = json_integer_value(json_object_get(s, "parts"));
    json_int_t failed = json_integer_value(json_object_get(s, "failed_part"));
    const json_t *states = json_object_get(s, "part_states");
    if (failed > 0) {
        fprintf(m, " (part %lld of %lld", (long long)failed, (long long)(parts > failed ? parts : failed));
        if (code || error) fputs(":", m);
    } else if (code || error) {
        fputs(":", m);
    }
    if (code) fprintf(m, " %s", code);
    if (error) fprintf(m, " %s", error);
    if (failed > 0) {
        fputs(")", m);
    } else if (json_is_object(states) && parts > 1) {
        fprintf(m, " (%lld parts:", (long long)parts);
        bool first = true;
        for (json_int_t k = 1; k <= parts && k <= 100; k++) {
            char name[24];
            snprintf(name, sizeof name, "%lld", (long long)k);
            const char *ps = str(json_object_get(states, name), "state");
            if (!ps) continue;
            fprintf(m, "%s %lld %s", first ? "" : ",", (long long)k, ps);
            first = false;
        }
        fputs(first ? " none reported)" : ")", m);
    }
    fclose(m);
    json_decref(s);
    char *out = hilo_text_printable(buf, len, 120);
    free(buf);
    return out;
}

char *hilo_history_line(int64_t stream_ms, const json_t *item, const char *delivery) {
    char when[40];
    hilo_iso_ms(stream_ms, when, sizeof when);
    const char *ch = str(item, "ch"), *dir = str(item, "dir"), *kind = str(item, "kind");
    /* Untrusted strings, short columns: keep them printable and narrow. */
    char *pch = hilo_text_printable(ch ? ch : "?", strlen(ch ? ch : "?"), 12);
    char *pdir = hilo_text_printable(dir ? dir : "?", strlen(dir ? dir : "?"), 4);
    char *pkind = hilo_text_printable(kind ? kind : "?", strlen(kind ? kind : "?"), 12);
    char *summary = hilo_history_summary(item);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
        /* Widths: the longest channel ("whatsapp") and kind ("template") are 8. */
        fprintf(m, "%s  ", when);
        hilo_text_pad(m, pch, 8);
        fputs("  ", m);
        hilo_text_pad(m, pdir, 3);
        fputs("  ", m);
        hilo_text_pad(m, pkind, 8);
        fprintf(m, " %s", summary);
        if (delivery) fprintf(m, "  [%s]", delivery);
        fclose(m);
    }
    free(pch);
    free(pdir);
    free(pkind);
    free(summary);
    return buf ? buf : hilo_xstrdup("?");
}
