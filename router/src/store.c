/* store.c — async Redis with reconnect, script loading and a silence watchdog. */
#include "store.h"

#include <hiredis/async.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/log.h"
#include "hilo/scripts.h"
#include "redis_uv.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 2000
#define WATCHDOG_MS 250
#define IDLE_PING_MS 1000

/* One command in flight. Replies come back in order, so the oldest is the list head. */
typedef struct req {
    hilo_store_reply_fn fn; /* caller's callback, or NULL */
    void *arg;
    int64_t sent_us;        /* for latency and the watchdog */
    hilo_store_t *store;
    struct req *prev, *next;
} req_t;

struct hilo_store {
    uv_loop_t *loop;
    const hilo_router_config_t *cfg;
    hilo_metrics_t *metrics;
    hilo_store_state_fn on_state;
    void *state_arg;
    hilo_store_gate_fn gate;          /* runs before ready on every connection (NULL = none) */
    void *gate_arg;
    redisAsyncContext *ac;            /* NULL while disconnected */
    bool ready;                       /* connected and every script loaded */
    bool cluster;                     /* the server is in cluster mode (CLUSTER KEYSLOT answered) */
    bool ever_ready;                  /* to count reconnects */
    bool closing;                     /* destroy in progress: no reconnect */
    int scripts_pending;              /* SCRIPT LOAD replies still expected */
    char sha[HILO_SCRIPT_COUNT][41];  /* loaded script SHAs */
    req_t *head, *tail;               /* commands in flight, oldest first */
    long npending;
    uv_timer_t reconnect_timer;
    uv_timer_t watchdog;
    long backoff_ms;
    int64_t last_activity_us;         /* last command sent or reply received */
    int closing_handles;              /* timers still closing during destroy */
};

static const char *script_source(hilo_script_t s) {
    switch (s) {
    case HILO_SCRIPT_COMMIT_INBOUND: return hilo_script_commit_inbound;
    case HILO_SCRIPT_COMMIT_OUTBOUND: return hilo_script_commit_outbound;
    case HILO_SCRIPT_OUTBOX_INDEX: return hilo_script_outbox_index;
    case HILO_SCRIPT_OUTBOUND_HANDOFF: return hilo_script_outbound_handoff;
    case HILO_SCRIPT_SETTLE_OUTBOUND: return hilo_script_settle_outbound;
    case HILO_SCRIPT_ENGINE_APPLY: return hilo_script_engine_apply;
    case HILO_SCRIPT_FREQ_CAP: return hilo_script_freq_cap;
    case HILO_SCRIPT_PROMISE_BREAK: return hilo_script_promise_break;
    case HILO_SCRIPT_TURN_CLAIM: return hilo_script_turn_claim;
    case HILO_SCRIPT_OUTBOX_MIGRATE: return hilo_script_outbox_migrate;
    case HILO_SCRIPT_STRATEGY_READ: return hilo_script_strategy_read;
    case HILO_SCRIPT_STRATEGY_SET: return hilo_script_strategy_set;
    case HILO_SCRIPT_PACING: return hilo_script_pacing;
    case HILO_SCRIPT_OPTIMIZER_CELL: return hilo_script_optimizer_cell;
    default: return NULL;
    }
}

static void connect_now(hilo_store_t *s);

static void set_ready(hilo_store_t *s, bool ready) {
    if (s->ready == ready) return;
    s->ready = ready;
    if (ready) {
        if (s->ever_ready) s->metrics->redis_reconnects++;
        s->ever_ready = true;
        s->backoff_ms = RECONNECT_MIN_MS;
        hilo_log_info("store", "event=redis_ready host=%s port=%d", s->cfg->redis_host, s->cfg->redis_port);
    }
    if (s->on_state) s->on_state(ready, s->state_arg);
}

static void on_reconnect_timer(uv_timer_t *t) {
    hilo_store_t *s = t->data;
    if (!s->ac && !s->closing) connect_now(s);
}

static void schedule_reconnect(hilo_store_t *s) {
    if (s->closing || uv_is_active((uv_handle_t *)&s->reconnect_timer)) return;
    uv_timer_start(&s->reconnect_timer, on_reconnect_timer, (uint64_t)s->backoff_ms, 0);
    s->backoff_ms = s->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : s->backoff_ms * 2;
}

static void unlink_req(hilo_store_t *s, req_t *r) {
    if (r->prev) r->prev->next = r->next; else s->head = r->next;
    if (r->next) r->next->prev = r->prev; else s->tail = r->prev;
    s->npending--;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    req_t *r = privdata;
    hilo_store_t *s = r->store;
    unlink_req(s, r);
    int64_t now = hilo_mono_us();
    s->last_activity_us = now;
    if (reply) hilo_histogram_observe(&s->metrics->redis_latency, (double)(now - r->sent_us) / 1e6);
    if (r->fn) r->fn(reply, r->arg);
    free(r);
}

static req_t *req_new(hilo_store_t *s, hilo_store_reply_fn fn, void *arg) {
    req_t *r = hilo_xcalloc(1, sizeof *r);
    r->fn = fn;
    r->arg = arg;
    r->store = s;
    r->sent_us = hilo_mono_us();
    return r;
}

/* Called once hiredis has taken the command: it is now in flight, oldest last. */
static void req_link(hilo_store_t *s, req_t *r) {
    r->prev = s->tail;
    if (s->tail) s->tail->next = r; else s->head = r;
    s->tail = r;
    s->npending++;
    s->last_activity_us = r->sent_us;
}

static int send_argv(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, int argc, const char **argv,
                     const size_t *argvlen) {
    req_t *r = req_new(s, fn, arg);
    if (redisAsyncCommandArgv(s->ac, on_reply, r, argc, argv, argvlen) != REDIS_OK) {
        free(r);
        return HILO_AGAIN;
    }
    req_link(s, r);
    return HILO_OK;
}

/* Like hilo_store_command, but also while the connection is still being set up. */
static int send_fmt(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, const char *fmt, va_list ap) {
    if (!s->ac) return HILO_AGAIN;
    req_t *r = req_new(s, fn, arg);
    if (redisvAsyncCommand(s->ac, on_reply, r, fmt, ap) != REDIS_OK) {
        free(r);
        return HILO_AGAIN;
    }
    req_link(s, r);
    return HILO_OK;
}

static int send_setup(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = send_fmt(s, fn, arg, fmt, ap);
    va_end(ap);
    return rc;
}

/* Drops the connection: pending callbacks get NULL, then the disconnect callback runs. */
static void drop(hilo_store_t *s, const char *why) {
    if (!s->ac) return;
    hilo_log_warn("store", "event=redis_drop reason=\"%s\" pending=%ld", why, s->npending);
    redisAsyncContext *ac = s->ac;
    s->ac = NULL;       /* first: on_disconnect then knows this context is already let go of */
    redisAsyncFree(ac); /* pending callbacks get NULL replies now (or after the current one) */
    set_ready(s, false);
    schedule_reconnect(s);
}

static bool is_known_sha(const hilo_store_t *s, const char *sha) {
    for (int i = 0; i < HILO_SCRIPT_COUNT; i++)
        if (memcmp(s->sha[i], sha, 40) == 0) return true;
    return false;
}

static void on_script_loaded(redisReply *reply, void *arg) {
    hilo_store_t *s = arg;
    if (!reply) return; /* connection gone: the reconnect loads them again */
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40 || !is_known_sha(s, reply->str)) {
        hilo_log_error("store", "event=script_load_failed reply=\"%s\"",
                       reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected type");
        drop(s, "script load failed");
        return;
    }
    if (--s->scripts_pending > 0) return;
    if (s->gate)
        s->gate(s, s->gate_arg);
    else
        set_ready(s, true);
}

static void on_setup_reply(redisReply *reply, void *arg) {
    hilo_store_t *s = arg;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        hilo_log_error("store", "event=redis_setup_failed reply=\"%s\"", reply->str);
        drop(s, "AUTH/SELECT refused");
    }
}

/* CLUSTER KEYSLOT answers a number on a Redis Cluster node and an error on a standalone server
 * (any ACL user of ours may run it: it is not @dangerous, INFO is). */
static void on_keyslot_reply(redisReply *reply, void *arg) {
    hilo_store_t *s = arg;
    if (!reply) return;
    bool cluster = reply->type == REDIS_REPLY_INTEGER;
    if (cluster != s->cluster)
        hilo_log_info("store", "event=redis_mode mode=%s", cluster ? "cluster" : "standalone");
    s->cluster = cluster;
}

static void on_auth_reply(redisReply *reply, void *arg) {
    hilo_store_t *s = arg;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        /* Wrong password, unknown or disabled ACL user: say which user, never the password. */
        hilo_log_error("store", "event=redis_auth_refused user=%s reply=\"%s\"",
                       *s->cfg->redis_user ? hilo_log_value(s->cfg->redis_user) : "default", reply->str);
        drop(s, "AUTH refused");
    }
}

static void on_connect(const redisAsyncContext *ac, int status) {
    hilo_store_t *s = ac->data;
    if (status != REDIS_OK) {
        hilo_log_warn("store", "event=redis_connect_failed host=%s port=%d err=\"%s\" retry_ms=%ld",
                      s->cfg->redis_host, s->cfg->redis_port, ac->errstr, s->backoff_ms);
        s->ac = NULL; /* hiredis frees it after this callback */
        schedule_reconnect(s);
        return;
    }
    /* AUTH and SELECT go first on the pipeline; the scripts are loaded on every connect
     * because a restarted Redis has forgotten them (EVALSHA would answer NOSCRIPT). */
    /* AUTH <user> <password>: an ACL user (Redis 6+; hiredis 0.14 has no helper for it, the
     * two-argument form is a plain command). */
    if (s->cfg->redis_password && *s->cfg->redis_password) {
        if (*s->cfg->redis_user)
            send_setup(s, on_auth_reply, s, "AUTH %s %s", s->cfg->redis_user, s->cfg->redis_password);
        else
            send_setup(s, on_auth_reply, s, "AUTH %s", s->cfg->redis_password);
    }
    if (s->cfg->redis_db) send_setup(s, on_setup_reply, s, "SELECT %ld", s->cfg->redis_db);
    send_setup(s, on_keyslot_reply, s, "CLUSTER KEYSLOT hilo"); /* answered before ready */
    s->scripts_pending = HILO_SCRIPT_COUNT;
    for (int i = 0; i < HILO_SCRIPT_COUNT; i++) {
        const char *src = script_source(i);
        const char *argv[] = {"SCRIPT", "LOAD", src};
        size_t lens[] = {6, 4, strlen(src)};
        send_argv(s, on_script_loaded, s, 3, argv, lens);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    hilo_store_t *s = ac->data;
    if (s->ac != ac) return; /* a context drop() already let go of */
    hilo_log_warn("store", "event=redis_disconnected err=\"%s\"", status == REDIS_OK ? "closed" : ac->errstr);
    s->ac = NULL;
    set_ready(s, false);
    schedule_reconnect(s);
}

static void connect_now(hilo_store_t *s) {
    redisAsyncContext *ac = hilo_redis_uv_connect(s->cfg->redis_host, s->cfg->redis_port);
    if (!ac || ac->err) {
        hilo_log_warn("store", "event=redis_connect_failed host=%s port=%d err=\"%s\" retry_ms=%ld",
                      s->cfg->redis_host, s->cfg->redis_port, ac ? ac->errstr : "out of memory", s->backoff_ms);
        if (ac) redisAsyncFree(ac);
        schedule_reconnect(s);
        return;
    }
    ac->data = s;
    hilo_redis_uv_attach(ac, s->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    s->ac = ac;
    s->last_activity_us = hilo_mono_us();
}

static void on_ping(redisReply *reply, void *arg) { (void)reply; (void)arg; }

/* Every WATCHDOG_MS: a command older than timeout_ms means Redis is silent (a stopped or
 * partitioned server keeps the TCP connection open): drop it so in-flight envelopes are
 * nacked and retried, and reconnect. When idle, a PING keeps the check meaningful. */
static void on_watchdog(uv_timer_t *t) {
    hilo_store_t *s = t->data;
    if (!s->ac) return;
    int64_t now = hilo_mono_us();
    int64_t oldest = s->head ? s->head->sent_us : s->last_activity_us;
    if (s->head && now - oldest > s->cfg->redis_timeout_ms * 1000) {
        s->metrics->redis_timeouts++;
        drop(s, "no reply within timeout_ms");
        return;
    }
    if (!s->head && now - s->last_activity_us > IDLE_PING_MS * 1000) send_setup(s, on_ping, NULL, "PING");
}

hilo_store_t *hilo_store_new(uv_loop_t *loop, const hilo_router_config_t *cfg, hilo_metrics_t *metrics,
                             hilo_store_state_fn on_state, void *state_arg) {
    hilo_store_t *s = hilo_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->cfg = cfg;
    s->metrics = metrics;
    s->on_state = on_state;
    s->state_arg = state_arg;
    s->backoff_ms = RECONNECT_MIN_MS;
    /* The SHAs are known before any connection: EVALSHA needs nothing from the server. */
    for (int i = 0; i < HILO_SCRIPT_COUNT; i++) {
        const char *src = script_source(i);
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)src, strlen(src), md);
        for (int k = 0; k < SHA_DIGEST_LENGTH; k++) snprintf(&s->sha[i][2 * k], 3, "%02x", md[k]);
    }
    uv_timer_init(loop, &s->reconnect_timer);
    s->reconnect_timer.data = s;
    uv_timer_init(loop, &s->watchdog);
    s->watchdog.data = s;
    return s;
}

void hilo_store_start(hilo_store_t *s) {
    uv_timer_start(&s->watchdog, on_watchdog, WATCHDOG_MS, WATCHDOG_MS);
    connect_now(s);
}

/* libuv runs close callbacks in no promised order: free on the last one. */
static void free_after_close(uv_handle_t *h) {
    hilo_store_t *s = h->data;
    if (--s->closing_handles == 0) free(s);
}

void hilo_store_destroy(hilo_store_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_store_t *s = *self_p;
    s->closing = true;
    s->on_state = NULL;
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        redisAsyncFree(ac);
    }
    uv_timer_stop(&s->reconnect_timer);
    uv_timer_stop(&s->watchdog);
    s->closing_handles = 2;
    uv_close((uv_handle_t *)&s->reconnect_timer, free_after_close);
    uv_close((uv_handle_t *)&s->watchdog, free_after_close);
    *self_p = NULL;
}

bool hilo_store_ready(const hilo_store_t *s) { return s->ready; }

bool hilo_store_cluster(const hilo_store_t *s) { return s->cluster; }

void hilo_store_reset(hilo_store_t *s, const char *why) { drop(s, why); }

const char *hilo_store_sha(const hilo_store_t *s, hilo_script_t script) { return s->sha[script]; }

long hilo_store_pending(const hilo_store_t *s) { return s->npending; }

int hilo_store_argv(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, int argc, const char **argv,
                    const size_t *argvlen) {
    if (!s->ready || !s->ac) return HILO_AGAIN;
    return send_argv(s, fn, arg, argc, argv, argvlen);
}

void hilo_store_set_gate(hilo_store_t *s, hilo_store_gate_fn fn, void *arg) {
    s->gate = fn;
    s->gate_arg = arg;
}

int hilo_store_gate_command(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = send_fmt(s, fn, arg, fmt, ap);
    va_end(ap);
    return rc;
}

int hilo_store_gate_argv(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, int argc, const char **argv,
                         const size_t *argvlen) {
    if (!s->ac) return HILO_AGAIN;
    return send_argv(s, fn, arg, argc, argv, argvlen);
}

void hilo_store_gate_passed(hilo_store_t *s) {
    if (s->ac) set_ready(s, true);
}

int hilo_store_command(hilo_store_t *s, hilo_store_reply_fn fn, void *arg, const char *fmt, ...) {
    if (!s->ready) return HILO_AGAIN;
    va_list ap;
    va_start(ap, fmt);
    int rc = send_fmt(s, fn, arg, fmt, ap);
    va_end(ap);
    return rc;
}
