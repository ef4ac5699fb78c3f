/* supervisor.c — the supervisor's live floor: once a second, when a supervisor on this router
 * follows it, floor_stats.lua computes queues, agents, escalations, compliance blocks, bot
 * containment and the channel mix, read-only, the agents in parts of about 500 per call (a
 * floor of 20,000 agents would otherwise hold Redis for a tenth of a second); the parts are
 * joined (floor_join.c) and the floor is pushed to every following supervisor. Its "now" and
 * day are the stats clock's and the business day's (sla_mark.c). Reassigning and
 * setting an agent's state go through routing.c (agent_ops.lua with the supervisor role). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "floor_join.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define FLOOR_PART_AGENTS "500" /* agents per floor_stats.lua call (SSCAN COUNT) */

static void floor_request(hilo_console_t *k);

static void floor_abandon(hilo_console_t *k, const char *why) {
    hilo_log_warn("console", "event=floor_failed reply=\"%s\"", why);
    hilo_buf_free(&k->floor_msg);
    k->floor_inflight = false;
}

/* One part: the first carries the floor without its agents; every part carries some agents.
 * The message is {...rest of the floor..., "agents": {part 1, part 2, ...}} (floor_join.c). */
static void on_floor(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    const char *cursor = json_string_value(json_array_get(r, 0));
    const char *agents = json_string_value(json_array_get(r, 1));
    const char *rest = json_string_value(json_array_get(r, 2));
    floor_join_rc_t rc = cursor ? console_floor_join_part(&k->floor_msg, agents, rest) : FLOOR_JOIN_BAD_PART;
    if (rc == FLOOR_JOIN_BAD_PART) {
        const char *e = r ? jstr(r, "error") : "no reply";
        floor_abandon(k, e ? e : "unexpected reply");
        return;
    }
    if (rc == FLOOR_JOIN_NO_FLOOR) {
        floor_abandon(k, "first part without the floor");
        return;
    }
    snprintf(k->floor_cursor, sizeof k->floor_cursor, "%s", cursor);
    const char *voice = json_string_value(json_array_get(r, 3)); /* agents holding a call (drill.c) */
    if (voice && *voice) hilo_buf_printf(&k->voice_next, "%s%s", k->voice_next.len ? "," : "", voice);
    if (strcmp(cursor, "0") != 0) {
        floor_request(k);
        return;
    }
    console_floor_join_end(&k->floor_msg);
    hilo_buf_free(&k->voice_agents);
    k->voice_agents = k->voice_next;
    k->voice_next = (hilo_buf_t)HILO_BUF_INIT;
    for (conn_t *c = k->conns; c; c = c->next)
        if (c->floor && c->state == CONN_READY && c->ws) hilo_ws_send(c->ws, k->floor_msg.data, k->floor_msg.len);
    hilo_buf_free(&k->floor_msg);
    k->floor_inflight = false;
}

static void floor_request(hilo_console_t *k) {
    if (!hilo_store_ready(k->ctx->store)) {
        floor_abandon(k, "storage unavailable");
        return;
    }
    char now[24], day[24], start[24];
    int64_t d, st;
    console_business_day(k, k->floor_now_ms, &d, &st);
    snprintf(now, sizeof now, "%lld", (long long)k->floor_now_ms);
    snprintf(day, sizeof day, "%lld", (long long)d);
    snprintf(start, sizeof start, "%lld", (long long)st);
    const char *args[7] = {now, k->cfg->sla.targets_json, k->floor_cursor, FLOOR_PART_AGENTS, day, start,
                           k->cfg->sla.zone};
    batch_t *b = batch_new(k, NULL, on_floor, NULL, NULL);
    batch_script(b, SCRIPT_FLOOR, 7, args);
    batch_run(b);
}

/* Every part of one floor is read at the same "now", the stats clock's (sla_mark.c). */
static void floor_start(hilo_console_t *k, int64_t now_ms, void *arg) {
    (void)arg;
    k->floor_now_ms = now_ms;
    hilo_buf_free(&k->floor_msg);
    hilo_buf_free(&k->voice_next);
    snprintf(k->floor_cursor, sizeof k->floor_cursor, "0");
    floor_request(k);
}

void console_floor_tick(hilo_console_t *k) {
    bool any = false;
    for (conn_t *c = k->conns; c && !any; c = c->next) any = c->floor && c->state == CONN_READY && c->ws;
    if (any && hilo_store_ready(k->ctx->store)) {
        console_drill_tick(k);   /* the drill-downs open (drill.c) */
        console_alerts_tick(k);  /* the SLA alerts (drill_alerts.c) */
    }
    if (!any || k->floor_inflight || !hilo_store_ready(k->ctx->store)) return;
    k->floor_inflight = true;
    console_stats_clock(k, floor_start, NULL, NULL);
}

static void on_agents(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    json_t *rid = arg;
    if (n >= 1 && json_is_array(res[0])) conn_ok(c, rid, json_pack("{s:O}", "agents", res[0]));
    else conn_error(c, rid, "unavailable", "try again");
    json_decref(rid);
}

/* {"t":"agents"}: the agent ids, for the reassign picker. */
void console_agents_list(conn_t *c, json_t *rid) {
    batch_t *b = batch_new(c->console, c, on_agents, json_incref(rid), batch_free_json);
    batch_cmd(b, "SMEMBERS hilo:agents");
    batch_run(b);
}
