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

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int day_of(const char *s) {
    for (int i = 0; i < 7; i++)
        if (strncmp(s, day_names[i], 3) == 0) return i;
    return -1;
}

/* hours[.<queue>] = [<day>-<day> ]HH:MM-HH:MM */
static void hours_key(load_t *l, const char *key) {
    const char *v = NULL;
    if (hilo_config_str(l->c, "messages", key, "", &v) != HILO_OK) {
        l->rc = HILO_ERR;
        return;
    }
    const char *q = key[5] == '.' ? key + 6 : "";
    int days = 0x7f, from = -1, to = -1;
    size_t n = strlen(v);
    if (n == 19 && v[3] == '-' && v[7] == ' ') {
        int a = day_of(v), b = day_of(v + 4);
        if (a >= 0 && b >= 0)
            for (days = 0;; a = (a + 1) % 7) {
                days |= 1 << a;
                if (a == b) break;
            }
        else days = 0;
        v += 8, n -= 8;
    }
    if (n == 11 && v[5] == '-') from = hilo_tz_minutes(v, 5), to = hilo_tz_minutes(v + 6, 5);
    if (!days || from < 0 || to <= from || to > 24 * 60 || (*q && !hilo_sla_queue_name_ok(q, strlen(q)))) {
        l->rc = hilo_config_reject(l->c, "messages", key,
                                   "a queue's hours are [<day>-<day> ]HH:MM-HH:MM, e.g. mon-fri 08:00-18:00");
        return;
    }
    if (l->out->nhours >= HILO_MESSAGES_HOURS_MAX) {
        l->rc = hilo_config_reject(l->c, "messages", key, "too many hours lines (at most 64)");
        return;
    }
    hilo_queue_hours_t *h = &l->out->hours[l->out->nhours++];
    snprintf(h->queue, sizeof h->queue, "%s", q);
    h->days = days, h->open_min = from, h->close_min = to;
}

/* <kind>.<lang> or <kind>.<queue>.<lang> (a queue's name may hold dots itself). */
static void one_key(const char *key, void *arg) {
    load_t *l = arg;
    if (l->rc != HILO_OK || strcmp(key, "default_language") == 0) return;
    if (strcmp(key, "hours") == 0 || strncmp(key, "hours.", 6) == 0) {
        hours_key(l, key);
        return;
    }
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

bool hilo_messages_open(const hilo_messages_t *m, const char *queue, const hilo_tz_t *tz, int64_t now_ms) {
    const hilo_queue_hours_t *h = NULL;
    for (int i = 0; i < m->nhours; i++) {
        if (queue && strcmp(m->hours[i].queue, queue) == 0) h = &m->hours[i];
        if (!h && !m->hours[i].queue[0]) h = &m->hours[i];
    }
    if (!h) return true;
    int64_t secs = now_ms >= 0 ? now_ms / 1000 : 0;
    hilo_tm_t lt;
    if (tz) {
        hilo_tz_local(tz, secs, &lt);
    } else {
        int64_t d = secs / 86400, r = secs % 86400;
        lt.wday = (int)((d + 4) % 7); /* 1970-01-01 was a Thursday */
        lt.hour = (int)(r / 3600), lt.minute = (int)(r / 60 % 60);
    }
    int min = lt.hour * 60 + lt.minute;
    return (h->days & (1 << lt.wday)) && min >= h->open_min && min < h->close_min;
}
