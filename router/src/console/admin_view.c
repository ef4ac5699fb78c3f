/* admin_view.c — the supervisor's admin view (docs/console-protocol.md, "Admin"): the queues the
 * loaded flow can escalate to (hilo_engine_queues), the queues [sla] names and the queues seen in
 * Redis (hilo:queues), each with the agents that have its skill and how many wait in it; every
 * account with its role, state and sessions. And the account powers the CLI has (`hilo agent
 * disable|enable|logout`, router/cli/cmd_agent.c): disable or log out revokes every session of
 * the agent (a new session generation, the session keys deleted, a `revoke` event on which every
 * router closes the agent's consoles, telling them why, and takes them out of routing). Each is
 * logged and audited on the agent's own stream hilo:{a:<id>}:audit. Called from takeover.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "engine.h"
#include "hilo/common.h"
#include "hilo/log.h"

#define ADMIN_AGENTS_MAX 2000   /* accounts one admin view describes (the rest: "truncated") */
#define ADMIN_QUEUES_MAX 500    /* queues one admin view lists */
#define ADMIN_AUDIT_KEEP "10000" /* entries kept on an agent's audit stream */

/* --- the view ----------------------------------------------------------------------------- */

typedef struct {
    json_t *rid;
    json_t *queues;   /* queue -> {"sources": [...], "escalations": [...]} (an object while collected) */
    json_t *agents;   /* the account ids described, in order */
    bool truncated;
} view_t;

static void view_free(void *arg) {
    view_t *v = arg;
    json_decref(v->rid);
    json_decref(v->queues);
    json_decref(v->agents);
    free(v);
}

/* Adds `queue` (named by `source`: flow, sla, seen) to the view, with the escalation naming it. */
static void add_queue(view_t *v, const char *queue, const char *source, const char *escalation) {
    if (!queue || !console_agent_id_ok(queue)) return; /* the skill charset and length */
    json_t *q = json_object_get(v->queues, queue);
    if (!q) {
        if (json_object_size(v->queues) >= ADMIN_QUEUES_MAX) {
            v->truncated = true;
            return;
        }
        q = json_pack("{s:[],s:[]}", "sources", "escalations");
        json_object_set_new(v->queues, queue, q);
    }
    json_t *list = json_object_get(q, "sources");
    bool known = false;
    for (size_t i = 0; i < json_array_size(list) && !known; i++)
        known = strcmp(json_string_value(json_array_get(list, i)), source) == 0;
    if (!known) json_array_append_new(list, json_string(source));
    if (escalation) {
        list = json_object_get(q, "escalations");
        known = false;
        for (size_t i = 0; i < json_array_size(list) && !known; i++)
            known = strcmp(json_string_value(json_array_get(list, i)), escalation) == 0;
        if (!known) json_array_append_new(list, json_string(escalation));
    }
}

static void flow_queue(const char *queue, const char *escalation, void *arg) {
    add_queue(arg, queue, "flow", escalation);
}

static bool yes(const json_t *v) { return json_is_string(v) && strcmp(json_string_value(v), "1") == 0; }

/* Round 2: per queue SMEMBERS of its skill set + ZCARD of its waiting list; per account HMGET of
 * the account, HMGET of its live hash, its presence score, SCARD of its sessions. */
static void on_view(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    view_t *v = arg;
    size_t nq = json_object_size(v->queues), na = json_array_size(v->agents);
    if (!conn_alive(c)) goto out;
    if ((size_t)n != nq * 2 + na * 4) {
        conn_error(c, v->rid, "unavailable", "try again");
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (!res[i] || (json_is_object(res[i]) && jstr(res[i], "error"))) {
            conn_error(c, v->rid, "unavailable", "try again");
            goto out;
        }
    json_t *queues = json_array(), *agents = json_array();
    const char *name;
    json_t *q;
    int r = 0;
    json_object_foreach(v->queues, name, q) {
        json_t *members = res[r++];
        json_t *ids = json_array();
        for (size_t i = 0; i < json_array_size(members); i++)
            if (json_is_string(json_array_get(members, i))) json_array_append(ids, json_array_get(members, i));
        json_array_append_new(queues, json_pack("{s:s,s:O,s:O,s:o,s:I}", "queue", name, "sources",
                                                json_object_get(q, "sources"), "escalations",
                                                json_object_get(q, "escalations"), "agents", ids, "waiting",
                                                json_integer_value(res[r++])));
    }
    for (size_t i = 0; i < na; i++, r += 4) {
        json_t *acc = res[r], *live = res[r + 1];
        const char *role = json_string_value(json_array_get(acc, 1));
        if (!role) continue; /* listed in hilo:agents but gone */
        const char *nm = json_string_value(json_array_get(acc, 0)), *skills = json_string_value(json_array_get(acc, 3));
        const char *st = json_string_value(json_array_get(live, 0));
        json_array_append_new(agents, json_pack("{s:O,s:s,s:s,s:b,s:s,s:b,s:I,s:s}", "agent", json_array_get(v->agents, i),
                                                "name", nm ? nm : "", "role", role, "disabled",
                                                yes(json_array_get(acc, 2)), "state", st ? st : "offline", "online",
                                                json_is_string(res[r + 2]), "sessions",
                                                json_integer_value(res[r + 3]), "skills", skills ? skills : ""));
    }
    conn_ok(c, v->rid, json_pack("{s:o,s:o,s:b}", "queues", queues, "agents", agents, "truncated", v->truncated));
out:
    view_free(v);
}

/* Round 1: the accounts and the queues seen in Redis. */
static void on_view_lists(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    view_t *v = arg;
    if (!conn_alive(c) || n != 2 || !json_is_array(res[0]) || !json_is_array(res[1])) {
        if (conn_alive(c)) conn_error(c, v->rid, "unavailable", "try again");
        view_free(v);
        return;
    }
    for (size_t i = 0; i < json_array_size(res[1]); i++) add_queue(v, json_string_value(json_array_get(res[1], i)), "seen", NULL);
    for (size_t i = 0; i < json_array_size(res[0]); i++) {
        const char *a = json_string_value(json_array_get(res[0], i));
        if (!a || !console_agent_id_ok(a)) continue;
        if (json_array_size(v->agents) >= ADMIN_AGENTS_MAX) {
            v->truncated = true;
            break;
        }
        json_array_append_new(v->agents, json_string(a));
    }
    batch_t *b = batch_new(k, c, on_view, v, view_free);
    const char *name;
    json_t *q;
    json_object_foreach(v->queues, name, q) {
        batch_cmd(b, "SMEMBERS hilo:skill:%s", name);
        batch_cmd(b, "ZCARD hilo:queue:%s", name);
    }
    for (size_t i = 0; i < json_array_size(v->agents); i++) {
        const char *a = json_string_value(json_array_get(v->agents, i));
        batch_cmd(b, "HMGET hilo:agent:%s name role disabled skills", a);
        batch_cmd(b, "HMGET hilo:agent:%s:live state", a);
        batch_cmd(b, "ZSCORE hilo:agents:seen %s", a);
        batch_cmd(b, "SCARD hilo:agent:%s:sessions", a);
    }
    batch_run(b);
}

void console_admin_view(conn_t *c, json_t *rid) {
    hilo_console_t *k = c->console;
    view_t *v = hilo_xcalloc(1, sizeof *v);
    v->rid = json_incref(rid);
    v->queues = json_object();
    v->agents = json_array();
    hilo_engine_queues(k->ctx->engine, flow_queue, v);
    for (int i = 0; i < k->cfg->sla.nqueues; i++) add_queue(v, k->cfg->sla.queues[i].queue, "sla", NULL);
    batch_t *b = batch_new(k, c, on_view_lists, v, view_free);
    batch_cmd(b, "SMEMBERS hilo:agents");
    batch_cmd(b, "SMEMBERS hilo:queues");
    batch_run(b);
}

/* --- disable, enable, log out ----------------------------------------------------------- */

typedef struct {
    json_t *rid;
    char op[16];                     /* disable, enable, logout */
    char agent[CONSOLE_ID_MAX + 1];
} account_t;

static void account_free(void *arg) {
    account_t *o = arg;
    json_decref(o->rid);
    free(o);
}

static void on_account_done(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    account_t *o = arg;
    bool ok = n > 0;
    for (int i = 0; i < n; i++) ok = ok && res_ok(res[i]);
    if (ok) {
        hilo_log_info("console", "event=agent_%s agent=%s by=%s", o->op, o->agent, c->agent);
        conn_ok(c, o->rid, json_pack("{s:s,s:s}", "op", o->op, "agent", o->agent));
    } else {
        hilo_log_warn("console", "event=agent_%s_failed agent=%s by=%s", o->op, o->agent, c->agent);
        conn_error(c, o->rid, "unavailable", "not done; try again");
    }
    account_free(o);
}

/* Round 1 answered: EXISTS of the account, SMEMBERS of its sessions. A session made between
 * that read and the generation bump below is void all the same (auth.c checks the generation
 * on every connect). */
static void on_account(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    account_t *o = arg;
    if (!conn_alive(c)) goto out;
    if (n != 2 || !json_is_integer(res[0]) || !json_is_array(res[1])) {
        conn_error(c, o->rid, "unavailable", "try again");
        goto out;
    }
    if (json_integer_value(res[0]) != 1) {
        conn_error(c, o->rid, "unknown_agent", "There is no agent with that id.");
        goto out;
    }
    bool revoke = strcmp(o->op, "enable") != 0;
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)hilo_now_ms());
    batch_t *b = batch_new(k, c, on_account_done, o, account_free);
    if (strcmp(o->op, "disable") == 0) batch_cmd(b, "HSET hilo:agent:%s disabled 1 updated_ms %s", o->agent, ms);
    if (strcmp(o->op, "enable") == 0) batch_cmd(b, "HDEL hilo:agent:%s disabled", o->agent);
    if (revoke) {
        batch_cmd(b, "HINCRBY hilo:agent:%s sgen 1", o->agent);
        for (size_t i = 0; i < json_array_size(res[1]); i++) {
            const char *s = json_string_value(json_array_get(res[1], i));
            if (s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64) batch_cmd(b, "DEL hilo:session:%s", s);
        }
        batch_cmd(b, "DEL hilo:agent:%s:sessions", o->agent);
        char why[160];
        snprintf(why, sizeof why, "%s by supervisor %s", strcmp(o->op, "disable") == 0 ? "account disabled" : "logged out",
                 c->agent);
        const char *e_argv[] = {"XADD", "hilo:console:events", "MAXLEN", "~", "10000", "*", "k", "revoke",
                                "a", o->agent, "d", why};
        batch_argv(b, 12, e_argv, NULL);
    }
    char ak[CONSOLE_ID_MAX + 32];
    snprintf(ak, sizeof ak, "hilo:{a:%s}:audit", o->agent);
    const char *a_argv[] = {"XADD", ak, "MAXLEN", "~", ADMIN_AUDIT_KEEP, "*", "ev", o->op, "by", c->agent, "ms", ms};
    batch_argv(b, 12, a_argv, NULL);
    batch_run(b);
    return;
out:
    account_free(o);
}

void console_agent_account(conn_t *c, json_t *rid, const char *op, const char *agent) {
    if (!agent || !console_agent_id_ok(agent)) {
        conn_error(c, rid, "bad_request", "\"agent\" must be an agent id");
        return;
    }
    if (strcmp(op, "enable") != 0 && strcmp(agent, c->agent) == 0) {
        conn_error(c, rid, "bad_request", "You cannot disable or log out your own account from the console.");
        return;
    }
    account_t *o = hilo_xcalloc(1, sizeof *o);
    o->rid = json_incref(rid);
    snprintf(o->op, sizeof o->op, "%s", op);
    snprintf(o->agent, sizeof o->agent, "%s", agent);
    batch_t *b = batch_new(c->console, c, on_account, o, account_free);
    batch_cmd(b, "EXISTS hilo:agent:%s", agent);
    batch_cmd(b, "SMEMBERS hilo:agent:%s:sessions", agent);
    batch_run(b);
}
