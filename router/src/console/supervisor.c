/* supervisor.c — the supervisor's live floor: once a second, when a supervisor on this router
 * follows it, floor_stats.lua computes queues, agents, escalations, compliance blocks, bot
 * containment and the channel mix, read-only, the agents in parts of about 500 per call (a
 * floor of 20,000 agents would otherwise hold Redis for a tenth of a second); the parts are
 * joined (floor_join.c) and the floor is pushed to every following supervisor. Its "now" and
 * day are the stats clock's and the business day's (sla_mark.c). Reassigning and
 * setting an agent's state go through routing.c (agent_ops.lua with the supervisor role). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "floor_join.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/phone.h"

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

/* --- {"t":"find","query":...}: a conversation by debtor id or phone ------------------------ */

typedef struct {
    json_t *rid;
    char query[CONSOLE_ID_MAX + 32];  /* the debtor id tried first ("" = not an id) */
    char e164[HILO_PHONE_MAX];        /* the query read as a phone ("" = not a phone) */
    char asked[96];                   /* what the supervisor typed, trimmed (for the answer's text) */
} find_t;

static void find_free(void *arg) {
    find_t *f = arg;
    json_decref(f->rid);
    free(f);
}

static void on_found(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    find_t *f = arg;
    if (!conn_alive(c)) goto out;
    for (int i = 0; i < n; i++)
        if (!res[i] || (json_is_object(res[i]) && jstr(res[i], "error"))) {
            conn_error(c, f->rid, "unavailable", "try again");
            goto out;
        }
    int r = 0;
    if (f->query[0]) { /* EXISTS conv + EXISTS debtor record */
        bool found = json_integer_value(res[r]) + json_integer_value(res[r + 1]) > 0;
        r += 2;
        if (found) {
            conn_ok(c, f->rid, json_pack("{s:s,s:s}", "debtor", f->query, "by", "id"));
            goto out;
        }
    }
    if (f->e164[0]) { /* GET hilo:addr:<E.164> + EXISTS of the unidentified contact's conv */
        const char *d = json_string_value(res[r]);
        if (d && console_debtor_ok(d)) {
            conn_ok(c, f->rid, json_pack("{s:s,s:s,s:s}", "debtor", d, "by", "phone", "phone", f->e164));
            goto out;
        }
        if (json_integer_value(res[r + 1]) > 0) {
            char u[HILO_PHONE_MAX + 2];
            snprintf(u, sizeof u, "u:%s", f->e164);
            conn_ok(c, f->rid, json_pack("{s:s,s:s,s:s}", "debtor", u, "by", "phone", "phone", f->e164));
            goto out;
        }
        char text[160];
        snprintf(text, sizeof text, "no debtor or conversation has the number %s", f->e164);
        conn_error(c, f->rid, "not_found", text);
        goto out;
    }
    char text[200];
    snprintf(text, sizeof text, "no debtor has the id \"%s\"", f->asked);
    conn_error(c, f->rid, "not_found", text);
out:
    find_free(f);
}

void console_find(conn_t *c, json_t *rid, const char *query) {
    if (!c->supervisor) {
        conn_error(c, rid, "forbidden", "supervisors only");
        return;
    }
    size_t len = query ? strlen(query) : 0;
    while (len && isspace((unsigned char)query[len - 1])) len--;
    while (len && isspace((unsigned char)*query)) query++, len--;
    if (len == 0 || len >= sizeof ((find_t *)0)->asked) {
        conn_error(c, rid, "bad_request", "type a debtor id or a phone number");
        return;
    }
    find_t *f = hilo_xcalloc(1, sizeof *f);
    f->rid = json_incref(rid);
    snprintf(f->asked, sizeof f->asked, "%.*s", (int)len, query);
    if (console_debtor_ok(f->asked)) snprintf(f->query, sizeof f->query, "%s", f->asked);
    const char *why = NULL;
    /* A phone in any spelling (+57 300 123 4567, 0057..., (650) 555-1234 with the configured
     * country code): libphonenumber's canonical form names the debtor (hilo:addr:<E.164>). */
    if (strcspn(f->asked, "0123456789") < len &&
        hilo_phone_normalize(f->asked, c->console->cfg->default_cc, f->e164, sizeof f->e164, &why) != HILO_OK)
        f->e164[0] = '\0';
    if (!f->query[0] && !f->e164[0]) {
        /* Letters and spaces: a name. There is no index of debtors by name (a name is not unique
         * and matching it would mean reading every record), so say what works instead. */
        bool name = strcspn(f->asked, "0123456789") == len;
        conn_error(c, rid, name ? "name_search_unavailable" : "bad_request",
                   name ? "search by name is not available: type the debtor id or a phone number"
                        : (why ? why : "not a debtor id or a phone number"));
        find_free(f);
        return;
    }
    batch_t *b = batch_new(c->console, c, on_found, f, find_free);
    char k1[HILO_KEY_MAX], k2[HILO_KEY_MAX];
    if (f->query[0] && hilo_key_debtor(k1, sizeof k1, f->query, HILO_KEY_CONV) > 0 &&
        hilo_key_debtor(k2, sizeof k2, f->query, HILO_KEY_DEBTOR) > 0) {
        batch_cmd(b, "EXISTS %s", k1);
        batch_cmd(b, "EXISTS %s", k2);
    } else {
        f->query[0] = '\0';
    }
    char u[HILO_PHONE_MAX + 2];
    snprintf(u, sizeof u, "u:%s", f->e164);
    if (f->e164[0] && hilo_key_debtor(k1, sizeof k1, u, HILO_KEY_CONV) > 0) {
        batch_cmd(b, "GET " HILO_KEY_ADDR_PREFIX "%s", f->e164);
        batch_cmd(b, "EXISTS %s", k1);
    } else {
        f->e164[0] = '\0';
    }
    batch_run(b);
}
