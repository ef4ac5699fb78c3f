/* compliance.c — the gate: compliance.conf, and the order of the checks (see compliance.h). */
#include "hilo/compliance.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "lines.h"
#include "pack.h"

struct hilo_compliance {
    hilo_hours_t *hours;               /* packs, calendars, country map, zone cache */
    hilo_cap_t caps[HILO_CHANNEL_MAX]; /* default cap per channel (packs may override) */
    int64_t reply_window_ms;           /* inbound this recent makes an attempt a reply */
    int64_t confirm_window_ms;         /* the opt-out confirmation must follow this closely */
    bool replies_without_pack;         /* replies allowed for countries mapped to block */
};

/* Defaults for keys compliance.conf leaves out (docs/compliance.md explains each). */
#define DEFAULT_CAP ((hilo_cap_t){7, 7LL * 86400 * 1000})
#define DEFAULT_REPLY_WINDOW_MS (60LL * 60 * 1000)
#define DEFAULT_CONFIRM_WINDOW_MS (15LL * 60 * 1000)

typedef struct {
    hilo_compliance_t *c;
    char section[32];
    unsigned seen;        /* policy keys given, to refuse duplicates */
    bool cap_seen[HILO_CHANNEL_MAX];
} conf_ctx_t;

static int conf_line(char *line, void *arg, char *why, size_t whylen) {
    conf_ctx_t *x = arg;
    hilo_compliance_t *c = x->c;
    char *name = hilo_lines_section(line), *key, *value;
    if (name) {
        if (strcmp(name, "countries") != 0 && strcmp(name, "caps") != 0 && strcmp(name, "policy") != 0) {
            snprintf(why, whylen, "unknown section [%s] (countries, caps, policy)", name);
            return HILO_ERR;
        }
        snprintf(x->section, sizeof x->section, "%s", name);
        return HILO_OK;
    }
    if (hilo_lines_kv(line, &key, &value) != HILO_OK || !*value) {
        snprintf(why, whylen, "expected 'key = value' or '[section]'");
        return HILO_ERR;
    }
    if (strcmp(x->section, "countries") == 0) return hilo_hours_map(c->hours, key, value, why, whylen);
    if (strcmp(x->section, "caps") == 0) {
        int ch = hilo_channel_parse(key);
        if (ch == HILO_CHANNEL_UNSPECIFIED) {
            snprintf(why, whylen, "[caps] %s: unknown channel (whatsapp, sms, voice)", key);
            return HILO_ERR;
        }
        if (x->cap_seen[ch]) goto dup;
        x->cap_seen[ch] = true;
        return hilo_parse_cap(value, &c->caps[ch], why, whylen);
    }
    if (strcmp(x->section, "policy") == 0) {
        static const char *const keys[] = {"reply_window", "optout_confirm_window", "replies_without_pack"};
        for (unsigned i = 0; i < 3; i++)
            if (strcmp(key, keys[i]) == 0) {
                if (x->seen & (1u << i)) goto dup;
                x->seen |= 1u << i;
                if (i == 0) return hilo_parse_duration(value, &c->reply_window_ms, why, whylen);
                if (i == 1) return hilo_parse_duration(value, &c->confirm_window_ms, why, whylen);
                return hilo_parse_bool(value, &c->replies_without_pack, why, whylen);
            }
        snprintf(why, whylen, "[policy] %s: unknown key", key);
        return HILO_ERR;
    }
    snprintf(why, whylen, "'%s' outside a section", key);
    return HILO_ERR;
dup:
    snprintf(why, whylen, "[%s] %s: duplicate key", x->section, key);
    return HILO_ERR;
}

hilo_compliance_t *hilo_compliance_new(const char *dir, const char *zoneinfo_dir, char *err, size_t errlen) {
    hilo_compliance_t *c = hilo_xcalloc(1, sizeof *c);
    c->hours = hilo_hours_load(dir, zoneinfo_dir, err, errlen);
    if (!c->hours) {
        free(c);
        return NULL;
    }
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) c->caps[ch] = DEFAULT_CAP;
    c->reply_window_ms = DEFAULT_REPLY_WINDOW_MS;
    c->confirm_window_ms = DEFAULT_CONFIRM_WINDOW_MS;
    c->replies_without_pack = true;
    char path[1024];
    snprintf(path, sizeof path, "%s/compliance.conf", dir);
    conf_ctx_t x = {.c = c};
    if (hilo_lines_each(path, conf_line, &x, err, errlen) != HILO_OK) {
        hilo_compliance_destroy(&c);
        return NULL;
    }
    return c;
}

void hilo_compliance_destroy(hilo_compliance_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_hours_destroy(&(*self_p)->hours);
    free(*self_p);
    *self_p = NULL;
}

const hilo_hours_t *hilo_compliance_hours(const hilo_compliance_t *self) { return self->hours; }

int64_t hilo_inbound_age(int64_t last_in_ms, int64_t now_ms) {
    if (last_in_ms <= 0) return -1;
    int64_t age = now_ms - last_in_ms;
    /* Slightly in the future: stamped by a router whose clock runs a little ahead of ours. Far in
     * the future: a clock that is wrong (or a record written under another clock), and a "reply"
     * to it could let an agent's or a campaign's message out at night. */
    if (age < 0) return -age <= HILO_CLOCK_SKEW_MS ? 0 : -1;
    return age;
}

bool hilo_whatsapp_may_send(int64_t last_in_ms, int64_t now_ms, bool is_template) {
    if (is_template) return true;
    int64_t age = hilo_inbound_age(last_in_ms, now_ms);
    return age >= 0 && age < HILO_WHATSAPP_WINDOW_MS;
}

static void fmt_age(int64_t ms, char *buf, size_t n) {
    if (ms < 0) ms = 0;
    if (ms >= 3600000) snprintf(buf, n, "%" PRId64 " h %02" PRId64 " min", ms / 3600000, ms / 60000 % 60);
    else snprintf(buf, n, "%" PRId64 " min", ms / 60000);
}

static bool is_hours_reason(hilo_reason_t r) {
    return r == HILO_REASON_OUTSIDE_HOURS || r == HILO_REASON_CLOSED_DAY || r == HILO_REASON_HOLIDAY ||
           r == HILO_REASON_NO_HOLIDAY_DATA || r == HILO_REASON_UNKNOWN_TIMEZONE ||
           r == HILO_REASON_NO_RULE_PACK;
}

bool hilo_compliance_check(const hilo_compliance_t *c, const hilo_attempt_t *a, hilo_verdict_t *out) {
    int ch = a->channel;
    const char *chn = hilo_channel_name(ch);
    if (ch <= HILO_CHANNEL_UNSPECIFIED || ch >= HILO_CHANNEL_MAX || a->now_ms <= 0 ||
        a->kind < HILO_MSG_FREEFORM || a->kind > HILO_MSG_OPTOUT_CONFIRM) {
        hilo_verdict_block(out, HILO_REASON_INVALID, "invalid attempt (channel %d, kind %d, now %" PRId64 ")",
                           ch, (int)a->kind, a->now_ms);
        return false;
    }
    int64_t now = a->now_ms;
    if (a->dnc) {
        hilo_verdict_block(out, HILO_REASON_DNC,
                           "the debtor is marked do-not-contact: no contact on any channel");
        return false;
    }
    /* Opt-out: after it, only its confirmation, once, promptly (docs: opt-out policy). */
    if (a->optout_ms[ch] > 0) {
        int64_t age = now - a->optout_ms[ch];
        if (a->kind == HILO_MSG_OPTOUT_CONFIRM && age <= c->confirm_window_ms) {
            hilo_verdict_allow(out); /* no hours, window or cap: it answers the debtor's STOP */
            return true;
        }
        char ago[32];
        fmt_age(age, ago, sizeof ago);
        hilo_verdict_block(out, HILO_REASON_OPTED_OUT,
                           "the debtor opted out of %s %s ago: only the opt-out confirmation may be sent",
                           chn, ago);
        return false;
    }
    if (a->kind == HILO_MSG_OPTOUT_CONFIRM) {
        hilo_verdict_block(out, HILO_REASON_INVALID, "no %s opt-out to confirm", chn);
        return false;
    }
    if (ch == HILO_CHANNEL_WHATSAPP &&
        !hilo_whatsapp_may_send(a->last_in_ms[ch], now, a->kind == HILO_MSG_TEMPLATE)) {
        char ago[48] = "never";
        int64_t age = hilo_inbound_age(a->last_in_ms[ch], now);
        if (age >= 0) {
            fmt_age(age, ago, sizeof ago);
            strcat(ago, " ago");
        } else if (a->last_in_ms[ch] > 0) {
            snprintf(ago, sizeof ago, "at a time in the future of this router's clock");
        }
        hilo_verdict_block(out, HILO_REASON_WHATSAPP_WINDOW,
                           "the debtor last wrote on WhatsApp %s: outside the 24-hour window only a template "
                           "may be sent", ago);
        return false;
    }
    /* A reply answers an exchange the debtor started on this channel, recently. The caller's
     * flag alone is not enough: a stale "reply" is outreach, and so is a "reply" to a last
     * inbound further in the future than clock skew explains. */
    int64_t age = hilo_inbound_age(a->last_in_ms[ch], now);
    bool reply = a->reply && age >= 0 && age <= c->reply_window_ms;
    const hilo_pack_t *p = hilo_hours_find_pack(c->hours, a->country);
    if (!hilo_hours_check(c->hours, a->country, a->timezone, now, ch, out)) {
        /* Only the bot's answers keep the hours exemption: it answers what the debtor just
         * asked, with the flow's vetted texts. An agent's message is the collector speaking
         * (docs/compliance.md, "Replies"). */
        bool exempt = reply && a->bot && is_hours_reason(out->reason) &&
                      (p ? p->replies_outside_hours : c->replies_without_pack);
        if (!exempt) return false;
    }
    /* Regulation F 1006.14(b)(2)(ii): no call within the pack's pause (7 days) after a telephone
     * conversation with the debtor. Calls we start only: a reply on a live call is the
     * conversation itself. A conversation stamped in our future counts as just now. */
    if (ch == HILO_CHANNEL_VOICE && !reply && p && p->after_phone_conversation_ms > 0 && a->talk_ms > 0) {
        int64_t since = now - a->talk_ms;
        if (since < p->after_phone_conversation_ms) {
            char ago[32];
            fmt_age(since, ago, sizeof ago);
            hilo_verdict_block(out, HILO_REASON_RECENT_CONVERSATION,
                               "the debtor had a phone conversation with us %s ago: no call within %" PRId64
                               " h after one (%s)", ago, p->after_phone_conversation_ms / 3600000, p->name);
            out->next_ms = a->talk_ms + p->after_phone_conversation_ms;
            return false;
        }
    }
    hilo_verdict_allow(out);
    /* Caps count collector-initiated attempts only: a conversation the debtor is having with
     * the bot must not exhaust them. */
    if (!reply) out->cap = p && p->cap_set[ch] ? p->caps[ch] : c->caps[ch];
    return true;
}

void hilo_attempt_load_facts(hilo_attempt_t *a, hilo_fact_fn get, const void *debtor, const void *conv) {
    memset(a, 0, sizeof *a);
    a->country = get(debtor, "country");
    a->timezone = get(debtor, "timezone");
    const char *dnc = get(conv, "dnc");
    a->dnc = dnc && strcmp(dnc, "0") != 0;
    for (int c = 1; c < HILO_CHANNEL_MAX; c++) {
        char f[32];
        const char *v;
        snprintf(f, sizeof f, "optout:%s", hilo_channel_name(c));
        a->optout_ms[c] = (v = get(conv, f)) ? strtoll(v, NULL, 10) : 0;
        snprintf(f, sizeof f, "last_in:%s", hilo_channel_name(c));
        a->last_in_ms[c] = (v = get(conv, f)) ? strtoll(v, NULL, 10) : 0;
    }
    const char *talk = get(conv, HILO_FACT_TALK);
    a->talk_ms = talk ? strtoll(talk, NULL, 10) : 0;
}

bool hilo_compliance_pack_rules(const hilo_compliance_t *c, const char *country, hilo_pack_rules_t *out) {
    memset(out, 0, sizeof *out);
    const hilo_pack_t *p = hilo_hours_find_pack(c->hours, country);
    if (!p) return false;
    out->pack_id = p->id;
    out->optout_notice = p->optout_notice;
    memcpy(out->consent, p->consent, sizeof out->consent);
    return true;
}

const char *hilo_compliance_disclosure(const hilo_compliance_t *c, const char *country, const char *lang) {
    const hilo_pack_t *p = hilo_hours_find_pack(c->hours, country);
    if (!p) return NULL;
    const char *any = NULL;
    for (size_t i = 0; i < p->ndisclosure; i++) {
        if (lang && strcmp(p->disclosure_lang[i], lang) == 0) return p->disclosure[i];
        if (!p->disclosure_lang[i][0]) any = p->disclosure[i];
    }
    return any;
}

void hilo_compliance_each_country(const hilo_compliance_t *c,
                                  void (*fn)(const char *country, const char *pack_id, void *arg), void *arg) {
    hilo_hours_each_country(c->hours, fn, arg);
}
