/* pack.c — rule pack and holiday calendar parsers (formats: docs/compliance.md). */
#include "pack.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "lines.h"

/* ---- value parsers ------------------------------------------------------------------------- */

int hilo_parse_duration(const char *s, int64_t *ms, char *why, size_t whylen) {
    char *end;
    if (!isdigit((unsigned char)*s)) goto bad;
    long long v = strtoll(s, &end, 10);
    int64_t unit;
    if (strcmp(end, "ms") == 0) unit = 1;
    else if (strcmp(end, "s") == 0) unit = 1000;
    else if (strcmp(end, "m") == 0) unit = 60 * 1000;
    else if (strcmp(end, "h") == 0) unit = 3600 * 1000;
    else if (strcmp(end, "d") == 0) unit = 86400 * 1000;
    else goto bad;
    if (v <= 0 || v > 366LL * 86400 * 1000 / unit) goto bad; /* at most a year */
    *ms = v * unit;
    return HILO_OK;
bad:
    snprintf(why, whylen, "bad duration '%s' (a positive number with ms, s, m, h or d; at most a year)", s);
    return HILO_ERR;
}

int hilo_parse_cap(const char *s, hilo_cap_t *cap, char *why, size_t whylen) {
    if (strcmp(s, "none") == 0) {
        *cap = (hilo_cap_t){0, 0};
        return HILO_OK;
    }
    char *end;
    long n = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
    if (n < 1 || n > 100000 || *end != '/') {
        snprintf(why, whylen, "bad cap '%s' (want <attempts>/<window>, e.g. 7/7d, or none)", s);
        return HILO_ERR;
    }
    cap->limit = (int)n;
    return hilo_parse_duration(end + 1, &cap->window_ms, why, whylen);
}

int hilo_parse_bool(const char *s, bool *out, char *why, size_t whylen) {
    if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0) *out = true;
    else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0) *out = false;
    else {
        snprintf(why, whylen, "expected yes or no, got '%s'", s);
        return HILO_ERR;
    }
    return HILO_OK;
}

/* "HH:MM" with HH 0..24 (24:00 only as an end); minutes after midnight, or -1. */

/* "closed" or "HH:MM-HH:MM[, HH:MM-HH:MM]..." in ascending, non-overlapping order. */
static int parse_dayhours(const char *s, hilo_dayhours_t *h, char *why, size_t whylen) {
    memset(h, 0, sizeof *h);
    if (strcmp(s, "closed") == 0) return HILO_OK;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        const char *dash = strchr(p, '-');
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        int from = dash && dash < end ? hilo_tz_minutes(p, (size_t)(dash - p)) : -1;
        int to = from >= 0 ? hilo_tz_minutes(dash + 1, (size_t)(end - dash - 1)) : -1;
        if (from < 0 || to < 0 || from >= 1440 || to <= from) {
            snprintf(why, whylen, "bad hours '%s' (want closed, or HH:MM-HH:MM[, HH:MM-HH:MM], "
                     "start before end, 00:00..24:00)", s);
            return HILO_ERR;
        }
        if (h->n == HILO_PACK_SPANS) {
            snprintf(why, whylen, "more than %d time ranges in '%s'", HILO_PACK_SPANS, s);
            return HILO_ERR;
        }
        if (h->n && from < h->span[h->n - 1].to) {
            snprintf(why, whylen, "time ranges in '%s' overlap or are out of order", s);
            return HILO_ERR;
        }
        h->span[h->n++] = (hilo_span_t){(int16_t)from, (int16_t)to};
        if (!comma) return HILO_OK;
        p = comma + 1;
    }
}

void hilo_dayhours_format(const hilo_dayhours_t *h, char *buf, size_t n) {
    if (h->n == 0) {
        snprintf(buf, n, "closed");
        return;
    }
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < h->n && off < n; i++) {
        int k = snprintf(buf + off, n - off, "%s%02d:%02d-%02d:%02d", i ? ", " : "", h->span[i].from / 60,
                         h->span[i].from % 60, h->span[i].to / 60, h->span[i].to % 60);
        if (k < 0) break;
        off += (size_t)k;
    }
}

/* ---- packs --------------------------------------------------------------------------------- */

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* "mon", "sat-sun", "mon-fri" (Monday-first order) -> bit per weekday (bit 0 = Sunday). */
static int parse_days(const char *s) {
    char a[4] = "", b[4] = "";
    size_t n = strlen(s);
    if (n == 3) memcpy(a, s, 3), memcpy(b, s, 3);
    else if (n == 7 && s[3] == '-') memcpy(a, s, 3), memcpy(b, s + 4, 3);
    else return 0;
    int ia = -1, ib = -1;
    for (int i = 0; i < 7; i++) {
        if (strcmp(a, day_names[i]) == 0) ia = i;
        if (strcmp(b, day_names[i]) == 0) ib = i;
    }
    if (ia < 0 || ib < ia) return 0;
    int mask = 0;
    for (int i = ia; i <= ib; i++) mask |= 1 << ((i + 1) % 7); /* mon = weekday 1 ... sun = 0 */
    return mask;
}

typedef struct {
    hilo_pack_t *p;
    hilo_tzdb_t *tzdb;
    int seen[HILO_CHANNEL_MAX]; /* weekday bits defined per channel (bit 7 = holiday) */
    bool have_name, have_source, have_holidays;
} pack_ctx_t;

static int pack_line(char *line, void *arg, char *why, size_t whylen) {
    pack_ctx_t *c = arg;
    hilo_pack_t *p = c->p;
    char *key, *value;
    if (hilo_lines_section(line)) {
        snprintf(why, whylen, "rule packs have no [sections]; per-channel hours: '<channel>.<days> = ...'");
        return HILO_ERR;
    }
    if (hilo_lines_kv(line, &key, &value) != HILO_OK || !*value) {
        snprintf(why, whylen, "expected 'key = value'");
        return HILO_ERR;
    }
    if (strcmp(key, "name") == 0 || strcmp(key, "source") == 0) {
        char **dst = key[0] == 'n' ? &p->name : &p->source;
        if (*dst) goto dup;
        *dst = hilo_xstrdup(value);
        return HILO_OK;
    }
    if (strcmp(key, "holidays") == 0) {
        if (c->have_holidays) goto dup;
        c->have_holidays = true;
        if (strcmp(value, "none") == 0) return HILO_OK;
        if (strlen(value) != 2 || !isupper((unsigned char)value[0]) || !isupper((unsigned char)value[1])) {
            snprintf(why, whylen, "holidays: want a country code (CO) or none, got '%s'", value);
            return HILO_ERR;
        }
        memcpy(p->holidays_cc, value, 3);
        return HILO_OK;
    }
    if (strcmp(key, "timezones") == 0) {
        if (p->nzones) goto dup;
        for (char *save = NULL, *z = strtok_r(value, " ,\t", &save); z; z = strtok_r(NULL, " ,\t", &save)) {
            char e[256];
            if (!hilo_tzdb_get(c->tzdb, z, e, sizeof e)) {
                snprintf(why, whylen, "timezones: %s", e);
                return HILO_ERR;
            }
            if (p->nzones == HILO_PACK_ZONES) {
                snprintf(why, whylen, "timezones: more than %d zones", HILO_PACK_ZONES);
                return HILO_ERR;
            }
            p->zones = hilo_xrealloc(p->zones, (p->nzones + 1) * sizeof *p->zones);
            p->zones[p->nzones++] = hilo_xstrdup(z);
        }
        return HILO_OK;
    }
    if (strcmp(key, "optout_notice") == 0) {
        if (p->optout_notice) goto dup;
        for (const char *w = value; *w; w++)
            if (*w != '|' && *w != ' ' && !isalnum((unsigned char)*w)) {
                snprintf(why, whylen, "optout_notice: want words of letters and digits separated by '|' "
                         "(e.g. STOP | BAJA), got '%s'", value);
                return HILO_ERR;
            }
        p->optout_notice = hilo_xstrdup(value);
        return HILO_OK;
    }
    if (strcmp(key, "first_contact_disclosure") == 0 || strncmp(key, "first_contact_disclosure.", 25) == 0) {
        const char *lang = key[24] ? key + 25 : "";
        if (strlen(lang) >= sizeof p->disclosure_lang[0] || (key[24] && !*lang)) {
            snprintf(why, whylen, "'%s': want first_contact_disclosure or first_contact_disclosure.<language>", key);
            return HILO_ERR;
        }
        for (size_t i = 0; i < p->ndisclosure; i++)
            if (strcmp(p->disclosure_lang[i], lang) == 0) goto dup;
        if (p->ndisclosure == HILO_PACK_LANGS) {
            snprintf(why, whylen, "more than %d first_contact_disclosure lines", HILO_PACK_LANGS);
            return HILO_ERR;
        }
        snprintf(p->disclosure_lang[p->ndisclosure], sizeof p->disclosure_lang[0], "%s", lang);
        p->disclosure[p->ndisclosure++] = hilo_xstrdup(value);
        return HILO_OK;
    }
    if (strncmp(key, "consent.", 8) == 0) {
        int ch = hilo_channel_parse(key + 8);
        if (ch == HILO_CHANNEL_UNSPECIFIED) {
            snprintf(why, whylen, "unknown channel in '%s' (whatsapp, sms, voice)", key);
            return HILO_ERR;
        }
        if (strcmp(value, "required") == 0) p->consent[ch] = true;
        else if (strcmp(value, "none") != 0) {
            snprintf(why, whylen, "%s: want required or none, got '%s'", key, value);
            return HILO_ERR;
        }
        return HILO_OK;
    }
    if (strcmp(key, "replies_outside_hours") == 0)
        return hilo_parse_bool(value, &p->replies_outside_hours, why, whylen);
    if (strcmp(key, "after_phone_conversation") == 0) {
        if (p->after_phone_conversation_ms) goto dup;
        if (strcmp(value, "none") == 0) return HILO_OK;
        return hilo_parse_duration(value, &p->after_phone_conversation_ms, why, whylen);
    }
    if (strncmp(key, "cap.", 4) == 0) {
        int ch = hilo_channel_parse(key + 4);
        if (ch == HILO_CHANNEL_UNSPECIFIED) {
            snprintf(why, whylen, "unknown channel in '%s' (whatsapp, sms, voice)", key);
            return HILO_ERR;
        }
        if (p->cap_set[ch]) goto dup;
        p->cap_set[ch] = true;
        return hilo_parse_cap(value, &p->caps[ch], why, whylen);
    }
    /* Hours: "[<channel>.]<days>" or "[<channel>.]holiday". */
    int ch = HILO_CHANNEL_UNSPECIFIED;
    const char *spec = key;
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        ch = hilo_channel_parse(key);
        spec = dot + 1;
        if (ch == HILO_CHANNEL_UNSPECIFIED) {
            snprintf(why, whylen, "unknown channel '%s' (whatsapp, sms, voice)", key);
            return HILO_ERR;
        }
    }
    int mask = strcmp(spec, "holiday") == 0 ? 1 << 7 : parse_days(spec);
    if (!mask) {
        if (dot) *dot = '.'; /* name the key as written */
        snprintf(why, whylen, "unknown key '%s'", key);
        return HILO_ERR;
    }
    if (c->seen[ch] & mask) {
        snprintf(why, whylen, "'%s' defines a day already defined", spec);
        return HILO_ERR;
    }
    c->seen[ch] |= mask;
    hilo_dayhours_t h;
    if (parse_dayhours(value, &h, why, whylen) != HILO_OK) return HILO_ERR;
    for (int d = 0; d < 7; d++)
        if (mask & (1 << d)) p->days[ch][d] = h;
    if (mask & (1 << 7)) p->holiday[ch] = h;
    return HILO_OK;
dup:
    snprintf(why, whylen, "duplicate key '%s'", key);
    return HILO_ERR;
}

int hilo_pack_parse(const char *path, const char *id, hilo_tzdb_t *tzdb, hilo_pack_t *p, char *err,
                    size_t errlen) {
    memset(p, 0, sizeof *p);
    p->id = hilo_xstrdup(id);
    pack_ctx_t c = {.p = p, .tzdb = tzdb};
    if (hilo_lines_each(path, pack_line, &c, err, errlen) != HILO_OK) goto fail;
    /* Whole-file checks: errors at line 0 name what is missing. */
    const char *missing = !p->name ? "name" : !p->source ? "source" : !c.have_holidays ? "holidays" : NULL;
    if (missing) {
        snprintf(err, errlen, "%s:0: missing key '%s'", path, missing);
        goto fail;
    }
    if ((c.seen[0] & 0x7f) != 0x7f) {
        for (int i = 0; i < 7; i++)
            if (!(c.seen[0] & (1 << ((i + 1) % 7)))) {
                snprintf(err, errlen, "%s:0: no hours for '%s' (every weekday must be given; use closed)",
                         path, day_names[i]);
                goto fail;
            }
    }
    bool cal = p->holidays_cc[0] != '\0';
    for (int ch = 0; ch < HILO_CHANNEL_MAX; ch++)
        if (!cal && (c.seen[ch] & (1 << 7))) {
            snprintf(err, errlen, "%s:0: holiday hours given but 'holidays = none'", path);
            goto fail;
        }
    if (cal && !(c.seen[0] & (1 << 7))) {
        snprintf(err, errlen, "%s:0: missing key 'holiday' (hours on a public holiday, or closed)", path);
        goto fail;
    }
    /* Channels without their own line inherit the all-channels hours. */
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        for (int d = 0; d < 7; d++)
            if (!(c.seen[ch] & (1 << d))) p->days[ch][d] = p->days[0][d];
        if (!(c.seen[ch] & (1 << 7))) p->holiday[ch] = p->holiday[0];
    }
    return HILO_OK;
fail:
    hilo_pack_clear(p);
    return HILO_ERR;
}

void hilo_pack_clear(hilo_pack_t *p) {
    free(p->id);
    free(p->name);
    free(p->source);
    for (size_t i = 0; i < p->nzones; i++) free(p->zones[i]);
    free(p->zones);
    free(p->optout_notice);
    for (size_t i = 0; i < p->ndisclosure; i++) free(p->disclosure[i]);
    memset(p, 0, sizeof *p);
}

/* ---- holiday calendars --------------------------------------------------------------------- */

static int holiday_line(char *line, void *arg, char *why, size_t whylen) {
    hilo_calendar_t *c = arg;
    int y, m, d, n = 0;
    if (sscanf(line, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || !hilo_date_valid(y, m, d) ||
        y < 1970 || y > 9999) {
        snprintf(why, whylen, "expected 'YYYY-MM-DD name' with a real date");
        return HILO_ERR;
    }
    const char *name = line + 10;
    if (*name != ' ' && *name != '\t') {
        snprintf(why, whylen, "expected a blank and the holiday's name after the date");
        return HILO_ERR;
    }
    while (*name == ' ' || *name == '\t') name++;
    if (!*name) {
        snprintf(why, whylen, "holiday without a name");
        return HILO_ERR;
    }
    c->dates = hilo_xrealloc(c->dates, (c->n + 1) * sizeof *c->dates);
    c->names = hilo_xrealloc(c->names, (c->n + 1) * sizeof *c->names);
    c->dates[c->n] = y * 10000 + m * 100 + d;
    c->names[c->n] = hilo_xstrdup(name);
    c->n++;
    return HILO_OK;
}

int hilo_calendar_parse(const char *path, const char *cc, hilo_calendar_t *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    snprintf(c->cc, sizeof c->cc, "%s", cc);
    c->path = hilo_xstrdup(path);
    if (hilo_lines_each(path, holiday_line, c, err, errlen) != HILO_OK) goto fail;
    if (c->n == 0) {
        snprintf(err, errlen, "%s:0: no holidays listed", path);
        goto fail;
    }
    /* Insertion sort keeps equal dates in file order; files are short and nearly sorted. */
    for (size_t i = 1; i < c->n; i++)
        for (size_t j = i; j > 0 && c->dates[j - 1] > c->dates[j]; j--) {
            int32_t t = c->dates[j];
            c->dates[j] = c->dates[j - 1];
            c->dates[j - 1] = t;
            char *s = c->names[j];
            c->names[j] = c->names[j - 1];
            c->names[j - 1] = s;
        }
    c->first_year = c->dates[0] / 10000;
    c->last_year = c->dates[c->n - 1] / 10000;
    /* Coverage is first..last year: a year in between with no entry is a hole, not a year
     * without holidays (every country has New Year's Day). */
    for (int y = c->first_year; y <= c->last_year; y++) {
        bool found = false;
        for (size_t i = 0; i < c->n && !found; i++) found = c->dates[i] / 10000 == y;
        if (!found) {
            snprintf(err, errlen, "%s:0: no holidays for %d (the file covers %d-%d)", path, y, c->first_year,
                     c->last_year);
            goto fail;
        }
    }
    return HILO_OK;
fail:
    hilo_calendar_clear(c);
    return HILO_ERR;
}

void hilo_calendar_clear(hilo_calendar_t *c) {
    for (size_t i = 0; i < c->n; i++) free(c->names[i]);
    free(c->names);
    free(c->dates);
    free(c->path);
    memset(c, 0, sizeof *c);
}

const char *hilo_calendar_find(const hilo_calendar_t *c, int y, int m, int d) {
    int32_t key = y * 10000 + m * 100 + d;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->dates[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo < c->n && c->dates[lo] == key ? c->names[lo] : NULL;
}
