/* drill.c — the supervisor's drill-down on the floor (docs/console-protocol.md, "Drill-down"):
 * {"t":"detail","view":...} opens one view per socket — a queue (who waits in it, why, since
 * when, offered to whom), an agent (state, load, and the conversations they hold or are
 * offered), or the calls (voice conversations waiting in the queues, and those assigned to an
 * agent: the router has no other "in progress" state for a call). The view is answered at once
 * and pushed again with every floor (once a second) until another view, "none", or the floor is
 * left. Details cost only for the view a supervisor opened: the floor itself carries none.
 * Every command touches one key (drill_rows.c); the agents holding calls come from the last
 * floor (floor_stats.lua lists them), so the calls view never walks every agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill_rows.h"
#include "hilo/common.h"
#include "hilo/log.h"
#include "sla.h"

#define DRILL_QUEUE_SCAN 100 /* entries of one queue shown (oldest first) */
#define DRILL_CALLS_SCAN 50  /* entries of each queue looked at for calls */

typedef struct {
    conn_t *c;                      /* referenced */
    json_t *rid;                    /* the request's id on the first answer, else NULL */
    char view[8];
    char id[CONSOLE_ID_MAX + 1];
    int64_t now;                    /* the stats clock */
    json_t *msg;                    /* the view being built */
} drill_t;

static void drill_free(void *arg) {
    drill_t *d = arg;
    d->c->drill_inflight = false;
    conn_unref(d->c);
    json_decref(d->rid);
    json_decref(d->msg);
    free(d);
}

static bool queue_name_ok(const char *q) {
    size_t n = q ? strlen(q) : 0;
    if (n == 0 || n > HILO_SLA_QUEUE_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", q[i])) return false;
    return true;
}

/* The view is still the one the socket has open (a push may cross a change of view). */
static bool drill_current(const drill_t *d) {
    return conn_alive(d->c) && strcmp(d->c->drill_view, d->view) == 0 && strcmp(d->c->drill_id, d->id) == 0;
}

static void drill_send(drill_t *d) {
    if (d->rid && conn_alive(d->c)) conn_ok(d->c, d->rid, NULL);
    if (drill_current(d)) {
        json_object_set_new(d->msg, "now", json_integer(d->now));
        conn_send(d->c, json_incref(d->msg));
    }
    drill_free(d);
}

static void drill_unavailable(drill_t *d) {
    if (d->rid && conn_alive(d->c)) conn_error(d->c, d->rid, "unavailable", "try again");
    drill_free(d);
}

/* A row as the page shows it: who, on which channel, why, since when, with whom. */
static json_t *row_out(const json_t *row, int64_t now) {
    const char *ch = jstr(row, "agent_ch") ? jstr(row, "agent_ch")
                     : jstr(row, "offer_ch") ? jstr(row, "offer_ch") : jstr(row, "last_channel");
    int64_t esc = drill_row_ms(row, "esc_ms");
    json_t *o = json_pack("{s:O?,s:O?,s:O?,s:s?,s:O?,s:O?,s:O?,s:O?,s:O?}", "debtor", json_object_get(row, "debtor"), "name",
                          json_object_get(row, "name"), "state", json_object_get(row, "state"), "channel", ch,
                          "reason", json_object_get(row, "esc_reason"), "reason_detail",
                          json_object_get(row, "esc_detail"), "queue", json_object_get(row, "queue"), "offered_to",
                          json_object_get(row, "offer_agent"), "agent", json_object_get(row, "agent"));
    json_object_set_new(o, "since_ms", esc ? json_integer(esc) : json_null());
    json_object_set_new(o, "waited_ms", esc ? json_integer(now - esc) : json_null());
    int64_t at = drill_row_ms(row, "assigned_ms"), off = drill_row_ms(row, "offer_ms"),
            resp = drill_row_ms(row, "resp_ms");
    json_object_set_new(o, "assigned_ms", at ? json_integer(at) : json_null());
    json_object_set_new(o, "offered_ms", off ? json_integer(off) : json_null());
    json_object_set_new(o, "first_reply_ms", resp >= esc && resp ? json_integer(resp) : json_null());
    return o;
}

static bool row_is(const json_t *row, const char *state) {
    const char *s = jstr(row, "state");
    return s && strcmp(s, state) == 0;
}

/* --- a queue --------------------------------------------------------------------------- */

static void on_queue_rows(hilo_console_t *k, json_t *rows, void *arg) {
    (void)k;
    drill_t *d = arg;
    if (!rows) return drill_unavailable(d);
    json_t *w = json_object_get(d->msg, "waiting");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *q = jstr(row, "queue");
        if (row_is(row, "queued") && q && strcmp(q, d->id) == 0) json_array_append_new(w, row_out(row, d->now));
    }
    drill_send(d);
}

static void on_queue(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    drill_t *d = arg;
    if (n < 2 || !json_is_array(res[0]) || !json_is_integer(res[1])) return drill_unavailable(d);
    const hilo_sla_target_t *t = hilo_sla_target(&k->cfg->sla, d->id);
    d->msg = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:[]}", "t", "detail", "view", "queue", "id", d->id, "waiting_total",
                       json_integer_value(res[1]), "first_response_target_ms", (json_int_t)t->first_response_ms,
                       "resolution_target_ms", (json_int_t)t->resolution_ms, "waiting");
    drill_rows_read(k, res[0], on_queue_rows, d, drill_free);
}

/* --- an agent -------------------------------------------------------------------------- */

static void on_agent_rows(hilo_console_t *k, json_t *rows, void *arg) {
    (void)k;
    drill_t *d = arg;
    if (!rows) return drill_unavailable(d);
    json_t *list = json_object_get(d->msg, "conversations");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *a = jstr(row, "agent"), *o = jstr(row, "offer_agent");
        const char *role = a && strcmp(a, d->id) == 0 && row_is(row, "assigned") ? "assigned"
                           : o && strcmp(o, d->id) == 0 && row_is(row, "queued") ? "offered" : NULL;
        if (!role) continue; /* changed since the sets were read */
        json_t *r = row_out(row, d->now);
        json_object_set_new(r, "holds", json_string(role));
        json_array_append_new(list, r);
    }
    drill_send(d);
}

static json_t *num(const json_t *a, size_t i) {
    const char *s = json_string_value(json_array_get(a, i));
    return json_integer(s ? strtoll(s, NULL, 10) : 0);
}

static void on_agent(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    drill_t *d = arg;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i])) return drill_unavailable(d);
    if (n < 5 || !json_is_array(res[0]) || !json_is_array(res[1])) return drill_unavailable(d);
    json_t *acc = res[0], *live = res[1];
    if (!json_is_string(json_array_get(acc, 0)) && !json_is_string(json_array_get(acc, 1))) {
        if (d->rid && conn_alive(d->c)) conn_error(d->c, d->rid, "unknown_agent", "no agent has this id");
        if (drill_current(d)) d->c->drill_view[0] = '\0';
        return drill_free(d);
    }
    const char *state = json_string_value(json_array_get(live, 0));
    bool online = json_is_string(res[2]);
    json_t *ag = json_pack("{s:O?,s:O?,s:O?,s:s,s:b,s:b,s:{s:o,s:o,s:o},s:{s:o,s:o,s:o}}", "name",
                           json_array_get(acc, 0), "role", json_array_get(acc, 1), "skills", json_array_get(acc, 2),
                           "state", online && state ? state : "offline", "online", online, "disabled",
                           json_is_string(json_array_get(acc, 6)) &&
                               strcmp(json_string_value(json_array_get(acc, 6)), "1") == 0,
                           "load", "whatsapp", num(live, 2), "sms", num(live, 3), "voice", num(live, 4), "capacity",
                           "whatsapp", num(acc, 3), "sms", num(acc, 4), "voice", num(acc, 5));
    const char *since = json_string_value(json_array_get(live, 1));
    json_object_set_new(ag, "state_since_ms", since ? json_integer(strtoll(since, NULL, 10)) : json_null());
    d->msg = json_pack("{s:s,s:s,s:s,s:o,s:[]}", "t", "detail", "view", "agent", "id", d->id, "agent", ag,
                       "conversations");
    json_t *debtors = json_array();
    json_array_extend(debtors, res[3]);
    json_array_extend(debtors, res[4]);
    drill_rows_read(k, debtors, on_agent_rows, d, drill_free);
    json_decref(debtors);
}

/* --- the calls ------------------------------------------------------------------------- */

static void on_calls_rows(hilo_console_t *k, json_t *rows, void *arg) {
    (void)k;
    drill_t *d = arg;
    if (!rows) return drill_unavailable(d);
    json_t *waiting = json_object_get(d->msg, "waiting"), *talking = json_object_get(d->msg, "in_progress");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *last = jstr(row, "last_channel"), *ach = jstr(row, "agent_ch"), *live = jstr(row, "call_live");
        /* Only a call still up (call_live, from its start to its end: engine.c). */
        bool up = live && *live;
        if (row_is(row, "queued") && last && strcmp(last, "voice") == 0 && up)
            json_array_append_new(waiting, row_out(row, d->now));
        else if (row_is(row, "assigned") && ach && strcmp(ach, "voice") == 0 && up)
            json_array_append_new(talking, row_out(row, d->now));
    }
    drill_send(d);
}

static void on_calls_queues(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    drill_t *d = arg;
    json_t *debtors = json_array();
    for (int i = 0; i < n; i++) {
        if (!json_is_array(res[i])) {
            json_decref(debtors);
            return drill_unavailable(d);
        }
        json_array_extend(debtors, res[i]);
    }
    drill_rows_read(k, debtors, on_calls_rows, d, drill_free);
    json_decref(debtors);
}

/* Round 1: the queues; round 2: the head of each queue and the conversations of each agent
 * the last floor saw holding a call; round 3: those conversations. */
static void on_calls(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    drill_t *d = arg;
    if (n < 1 || !json_is_array(res[0])) return drill_unavailable(d);
    d->msg = json_pack("{s:s,s:s,s:s,s:[],s:[]}", "t", "detail", "view", "calls", "id", "", "waiting", "in_progress");
    batch_t *b = batch_new(k, NULL, on_calls_queues, d, drill_free);
    size_t i;
    json_t *q;
    int cmds = 0;
    json_array_foreach(res[0], i, q) {
        if (cmds >= 32 || !queue_name_ok(json_string_value(q))) continue;
        batch_cmd(b, "ZRANGE hilo:queue:%s 0 %lld", json_string_value(q), (long long)DRILL_CALLS_SCAN - 1);
        cmds++;
    }
    const char *v = k->voice_agents.data ? k->voice_agents.data : "";
    while (*v && cmds < 60) {
        size_t len = strcspn(v, ",");
        char a[CONSOLE_ID_MAX + 1];
        snprintf(a, sizeof a, "%.*s", (int)(len < sizeof a ? len : sizeof a - 1), v);
        if (console_agent_id_ok(a)) batch_cmd(b, "SMEMBERS hilo:agent:%s:convs", a), cmds++;
        v += len + (v[len] == ',');
    }
    if (cmds == 0) batch_cmd(b, "ZRANGE hilo:none 0 0");
    batch_run(b);
}

/* --- reading a view ------------------------------------------------------------------- */

static void drill_read(hilo_console_t *k, int64_t now, void *arg) {
    drill_t *d = arg;
    d->now = now;
    if (!drill_current(d)) return drill_free(d);
    if (strcmp(d->view, "queue") == 0) {
        batch_t *b = batch_new(k, NULL, on_queue, d, drill_free);
        batch_cmd(b, "ZRANGE hilo:queue:%s 0 %lld", d->id, (long long)DRILL_QUEUE_SCAN - 1);
        batch_cmd(b, "ZCARD hilo:queue:%s", d->id);
        batch_run(b);
    } else if (strcmp(d->view, "agent") == 0) {
        batch_t *b = batch_new(k, NULL, on_agent, d, drill_free);
        batch_cmd(b, "HMGET hilo:agent:%s name role skills cap:whatsapp cap:sms cap:voice disabled", d->id);
        batch_cmd(b, "HMGET hilo:agent:%s:live state state_ms load:whatsapp load:sms load:voice", d->id);
        batch_cmd(b, "ZSCORE hilo:agents:seen %s", d->id);
        batch_cmd(b, "SMEMBERS hilo:agent:%s:convs", d->id);
        batch_cmd(b, "SMEMBERS hilo:agent:%s:offers", d->id);
        batch_run(b);
    } else {
        batch_t *b = batch_new(k, NULL, on_calls, d, drill_free);
        batch_cmd(b, "SMEMBERS hilo:queues");
        batch_run(b);
    }
}

static void drill_start(conn_t *c, json_t *rid) {
    drill_t *d = hilo_xcalloc(1, sizeof *d);
    d->c = c;
    conn_ref(c);
    d->rid = rid ? json_incref(rid) : NULL;
    snprintf(d->view, sizeof d->view, "%s", c->drill_view);
    snprintf(d->id, sizeof d->id, "%s", c->drill_id);
    c->drill_inflight = true;
    console_stats_clock(c->console, drill_read, d, drill_free);
}

void console_drill_request(conn_t *c, json_t *rid, const json_t *m) {
    if (!c->supervisor) {
        conn_error(c, rid, "forbidden", "supervisors only");
        return;
    }
    const char *view = jstr(m, "view"), *id = jstr(m, "id");
    if (view && strcmp(view, "none") == 0) {
        c->drill_view[0] = c->drill_id[0] = '\0';
        conn_ok(c, rid, NULL);
        return;
    }
    bool queue = view && strcmp(view, "queue") == 0, agent = view && strcmp(view, "agent") == 0;
    if (!view || (!queue && !agent && strcmp(view, "calls") != 0)) {
        conn_error(c, rid, "bad_request", "\"view\" is one of queue, agent, calls, none");
        return;
    }
    if ((queue && !queue_name_ok(id)) || (agent && !console_agent_id_ok(id))) {
        conn_error(c, rid, "bad_request", queue ? "\"id\" must be a queue name (letters, digits, '.', '_', '-')"
                                                : "\"id\" must be an agent id");
        return;
    }
    snprintf(c->drill_view, sizeof c->drill_view, "%s", view);
    snprintf(c->drill_id, sizeof c->drill_id, "%s", queue || agent ? id : "");
    drill_start(c, rid);
}

void console_drill_tick(hilo_console_t *k) {
    for (conn_t *c = k->conns; c; c = c->next)
        if (c->floor && c->drill_view[0] && !c->drill_inflight && c->state == CONN_READY && c->ws) drill_start(c, NULL);
}
