/* costs.c — the [costs] section:
 *
 *   [costs]
 *   currency = USD
 *   sms = 0.0079          # any country
 *   sms.CO = 0.0500       # <channel>.<country>: ISO 3166-1 alpha-2
 *   whatsapp.CO = 0.0125
 *
 * Amounts are decimals with at most 6 places, kept as integer millionths (no rounding drift
 * when a million sends are added up). */
#include "costs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/phonelib.h"

#define MICROS_MAX 1000000000000LL /* a million per message: more is a typo */

typedef struct {
    hilo_config_t *c;
    hilo_costs_config_t *out;
    int rc;
} load_t;

/* "0.0079" -> 7900; -1 when not a decimal of at most 6 places, 0 or more. */
static int64_t parse_micros(const char *s) {
    int64_t units = 0, frac = 0;
    int places = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) {
        units = units * 10 + (*p++ - '0');
        if (units > MICROS_MAX / 1000000) return -1;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p)) {
            if (++places > 6) return -1;
            frac = frac * 10 + (*p++ - '0');
        }
    }
    if (*p) return -1;
    while (places++ < 6) frac *= 10;
    return units * 1000000 + frac;
}

static const char *const AMOUNT_WHY = "must be an amount of the currency, 0 or more, with at most 6 decimals: 0.0079";

static void one_key(const char *key, void *arg) {
    load_t *l = arg;
    if (l->rc != HILO_OK) return;
    const char *dot = strchr(key, '.');
    if (!dot) return; /* currency and the channels' own lines: read by hilo_costs_config_load() */
    hilo_costs_config_t *o = l->out;
    const char *v = NULL;
    if (hilo_config_str(l->c, "costs", key, "", &v) != HILO_OK) {
        l->rc = HILO_ERR;
        return;
    }
    char chname[16] = "";
    if (dot - key < (long)sizeof chname) snprintf(chname, sizeof chname, "%.*s", (int)(dot - key), key);
    int ch = hilo_channel_parse(chname);
    const char *cc = dot + 1;
    if (ch == HILO_CHANNEL_UNSPECIFIED) {
        l->rc = hilo_config_reject(l->c, "costs", key, "a country's line is <channel>.<country>: the channel must be "
                                                       "whatsapp, sms or voice");
        return;
    }
    if (strlen(cc) != 2 || !isupper((unsigned char)cc[0]) || !isupper((unsigned char)cc[1]) ||
        !hilo_phonelib_country_code(cc)) {
        l->rc = hilo_config_reject(l->c, "costs", key, "the country must be an ISO 3166-1 code in capitals: US, CO");
        return;
    }
    if (o->nrules >= HILO_COSTS_RULES_MAX) {
        l->rc = hilo_config_reject(l->c, "costs", key, "too many country lines (at most 256)");
        return;
    }
    int64_t m = parse_micros(v);
    if (m < 0) {
        l->rc = hilo_config_reject(l->c, "costs", key, AMOUNT_WHY);
        return;
    }
    hilo_cost_rule_t *r = &o->rules[o->nrules++];
    r->channel = ch;
    memcpy(r->region, cc, 3);
    r->micros = m;
}

int hilo_costs_config_load(hilo_config_t *c, hilo_costs_config_t *o) {
    memset(o, 0, sizeof *o);
    const char *cur = NULL;
    if (hilo_config_str(c, "costs", "currency", "USD", &cur) != HILO_OK) return HILO_ERR;
    if (strlen(cur) != 3 || !isupper((unsigned char)cur[0]) || !isupper((unsigned char)cur[1]) ||
        !isupper((unsigned char)cur[2]))
        return hilo_config_reject(c, "costs", "currency", "must be an ISO 4217 code in capitals: USD, COP, EUR");
    memcpy(o->currency, cur, 4);
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        const char *v = NULL;
        if (hilo_config_str(c, "costs", hilo_channel_name(ch), "", &v) != HILO_OK) return HILO_ERR;
        o->channel[ch] = *v ? parse_micros(v) : -1;
        if (*v && o->channel[ch] < 0) return hilo_config_reject(c, "costs", hilo_channel_name(ch), AMOUNT_WHY);
    }
    load_t l = {c, o, HILO_OK};
    hilo_config_each_key(c, "costs", one_key, &l);
    if (l.rc != HILO_OK) return l.rc;
    return hilo_config_check_unused(c, "costs");
}

int64_t hilo_costs_of(const hilo_costs_config_t *cfg, int channel, const char *region) {
    if (channel <= 0 || channel >= HILO_CHANNEL_MAX) return -1;
    for (int i = 0; region && *region && i < cfg->nrules; i++)
        if (cfg->rules[i].channel == channel && strcmp(cfg->rules[i].region, region) == 0) return cfg->rules[i].micros;
    return cfg->channel[channel];
}

bool hilo_costs_region_of(const char *number, char out[3]) {
    out[0] = '\0';
    hilo_phonelib_number_t n;
    if (!number || hilo_phonelib_parse(number, NULL, 1, &n) != HILO_PHONELIB_OK) return false;
    if (!n.region[0] && !hilo_phonelib_main_region(n.country_code, n.region)) return false;
    memcpy(out, n.region, 3);
    return out[0] != '\0';
}
