/* hours.c — which rule pack applies, and is now inside its contact hours (see hours.h). */
#include "hilo/hours.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "lines.h"
#include "pack.h"

#define NEXT_OPEN_DAYS 15 /* how far ahead next_ms is searched */

typedef struct {
    char cc[3]; /* upper case */
    int pack;   /* index in packs, -1 = block */
} map_t;

struct hilo_hours {
    hilo_tzdb_t *tzdb;       /* zone cache, owned */
    hilo_pack_t *packs;      /* sorted by id */
    size_t npacks;
    hilo_calendar_t *cals;   /* one per country code the packs use */
    size_t ncals;
    map_t *map;              /* country -> pack */
    size_t nmap;
    int default_pack;        /* for unmapped countries; -1 = block */
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool id_valid(const char *s, size_t n) {
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_') return false;
    return true;
}

static int load_calendar(hilo_hours_t *h, const char *dir, hilo_pack_t *p, char *err, size_t errlen) {
    for (size_t i = 0; i < h->ncals; i++)
        if (strcmp(h->cals[i].cc, p->holidays_cc) == 0) return HILO_OK;
    char path[1024];
    snprintf(path, sizeof path, "%s/holidays/%s.txt", dir, p->holidays_cc);
    hilo_calendar_t c;
    if (hilo_calendar_parse(path, p->holidays_cc, &c, err, errlen) != HILO_OK) return HILO_ERR;
    h->cals = hilo_xrealloc(h->cals, (h->ncals + 1) * sizeof *h->cals);
    h->cals[h->ncals++] = c;
    return HILO_OK;
}

hilo_hours_t *hilo_hours_load(const char *dir, const char *zoneinfo_dir, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s:0: cannot open the rule pack directory", dir);
        return NULL;
    }
    char **names = NULL;
    size_t nnames = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".pack") == 0) {
            names = hilo_xrealloc(names, (nnames + 1) * sizeof *names);
            names[nnames++] = hilo_xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (nnames > 1) qsort(names, nnames, sizeof *names, cmp_str); /* (names is NULL when there are none) */

    hilo_hours_t *h = hilo_xcalloc(1, sizeof *h);
    h->tzdb = hilo_tzdb_new(zoneinfo_dir);
    h->default_pack = -1;
    h->packs = hilo_xcalloc(nnames ? nnames : 1, sizeof *h->packs);
    int rc = HILO_OK;
    if (nnames == 0) {
        snprintf(err, errlen, "%s:0: no rule packs (*.pack files)", dir);
        rc = HILO_ERR;
    }
    for (size_t i = 0; i < nnames && rc == HILO_OK; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t idlen = strlen(names[i]) - 5;
        if (!id_valid(names[i], idlen)) {
            snprintf(err, errlen, "%s:0: pack file names are [a-z0-9_]+.pack", path);
            rc = HILO_ERR;
            break;
        }
        char id[80];
        snprintf(id, sizeof id, "%.*s", (int)idlen, names[i]);
        rc = hilo_pack_parse(path, id, h->tzdb, &h->packs[h->npacks], err, errlen);
        if (rc == HILO_OK) h->npacks++;
    }
    for (size_t i = 0; i < h->npacks && rc == HILO_OK; i++)
        if (h->packs[i].holidays_cc[0]) rc = load_calendar(h, dir, &h->packs[i], err, errlen);
    for (size_t i = 0; i < nnames; i++) free(names[i]);
    free(names);
    if (rc != HILO_OK) {
        hilo_hours_destroy(&h);
        return NULL;
    }
    for (size_t i = 0; i < h->npacks; i++)
        for (size_t j = 0; j < h->ncals; j++)
            if (strcmp(h->packs[i].holidays_cc, h->cals[j].cc) == 0) h->packs[i].cal = &h->cals[j];
    return h;
}

void hilo_hours_each_calendar(const hilo_hours_t *h, hilo_hours_calendar_fn fn, void *arg) {
    for (size_t i = 0; i < h->npacks; i++)
        if (h->packs[i].cal) fn(h->packs[i].id, h->packs[i].cal->cc, h->packs[i].cal->last_year, arg);
}

void hilo_hours_destroy(hilo_hours_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_hours_t *h = *self_p;
    for (size_t i = 0; i < h->npacks; i++) hilo_pack_clear(&h->packs[i]);
    for (size_t i = 0; i < h->ncals; i++) hilo_calendar_clear(&h->cals[i]);
    free(h->packs);
    free(h->cals);
    free(h->map);
    hilo_tzdb_destroy(&h->tzdb);
    free(h);
    *self_p = NULL;
}

int hilo_hours_map(hilo_hours_t *h, const char *country, const char *pack_id, char *err, size_t errlen) {
    int idx = -1;
    if (pack_id && strcmp(pack_id, "block") != 0) {
        for (size_t i = 0; i < h->npacks && idx < 0; i++)
            if (strcmp(h->packs[i].id, pack_id) == 0) idx = (int)i;
        if (idx < 0) {
            snprintf(err, errlen, "no rule pack '%s' (no %s.pack)", pack_id, pack_id);
            return HILO_ERR;
        }
    }
    if (strcmp(country, "default") == 0) {
        h->default_pack = idx;
        return HILO_OK;
    }
    if (strlen(country) != 2 || !isalpha((unsigned char)country[0]) || !isalpha((unsigned char)country[1])) {
        snprintf(err, errlen, "'%s' is not a country code (ISO 3166-1 alpha-2, e.g. CO) or default", country);
        return HILO_ERR;
    }
    char cc[3] = {(char)toupper((unsigned char)country[0]), (char)toupper((unsigned char)country[1]), 0};
    for (size_t i = 0; i < h->nmap; i++)
        if (strcmp(h->map[i].cc, cc) == 0) {
            h->map[i].pack = idx;
            return HILO_OK;
        }
    h->map = hilo_xrealloc(h->map, (h->nmap + 1) * sizeof *h->map);
    h->map[h->nmap] = (map_t){{cc[0], cc[1], 0}, idx};
    h->nmap++;
    return HILO_OK;
}

const hilo_pack_t *hilo_hours_find_pack(const hilo_hours_t *h, const char *country) {
    int idx = h->default_pack;
    if (country && strlen(country) == 2)
        for (size_t i = 0; i < h->nmap; i++)
            if (strcasecmp(h->map[i].cc, country) == 0) {
                idx = h->map[i].pack;
                break;
            }
    return idx >= 0 ? &h->packs[idx] : NULL;
}

void hilo_hours_each_country(const hilo_hours_t *h, void (*fn)(const char *cc, const char *pack_id, void *arg),
                             void *arg) {
    for (size_t i = 0; i < h->nmap; i++)
        fn(h->map[i].cc, h->map[i].pack >= 0 ? h->packs[h->map[i].pack].id : NULL, arg);
}

/* ---- the check ------------------------------------------------------------------------------ */

static const char *const wday_name[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};

/* The hours of one local date; *covered false when the pack's calendar does not reach it. */
static const hilo_dayhours_t *hours_for(const hilo_pack_t *p, int ch, int y, int m, int d, int wday,
                                        const char **holiday, bool *covered) {
    *holiday = NULL;
    *covered = true;
    if (p->cal) {
        if (y < p->cal->first_year || y > p->cal->last_year) {
            *covered = false;
            return NULL;
        }
        *holiday = hilo_calendar_find(p->cal, y, m, d);
    }
    return *holiday ? &p->holiday[ch] : &p->days[ch][wday];
}

/* One zone at Unix second t. `pre` prefixes the text (fallback-zone note). */
static bool eval(const hilo_pack_t *p, int ch, const hilo_tz_t *z, int64_t t, const char *pre,
                 hilo_verdict_t *v) {
    hilo_tm_t lt;
    hilo_tz_local(z, t, &lt);
    const char *hol;
    bool covered;
    const hilo_dayhours_t *hrs = hours_for(p, ch, lt.year, lt.month, lt.day, lt.wday, &hol, &covered);
    if (!covered) {
        hilo_verdict_block(v, HILO_REASON_NO_HOLIDAY_DATA,
                           "%s%04d-%02d-%02d in %s: no %s holiday calendar for %d (holidays/%s.txt covers "
                           "%d-%d), so %s cannot be applied",
                           pre, lt.year, lt.month, lt.day, hilo_tz_name(z), p->cal->cc, lt.year, p->cal->cc,
                           p->cal->first_year, p->cal->last_year, p->name);
        return false;
    }
    int minute = lt.hour * 60 + lt.minute;
    for (int i = 0; i < hrs->n; i++)
        if (minute >= hrs->span[i].from && minute < hrs->span[i].to) return true;
    if (hrs->n == 0 && hol)
        hilo_verdict_block(v, HILO_REASON_HOLIDAY,
                           "%s%04d-%02d-%02d (%s) is a public holiday in %s: no contact on holidays (%s)",
                           pre, lt.year, lt.month, lt.day, hol, p->cal->cc, p->name);
    else if (hrs->n == 0)
        hilo_verdict_block(v, HILO_REASON_CLOSED_DAY, "%s%s %02d:%02d in %s: no contact on %ss (%s)", pre,
                           wday_name[lt.wday], lt.hour, lt.minute, hilo_tz_name(z), wday_name[lt.wday],
                           p->name);
    else {
        char span[96];
        hilo_dayhours_format(hrs, span, sizeof span);
        hilo_verdict_block(v, HILO_REASON_OUTSIDE_HOURS, "%s%02d:%02d in %s is outside %s%s%s%s (%s)", pre,
                           lt.hour, lt.minute, hilo_tz_name(z), hol ? "the holiday hours " : "", span,
                           hol ? " of " : "", hol ? hol : "", p->name);
    }
    return false;
}

static bool open_at(const hilo_pack_t *p, int ch, const hilo_tz_t *z, int64_t t) {
    hilo_verdict_t v;
    return eval(p, ch, z, t, "", &v);
}

/* The first instant after t (closed in zone z at t) when z opens; 0 when none soon. */
static int64_t next_open_zone(const hilo_pack_t *p, int ch, const hilo_tz_t *z, int64_t t) {
    hilo_tm_t lt;
    hilo_tz_local(z, t, &lt);
    int64_t day0 = hilo_days_from_civil(lt.year, lt.month, lt.day);
    for (int k = 0; k <= NEXT_OPEN_DAYS; k++) {
        int y, m, d;
        hilo_civil_from_days(day0 + k, &y, &m, &d);
        const char *hol;
        bool covered;
        const hilo_dayhours_t *hrs = hours_for(p, ch, y, m, d, hilo_weekday(day0 + k), &hol, &covered);
        if (!covered) return 0;
        for (int i = 0; i < hrs->n; i++) {
            int64_t c = hilo_tz_utc(z, y, m, d, hrs->span[i].from / 60, hrs->span[i].from % 60, 0);
            if (c > t && open_at(p, ch, z, c)) return c;
        }
    }
    return 0;
}

/* The first instant >= t open in every zone (the hours must hold wherever the debtor is). */
static int64_t next_open(const hilo_pack_t *p, int ch, const hilo_tz_t *const *zones, size_t nz, int64_t t) {
    int64_t limit = t + (int64_t)NEXT_OPEN_DAYS * 86400;
    for (int round = 0; round < 64 && t <= limit; round++) {
        bool moved = false;
        for (size_t i = 0; i < nz; i++)
            if (!open_at(p, ch, zones[i], t)) {
                t = next_open_zone(p, ch, zones[i], t);
                if (t == 0) return 0;
                moved = true;
            }
        if (!moved) return t;
    }
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

bool hilo_hours_check(const hilo_hours_t *h, const char *country, const char *tz, int64_t now_ms, int channel,
                      hilo_verdict_t *out) {
    if (channel <= HILO_CHANNEL_UNSPECIFIED || channel >= HILO_CHANNEL_MAX) {
        hilo_verdict_block(out, HILO_REASON_INVALID, "unknown channel %d", channel);
        return false;
    }
    const hilo_pack_t *p = hilo_hours_find_pack(h, country);
    if (!p) {
        char cc[9];
        hilo_lines_printable(cc, sizeof cc, country && *country ? country : "(none)");
        hilo_verdict_block(out, HILO_REASON_NO_RULE_PACK,
                           "no contact-hours rule pack for country '%s': contact is blocked by default", cc);
        return false;
    }
    const hilo_tz_t *zones[HILO_PACK_ZONES];
    size_t nz = 0;
    char pre[160] = "", why[200] = "";
    if (tz && *tz) {
        const hilo_tz_t *z = hilo_tzdb_get(h->tzdb, tz, why, sizeof why);
        if (z) zones[nz++] = z;
    } else {
        snprintf(why, sizeof why, "no time zone for the debtor");
    }
    if (nz == 0) {
        if (p->nzones == 0) {
            hilo_verdict_block(out, HILO_REASON_UNKNOWN_TIMEZONE, "%s, and %s lists no fallback zones", why,
                               p->name);
            return false;
        }
        char e[200];
        for (size_t i = 0; i < p->nzones; i++) {
            const hilo_tz_t *z = hilo_tzdb_get(h->tzdb, p->zones[i], e, sizeof e);
            if (z) zones[nz++] = z; /* checked at load time; present unless zoneinfo changed */
        }
        if (nz != p->nzones) {
            hilo_verdict_block(out, HILO_REASON_UNKNOWN_TIMEZONE, "%s, and a fallback zone failed: %s", why,
                               e);
            return false;
        }
        snprintf(pre, sizeof pre, "%s; checked in all %zu zones of %s: ", why, nz, p->id);
    }
    int64_t t = floor_div(now_ms, 1000);
    for (size_t i = 0; i < nz; i++)
        if (!eval(p, channel, zones[i], t, pre, out)) {
            /* No calendar for the date: waiting does not help, someone must update the data. */
            if (out->reason != HILO_REASON_NO_HOLIDAY_DATA)
                out->next_ms = next_open(p, channel, zones, nz, t) * 1000;
            return false;
        }
    hilo_verdict_allow(out);
    return true;
}
