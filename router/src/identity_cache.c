/* identity_cache.c — the address -> debtor cache and the Redis subscription that keeps it
 * true (the rules are in identity_cache.h). */
#include "identity_cache.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "identity_table.h"
#include "redis_uv.h"

#define INVALIDATE_CHANNEL "__redis__:invalidate"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct hilo_identity_cache {
    uv_loop_t *loop;
    const hilo_router_config_t *cfg;
    hilo_metrics_t *metrics;
    hilo_identity_table_t table;
    redisAsyncContext *ac; /* the subscription's connection; NULL while there is none */
    uv_timer_t retry;
    long backoff_ms;
    bool subscribed;       /* the subscription is confirmed on `ac` */
    bool live;             /* subscribed and the main connection ready: entries are used and added */
    bool store_ready;      /* the router's main connection is ready */
    uint64_t epoch;        /* changes with every invalidation and every change of `live` */
    bool closing;
};

static void connect_now(hilo_identity_cache_t *c);

/* Not live any more (or live again): nothing cached so far may be trusted. */
static void set_live(hilo_identity_cache_t *c, bool live) {
    if (c->live && !live) {
        c->metrics->identity_drops++;
        hilo_log_info("identity", "event=cache_off entries_dropped=%zu", c->table.count);
    }
    if (!c->live && live) hilo_log_info("identity", "event=cache_on");
    c->live = live;
    c->epoch++;
    hilo_identity_table_clear(&c->table);
}

static void on_retry(uv_timer_t *t) {
    hilo_identity_cache_t *c = t->data;
    if (!c->ac && !c->closing) connect_now(c);
}

static void schedule_reconnect(hilo_identity_cache_t *c) {
    if (c->closing) return;
    uv_timer_start(&c->retry, on_retry, (uint64_t)c->backoff_ms, 0);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Lets go of the connection (its callbacks then see NULL replies) and comes back later. */
static void drop(hilo_identity_cache_t *c, const char *why) {
    set_live(c, false);
    c->subscribed = false;
    if (!c->ac) return;
    hilo_log_warn("identity", "event=subscription_drop reason=\"%s\"", why);
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    redisAsyncFree(ac);
    schedule_reconnect(c);
}

/* One message on __redis__:invalidate: the changed keys, or nil for "every key" (FLUSHALL,
 * FLUSHDB). The subscription's own confirmation makes the cache live. */
static void on_message(redisAsyncContext *ac, void *reply, void *privdata) {
    hilo_identity_cache_t *c = privdata;
    redisReply *r = reply;
    if (!r || c->ac != ac) return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING) {
        drop(c, "unexpected message on the invalidation channel");
        return;
    }
    const char *kind = r->element[0]->str;
    if (strcmp(kind, "subscribe") == 0) {
        c->backoff_ms = BACKOFF_MIN_MS;
        c->subscribed = true;
        if (c->store_ready) set_live(c, true);
        return;
    }
    if (strcmp(kind, "message") != 0) return;
    const redisReply *keys = r->element[2];
    c->epoch++; /* lookups in flight may predate this change: their answers are not kept */
    if (keys->type == REDIS_REPLY_ARRAY) {
        size_t plen = strlen(HILO_KEY_ADDR_PREFIX);
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || k->len <= plen) continue;
            if (memcmp(k->str, HILO_KEY_ADDR_PREFIX, plen) != 0) continue;
            hilo_identity_table_remove(&c->table, k->str + plen);
            c->metrics->identity_invalidated++;
        }
    } else {
        hilo_log_info("identity", "event=cache_flushed reason=\"keyspace flushed\" entries=%zu", c->table.count);
        hilo_identity_table_clear(&c->table);
        c->metrics->identity_drops++;
    }
}

static void on_tracking(redisAsyncContext *ac, void *reply, void *privdata) {
    hilo_identity_cache_t *c = privdata;
    redisReply *r = reply;
    if (!r || c->ac != ac) return;
    if (r->type == REDIS_REPLY_ERROR) {
        hilo_log_error("identity", "event=tracking_refused reply=\"%s\" (Redis >= 6 is needed for the cache)", r->str);
        drop(c, "CLIENT TRACKING refused");
        return;
    }
    redisAsyncCommand(ac, on_message, c, "SUBSCRIBE " INVALIDATE_CHANNEL);
}

/* The connection's id: the tracking's invalidations are redirected to this connection. */
static void on_client_id(redisAsyncContext *ac, void *reply, void *privdata) {
    hilo_identity_cache_t *c = privdata;
    redisReply *r = reply;
    if (!r || c->ac != ac) return;
    if (r->type != REDIS_REPLY_INTEGER) {
        hilo_log_error("identity", "event=client_id_failed reply=\"%s\"", r->type == REDIS_REPLY_ERROR ? r->str : "?");
        drop(c, "CLIENT ID failed");
        return;
    }
    redisAsyncCommand(ac, on_tracking, c, "CLIENT TRACKING on REDIRECT %lld BCAST PREFIX %s", r->integer,
                      HILO_KEY_ADDR_PREFIX);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata) {
    hilo_identity_cache_t *c = privdata;
    redisReply *r = reply;
    if (r && c->ac == ac && r->type == REDIS_REPLY_ERROR) drop(c, "AUTH refused");
}

static void on_connect(const redisAsyncContext *ac, int status) {
    hilo_identity_cache_t *c = ac->data;
    if (c->ac != ac) return;
    if (status != REDIS_OK) {
        c->ac = NULL; /* hiredis frees it after this callback */
        schedule_reconnect(c);
        return;
    }
    redisAsyncContext *w = c->ac;
    if (c->cfg->redis_password && *c->cfg->redis_password) {
        if (*c->cfg->redis_user)
            redisAsyncCommand(w, on_auth, c, "AUTH %s %s", c->cfg->redis_user, c->cfg->redis_password);
        else
            redisAsyncCommand(w, on_auth, c, "AUTH %s", c->cfg->redis_password);
    }
    redisAsyncCommand(w, on_client_id, c, "CLIENT ID");
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    hilo_identity_cache_t *c = ac->data;
    (void)status;
    if (c->ac != ac) return; /* drop() already let go of it */
    c->ac = NULL;
    c->subscribed = false;
    set_live(c, false);
    hilo_log_warn("identity", "event=subscription_lost");
    schedule_reconnect(c);
}

static void connect_now(hilo_identity_cache_t *c) {
    redisAsyncContext *ac = hilo_redis_uv_connect(c->cfg->redis_host, c->cfg->redis_port);
    if (!ac || ac->err) {
        if (ac) redisAsyncFree(ac);
        schedule_reconnect(c);
        return;
    }
    ac->data = c;
    hilo_redis_uv_attach(ac, c->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
}

hilo_identity_cache_t *hilo_identity_cache_new(uv_loop_t *loop, const hilo_router_config_t *cfg,
                                               hilo_metrics_t *metrics) {
    if (cfg->identity_cache_max <= 0) return NULL;
    hilo_identity_cache_t *c = hilo_xcalloc(1, sizeof *c);
    c->loop = loop;
    c->cfg = cfg;
    c->metrics = metrics;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->epoch = 1;
    hilo_identity_table_init(&c->table, (size_t)cfg->identity_cache_max);
    uv_timer_init(loop, &c->retry);
    c->retry.data = c;
    return c;
}

void hilo_identity_cache_start(hilo_identity_cache_t *c) {
    if (c) connect_now(c);
}

static void free_after_close(uv_handle_t *h) {
    hilo_identity_cache_t *c = h->data;
    hilo_identity_table_free(&c->table);
    free(c);
}

void hilo_identity_cache_destroy(hilo_identity_cache_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_identity_cache_t *c = *self_p;
    *self_p = NULL;
    c->closing = true;
    c->live = false;
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        redisAsyncFree(ac);
    }
    uv_close((uv_handle_t *)&c->retry, free_after_close);
}

bool hilo_identity_cache_get(hilo_identity_cache_t *c, const char *addr, const char **debtor) {
    if (!c || !c->live) return false;
    if (hilo_identity_table_get(&c->table, addr, debtor)) {
        c->metrics->identity_hits++;
        return true;
    }
    c->metrics->identity_misses++;
    return false;
}

bool hilo_identity_cache_has(const hilo_identity_cache_t *c, const char *addr) {
    const char *debtor;
    return c && c->live && hilo_identity_table_get(&c->table, addr, &debtor);
}

uint64_t hilo_identity_cache_epoch(const hilo_identity_cache_t *c) { return c && c->live ? c->epoch : 0; }

void hilo_identity_cache_put(hilo_identity_cache_t *c, uint64_t epoch, const char *addr, const char *debtor) {
    if (!c || !c->live || epoch != c->epoch) return;
    hilo_identity_table_put(&c->table, addr, debtor);
}

void hilo_identity_cache_store_state(hilo_identity_cache_t *c, bool ready) {
    if (!c) return;
    bool was = c->store_ready;
    c->store_ready = ready;
    if (!ready && was) {
        /* The subscription may be to a Redis that is gone too, without knowing it yet: it is
         * made again, and used once the main connection is back. */
        drop(c, "main Redis connection lost");
    } else if (ready && !was && c->subscribed) {
        set_live(c, true);
    }
}

void hilo_identity_cache_gauges(const hilo_identity_cache_t *c, hilo_identity_cache_gauges_t *g) {
    g->live = c && c->live;
    g->entries = c ? c->table.count : 0;
    g->evicted = c ? c->table.evicted : 0;
}
