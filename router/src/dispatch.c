/* dispatch.c — dispatch of committed outbound messages, and delivery reports. */
#include "dispatch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define CLAIM_BATCH 100                 /* entries claimed per poll and channel */
#define PMID_TTL_S (30 * 24 * 3600)     /* how long a provider id maps back to its outbound */
#define PARTS_MAX 100                   /* parts a delivery report may name (docs/protocol.md §9) */

struct hilo_dispatch {
    hilo_router_ctx_t *ctx;
    uv_timer_t timer;
    bool claiming[HILO_CHANNEL_MAX];    /* a claim is in flight for the channel */
    bool again[HILO_CHANNEL_MAX];       /* poll again as soon as it returns */
    bool closed;
};

typedef struct {
    hilo_dispatch_t *ob;
    int channel;
} claim_t;

/* One claimed entry whose payload is being read. */
typedef struct {
    hilo_dispatch_t *ob;
    int channel;
    uint32_t attempt;
    char member[HILO_KEY_MAX];          /* "<debtor>|<outbound id>" */
} send_t;

/* One delivery report on its way to Redis. */
typedef struct {
    hilo_dispatch_t *ob;
    hilo_peer_ref_t peer;
    hilo_frame_t *frame;
    char debtor[HILO_DEBTOR_ID_MAX + 32];
    char oid[128];
} report_t;

static void outbox_keys(int channel, char *outbox, char *attempts) {
    hilo_key_outbox(outbox, HILO_KEY_MAX, hilo_channel_name(channel));
    hilo_key_outbox_attempts(attempts, HILO_KEY_MAX, hilo_channel_name(channel));
}

/* Splits "<debtor>|<outbound id>"; false when malformed. */
static bool split_member(const char *m, char *debtor, size_t dn, char *oid, size_t on) {
    const char *bar = strchr(m, '|');
    if (!bar || bar == m || !bar[1] || (size_t)(bar - m) >= dn || strlen(bar + 1) >= on) return false;
    memcpy(debtor, m, (size_t)(bar - m));
    debtor[bar - m] = '\0';
    snprintf(oid, on, "%s", bar + 1);
    return true;
}

/* Removes an index entry whose payload is gone, so it is not claimed forever. */
static void forget_member(hilo_dispatch_t *ob, int channel, const char *member) {
    char outbox[HILO_KEY_MAX], attempts[HILO_KEY_MAX];
    outbox_keys(channel, outbox, attempts);
    hilo_store_command(ob->ctx->store, NULL, NULL, "ZREM %s %s", outbox, member);
    hilo_store_command(ob->ctx->store, NULL, NULL, "HDEL %s %s", attempts, member);
}

static void on_payload(redisReply *r, void *arg) {
    send_t *s = arg;
    hilo_dispatch_t *ob = s->ob;
    hilo_router_ctx_t *ctx = ob->ctx;
    if (!r || ctx->closing) goto done; /* the lease runs out and the entry comes back */
    if (r->type == REDIS_REPLY_NIL) {
        hilo_log_warn("dispatch", "event=stale_outbox_entry member=\"%s\"", s->member);
        forget_member(ob, s->channel, s->member);
        goto done;
    }
    if (r->type != REDIS_REPLY_STRING) goto done;
    hilo_outbound_t *msg =
        hilo__link__v1__outbound__unpack(NULL, r->len, (const uint8_t *)r->str);
    if (!msg) {
        hilo_log_error("dispatch", "event=bad_outbound_payload member=\"%s\"", s->member);
        goto done;
    }
    msg->attempt = s->attempt;
    hilo_peer_ref_t peer;
    if (hilo_link_server_pick(ctx->link, s->channel, &peer) == HILO_OK) {
        hilo_link_server_send_outbound(ctx->link, &peer, msg);
        ctx->metrics.outbound_sent[s->channel]++;
        hilo_log_debug("dispatch", "event=dispatched channel=%s outbound_id=%s attempt=%u",
                       hilo_channel_name(s->channel), msg->outbound_id, s->attempt);
    }
    hilo__link__v1__outbound__free_unpacked(msg, NULL);
done:
    free(s);
}

static void poll_channel(hilo_dispatch_t *ob, int channel);

static void on_claimed(redisReply *r, void *arg) {
    claim_t *c = arg;
    hilo_dispatch_t *ob = c->ob;
    int channel = c->channel;
    free(c);
    if (ob->closed) return;
    ob->claiming[channel] = false;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r && r->type == REDIS_REPLY_ERROR)
            hilo_log_error("dispatch", "event=claim_failed channel=%s reply=\"%s\"", hilo_channel_name(channel), r->str);
        return;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *m = r->element[i], *a = r->element[i + 1];
        char debtor[HILO_DEBTOR_ID_MAX + 32], oid[128], key[HILO_KEY_MAX];
        if (m->type != REDIS_REPLY_STRING || !split_member(m->str, debtor, sizeof debtor, oid, sizeof oid)) continue;
        send_t *s = hilo_xcalloc(1, sizeof *s);
        s->ob = ob;
        s->channel = channel;
        s->attempt = a->type == REDIS_REPLY_INTEGER ? (uint32_t)a->integer : 1;
        snprintf(s->member, sizeof s->member, "%s", m->str);
        hilo_key_debtor(key, sizeof key, debtor, HILO_KEY_OUT);
        if (hilo_store_command(ob->ctx->store, on_payload, s, "HGET %s %s", key, oid) != HILO_OK) free(s);
    }
    if (r->elements / 2 >= CLAIM_BATCH || ob->again[channel]) {
        ob->again[channel] = false;
        poll_channel(ob, channel); /* more may be due */
    }
}

static void poll_channel(hilo_dispatch_t *ob, int channel) {
    hilo_router_ctx_t *ctx = ob->ctx;
    if (ob->closed || !hilo_store_ready(ctx->store) || hilo_link_server_peer_count(ctx->link, channel) == 0) return;
    if (ob->claiming[channel]) {
        ob->again[channel] = true;
        return;
    }
    char outbox[HILO_KEY_MAX], attempts[HILO_KEY_MAX], now[24], lease[24], batch[16];
    outbox_keys(channel, outbox, attempts);
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(lease, sizeof lease, "%ld", ctx->cfg->outbound_lease_ms);
    snprintf(batch, sizeof batch, "%d", CLAIM_BATCH);
    const char *argv[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_CLAIM_OUTBOX), "2", outbox, attempts,
                          now, lease, batch};
    size_t lens[HILO_ARRAY_LEN(argv)];
    for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
    claim_t *c = hilo_xcalloc(1, sizeof *c);
    c->ob = ob;
    c->channel = channel;
    if (hilo_store_argv(ctx->store, on_claimed, c, (int)HILO_ARRAY_LEN(argv), argv, lens) == HILO_OK)
        ob->claiming[channel] = true;
    else
        free(c);
}

void hilo_dispatch_kick(hilo_dispatch_t *ob, int channel) { poll_channel(ob, channel); }

static void on_timer(uv_timer_t *t) {
    hilo_dispatch_t *ob = t->data;
    for (int c = 1; c < HILO_CHANNEL_MAX; c++) poll_channel(ob, c);
}

/* --- delivery reports -------------------------------------------------------------- */

static void report_finish(report_t *rp, bool ok, int code, const char *reason) {
    hilo_router_ctx_t *ctx = rp->ob->ctx;
    if (!ctx->closing) {
        uint64_t seq = rp->frame->envelope->seq;
        if (ok)
            hilo_link_server_send_ack(ctx->link, &rp->peer, seq, false, rp->debtor);
        else
            hilo_link_server_send_nack(ctx->link, &rp->peer, seq, code, reason);
        hilo_router_inflight_end(ctx);
    }
    hilo_frame_free(&rp->frame);
    free(rp);
}

static void on_settled(redisReply *r, void *arg) {
    report_t *rp = arg;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r) hilo_log_error("dispatch", "event=settle_failed reply=\"%s\"", r->str);
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    report_finish(rp, true, 0, NULL);
}

static void settle(report_t *rp) {
    hilo_router_ctx_t *ctx = rp->ob->ctx;
    const hilo_envelope_t *e = rp->frame->envelope;
    const hilo_delivery_t *d = e->delivery;
    const char *chname = hilo_channel_name(e->channel);
    int64_t now = hilo_now_ms();
    if (*d->provider_message_id && *d->outbound_id) {
        /* Later reports (delivered, read) often carry only the provider's id: remember it
         * from any report that names both (usually the connector's own SENT). Sent before
         * the settle on the same connection, so it is in place first. */
        char pkey[HILO_KEY_MAX], val[HILO_KEY_MAX];
        hilo_key_pmid(pkey, sizeof pkey, chname, d->provider_message_id);
        snprintf(val, sizeof val, "%s|%s", rp->debtor, rp->oid);
        hilo_store_command(ctx->store, NULL, NULL, "SET %s %s EX %d", pkey, val, PMID_TTL_S);
    }
    json_t *st = json_object();
    json_object_set_new(st, "state", json_string(hilo_delivery_state_name(d->state)));
    json_object_set_new(st, "rank", json_integer(d->state));
    if (*d->provider_message_id) json_object_set_new(st, "pmid", json_string(d->provider_message_id));
    if (*d->error_code) json_object_set_new(st, "error_code", json_string(d->error_code));
    if (*d->error_message) json_object_set_new(st, "error", json_string(d->error_message));
    json_object_set_new(st, "ms", json_integer(now));
    /* A report about one part of a message sent in parts: settle_outbound.lua keeps each part's
     * state and derives the message's (lib/delivery_state.lua). */
    if (d->part) json_object_set_new(st, "part", json_integer(d->part));
    if (d->parts > 1) json_object_set_new(st, "parts", json_integer(d->parts));
    char *status = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    char kout[HILO_KEY_MAX], kstat[HILO_KEY_MAX], outbox[HILO_KEY_MAX], attempts[HILO_KEY_MAX];
    hilo_key_debtor(kout, sizeof kout, rp->debtor, HILO_KEY_OUT);
    hilo_key_debtor(kstat, sizeof kstat, rp->debtor, HILO_KEY_OSTAT);
    outbox_keys(e->channel, outbox, attempts);
    const char *argv[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_SETTLE_OUTBOUND), "4", kout, kstat,
                          outbox, attempts, rp->oid, status, rp->debtor};
    size_t lens[HILO_ARRAY_LEN(argv)];
    for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
    int rc = hilo_store_argv(ctx->store, on_settled, rp, (int)HILO_ARRAY_LEN(argv), argv, lens);
    free(status);
    if (rc != HILO_OK) report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

static void on_pmid(redisReply *r, void *arg) {
    report_t *rp = arg;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    if (r->type != REDIS_REPLY_STRING ||
        !split_member(r->str, rp->debtor, sizeof rp->debtor, rp->oid, sizeof rp->oid)) {
        /* A report for a message we never sent (or whose mapping expired): nothing to
         * settle. Acked so the connector does not retry it forever. */
        rp->ob->ctx->metrics.delivery_unmatched++;
        hilo_log_info("dispatch", "event=delivery_unmatched channel=%s",
                      hilo_channel_name(rp->frame->envelope->channel));
        report_finish(rp, true, 0, NULL);
        return;
    }
    settle(rp);
}

void hilo_dispatch_on_delivery(hilo_dispatch_t *ob, const hilo_peer_ref_t *peer, hilo_frame_t *frame,
                               int64_t recv_us) {
    hilo_router_ctx_t *ctx = ob->ctx;
    report_t *rp = hilo_xcalloc(1, sizeof *rp);
    rp->ob = ob;
    rp->peer = *peer;
    rp->frame = frame;
    hilo_router_inflight_begin(ctx);
    const hilo_envelope_t *e = frame->envelope;
    const hilo_delivery_t *d = e->delivery;
    if (d->state < HILO_DELIVERY_SENT || d->state > HILO_DELIVERY_FAILED) {
        report_finish(rp, false, HILO_NACK_INVALID, "delivery.state must be SENT, DELIVERED, READ or FAILED");
        return;
    }
    if (d->parts > PARTS_MAX || d->part > d->parts) {
        report_finish(rp, false, HILO_NACK_INVALID, "delivery: part must be 0 or 1..parts, parts at most 100");
        return;
    }
    ctx->metrics.delivery[e->channel][d->state]++;
    if (!hilo_store_ready(ctx->store)) {
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    if (*d->outbound_id && *d->debtor_id) {
        if (strlen(d->outbound_id) >= sizeof rp->oid || strchr(d->outbound_id, '|') ||
            (!hilo_debtor_id_valid(d->debtor_id) && strncmp(d->debtor_id, "u:+", 3) != 0) ||
            strlen(d->debtor_id) >= sizeof rp->debtor) {
            report_finish(rp, false, HILO_NACK_INVALID, "delivery: malformed outbound_id or debtor_id");
            return;
        }
        snprintf(rp->oid, sizeof rp->oid, "%s", d->outbound_id);
        snprintf(rp->debtor, sizeof rp->debtor, "%s", d->debtor_id);
        settle(rp);
        return;
    }
    if (!*d->provider_message_id) {
        report_finish(rp, false, HILO_NACK_INVALID,
                      "delivery: needs outbound_id with debtor_id, or provider_message_id");
        return;
    }
    char key[HILO_KEY_MAX];
    hilo_key_pmid(key, sizeof key, hilo_channel_name(e->channel), d->provider_message_id);
    if (hilo_store_command(ctx->store, on_pmid, rp, "GET %s", key) != HILO_OK)
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

/* --- lifecycle --------------------------------------------------------------------- */

hilo_dispatch_t *hilo_dispatch_new(hilo_router_ctx_t *ctx) {
    hilo_dispatch_t *ob = hilo_xcalloc(1, sizeof *ob);
    ob->ctx = ctx;
    uv_timer_init(ctx->loop, &ob->timer);
    ob->timer.data = ob;
    return ob;
}

void hilo_dispatch_start(hilo_dispatch_t *ob) {
    uint64_t every = (uint64_t)ob->ctx->cfg->outbound_poll_ms;
    uv_timer_start(&ob->timer, on_timer, every, every);
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void hilo_dispatch_destroy(hilo_dispatch_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_dispatch_t *ob = *self_p;
    ob->closed = true;
    uv_timer_stop(&ob->timer);
    uv_close((uv_handle_t *)&ob->timer, on_closed);
    *self_p = NULL;
}
