/* messages.c — [messages]: the router's own words to the debtor (messages.h). */
#include "messages.h"

#include <stdio.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/utf8.h"
#include "sla.h"

static const char *const kinds[HILO_MSG_KINDS] = {"ack", "waiting", "after_hours", "closing", "csat"};

#define TEXT_MAX 1000 /* bytes of one text: a short message, one SMS segment or a few */

const char *hilo_messages_kind_name(int kind) { return kind >= 0 && kind < HILO_MSG_KINDS ? kinds[kind] : "?"; }

typedef struct {
    hilo_config_t *c;
    hilo_messages_t *out;
    int rc;
} load_t;

/* A language tag as the portfolio writes it: es, en, pt-BR. */
static bool lang_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 2 || n > 15) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-')) return false;
    return true;
}

/* <kind>.<lang> or <kind>.<queue>.<lang> (a queue's name may hold dots itself). */
static void one_key(const char *key, void *arg) {
    load_t *l = arg;
    if (l->rc != HILO_OK || strcmp(key, "default_language") == 0) return;
    const char *first = strchr(key, '.'), *last = strrchr(key, '.');
    int kind = -1;
    for (int i = 0; first && i < HILO_MSG_KINDS; i++)
        if (strlen(kinds[i]) == (size_t)(first - key) && strncmp(key, kinds[i], (size_t)(first - key)) == 0) kind = i;
    const char *lang = last ? last + 1 : "";
    size_t qn = first && last > first ? (size_t)(last - first - 1) : 0;
    if (kind < 0 || !lang_ok(lang) || (last > first && !hilo_sla_queue_name_ok(first + 1, qn))) {
        l->rc = hilo_config_reject(l->c, "messages", key,
                                   "a line is <kind>.<language> or <kind>.<queue>.<language>, kind one of ack, "
                                   "waiting, after_hours, closing, csat");
        return;
    }
    const char *text = NULL;
    if (hilo_config_str(l->c, "messages", key, "", &text) != HILO_OK) {
        l->rc = HILO_ERR;
        return;
    }
    if (!*text || strlen(text) > TEXT_MAX || !hilo_utf8_valid(text, strlen(text))) {
        l->rc = hilo_config_reject(l->c, "messages", key, "must be a text of 1 to 1000 bytes of UTF-8");
        return;
    }
    if (l->out->n >= HILO_MESSAGES_MAX) {
        l->rc = hilo_config_reject(l->c, "messages", key, "too many lines (at most 128)");
        return;
    }
    hilo_message_t *m = &l->out->m[l->out->n++];
    m->kind = kind;
    snprintf(m->queue, sizeof m->queue, "%.*s", (int)qn, qn ? first + 1 : "");
    snprintf(m->lang, sizeof m->lang, "%s", lang);
    m->text = text;
}

int hilo_messages_load(hilo_config_t *c, hilo_messages_t *out) {
    memset(out, 0, sizeof *out);
    if (hilo_config_str(c, "messages", "default_language", "es", &out->default_language) != HILO_OK) return HILO_ERR;
    load_t l = {c, out, HILO_OK};
    hilo_config_each_key(c, "messages", one_key, &l);
    return l.rc;
}

static const char *find(const hilo_messages_t *m, int kind, const char *queue, const char *lang) {
    for (int i = 0; i < m->n; i++)
        if (m->m[i].kind == kind && strcmp(m->m[i].queue, queue) == 0 && strcmp(m->m[i].lang, lang) == 0)
            return m->m[i].text;
    return NULL;
}

const char *hilo_messages_text(const hilo_messages_t *m, int kind, const char *queue, const char *lang) {
    const char *q = queue ? queue : "", *langs[2] = {lang && *lang ? lang : m->default_language, m->default_language};
    for (int i = 0; i < 2; i++) {
        const char *t = *q ? find(m, kind, q, langs[i]) : NULL;
        if (!t) t = find(m, kind, "", langs[i]);
        if (t) return t;
    }
    return NULL;
}
