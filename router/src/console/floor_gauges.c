/* floor_gauges.c — the supervisor floor's figures for Prometheus: every [console]
 * floor_metrics_s (0 = never) this router reads queue depth, oldest wait, free agents, the day's
 * first-response SLA and agents by state with floor_gauges.lua, the agents in parts of about 500
 * per call, and keeps the last complete read for GET /metrics (router.c, metrics.c). It runs
 * whether or not a supervisor is watching, so an alert does not depend on someone's browser.
 * Every router exports the same figures (they come from Redis): alert rules take the max over
 * routers (deploy/prometheus/hilo-alerts.yml). "Now" and the day are the stats clock's
 * (sla_mark.c), so the test clock drives the waits and the day's counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/log.h"

#define GAUGES_PART_AGENTS "500" /* agents per floor_gauges.lua call (SSCAN COUNT) */

struct console_gauges {
    bool inflight;
    int64_t started_ms;        /* wall clock of the last read's start */
    int64_t now_ms;            /* the stats clock every part is read at */
    char cursor[32];           /* next part's SSCAN cursor */
    hilo_floor_gauges_t next;  /* being read */
    hilo_floor_gauges_t last;  /* the last complete read (sampled_ms 0: none yet) */
};

static void gauges_clear(hilo_floor_gauges_t *g) {
    free(g->queues);
    memset(g, 0, sizeof *g);
}

static void gauges_request(hilo_console_t *k);

static void gauges_abandon(hilo_console_t *k, const char *why) {
    hilo_log_warn("console", "event=floor_gauges_failed reply=\"%s\"", why);
    gauges_clear(&k->gauges->next);
    k->gauges->inflight = false;
}

static void add_agents(hilo_floor_gauges_t *g, const json_t *states) {
    for (int s = 0; s < HILO_AGENT_STATES; s++)
        g->agents[s] += (long)json_integer_value(json_object_get(states, hilo_agent_state_names[s]));
    g->calls_in_progress += (long)json_integer_value(json_object_get(states, "calls"));
}

static void read_queues(hilo_floor_gauges_t *g, const json_t *queues) {
    g->queues = hilo_xcalloc(json_object_size(queues) + 1, sizeof *g->queues);
    const char *name;
    json_t *q;
    json_object_foreach((json_t *)queues, name, q) {
        if (strlen(name) > HILO_FLOOR_QUEUE_MAX) continue;
        hilo_floor_queue_t *o = &g->queues[g->nqueues++];
        snprintf(o->queue, sizeof o->queue, "%s", name);
        o->waiting = (long)json_integer_value(json_object_get(q, "waiting"));
        o->oldest_wait_s = (double)json_integer_value(json_object_get(q, "oldest_wait_ms")) / 1000;
        o->sla_met = (long)json_integer_value(json_object_get(q, "sla_met"));
        o->sla_breached = (long)json_integer_value(json_object_get(q, "sla_breached"));
        o->sla_breaching = (long)json_integer_value(json_object_get(q, "sla_breaching"));
        o->res_met = (long)json_integer_value(json_object_get(q, "res_met"));
        o->res_breached = (long)json_integer_value(json_object_get(q, "res_breached"));
        o->calls_waiting = (long)json_integer_value(json_object_get(q, "calls_waiting"));
        const json_t *free_ = json_object_get(q, "free");
        for (int c = 1; c < HILO_CHANNEL_MAX; c++)
            o->free[c] = (long)json_integer_value(json_object_get(free_, hilo_channel_name(c)));
    }
}

static void on_part(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    struct console_gauges *gs = k->gauges;
    json_t *r = n >= 1 ? res[0] : NULL;
    const char *cursor = json_string_value(json_array_get(r, 0));
    json_t *states = cursor ? json_loads(json_string_value(json_array_get(r, 1)) ?: "", 0, NULL) : NULL;
    if (!json_is_object(states)) {
        json_decref(states);
        const char *e = r ? jstr(r, "error") : "no reply";
        gauges_abandon(k, e ? e : "unexpected reply");
        return;
    }
    add_agents(&gs->next, states);
    json_decref(states);
    const char *queues = json_string_value(json_array_get(r, 2));
    if (queues && queues[0]) {
        json_t *q = json_loads(queues, 0, NULL);
        if (!json_is_object(q)) {
            json_decref(q);
            gauges_abandon(k, "unreadable queues");
            return;
        }
        read_queues(&gs->next, q);
        json_decref(q);
    }
    snprintf(gs->cursor, sizeof gs->cursor, "%s", cursor);
    if (strcmp(cursor, "0") != 0) {
        gauges_request(k);
        return;
    }
    gauges_clear(&gs->last);
    gs->last = gs->next;
    gs->last.sampled_ms = hilo_now_ms();
    memset(&gs->next, 0, sizeof gs->next);
    gs->inflight = false;
}

static void gauges_request(hilo_console_t *k) {
    if (!hilo_store_ready(k->ctx->store)) {
        gauges_abandon(k, "storage unavailable");
        return;
    }
    struct console_gauges *gs = k->gauges;
    char now[24], day[24];
    int64_t d, start;
    console_business_day(k, gs->now_ms, &d, &start);
    snprintf(now, sizeof now, "%lld", (long long)gs->now_ms);
    snprintf(day, sizeof day, "%lld", (long long)d);
    const char *args[4] = {now, gs->cursor, GAUGES_PART_AGENTS, day};
    batch_t *b = batch_new(k, NULL, on_part, NULL, NULL);
    batch_script(b, SCRIPT_GAUGES, 4, args);
    batch_run(b);
}

static void gauges_start(hilo_console_t *k, int64_t now_ms, void *arg) {
    (void)arg;
    struct console_gauges *gs = k->gauges;
    gs->now_ms = now_ms;
    gauges_clear(&gs->next);
    snprintf(gs->cursor, sizeof gs->cursor, "0");
    gauges_request(k);
}

void console_floor_gauges_tick(hilo_console_t *k) {
    long every_s = k->cfg->console_floor_metrics_s;
    if (every_s <= 0) return;
    if (!k->gauges) k->gauges = hilo_xcalloc(1, sizeof *k->gauges);
    struct console_gauges *gs = k->gauges;
    int64_t now = hilo_now_ms();
    if (gs->inflight || now - gs->started_ms < every_s * 1000 || !hilo_store_ready(k->ctx->store)) return;
    gs->inflight = true;
    gs->started_ms = now;
    console_stats_clock(k, gauges_start, NULL, NULL);
}

void console_floor_gauges_free(hilo_console_t *k) {
    if (!k->gauges) return;
    gauges_clear(&k->gauges->next);
    gauges_clear(&k->gauges->last);
    free(k->gauges);
    k->gauges = NULL;
}

const hilo_floor_gauges_t *hilo_console_floor_gauges(const hilo_console_t *k) {
    return k && k->gauges && k->gauges->last.sampled_ms ? &k->gauges->last : NULL;
}
