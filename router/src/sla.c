/* sla.c — [sla] targets and the business day (sla.h). */
#include "sla.h"

#include <stdio.h>
#include <string.h>

#include "hilo/common.h"

#define TARGET_MAX_S (30LL * 86400) /* a target of at most 30 days */

typedef struct {
    hilo_config_t *c;
    hilo_sla_config_t *out;
    int rc;
} load_t;

bool hilo_sla_queue_name_ok(const char *s, size_t n) {
    if (n == 0 || n > HILO_SLA_QUEUE_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static hilo_sla_target_t *queue_line(hilo_sla_config_t *o, const char *q, size_t n) {
    for (int i = 0; i < o->nqueues; i++)
        if (strlen(o->queues[i].queue) == n && strncmp(o->queues[i].queue, q, n) == 0) return &o->queues[i];
    if (o->nqueues >= HILO_SLA_QUEUES_MAX) return NULL;
    hilo_sla_target_t *t = &o->queues[o->nqueues++];
    snprintf(t->queue, sizeof t->queue, "%.*s", (int)n, q);
    t->first_response_ms = -1; /* from the defaults unless given */
    t->resolution_ms = -1;
    return t;
}

/* <queue>.first_response_s / <queue>.resolution_s (the queue's name may hold dots itself). */
static void one_key(const char *key, void *arg) {
    load_t *l = arg;
    if (l->rc != HILO_OK) return;
    if (strcmp(key, "first_response_s") == 0 || strcmp(key, "resolution_s") == 0) return;
    const char *dot = strrchr(key, '.');
    const char *what = dot ? dot + 1 : "";
    bool first = strcmp(what, "first_response_s") == 0;
    if (!dot || (!first && strcmp(what, "resolution_s") != 0) || !hilo_sla_queue_name_ok(key, (size_t)(dot - key))) {
        l->rc = hilo_config_reject(l->c, "sla", key, "a queue's line is <queue>.first_response_s or "
                                                     "<queue>.resolution_s (queue: letters, digits, '.', '_', '-')");
        return;
    }
    long long v = 0;
    if (hilo_config_int(l->c, "sla", key, 0, 1, TARGET_MAX_S, &v) != HILO_OK) {
        l->rc = HILO_ERR;
        return;
    }
    hilo_sla_target_t *t = queue_line(l->out, key, (size_t)(dot - key));
    if (!t) {
        l->rc = hilo_config_reject(l->c, "sla", key, "too many queues (at most 64)");
        return;
    }
    if (first) t->first_response_ms = v * 1000;
    else t->resolution_ms = v * 1000;
}

int hilo_sla_config_load(hilo_config_t *c, long def_first_s, hilo_sla_config_t *o) {
    memset(o, 0, sizeof *o);
    long long f = 0, r = 0;
    if (hilo_config_int(c, "sla", "first_response_s", def_first_s, 1, TARGET_MAX_S, &f) != HILO_OK ||
        hilo_config_int(c, "sla", "resolution_s", 4 * 3600, 1, TARGET_MAX_S, &r) != HILO_OK)
        return HILO_ERR;
    o->def.first_response_ms = f * 1000;
    o->def.resolution_ms = r * 1000;
    load_t l = {c, o, HILO_OK};
    hilo_config_each_key(c, "sla", one_key, &l);
    if (l.rc != HILO_OK) return HILO_ERR;
    size_t n = (size_t)snprintf(o->targets_json, sizeof o->targets_json, "{\"*\":{\"f\":%lld,\"r\":%lld}",
                                (long long)o->def.first_response_ms, (long long)o->def.resolution_ms);
    for (int i = 0; i < o->nqueues; i++) {
        hilo_sla_target_t *t = &o->queues[i];
        if (t->first_response_ms < 0) t->first_response_ms = o->def.first_response_ms;
        if (t->resolution_ms < 0) t->resolution_ms = o->def.resolution_ms;
        n += (size_t)snprintf(o->targets_json + n, sizeof o->targets_json - n, ",\"%s\":{\"f\":%lld,\"r\":%lld}",
                              t->queue, (long long)t->first_response_ms, (long long)t->resolution_ms);
    }
    snprintf(o->targets_json + n, sizeof o->targets_json - n, "}");

    const char *zone = NULL, *start = NULL;
    if (hilo_config_str(c, "console", "business_day_zone", "UTC", &zone) != HILO_OK ||
        hilo_config_str(c, "console", "business_day_start", "00:00", &start) != HILO_OK)
        return HILO_ERR;
    char err[160];
    hilo_tzdb_t *db = hilo_tzdb_new(NULL);
    bool zone_ok = strlen(zone) < sizeof o->zone && db && hilo_tzdb_get(db, zone, err, sizeof err);
    hilo_tzdb_destroy(&db);
    if (!zone_ok)
        return hilo_config_reject(c, "console", "business_day_zone",
                                  "must be an IANA time zone of this system's tzdata (America/Bogota, UTC, ...)");
    snprintf(o->zone, sizeof o->zone, "%s", zone);
    int m = strlen(start) == 5 ? hilo_tz_minutes(start, 5) : -1;
    if (m < 0 || m >= 24 * 60)
        return hilo_config_reject(c, "console", "business_day_start", "must be HH:MM, 00:00 to 23:59");
    o->start_min = m;
    return HILO_OK;
}

const hilo_sla_target_t *hilo_sla_target(const hilo_sla_config_t *cfg, const char *queue) {
    for (int i = 0; queue && i < cfg->nqueues; i++)
        if (strcmp(cfg->queues[i].queue, queue) == 0) return &cfg->queues[i];
    return &cfg->def;
}

void hilo_sla_business_day(const hilo_tz_t *tz, int start_min, int64_t now_ms, int64_t *day, int64_t *start_ms) {
    /* The local date of (now - start): a day starting at 06:00 holds 05:59 in yesterday's. */
    int64_t shifted = now_ms - (int64_t)start_min * 60000;
    int y, m, d;
    if (tz) {
        hilo_tm_t lt;
        int64_t secs = shifted >= 0 ? shifted / 1000 : -((-shifted + 999) / 1000);
        hilo_tz_local(tz, secs, &lt);
        y = lt.year, m = lt.month, d = lt.day;
    } else {
        int64_t days = shifted >= 0 ? shifted / 86400000 : -((-shifted + 86399999) / 86400000);
        hilo_civil_from_days(days, &y, &m, &d);
    }
    *day = hilo_days_from_civil(y, m, d);
    *start_ms = tz ? hilo_tz_utc(tz, y, m, d, start_min / 60, start_min % 60, 0) * 1000
                   : *day * 86400000 + (int64_t)start_min * 60000;
}
