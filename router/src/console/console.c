/* console.c — the console's connections and its heartbeat: the /ws handlers (origin check,
 * token, size and rate limits, dispatch of each message), the Redis batch helper, and the tick
 * that routes queues, reads the cross-router event stream, follows conversation activity,
 * refreshes presence and pings idle sockets. Redis access goes through batch.c. */
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_int.h"
#include "calls.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

extern const char hilo_script_route_offer[];
extern const char hilo_script_agent_ops[];
extern const char hilo_script_floor_stats[];
extern const char hilo_script_reopen[];
extern const char hilo_script_sla_mark[];
extern const char hilo_script_floor_gauges[];
extern const char hilo_script_verify_agent[];

/* The tick: every 10 ms the event stream and the thread activity are read (one small command
 * each per router), which bounds the push latency of a change made on any router; the rest
 * runs at the slower rates below. */
#define TICK_MS 10
#define CONN_SWEEP_MS 100       /* per-socket checks: auth timeout, expiry, idle, ping, resync */
#define AUTH_TIMEOUT_MS 10000   /* a socket must be authenticated by then */
#define PING_MS 15000           /* app-level ping when the client has been quiet */
#define IDLE_MS 45000           /* no message at all for this long: the socket is dead */
#define RESYNC_MS 30000        /* full snapshot even without events (repairs a missed one)... */
#define RESYNC_MAX_PER_S 200    /* ...but no more than this many per second in all: with more
                                 * than 6,000 sockets each one's period grows */
#define FLOOR_MS 1000           /* supervisor floor refresh */
#define STRATEGIES_MS 1000      /* supervisor strategies panel refresh */

/* --- small helpers -------------------------------------------------------------------- */

bool console_agent_id_ok(const char *id) {
    size_t n = id ? strlen(id) : 0;
    return n >= 1 && n <= CONSOLE_ID_MAX &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool console_debtor_ok(const char *id) {
    if (!id) return false;
    if (strncmp(id, "u:", 2) == 0) {
        size_t n = strlen(id + 2);
        return n >= 2 && n <= 20 && id[2] == '+' && strspn(id + 3, "0123456789") == n - 1;
    }
    return hilo_debtor_id_valid(id);
}

/* --- connections ---------------------------------------------------------------------- */

void conn_ref(conn_t *c) { c->refs++; }

/* The by-agent index: an event about an agent reaches that agent's sockets without a walk
 * over every socket (20,000 of them on a large floor). */
static conn_t **agent_bucket(hilo_console_t *k, const char *agent) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)agent; *p; p++) h = (h ^ *p) * 16777619u;
    return &k->by_agent[h % CONSOLE_AGENT_BUCKETS];
}

static void agent_index_add(conn_t *c) {
    conn_t **b = agent_bucket(c->console, c->agent);
    c->agent_next = *b;
    *b = c;
    c->indexed = true;
}

static void agent_index_remove(conn_t *c) {
    if (!c->indexed) return;
    for (conn_t **p = agent_bucket(c->console, c->agent); *p; p = &(*p)->agent_next)
        if (*p == c) {
            *p = c->agent_next;
            break;
        }
    c->indexed = false;
}

void conn_follow(conn_t *c, int slot, const char *debtor) {
    if (!c->open[slot][0]) c->console->following++;
    snprintf(c->open[slot], sizeof c->open[slot], "%s", debtor);
}

void conn_unfollow(conn_t *c, const char *debtor) {
    for (int i = 0; i < CONSOLE_OPEN_MAX; i++)
        if (c->open[i][0] && strcmp(c->open[i], debtor) == 0) {
            c->open[i][0] = 0;
            c->console->following--;
        }
}

void conn_unref(conn_t *c) {
    if (--c->refs > 0) return;
    hilo_console_t *k = c->console;
    for (int i = 0; i < CONSOLE_OPEN_MAX; i++)
        if (c->open[i][0]) k->following--;
    agent_index_remove(c);
    if (c->prev) c->prev->next = c->next; else k->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
}

bool conn_alive(const conn_t *c) { return c && c->ws && c->state != CONN_CLOSING && !c->console->ctx->closing; }

void conn_send(conn_t *c, json_t *msg) {
    if (conn_alive(c) || (c->ws && c->state == CONN_CLOSING)) {
        char *s = json_dumps(msg, JSON_COMPACT);
        if (s) hilo_ws_send(c->ws, s, strlen(s));
        free(s);
    }
    json_decref(msg);
}

void conn_error(conn_t *c, json_t *rid, const char *code, const char *text) {
    json_t *m = json_pack("{s:s,s:s,s:s}", "t", "error", "code", code, "text", text ? text : code);
    if (rid) json_object_set(m, "rid", rid);
    conn_send(c, m);
}

void conn_ok(conn_t *c, json_t *rid, json_t *extra) {
    json_t *m = json_pack("{s:s}", "t", "ok");
    if (rid) json_object_set(m, "rid", rid);
    if (extra) {
        json_object_update(m, extra);
        json_decref(extra);
    }
    conn_send(c, m);
}

void conn_close(conn_t *c, int code, const char *reason) {
    if (!c->ws || c->state == CONN_CLOSING) return;
    c->state = CONN_CLOSING;
    hilo_ws_close(c->ws, code, reason);
}

static bool ws_accept(const char *origin, void *arg) { return console_origin_allowed(arg, origin); }

static void *ws_open(hilo_ws_t *ws, const char *token, const char *peer, void *arg) {
    hilo_console_t *k = arg;
    conn_t *c = hilo_xcalloc(1, sizeof *c);
    c->console = k;
    c->ws = ws;
    c->refs = 1;
    c->opened_ms = c->last_rx_ms = c->tokens_ms = hilo_now_ms();
    c->tokens = k->cfg->console_rate_burst;
    c->next = k->conns;
    if (k->conns) k->conns->prev = c;
    k->conns = c;
    k->nconns++;
    hilo_log_debug("console", "event=ws_open peer=%s", peer);
    if (!*token) {
        conn_error(c, NULL, "unauthorized", "a session token is required (?token=)");
        conn_close(c, 4401, "unauthorized");
    } else {
        c->state = CONN_AUTHING;
        console_auth_connect(c, token);
    }
    return c;
}

static void ws_closed(void *conn) {
    conn_t *c = conn;
    c->console->nconns--;
    c->ws = NULL;
    c->state = CONN_CLOSING;
    conn_unref(c);
}

void console_ready(conn_t *c) {
    hilo_console_t *k = c->console;
    c->state = CONN_READY;
    if (!c->indexed) agent_index_add(c);
    json_t *limits = json_pack("{s:I,s:I,s:I,s:I}", "max_message", (json_int_t)k->cfg->console_max_message,
                               "rate_per_s", (json_int_t)k->cfg->console_rate_per_s, "ping_ms", (json_int_t)PING_MS,
                               "offer_timeout_ms", (json_int_t)k->cfg->console_offer_timeout_ms);
    conn_send(c, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:s}", "t", "hello", "agent", c->agent, "name", c->name,
                           "role", c->supervisor ? "supervisor" : "agent", "expires_ms",
                           (json_int_t)c->session_exp_ms, "now", (json_int_t)hilo_now_ms(), "limits", limits,
                           "router", k->cfg->instance));
    /* Presence now, so routing sees the agent at once. */
    c->seen_ms = hilo_now_ms();
    hilo_store_command(k->ctx->store, NULL, NULL, "ZADD hilo:agents:seen %lld %s", (long long)c->seen_ms, c->agent);
    hilo_store_command(k->ctx->store, NULL, NULL, "HSETNX hilo:agent:%s:live state away", c->agent);
    console_send_agent(c);
}

/* Token bucket: rate_per_s with a burst; a client that keeps flooding is disconnected
 * (ws_message). The bucket refills continuously: fractions of a token carry over to the next
 * message. */
bool console_rate_take(double *tokens, int64_t *tokens_ms, int64_t now_ms, long rate_per_s, long burst) {
    *tokens += (double)(now_ms - *tokens_ms) * (double)rate_per_s / 1000.0;
    if (*tokens > burst) *tokens = (double)burst;
    *tokens_ms = now_ms;
    if (*tokens < 1) return false;
    *tokens -= 1;
    return true;
}

static bool rate_ok(conn_t *c) {
    const hilo_router_config_t *cfg = c->console->cfg;
    return console_rate_take(&c->tokens, &c->tokens_ms, hilo_now_ms(), cfg->console_rate_per_s,
                             cfg->console_rate_burst);
}

static void ws_message(void *conn, const char *data, size_t len) {
    conn_t *c = conn;
    if (c->state == CONN_CLOSING) return;
    c->last_rx_ms = hilo_now_ms();
    if (!rate_ok(c)) {
        if (++c->rejected > 100) {
            conn_close(c, 4429, "rate limit");
            return;
        }
        conn_error(c, NULL, "rate_limited", "too many messages; slow down");
        return;
    }
    json_error_t jerr;
    json_t *m = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *t = jstr(m, "t");
    json_t *rid = json_object_get(m, "rid"); /* (NULL unless m is an object with one) */
    if (!m || !json_is_object(m) || !t) {
        conn_error(c, rid, "bad_request", "a JSON object with a string \"t\" is expected");
        json_decref(m);
        return;
    }
    if (c->state != CONN_READY) {
        if (strcmp(t, "pong") != 0) conn_error(c, rid, "not_ready", "authentication in progress");
        json_decref(m);
        return;
    }
    const char *debtor = jstr(m, "debtor");
    bool needs_debtor = strcmp(t, "open") == 0 || strcmp(t, "unfollow") == 0 || strcmp(t, "accept") == 0 ||
                        strcmp(t, "call") == 0 ||
                        strcmp(t, "decline") == 0 || strcmp(t, "reply") == 0 || strcmp(t, "note") == 0 ||
                        strcmp(t, "transfer") == 0 || strcmp(t, "wrapup") == 0 || strcmp(t, "close") == 0 ||
                        strcmp(t, "read") == 0 || strcmp(t, "snooze") == 0 || strcmp(t, "lift_hold") == 0 ||
                        strcmp(t, "verify") == 0 || strcmp(t, "payment_link") == 0 ||
                        strcmp(t, "promise_cancel") == 0 || strcmp(t, "promise_edit") == 0 || strcmp(t, "plan") == 0;
    if (needs_debtor && !console_debtor_ok(debtor)) {
        conn_error(c, rid, "bad_request", "\"debtor\" must be a debtor id");
    } else if (strcmp(t, "ping") == 0) {
        conn_send(c, json_pack("{s:s,s:I}", "t", "pong", "now", (json_int_t)hilo_now_ms()));
    } else if (strcmp(t, "pong") == 0) {
        /* last_rx_ms is enough */
    } else if (strcmp(t, "sync") == 0) {
        console_send_agent(c);
        for (int i = 0; i < CONSOLE_OPEN_MAX; i++)
            if (c->open[i][0]) console_send_conv(c, c->open[i]);
    } else if (strcmp(t, "logout") == 0) {
        console_auth_logout(c, rid);
    } else if (strcmp(t, "state") == 0) {
        json_t *a = json_pack("{s:O}", "state", json_object_get(m, "state") ? json_object_get(m, "state") : json_null());
        if (jstr(m, "agent")) json_object_set(a, "agent", json_object_get(m, "agent"));
        console_op(c, rid, "state", "", a);
        json_decref(a);
    } else if (strcmp(t, "accept") == 0 || strcmp(t, "decline") == 0 || strcmp(t, "close") == 0) {
        /* Whether a caller could be put through (agent_ops.lua accept): the router's word,
         * whatever the browser sent under that name. */
        json_object_set_new(m, "call_link", json_boolean(strcmp(t, "accept") == 0 && hilo_calls_can_connect(c->console->ctx)));
        console_op(c, rid, t, debtor, m);
    } else if (strcmp(t, "transfer") == 0 || strcmp(t, "wrapup") == 0) {
        /* The router works these out from the debtor's zone (routing.c). */
        json_object_del(m, "due_ms");
        json_object_del(m, "callback_tz");
        console_op(c, rid, t, debtor, m);
    } else if (strcmp(t, "open") == 0) {
        console_open_conv(c, rid, debtor);
    } else if (strcmp(t, "unfollow") == 0) {
        conn_unfollow(c, debtor);
        conn_ok(c, rid, NULL);
    } else if (strcmp(t, "call") == 0) {
        console_call(c, rid, debtor);
    } else if (strcmp(t, "reply") == 0) {
        console_reply(c, rid, debtor, jstr(m, "channel"), jstr(m, "text"), json_is_true(json_object_get(m, "wait")));
    } else if (strcmp(t, "note") == 0) {
        console_note(c, rid, debtor, jstr(m, "text"));
    } else if (strcmp(t, "read") == 0) {
        console_read(c, rid, debtor, json_object_get(m, "upto"));
    } else if (strcmp(t, "payment_link") == 0) {
        console_payment_link(c, rid, debtor, json_object_get(m, "amount_cents"));
    } else if (strcmp(t, "verify") == 0) {
        console_verify(c, rid, debtor, jstr(m, "digits"));
    } else if (strcmp(t, "promise_cancel") == 0 || strcmp(t, "promise_edit") == 0) {
        json_object_del(m, "due_ms"); /* the router works it out from the debtor's zone (routing.c) */
        console_op(c, rid, t, debtor, m);
    } else if (strcmp(t, "plan") == 0) {
        console_plan(c, rid, debtor, m);
    } else if (strcmp(t, "lift_hold") == 0) {
        console_op(c, rid, t, debtor, m); /* supervisors only: agent_ops.lua decides */
    } else if (strcmp(t, "snooze") == 0) {
        console_snooze(c, rid, debtor, json_object_get(m, "minutes"));
    } else if (strcmp(t, "closed") == 0) {
        console_closed_list(c, rid);
    } else if (strcmp(t, "floor") == 0) {
        if (!c->supervisor) {
            conn_error(c, rid, "forbidden", "supervisors only");
        } else {
            c->floor = true;
            conn_ok(c, rid, NULL);
            console_floor_tick(c->console);
        }
    } else if (strcmp(t, "access_log") == 0) {
        json_t *lim = json_object_get(m, "limit");
        console_access_read(c, rid, debtor, jstr(m, "agent"), json_is_integer(lim) ? json_integer_value(lim) : 0);
    } else if (strcmp(t, "strategies") == 0) {
        console_strategies_request(c, rid, m);
    } else if (strcmp(t, "report") == 0) {
        console_report_request(c, rid, m);
    } else if (strcmp(t, "find") == 0) {
        console_find(c, rid, jstr(m, "query"));
    } else if (strcmp(t, "search") == 0) {
        console_search(c, rid, jstr(m, "query"));
    } else if (strcmp(t, "detail") == 0) {
        console_drill_request(c, rid, m);
    } else if (strcmp(t, "agents") == 0) {
        if (!c->supervisor) conn_error(c, rid, "forbidden", "supervisors only");
        else console_agents_list(c, rid);
    } else if (console_admin_dispatch(c, rid, t, m)) {
        /* takeover.c answered it */
    } else {
        conn_error(c, rid, "unknown_type", "unknown message type");
    }
    json_decref(m);
}

/* --- the event stream: what changed, on any router ------------------------------------- */

/* The conversations of these debtors to every socket that has one of them open: one walk over
 * the sockets for the lot. */
static void push_followed(hilo_console_t *k, const char **debtors, size_t nd) {
    if (nd == 0) return;
    for (conn_t *c = k->conns; c; c = c->next) {
        if (c->state != CONN_READY || !c->ws) continue;
        for (int s = 0; s < CONSOLE_OPEN_MAX; s++) {
            if (!c->open[s][0]) continue;
            for (size_t j = 0; j < nd; j++)
                if (strcmp(c->open[s], debtors[j]) == 0) console_send_conv(c, debtors[j]);
        }
    }
}

/* The agent snapshot to every socket of that agent on this router (by-agent index). */
void console_send_agent_of(hilo_console_t *k, const char *agent) {
    for (conn_t *c = *agent_bucket(k, agent); c; c = c->agent_next)
        if (c->state == CONN_READY && c->ws && strcmp(c->agent, agent) == 0) console_send_agent(c);
}

void console_events_apply(hilo_console_t *k, json_t *entries) {
    /* entries: [[id, [field, value, ...]], ...]. Agents are reached through the by-agent
     * index; the debtors of the whole read are matched against followed conversations in one
     * walk over the sockets; a logout (rare) walks them too. */
    size_t i, nd = 0;
    json_t *e;
    const char **debtors = hilo_xmalloc(sizeof *debtors * (json_array_size(entries) + 1));
    json_t *fields = json_array();
    json_array_foreach(entries, i, e) {
        const char *id = json_string_value(json_array_get(e, 0));
        json_t *f = res_hash(json_array_get(e, 1));
        json_array_append_new(fields, f);
        const char *kind = jstr(f, "k"), *a = jstr(f, "a"), *d = jstr(f, "d");
        if (id) snprintf(k->events_id, sizeof k->events_id, "%s", id);
        if (kind) console_admin_event(k, kind, f); /* taken, whisper (takeover.c) */
        if (kind && strcmp(kind, "logout") == 0) {
            for (conn_t *c = k->conns; c; c = c->next) {
                if (c->state != CONN_READY || !c->ws || c->logging_out || !a || strcmp(c->session, a) != 0)
                    continue;
                conn_send(c, json_pack("{s:s,s:s}", "t", "logged_out", "reason", "session revoked"));
                conn_close(c, 4401, "logged out");
            }
            continue;
        }
        if (kind && strcmp(kind, "revoke") == 0) {
            /* All of an agent's sessions were revoked (password or role changed, account
             * disabled, `hilo agent logout`): close every socket of that agent here. */
            for (conn_t *c = a ? *agent_bucket(k, a) : NULL, *next; c; c = next) {
                next = c->agent_next;
                if (c->state != CONN_READY || !c->ws || strcmp(c->agent, a) != 0) continue;
                hilo_log_info("console", "event=sessions_revoked agent=%s reason=%s", c->agent,
                              d && *d ? hilo_log_value(d) : "revoked");
                conn_send(c, json_pack("{s:s,s:s}", "t", "logged_out", "reason",
                                       d && *d ? d : "session revoked"));
                conn_close(c, 4401, "session revoked");
            }
            /* Out of routing at once (every router does it on this event; the second finds
             * nothing left to do), unless the agent has signed in again meanwhile. */
            if (a && console_agent_id_ok(a)) console_agent_leave(k, NULL, a, "", "revoked");
            continue;
        }
        if (a && *a) console_send_agent_of(k, a);
        /* Into a person's queue (the engine's escalation, a transfer, a reopen): the debtor
         * hears when nobody can answer yet (system_msg.c; every router reads this, one says it). */
        if (d && *d && kind && (strcmp(kind, "escalation") == 0 || strcmp(kind, "queue") == 0))
            console_system_msg(k, d, HILO_MSG_WAITING, NULL);
        if (d && *d) {
            size_t j = 0;
            while (j < nd && strcmp(debtors[j], d) != 0) j++;
            if (j == nd) debtors[nd++] = d;
        }
    }
    push_followed(k, debtors, nd);
    free(debtors);
    json_decref(fields); /* the debtor strings lived in these */
}

/* The event stream is read with a blocking XREAD on a Redis connection of its own
 * (events_store), so a change reaches the sockets as soon as it is written, not on the next
 * tick; the read is sent again as soon as it answers, and by the tick while that connection is
 * down. The block is kept well under [redis] timeout_ms, past which the connection's watchdog
 * would take the silence for a dead Redis. */
static void read_events(hilo_console_t *k);

static void on_events(redisReply *reply, void *arg) {
    hilo_console_t *k = arg;
    k->events_inflight = false;
    if (k->closing || k->ctx->closing || !reply) return;
    json_t *res = console_reply_json(reply);
    if (json_is_array(res)) { /* nil: nothing new within the block */
        json_t *entries = json_array_get(json_array_get(res, 0), 1);
        if (entries) console_events_apply(k, entries);
    } else if (json_is_object(res) && json_object_get(res, "error")) {
        hilo_log_warn("console", "event=events_read_failed reply=\"%s\"", jstr(res, "error"));
        json_decref(res);
        return; /* the tick retries */
    }
    json_decref(res);
    read_events(k);
}

/* Where the first read starts: after the stream's last entry ("0-0" when it has none), so
 * that a router reads the events written after it started — by Redis's clock, which writes
 * the ids, not its own. */
static void on_events_start(redisReply *reply, void *arg) {
    hilo_console_t *k = arg;
    k->events_inflight = false;
    if (k->closing || k->ctx->closing || !reply || reply->type != REDIS_REPLY_ARRAY) return; /* the tick retries */
    const redisReply *last = reply->elements ? reply->element[0] : NULL;
    if (last && last->type == REDIS_REPLY_ARRAY && last->elements >= 1 && last->element[0]->type == REDIS_REPLY_STRING)
        snprintf(k->events_id, sizeof k->events_id, "%s", last->element[0]->str);
    else
        snprintf(k->events_id, sizeof k->events_id, "0-0");
    read_events(k);
}

static void read_events(hilo_console_t *k) {
    if (k->events_inflight || k->closing || !hilo_store_ready(k->events_store)) return;
    if (!k->events_id[0]) {
        const char *argv[] = {"XREVRANGE", "hilo:console:events", "+", "-", "COUNT", "1"};
        if (hilo_store_argv(k->events_store, on_events_start, k, 6, argv, NULL) == HILO_OK) k->events_inflight = true;
        return;
    }
    long block = k->cfg->redis_timeout_ms / 3;
    if (block > 1000) block = 1000;
    char block_s[24];
    snprintf(block_s, sizeof block_s, "%ld", block);
    const char *argv[] = {"XREAD", "BLOCK", block_s, "COUNT", "2000", "STREAMS", "hilo:console:events", k->events_id};
    if (hilo_store_argv(k->events_store, on_events, k, 8, argv, NULL) == HILO_OK) k->events_inflight = true;
}

/* --- conversation activity: hilo:convs scores move on every inbound and outbound ------- */

#define ACTIVITY_LIMIT 500 /* entries per read */

static bool activity_tied(const hilo_console_t *k, const char *d) {
    for (size_t i = 0; i < k->activity_ntied; i++)
        if (strcmp(k->activity_tied[i], d) == 0) return true;
    return false;
}

static void activity_untie(hilo_console_t *k) {
    for (size_t i = 0; i < k->activity_ntied; i++) free(k->activity_tied[i]);
    free(k->activity_tied);
    k->activity_tied = NULL;
    k->activity_ntied = 0;
}

/* The read starts at the highest score seen, inclusive: a debtor whose message commits in
 * the same millisecond as one already read is still found. The debtors already seen at that
 * score are skipped. */
static void on_activity(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    k->activity_inflight = false;
    if (n < 1 || !json_is_array(res[0])) return;
    size_t i, m = json_array_size(res[0]) / 2;
    const char **changed = hilo_xmalloc(sizeof *changed * (m + 1));
    int nchanged = 0;
    int64_t top = k->activity_since_ms;
    for (i = 0; i + 1 < json_array_size(res[0]); i += 2) {
        const char *d = json_string_value(json_array_get(res[0], i));
        const char *score = json_string_value(json_array_get(res[0], i + 1));
        int64_t ms = score ? strtoll(score, NULL, 10) : 0;
        if (ms > top) top = ms;
        if (!d || !console_debtor_ok(d)) continue;
        if (ms == k->activity_since_ms && activity_tied(k, d)) continue;
        changed[nchanged++] = d;
    }
    /* The next read's tie set: the debtors at the new top score (ascending order puts them
     * last). A full page that held nothing new is a tie longer than a page: move past it. */
    if (top != k->activity_since_ms) activity_untie(k);
    if (nchanged == 0 && m >= ACTIVITY_LIMIT) {
        hilo_log_warn("console", "event=activity_tie_skipped score=%lld entries=%zu", (long long)top, m);
        activity_untie(k);
        top++;
    } else {
        for (i = 0; i + 1 < json_array_size(res[0]); i += 2) {
            const char *d = json_string_value(json_array_get(res[0], i));
            const char *score = json_string_value(json_array_get(res[0], i + 1));
            if (!d || !score || strtoll(score, NULL, 10) != top || activity_tied(k, d)) continue;
            k->activity_tied = hilo_xrealloc(k->activity_tied, sizeof *k->activity_tied * (k->activity_ntied + 1));
            k->activity_tied[k->activity_ntied++] = hilo_xstrdup(d);
        }
    }
    k->activity_since_ms = top;
    push_followed(k, changed, (size_t)nchanged);
    free(changed);
}

void hilo_console_closed_written(hilo_console_t *k, const char **debtors, int n) {
    if (k && !k->closing) console_reopen(k, debtors, n);
}

/* The scores are Redis's clock (inbound.c, outbound_record.c), so the first read after a
 * follow starts from Redis's TIME, less ACTIVITY_START_MARGIN_MS: a message committed between
 * the snapshot the open sent and this TIME is not missed (one pushed twice is harmless). */
#define ACTIVITY_START_MARGIN_MS 1000

static void on_activity_start(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    k->activity_inflight = false;
    if (n < 1 || !json_is_array(res[0]) || json_array_size(res[0]) != 2) return; /* tried again next tick */
    const char *s = json_string_value(json_array_get(res[0], 0)), *us = json_string_value(json_array_get(res[0], 1));
    if (!s || !us) return;
    k->activity_since_ms = strtoll(s, NULL, 10) * 1000 + strtoll(us, NULL, 10) / 1000 - ACTIVITY_START_MARGIN_MS;
    activity_untie(k);
}

static void poll_activity(hilo_console_t *k) {
    if (k->activity_inflight) return;
    if (k->following == 0) {
        /* Nobody here follows a conversation: nothing to push (a conversation opened later is
         * sent whole when it is opened). The next read starts from Redis's time then. */
        k->activity_since_ms = -1;
        activity_untie(k);
        return;
    }
    k->activity_inflight = true;
    if (k->activity_since_ms < 0) {
        batch_t *b = batch_new(k, NULL, on_activity_start, NULL, NULL);
        batch_cmd(b, "TIME");
        batch_run(b);
        return;
    }
    batch_t *b = batch_new(k, NULL, on_activity, NULL, NULL);
    batch_cmd(b, "ZRANGEBYSCORE hilo:convs %lld +inf WITHSCORES LIMIT 0 %lld", (long long)k->activity_since_ms,
              (long long)ACTIVITY_LIMIT);
    batch_run(b);
}

/* --- the tick ------------------------------------------------------------------------- */

/* Presence: every agent connected here gets its hilo:agents:seen score refreshed once per
 * period (a quarter of the grace period, at most 5 s). The sockets are walked at most once a
 * second (or once a period when that is shorter), and the refreshes go out in ZADDs of at most
 * PRESENCE_CHUNK members, so that 20,000 sockets never make one long Redis command.
 * The grace-period sweep in route_offer.lua takes agents whose score gets old. */
#define PRESENCE_CHUNK 2000

static void presence(hilo_console_t *k, int64_t now) {
    long period = k->cfg->console_grace_ms / 4;
    if (period > 5000) period = 5000;
    if (now - k->presence_ms < (period < 1000 ? period : 1000)) return;
    k->presence_ms = now;
    int64_t cutoff = now - period;
    const char **argv = hilo_xmalloc(sizeof *argv * (2 + 2 * PRESENCE_CHUNK));
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)now);
    argv[0] = "ZADD";
    argv[1] = "hilo:agents:seen";
    int argc = 2;
    for (conn_t *c = k->conns; c; c = c->next) {
        if (c->state != CONN_READY || !c->ws || c->seen_ms > cutoff) continue;
        c->seen_ms = now;
        argv[argc++] = ms;
        argv[argc++] = c->agent;
        if (argc == 2 + 2 * PRESENCE_CHUNK) {
            hilo_store_argv(k->ctx->store, NULL, NULL, argc, argv, NULL);
            argc = 2;
        }
    }
    if (argc > 2) hilo_store_argv(k->ctx->store, NULL, NULL, argc, argv, NULL);
    free(argv);
}

static void on_tick(uv_timer_t *t) {
    hilo_console_t *k = t->data;
    if (k->ctx->closing) {
        uv_timer_stop(t); /* the router is stopping: let its loop drain */
        return;
    }
    int64_t now = hilo_now_ms();
    k->tick_n++;
    bool ready = hilo_store_ready(k->ctx->store);
    if (ready && !k->scripts_loaded) {
        /* Load ours after every (re)connect; a NOSCRIPT later (SCRIPT FLUSH) reloads too. */
        for (int i = 0; i < SCRIPT_N; i++) {
            const char *argv[3] = {"SCRIPT", "LOAD", k->scripts[i].body};
            hilo_store_argv(k->ctx->store, NULL, NULL, 3, argv, NULL);
        }
    }
    if (ready && !k->scripts_loaded && k->tick_n > 1) {
        /* Redis came back (restart, failover): everything the consoles show is re-read. */
        for (conn_t *c = k->conns; c; c = c->next) {
            if (c->state != CONN_READY || !c->ws) continue;
            c->dirty_agent = true;
            for (int i = 0; i < CONSOLE_OPEN_MAX; i++)
                if (c->open[i][0]) console_send_conv(c, c->open[i]);
        }
    }
    k->scripts_loaded = ready;
    if (ready) {
        if (k->tick_n % (k->cfg->console_route_ms / TICK_MS) == 0) console_route_tick(k);
        console_reopen_retry(k);
        console_reopen_sweep(k);
        read_events(k);
        poll_activity(k);
        if (k->tick_n % (FLOOR_MS / TICK_MS) == 0) console_floor_tick(k);
        if (k->tick_n % (FLOOR_MS / TICK_MS) == FLOOR_MS / TICK_MS / 4) console_floor_gauges_tick(k);
        /* Half a period after the floor: the two reads do not land on the same tick. */
        if (k->tick_n % (STRATEGIES_MS / TICK_MS) == STRATEGIES_MS / TICK_MS / 2) console_strategies_tick(k);
        if (k->tick_n % (k->cfg->reports_rollup_s * 1000 / TICK_MS) == 0) console_reports_tick(k);
    }
    if (k->tick_n % (CONN_SWEEP_MS / TICK_MS) != 0) return;
    if (ready) presence(k, now);
    /* Each socket's full snapshot every RESYNC_MS, or less often when that would make more
     * than RESYNC_MAX_PER_S snapshots a second on this router. */
    int64_t resync_ms = k->nconns * 1000 / RESYNC_MAX_PER_S;
    if (resync_ms < RESYNC_MS) resync_ms = RESYNC_MS;
    for (conn_t *c = k->conns, *next; c; c = next) {
        next = c->next;
        if (!c->ws || c->state == CONN_CLOSING) continue;
        if (c->state != CONN_READY) {
            if (now - c->opened_ms > AUTH_TIMEOUT_MS) conn_close(c, 4401, "authentication timeout");
            continue;
        }
        if (now > c->session_exp_ms) {
            console_agent_leave(k, NULL, c->agent, c->session, "session_end");
            conn_send(c, json_pack("{s:s,s:s}", "t", "logged_out", "reason", "session expired"));
            conn_close(c, 4401, "session expired");
            continue;
        }
        if (now - c->last_rx_ms > IDLE_MS) {
            conn_close(c, 4408, "idle");
            continue;
        }
        if (now - c->last_rx_ms > PING_MS && now - c->last_ping_ms > PING_MS) {
            c->last_ping_ms = now;
            conn_send(c, json_pack("{s:s,s:I}", "t", "ping", "now", (json_int_t)now));
        }
        /* Each socket's own 10 s period (from its connect time) spreads the resyncs. */
        if (ready && (c->dirty_agent || now - c->snap_ms > resync_ms)) console_send_agent(c);
    }
}

/* GET /api/console-stats: this router's sockets (for operators and the benchmark). */
static void on_stats(hilo_http_reply_t *reply, void *arg) {
    hilo_console_t *k = arg;
    long ready = 0, floor = 0;
    size_t queued = 0;
    for (conn_t *c = k->conns; c; c = c->next) {
        if (c->state == CONN_READY && c->ws) {
            ready++;
            queued += hilo_ws_queued(c->ws);
        }
        floor += c->floor;
    }
    reply->content_type = "application/json";
    hilo_buf_printf(&reply->body, "{\"connections\":%ld,\"authenticated\":%ld,\"floor\":%ld,\"queued_bytes\":%zu}\n",
                    k->nconns, ready, floor, queued);
}

/* --- life cycle ----------------------------------------------------------------------- */

static void script_init(console_script_t *s, const char *body) {
    unsigned char md[SHA_DIGEST_LENGTH];
    s->body = body;
    SHA1((const unsigned char *)body, strlen(body), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

const hilo_compliance_t *hilo_console_gate(const hilo_console_t *k) { return k->gate; }

int hilo_console_reload_gate(hilo_console_t *k, char *err, size_t errlen) {
    char path[1024];
    hilo_compliance_t *gate = hilo_compliance_new(
        hilo_router_config_path(k->cfg, k->cfg->compliance_dir, path, sizeof path), NULL, err, errlen);
    if (!gate) return -1;
    /* Verdicts are values, computed inside one callback: nothing outlives the old gate. */
    hilo_compliance_destroy(&k->gate);
    k->gate = gate;
    k->gate_err[0] = '\0';
    return 0;
}

hilo_console_t *hilo_console_new(hilo_router_ctx_t *ctx, hilo_http_t *http, char *err, size_t errlen) {
    hilo_console_t *k = hilo_xcalloc(1, sizeof *k);
    k->ctx = ctx;
    k->cfg = ctx->cfg;
    char path[1024];
    k->gate = hilo_compliance_new(hilo_router_config_path(k->cfg, k->cfg->compliance_dir, path, sizeof path), NULL,
                                  k->gate_err, sizeof k->gate_err);
    if (!k->gate)
        hilo_log_warn("console", "event=gate_unavailable reason=\"%s\" effect=\"agent replies are blocked\"",
                      k->gate_err);
    k->tz = hilo_tzdb_new(NULL);
    script_init(&k->scripts[SCRIPT_ROUTE], hilo_script_route_offer);
    script_init(&k->scripts[SCRIPT_OPS], hilo_script_agent_ops);
    script_init(&k->scripts[SCRIPT_FLOOR], hilo_script_floor_stats);
    script_init(&k->scripts[SCRIPT_REOPEN], hilo_script_reopen);
    script_init(&k->scripts[SCRIPT_SLA], hilo_script_sla_mark);
    script_init(&k->scripts[SCRIPT_GAUGES], hilo_script_floor_gauges);
    script_init(&k->scripts[SCRIPT_VERIFY], hilo_script_verify_agent);
    char tzerr[128];
    /* (checked when the config was read: a zone of this system's tzdata) */
    k->day_tz = hilo_tzdb_get(k->tz, k->cfg->sla.zone, tzerr, sizeof tzerr);
    k->events_id[0] = '\0'; /* (after the stream's last entry, read_events) */
    k->activity_since_ms = -1; /* (Redis's TIME when someone first follows) */
    static char assets[1024];
    hilo_router_config_path(k->cfg, k->cfg->console_assets_dir, assets, sizeof assets);
    char index[1100];
    snprintf(index, sizeof index, "%s/index.html", assets);
    if (access(index, R_OK) != 0)
        hilo_log_warn("console", "event=assets_missing path=%s effect=\"the console page is not served\"", index);
    hilo_http_static(http, "/console/", assets);
    console_auth_install(k, http);
    hilo_ws_handlers_t h = {ws_accept, ws_open, ws_message, ws_closed, k, (size_t)k->cfg->console_max_message,
                            8u << 20};
    hilo_http_ws(http, "/ws", &h);
    hilo_http_route(http, "/api/console-stats", on_stats, k);
    k->events_store = hilo_store_new(ctx->loop, k->cfg, &k->events_metrics, NULL, NULL);
    hilo_store_start(k->events_store);
    uv_timer_init(ctx->loop, &k->tick);
    k->tick.data = k;
    uv_timer_start(&k->tick, on_tick, TICK_MS, TICK_MS);
    hilo_log_info("console", "event=ready assets=%s origins=\"%s\"", assets, k->cfg->console_allowed_origins);
    (void)err;
    (void)errlen;
    return k;
}

static void console_free(hilo_console_t *k) {
    /* Connections still referenced by nothing but their socket are gone with lws. */
    while (k->conns) {
        conn_t *c = k->conns;
        k->conns = c->next;
        free(c);
    }
    hilo_compliance_destroy(&k->gate);
    hilo_tzdb_destroy(&k->tz);
    hilo_buf_free(&k->floor_msg);
    console_floor_gauges_free(k);
    hilo_buf_free(&k->voice_next);
    hilo_buf_free(&k->voice_agents);
    activity_untie(k);
    console_reopen_forget(k);
    free(k);
}

static void on_tick_closed(uv_handle_t *h) {
    hilo_console_t *k = h->data;
    k->tick_closed = true;
    if (k->works == 0) console_free(k); /* else the last login check in the thread pool frees */
}

void console_work_done(hilo_console_t *k) {
    if (--k->works == 0 && k->tick_closed) console_free(k);
}

void hilo_console_stop(hilo_console_t *k) {
    k->closing = true;
    hilo_store_destroy(&k->events_store); /* a pending read is answered NULL: on_events sees closing */
}

void hilo_console_destroy(hilo_console_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_console_t *k = *self_p;
    hilo_console_stop(k);
    console_auth_stop(k);
    uv_timer_stop(&k->tick);
    uv_close((uv_handle_t *)&k->tick, on_tick_closed);
    *self_p = NULL;
}
