/* pacing.c — the [pacing] section: rates per channel and per sender number.
 *
 *   [pacing]
 *   enabled = true            # false lifts every limit (benchmarks)
 *   whatsapp = 80             # messages per second per sender (0 = unlimited)
 *   whatsapp_burst = 80       # at once after a quiet spell (default: one second's worth)
 *   sms = 1
 *   sms.18005550100 = 100/100 # one sender (digits of the number, or "default"): rate[/burst]
 *   reply_reserve_pct = 10    # share of the burst left to replies to the debtor's own message
 *
 * A rate is a decimal number of messages per second (0.5 = one every two seconds). */
#include "pacing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

#define RATE_MAX 100000.0 /* messages per second: more is a typo */
#define BURST_MAX 100000

typedef struct {
    hilo_config_t *c;
    hilo_pacing_config_t *out;
    int rc;
} load_t;

/* "12.5" or "12.5/40" -> interval and burst (burst 0 when absent). false when malformed. */
static bool parse_rate(const char *s, int64_t *interval_us, int *burst) {
    char *end = NULL;
    double rate = strtod(s, &end);
    if (end == s || !isfinite(rate) || rate < 0 || rate > RATE_MAX) return false;
    *burst = 0;
    if (*end == '/') {
        char *e2 = NULL;
        long b = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || b < 1 || b > BURST_MAX) return false;
        *burst = (int)b;
    } else if (*end) {
        return false;
    }
    *interval_us = rate > 0 ? (int64_t)llround(1e6 / rate) : 0;
    if (rate > 0 && *interval_us < 1) *interval_us = 1;
    if (rate > 0 && !*burst) *burst = rate < 1 ? 1 : (int)ceil(rate); /* one second's worth */
    return true;
}

static bool digits(const char *s, size_t max) {
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, "0123456789") == n;
}

static void one_key(const char *key, void *arg) {
    load_t *l = arg;
    if (l->rc != HILO_OK) return;
    hilo_config_t *c = l->c;
    hilo_pacing_config_t *o = l->out;
    const char *dot = strchr(key, '.');
    if (!dot) return; /* the fixed keys are read by hilo_pacing_config_load() */
    char chname[16];
    snprintf(chname, sizeof chname, "%.*s", (int)(dot - key) < 15 ? (int)(dot - key) : 15, key);
    int ch = hilo_channel_parse(chname);
    const char *sender = dot + 1;
    const char *v = NULL;
    if (hilo_config_str(c, "pacing", key, "", &v) != HILO_OK) {
        l->rc = HILO_ERR;
        return;
    }
    if (ch == HILO_CHANNEL_UNSPECIFIED || (size_t)(dot - key) >= sizeof chname) {
        l->rc = hilo_config_reject(c, "pacing", key, "a sender's line is <channel>.<sender>: the channel must be "
                                                     "whatsapp, sms or voice");
        return;
    }
    if (strcmp(sender, HILO_PACING_DEFAULT) != 0 && !digits(sender, 20)) {
        l->rc = hilo_config_reject(c, "pacing", key, "the sender must be the digits of our number (its '+' left out) "
                                                     "or a WhatsApp phone_number_id, 1 to 20 digits, or 'default'");
        return;
    }
    if (o->nrules >= HILO_PACING_RULES_MAX) {
        l->rc = hilo_config_reject(c, "pacing", key, "too many sender lines (at most 128)");
        return;
    }
    hilo_pacing_rule_t *r = &o->rules[o->nrules];
    if (!parse_rate(v, &r->interval_us, &r->burst)) {
        l->rc = hilo_config_reject(c, "pacing", key, "must be messages per second, 0 or more (0 = unlimited), "
                                                     "optionally /burst (1 or more): 80 or 80/160");
        return;
    }
    r->channel = ch;
    snprintf(r->sender, sizeof r->sender, "%s", sender);
    o->nrules++;
}

int hilo_pacing_config_load(hilo_config_t *c, hilo_pacing_config_t *o) {
    memset(o, 0, sizeof *o);
    if (hilo_config_bool(c, "pacing", "enabled", true, &o->enabled) != HILO_OK) return HILO_ERR;
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        const char *name = hilo_channel_name(ch), *v = NULL;
        char bkey[32];
        long long burst = 0;
        snprintf(bkey, sizeof bkey, "%s_burst", name);
        if (hilo_config_str(c, "pacing", name, "0", &v) != HILO_OK ||
            hilo_config_int(c, "pacing", bkey, 0, 0, BURST_MAX, &burst) != HILO_OK)
            return HILO_ERR;
        hilo_pacing_rule_t *r = &o->channel[ch];
        r->channel = ch;
        snprintf(r->sender, sizeof r->sender, "*");
        if (!parse_rate(v, &r->interval_us, &r->burst) || strchr(v, '/'))
            return hilo_config_reject(c, "pacing", name, "must be messages per second per sender, 0 or more "
                                                         "(0 = unlimited); the burst is <channel>_burst");
        if (burst > 0) r->burst = (int)burst;
    }
    long long pct = 10;
    if (hilo_config_int(c, "pacing", "reply_reserve_pct", 10, 0, 90, &pct) != HILO_OK) return HILO_ERR;
    o->reply_reserve_pct = (int)pct;
    load_t l = {c, o, HILO_OK};
    hilo_config_each_key(c, "pacing", one_key, &l);
    if (l.rc != HILO_OK) return l.rc;
    return hilo_config_check_unused(c, "pacing"); /* a misspelt channel key must not mean unlimited */
}

const hilo_pacing_rule_t *hilo_pacing_rule(const hilo_pacing_config_t *cfg, int channel, const char *sender) {
    if (!cfg->enabled || channel <= 0 || channel >= HILO_CHANNEL_MAX) return NULL;
    const char *s = sender && *sender ? sender : HILO_PACING_DEFAULT;
    if (*s == '+') s++;
    const hilo_pacing_rule_t *r = &cfg->channel[channel];
    for (int i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].channel == channel && strcmp(cfg->rules[i].sender, s) == 0) {
            r = &cfg->rules[i];
            break;
        }
    return r->interval_us > 0 ? r : NULL;
}

int hilo_pacing_allowance(const hilo_pacing_config_t *cfg, const hilo_pacing_rule_t *rule, bool reply) {
    if (reply) return rule->burst;
    int keep = rule->burst * cfg->reply_reserve_pct / 100;
    return rule->burst - keep >= 1 ? rule->burst - keep : 1;
}
