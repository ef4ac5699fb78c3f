/* dispatch.c — committed outbound messages to connectors, through the compliance gate at
 * hand-off; delivery reports (docs/architecture.md, "Outbound: the gate at hand-off").
 *
 * A visit looks at one debtor's queue on one channel (outbound_handoff.lua): peek at the first
 * message, decide with the gate on the facts the peek read, then take it (a lease, the frequency
 * cap, atomically and only if those facts are unchanged) or cancel it (never sent, with the
 * reason), or let it wait for its window. Only the first message of a queue is ever with a
 * connector, so a debtor's messages reach the provider in committed order. Visits come from the
 * partitioned dispatch index (outbox_index.lua, swept every outbound_poll_ms by every router) and
 * from kicks right after a commit or a settle.
 *
 * At most once (protocol 1.2): a strategy's step goes to a connector that honours
 * Outbound.at_most_once when one is connected. Such a connector reports CALLING before the
 * provider call and calls only after our Ack; the Ack comes after `calling` is in the message's
 * dispatch state (Redis, atomically with the lease check), so a connector that dies after the
 * call leaves a trace that outlives it: when that lease runs out the message is settled as
 * `unknown` (maybe sent) instead of being handed off again. No connector-side journal is needed. */
#include "dispatch.h"

#include "calls.h"
#include "clock.h"
#include "pacing.h"
#include "strategy_run.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/compliance.h"
#include "hilo/keys.h"
#include "hilo/link_keys.h"
#include "hilo/log.h"

#define CLAIM_BATCH 100                 /* debtors claimed per poll, channel and partition */
#define PMID_TTL_S (30 * 24 * 3600)     /* how long a provider id maps back to its outbound */
#define MAX_HEADS 32                    /* messages one visit may look at (cancelled ones let the next go) */
#define NO_PEER_RETRY_MS 1000           /* no suitable connector: look again after this */
#define NO_PEER_MAX 10000               /* queues remembered per channel as waiting for a connector */
#define NO_GATE_RETRY_MS 5000           /* rule packs unreadable: look again after this */
#define RETURN_BACKOFF_MIN_MS 1000      /* a returned message waits 1 s, 2 s, 4 s ... */
#define RETURN_BACKOFF_MAX_MS 60000
#define NFACTS 13                       /* outbound_handoff.lua FACTS_CONV + FACTS_DEBTOR */

static const char *const fact_names[NFACTS] = {"dnc",          "optout:whatsapp", "optout:sms",  "optout:voice",
                                               "last_in:whatsapp", "last_in:sms", "last_in:voice", "via:whatsapp",
                                               "via:sms",      "via:voice",       HILO_FACT_TALK, "country",
                                               "timezone"};
#define NFACTS_CONV 11
#define PARTS_MAX 100                   /* parts a delivery report may name (docs/protocol.md §9) */

struct hilo_dispatch {
    hilo_router_ctx_t *ctx;
    uv_timer_t timer;
    hilo_compliance_t *gate;            /* own copy of the rule packs (reloaded on SIGHUP) */
    char gate_err[512];
    bool claiming[HILO_CHANNEL_MAX][HILO_OUTBOX_PARTITIONS]; /* a claim is in flight */
    bool again[HILO_CHANNEL_MAX][HILO_OUTBOX_PARTITIONS];    /* poll again as soon as it returns */
    int64_t again_now[HILO_CHANNEL_MAX][HILO_OUTBOX_PARTITIONS]; /* ... with this "now" */
    uint64_t tokens;                    /* take tokens issued */
    json_t *visiting;                   /* "<channel>|<debtor>" of each visit in progress -> what came
                                         * for that queue meanwhile: VISIT_NOTHING, VISIT_KICK or
                                         * the mark of a claim; a second visit starts when the first ends */
    json_t *no_peer[HILO_CHANNEL_MAX];  /* debtor -> true: found no suitable connector; looked at again
                                         * as soon as a connector of the channel comes or goes */
    bool closed;
};

#define VISIT_NOTHING (-2)
#define VISIT_KICK (-1)

typedef struct {
    hilo_dispatch_t *ob;
    int channel, part;
    int64_t now;                        /* the poll's clock */
} claim_t;

/* One debtor's queue on one channel, being looked at. */
typedef struct {
    hilo_dispatch_t *ob;
    int channel;
    char debtor[HILO_DEBTOR_ID_MAX + 32];
    int64_t mark;                       /* the index score our claim gave it; -1 = a kick */
    int64_t gate_now;                   /* "now" for the visit, read once at its start (clock.h) */
    int heads;                          /* messages looked at */
    char oid[128];                      /* the head */
    uint8_t *payload;
    size_t payload_len;
    json_t *disp;                       /* its dispatch state */
    char *sig;                          /* the facts' signature from the peek */
    char *facts[NFACTS];
    hilo_verdict_t v;
    uint64_t decided_ms;                /* monotonic ms of the gate's yes */
    hilo_peer_ref_t peer;
    hilo_peer_caps_t caps;              /* what the chosen connector honours (expiry, at most once) */
    char token[96];
    char group[HILO_LINK_NAME_MAX];     /* the chosen connector's key name ("" without link auth) */
    char from[HILO_LINK_SENDER_MAX];    /* the sender it goes out from, when it was filled in here */
    char pace_from[HILO_LINK_SENDER_MAX]; /* the sender whose pace it keeps ("default": none named) */
    char slot_from[HILO_LINK_SENDER_MAX]; /* a send slot granted to this visit and not used yet: its sender */
    bool slot;
    const char *why;                    /* the reason code of a cancel in flight */
} visit_t;

/* One delivery report on its way to Redis. */
typedef struct {
    hilo_dispatch_t *ob;
    hilo_peer_ref_t peer;
    hilo_frame_t *frame;
    char debtor[HILO_DEBTOR_ID_MAX + 32];
    char oid[128];
    char group[HILO_LINK_NAME_MAX];     /* the reporter's key name; "" = no check (link_auth = none) */
    int64_t now;                        /* "now" for the report, read once (clock.h) */
} report_t;

static int64_t mono_ms(void) { return (int64_t)(hilo_mono_us() / 1000); }

/* One clock (docs/architecture.md, "One clock"): the lease, the give-up, the due times and the
 * index scores of a visit all come from the clock its gate decides on, so a test clock moved
 * by hand moves them all (a lease or a back-off never ends on the wall clock while the test
 * clock stands still). Without the test clock: the router's clock at each step, as ever. */
static int64_t visit_now(const visit_t *v) { return v->ob->ctx->cfg->test_clock ? v->gate_now : hilo_now_ms(); }

/* Splits "<debtor>|<outbound id>"; false when malformed. */
static bool split_member(const char *m, char *debtor, size_t dn, char *oid, size_t on) {
    const char *bar = strchr(m, '|');
    if (!bar || bar == m || !bar[1] || (size_t)(bar - m) >= dn || strlen(bar + 1) >= on) return false;
    memcpy(debtor, m, (size_t)(bar - m));
    debtor[bar - m] = '\0';
    snprintf(oid, on, "%s", bar + 1);
    return true;
}

static int run(hilo_dispatch_t *ob, hilo_store_reply_fn cb, void *arg, int argc, const char **argv) {
    size_t lens[24];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    return hilo_store_argv(ob->ctx->store, cb, arg, argc, argv, lens);
}

/* --- the partitioned index ------------------------------------------------------------ */

static void index_key(int channel, int part, char *buf) {
    hilo_key_outbox(buf, HILO_KEY_MAX, part, hilo_channel_name(channel));
}

/* Sets the debtor's index score to `score` (-1: removes it) if our claim's mark is still there. */
static void index_set_if(hilo_dispatch_t *ob, int channel, const char *debtor, int64_t mark, int64_t score) {
    if (mark < 0) return; /* a kick: the index entry is not ours to change */
    char k[HILO_KEY_MAX], m[24], s[24] = "";
    index_key(channel, hilo_outbox_partition(debtor), k);
    snprintf(m, sizeof m, "%" PRId64, mark);
    if (score >= 0) snprintf(s, sizeof s, "%" PRId64, score);
    const char *argv[] = {"EVALSHA", hilo_store_sha(ob->ctx->store, HILO_SCRIPT_OUTBOX_INDEX), "1", k, "set_if",
                          debtor, m, s};
    run(ob, NULL, NULL, (int)HILO_ARRAY_LEN(argv), argv);
}

/* Marks the debtor due at `score` (0 = now), unconditionally. */
static void index_mark(hilo_dispatch_t *ob, int channel, const char *debtor, int64_t score) {
    char k[HILO_KEY_MAX], s[24];
    index_key(channel, hilo_outbox_partition(debtor), k);
    snprintf(s, sizeof s, "%" PRId64, score);
    const char *argv[] = {"ZADD", k, s, debtor};
    run(ob, NULL, NULL, (int)HILO_ARRAY_LEN(argv), argv);
}

/* --- a visit ----------------------------------------------------------------------------- */

static void visit_clear_head(visit_t *v) {
    free(v->payload);
    v->payload = NULL;
    json_decref(v->disp);
    v->disp = NULL;
    free(v->sig);
    v->sig = NULL;
    for (int i = 0; i < NFACTS; i++) {
        free(v->facts[i]);
        v->facts[i] = NULL;
    }
}

static void visit(hilo_dispatch_t *ob, int channel, const char *debtor, int64_t mark);

static void visiting_key(int channel, const char *debtor, char *buf, size_t n) {
    snprintf(buf, n, "%d|%s", channel, debtor);
}

/* Ends the visit; the debtor's index entry becomes `score` (-1: removed, -2: left as it is).
 * A kick or a claim that came for the same queue while it ran starts the next visit now. */
static void visit_end(visit_t *v, int64_t score) {
    hilo_dispatch_t *ob = v->ob;
    bool closing = ob->ctx->closing || ob->closed;
    if (score != -2 && !closing) index_set_if(ob, v->channel, v->debtor, v->mark, score);
    char key[sizeof v->debtor + 8];
    visiting_key(v->channel, v->debtor, key, sizeof key);
    json_int_t next = json_integer_value(json_object_get(ob->visiting, key));
    json_object_del(ob->visiting, key);
    int channel = v->channel;
    char debtor[sizeof v->debtor];
    snprintf(debtor, sizeof debtor, "%s", v->debtor);
    visit_clear_head(v);
    free(v);
    if (!closing && next != VISIT_NOTHING) visit(ob, channel, debtor, next);
}

static void handoff_keys(const visit_t *v, char k[8][HILO_KEY_MAX]) {
    const char *ch = hilo_channel_name(v->channel);
    hilo_key_debtor(k[0], HILO_KEY_MAX, v->debtor, HILO_KEY_CONV);
    hilo_key_debtor(k[1], HILO_KEY_MAX, v->debtor, HILO_KEY_DEBTOR);
    hilo_key_debtor(k[2], HILO_KEY_MAX, v->debtor, HILO_KEY_OUT);
    hilo_key_debtor_channel(k[3], HILO_KEY_MAX, v->debtor, HILO_KEY_OQ, ch);
    hilo_key_debtor(k[4], HILO_KEY_MAX, v->debtor, HILO_KEY_ODISP);
    hilo_key_debtor_channel(k[5], HILO_KEY_MAX, v->debtor, HILO_KEY_CONTACTS, ch);
    hilo_key_debtor(k[6], HILO_KEY_MAX, v->debtor, HILO_KEY_OSTAT);
    hilo_key_debtor(k[7], HILO_KEY_MAX, v->debtor, HILO_KEY_AUDIT);
}

/* EVALSHA outbound_handoff 8 <keys> <op> <now> <channel> [args...]. */
static int handoff(visit_t *v, hilo_store_reply_fn cb, const char *op, int nargs, const char **args) {
    char k[8][HILO_KEY_MAX], now[24];
    handoff_keys(v, k);
    snprintf(now, sizeof now, "%" PRId64, visit_now(v));
    const char *argv[24] = {"EVALSHA", hilo_store_sha(v->ob->ctx->store, HILO_SCRIPT_OUTBOUND_HANDOFF), "8",
                            k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], op, now, hilo_channel_name(v->channel)};
    int argc = 14;
    for (int i = 0; i < nargs && argc < 24; i++) argv[argc++] = args[i];
    return run(v->ob, cb, v, argc, argv);
}

static void peek(visit_t *v);
static void pace(visit_t *v);

/* Reply helpers: element i of an array reply as a string / integer. */
static const char *rstr(const redisReply *r, size_t i) {
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements) return NULL;
    const redisReply *e = r->element[i];
    return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS ? e->str : NULL;
}

static int64_t reply_int(const redisReply *r, size_t i) {
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements) return 0;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER) return e->integer;
    if (e->type == REDIS_REPLY_STRING) return strtoll(e->str, NULL, 10);
    return 0;
}

/* A failed step: the index entry stays as the claim left it, and the lease brings it back. */
static bool step_failed(visit_t *v, redisReply *r, const char *step) {
    if (v->ob->ctx->closing) {
        visit_end(v, -2);
        return true;
    }
    if (!r || r->type == REDIS_REPLY_ERROR || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        hilo_log_error("dispatch", "event=%s_failed debtor=%s channel=%s reply=\"%s\"", step, v->debtor,
                       hilo_channel_name(v->channel), r && r->type == REDIS_REPLY_ERROR ? r->str : "none");
        if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
            hilo_store_reset(v->ob->ctx->store, "script cache flushed");
        visit_end(v, -2);
        return true;
    }
    return false;
}

/* Agents following the conversation see the change (the console re-sends it). */
static void tell_console(hilo_dispatch_t *ob, const char *debtor) {
    const char *argv[] = {"XADD", "hilo:console:events", "MAXLEN", "~", "10000", "*", "k", "outbound", "a", "", "d",
                          debtor};
    run(ob, NULL, NULL, (int)HILO_ARRAY_LEN(argv), argv);
}

/* An at-most-once message was settled as unknown (outbound_handoff.lua: maybe sent, never sent
 * again): counted, logged, shown; a strategy's step goes back to the strategy runner, as every
 * settled step does. */
static void unknown_settled(hilo_dispatch_t *ob, int channel, const char *debtor, const char *oid, bool strat,
                            const char *reason) {
    ob->ctx->metrics.outbound_unknown[channel]++;
    hilo_log_warn("dispatch", "event=outbound_unknown debtor=%s channel=%s outbound_id=%s reason=%s strategy=%d",
                  debtor, hilo_channel_name(channel), hilo_log_value(oid), reason, strat);
    tell_console(ob, debtor);
    if (strat) hilo_strategy_run_kick(ob->ctx, debtor);
}

static void on_cancelled(redisReply *r, void *arg) {
    visit_t *v = arg;
    if (step_failed(v, r, "cancel")) return;
    const char *st = rstr(r, 0);
    if (st && strcmp(st, "ok") == 0) {
        v->ob->ctx->metrics.outbound_cancelled[v->channel]++;
        hilo_log_info("dispatch", "event=outbound_cancelled debtor=%s channel=%s outbound_id=%s reason=%s", v->debtor,
                      hilo_channel_name(v->channel), v->oid, v->why);
        tell_console(v->ob, v->debtor);
        if (json_object_get(v->disp, "strat")) hilo_strategy_run_kick(v->ob->ctx, v->debtor); /* a refused step */
        if (reply_int(r, 1) == 0) {
            visit_end(v, -1);
            return;
        }
    }
    peek(v); /* the next message of the queue goes on, after its own check */
}

/* Never sent: the message becomes `state` (cancelled, or failed when it could not be handed
 * off in time) with the gate's reason, in its status, the audit and the thread. */
static void cancel(visit_t *v, const char *state, const char *reason, const char *text, bool check_facts) {
    v->why = reason; /* static strings: reason names */
    const char *args[] = {v->oid, check_facts ? v->sig : "", state, reason, text};
    if (handoff(v, on_cancelled, "cancel", 5, args) != HILO_OK) visit_end(v, -2);
}

static void on_released(redisReply *r, void *arg) {
    visit_t *v = arg;
    if (step_failed(v, r, "release")) return;
    int64_t due = json_integer_value(json_object_get(v->disp, "due_set"));
    visit_end(v, due);
}

/* The message waits for the gate's next allowed time (the sender asked for it). */
static void wait_window(visit_t *v) {
    int64_t due_ms = visit_now(v) + (v->v.next_ms - v->gate_now); /* next_ms under the test clock */
    char due[24];
    snprintf(due, sizeof due, "%" PRId64, due_ms);
    json_object_set_new(v->disp, "due_set", json_integer(due_ms));
    /* "1": the give-up counts from the next try (the wait is the gate's, not the provider's). */
    const char *args[] = {v->oid, due, "", "", hilo_reason_name(v->v.reason), "", "1"};
    hilo_log_info("dispatch", "event=outbound_waits debtor=%s channel=%s outbound_id=%s reason=%s until_ms=%" PRId64,
                  v->debtor, hilo_channel_name(v->channel), v->oid, hilo_reason_name(v->v.reason), v->v.next_ms);
    v->ob->ctx->metrics.outbound_waiting[v->channel]++;
    if (handoff(v, on_released, "release", 7, args) != HILO_OK) visit_end(v, -2);
}

static void refuse(visit_t *v) {
    if (json_is_true(json_object_get(v->disp, "wait")) && hilo_reason_waitable(v->v.reason) &&
        v->v.next_ms > v->gate_now)
        wait_window(v);
    else
        cancel(v, "cancelled", hilo_reason_name(v->v.reason), v->v.text, true);
}

static void send_head(visit_t *v, uint32_t attempt, const redisReply *payload, uint32_t parts_sent) {
    hilo_router_ctx_t *ctx = v->ob->ctx;
    hilo_outbound_t *msg = payload && payload->type == REDIS_REPLY_STRING
                               ? hilo__link__v1__outbound__unpack(NULL, payload->len, (const uint8_t *)payload->str)
                               : NULL;
    if (!msg) {
        hilo_log_error("dispatch", "event=bad_outbound_payload debtor=%s outbound_id=%s", v->debtor, v->oid);
        return;
    }
    msg->attempt = attempt;
    msg->parts_sent = parts_sent;
    char *own_from = msg->from; /* freed with the message: put back before */
    if (*v->from && (!msg->from || !*msg->from)) msg->from = v->from;
    /* A strategy's step is sent at most once (no provider gives an idempotency key): a second
     * copy of a collection reminder is worse than an unknown one, which is counted and shown.
     * Everything else stays at-least-once (a lost agent reply or bot answer is worse). */
    msg->at_most_once = v->caps.at_most_once && json_object_get(v->disp, "strat") != NULL;
    if (v->caps.expiry) {
        int64_t left = ctx->cfg->handoff_expiry_ms - (mono_ms() - (int64_t)v->decided_ms);
        msg->expires_in_ms = (uint32_t)(left > 1 ? left : 1);
    }
    hilo_link_server_send_outbound(ctx->link, &v->peer, msg);
    ctx->metrics.outbound_sent[v->channel]++;
    hilo_log_debug("dispatch", "event=dispatched channel=%s outbound_id=%s attempt=%u expires_in_ms=%u at_most_once=%d",
                   hilo_channel_name(v->channel), msg->outbound_id, attempt, msg->expires_in_ms, msg->at_most_once);
    msg->from = own_from;
    hilo__link__v1__outbound__free_unpacked(msg, NULL);
}

static void on_taken(redisReply *r, void *arg) {
    visit_t *v = arg;
    if (step_failed(v, r, "take")) return;
    const char *st = rstr(r, 0);
    if (!st) st = "";
    if (strcmp(st, "ok") == 0) {
        send_head(v, (uint32_t)reply_int(r, 1), r->elements > 2 ? r->element[2] : NULL, (uint32_t)reply_int(r, 3));
        visit_end(v, -2); /* the claim's mark (now + lease) brings the debtor back if no report comes */
    } else if (strcmp(st, "capped") == 0) {
        hilo_verdict_block(&v->v, HILO_REASON_FREQUENCY_CAP, "too many contact attempts on this channel");
        v->v.next_ms = reply_int(r, 1);
        refuse(v);
    } else if (strcmp(st, "leased") == 0) {
        visit_end(v, reply_int(r, 1));
    } else { /* changed, moved: read again and decide again */
        peek(v);
    }
}

static const char *fact_get(const void *record, const char *field) {
    const visit_t *v = *(const visit_t *const *)record;
    for (int i = 0; i < NFACTS; i++)
        if (strcmp(fact_names[i], field) == 0) return v->facts[i] && *v->facts[i] ? v->facts[i] : NULL;
    return NULL;
}

static hilo_msg_kind_t disp_kind(const json_t *disp) {
    const char *k = json_string_value(json_object_get(disp, "kind"));
    if (k && strcmp(k, "template") == 0) return HILO_MSG_TEMPLATE;
    if (k && strcmp(k, "optout_confirm") == 0) return HILO_MSG_OPTOUT_CONFIRM;
    return HILO_MSG_FREEFORM;
}

/* The address the head goes out from, when connectors of its channel announce senders
 * (protocol 1.3): the Outbound's own `from`, else our address the debtor last wrote to on the
 * channel (the conv's via:<channel>, recorded by the engine), which send_head() fills in. NULL:
 * no sender (any connector of the channel, its default sender). */
static const char *sender(visit_t *v) {
    v->from[0] = '\0';
    if (!hilo_link_server_has_senders(v->ob->ctx->link, v->channel)) return NULL;
    hilo_outbound_t *msg = hilo__link__v1__outbound__unpack(NULL, v->payload_len, v->payload);
    const char *from = NULL;
    if (msg && msg->from && *msg->from) {
        snprintf(v->from, sizeof v->from, "%s", msg->from); /* send_head() keeps the message's own */
        from = v->from;
    } else {
        char field[16];
        snprintf(field, sizeof field, "via:%s", hilo_channel_name(v->channel));
        const visit_t *self = v;
        const char *via = fact_get(&self, field);
        if (via && strlen(via) < sizeof v->from) {
            snprintf(v->from, sizeof v->from, "%s", via);
            from = v->from;
        }
    }
    if (msg) hilo__link__v1__outbound__free_unpacked(msg, NULL);
    return from;
}

static void take(visit_t *v);

/* The sender whose pace the head keeps: its `from` (its own, or the one sender() filled in),
 * else the channel's default sender ("default": whatever number each connector sends from
 * when `from` is empty — one shared budget for all of them). */
static const char *pace_sender(visit_t *v) {
    if (*v->from) return v->from;
    hilo_outbound_t *msg = hilo__link__v1__outbound__unpack(NULL, v->payload_len, v->payload);
    if (msg && msg->from && *msg->from && strlen(msg->from) < sizeof v->pace_from)
        snprintf(v->pace_from, sizeof v->pace_from, "%s", msg->from);
    else
        snprintf(v->pace_from, sizeof v->pace_from, "%s", HILO_PACING_DEFAULT);
    if (msg) hilo__link__v1__outbound__free_unpacked(msg, NULL);
    return v->pace_from;
}

static void on_paced(redisReply *r, void *arg) {
    visit_t *v = arg;
    if (step_failed(v, r, "pace")) return;
    if (reply_int(r, 0) == 1) {
        v->slot = true; /* kept if the take must read and decide again ('changed') */
        snprintf(v->slot_from, sizeof v->slot_from, "%s", v->pace_from);
        take(v);
        return;
    }
    /* No slot before `wait` ms: the visit ends and the debtor's queue is looked at again then,
     * when the gate decides afresh (its yes is never kept across a wait). */
    int64_t wait = reply_int(r, 1);
    if (wait < 1) wait = 1;
    /* On the visit's clock, like the slot's (pacing.lua was given the test clock when it is on):
     * a test clock that stands still grants no more slots and brings no head back. */
    v->ob->ctx->metrics.outbound_paced[v->channel]++;
    hilo_log_debug("dispatch", "event=outbound_paced debtor=%s channel=%s outbound_id=%s sender=%s wait_ms=%" PRId64,
                   v->debtor, hilo_channel_name(v->channel), v->oid, hilo_log_value(v->pace_from), wait);
    visit_end(v, visit_now(v) + wait);
}

/* Pacing (docs/architecture.md, "Pacing"): a slot of the sender's rate, reserved in Redis on
 * the sender's own key (pacing.lua), after the gate's yes and the choice of a connector and
 * right before the take, so that the yes is at most one round trip older when the connector
 * gets it, and no slot is spent on a message the gate refuses or no connector can take.
 * Unlimited (lifted, or rate 0): no Redis call. */
static void pace(visit_t *v) {
    const hilo_router_config_t *cfg = v->ob->ctx->cfg;
    const char *sender = pace_sender(v);
    if (sender != v->pace_from) snprintf(v->pace_from, sizeof v->pace_from, "%s", sender); /* for the log */
    const hilo_pacing_rule_t *rule = hilo_pacing_rule(&cfg->pacing, v->channel, sender);
    if (!rule || (v->slot && strcmp(v->slot_from, v->pace_from) == 0)) {
        take(v); /* unlimited, or the slot this visit was granted before the take said 'changed' */
        return;
    }
    /* Replies to the debtor's own message (the bot's answers, agents' replies) may use the
     * whole burst; everything else leaves them reply_reserve_pct of it. */
    bool reply = json_is_true(json_object_get(v->disp, "bot")) || json_is_true(json_object_get(v->disp, "reply"));
    char k[HILO_KEY_MAX], now[24] = "", iv[24], allow[16];
    if (hilo_key_pacing(k, sizeof k, hilo_channel_name(v->channel), sender) < 0) {
        take(v); /* a sender too long for a key: never one of ours (at most 63 bytes) */
        return;
    }
    if (cfg->test_clock) snprintf(now, sizeof now, "%" PRId64, v->gate_now); /* else Redis TIME */
    snprintf(iv, sizeof iv, "%" PRId64, rule->interval_us);
    snprintf(allow, sizeof allow, "%d", hilo_pacing_allowance(&cfg->pacing, rule, reply));
    const char *argv[] = {"EVALSHA", hilo_store_sha(v->ob->ctx->store, HILO_SCRIPT_PACING), "1", k, now, iv, allow};
    if (run(v->ob, on_paced, v, (int)HILO_ARRAY_LEN(argv), argv) != HILO_OK) visit_end(v, -2);
}

/* The gate's decision on the head, then take, cancel or wait. */
static void decide(visit_t *v) {
    hilo_dispatch_t *ob = v->ob;
    hilo_router_ctx_t *ctx = ob->ctx;
    int64_t now = visit_now(v);
    int64_t first = json_integer_value(json_object_get(v->disp, "first"));
    if (first > 0 && now - first > ctx->cfg->outbound_give_up_ms) {
        char text[160];
        snprintf(text, sizeof text, "not handed to the provider within %ld s of the first try (%" JSON_INTEGER_FORMAT
                 " attempts)", ctx->cfg->outbound_give_up_ms / 1000, json_integer_value(json_object_get(v->disp, "att")));
        cancel(v, "failed", "provider_unavailable", text, false);
        return;
    }
    if (!ob->gate) {
        hilo_log_error("dispatch", "event=gate_unavailable reason=\"%s\" effect=\"outbound messages wait\"",
                       ob->gate_err);
        visit_end(v, now + NO_GATE_RETRY_MS);
        return;
    }
    const visit_t *self = v;
    hilo_attempt_t a;
    hilo_attempt_load_facts(&a, fact_get, &self, &self);
    a.channel = v->channel;
    a.kind = disp_kind(v->disp);
    a.reply = json_is_true(json_object_get(v->disp, "reply"));
    a.bot = json_is_true(json_object_get(v->disp, "bot"));
    a.now_ms = v->gate_now;
    /* The confirmation of an opt-out the debtor has lifted since (STOP, then START): an ordinary
     * answer of the bot now, judged as one. */
    if (a.kind == HILO_MSG_OPTOUT_CONFIRM && a.optout_ms[v->channel] == 0) a.kind = HILO_MSG_FREEFORM;
    hilo_compliance_check(ob->gate, &a, &v->v);
    v->decided_ms = (uint64_t)mono_ms();
    if (!v->v.allowed) {
        refuse(v);
        return;
    }
    /* The bot's answers to the debtor's own message may still go through a 1.0 connector; every
     * collector-initiated message only through one that honours the expiry. */
    bool strat = json_object_get(v->disp, "strat") != NULL;
    const char *from = sender(v);
    /* A click-to-call (protocol 1.4) only to a connector that can place it. */
    unsigned min_minor = (unsigned)json_integer_value(json_object_get(v->disp, "min_minor"));
    if (hilo_link_server_pick(ctx->link, v->channel, !a.bot, strat, from, min_minor, &v->peer, &v->caps) != HILO_OK) {
        hilo_log_debug("dispatch", "event=no_connector channel=%s debtor=%s needs_expiry=%d from=%s",
                       hilo_channel_name(v->channel), v->debtor, !a.bot, hilo_log_value(from ? from : ""));
        /* Looked at again after NO_PEER_RETRY_MS on the clock, or when a connector joins,
         * whichever comes first (a test clock that stands still never brings the retry). */
        if (json_object_size(ob->no_peer[v->channel]) < NO_PEER_MAX)
            json_object_set_new(ob->no_peer[v->channel], v->debtor, json_true());
        visit_end(v, now + NO_PEER_RETRY_MS);
        return;
    }
    pace(v);
}

/* The lease, the frequency cap and the hand-off (outbound_handoff.lua take). */
static void take(visit_t *v) {
    hilo_dispatch_t *ob = v->ob;
    hilo_router_ctx_t *ctx = ob->ctx;
    char lease[24], gnow[24], win[24], lim[16];
    snprintf(lease, sizeof lease, "%ld", ctx->cfg->outbound_lease_ms);
    snprintf(gnow, sizeof gnow, "%" PRId64, v->gate_now);
    snprintf(win, sizeof win, "%" PRId64, v->v.cap.window_ms);
    snprintf(lim, sizeof lim, "%d", v->v.cap.limit > 0 ? v->v.cap.limit : 0);
    snprintf(v->token, sizeof v->token, "%s:%" PRIu64, ctx->cfg->instance, ++ob->tokens);
    /* The connector's group goes into the message's dispatch state: only a connector of a group
     * that was handed it may report on it while it is pending (settle_outbound.lua). */
    snprintf(v->group, sizeof v->group, "%s", hilo_link_server_peer_group(ctx->link, &v->peer));
    const char *args[] = {v->oid, v->sig, lease, v->token, gnow, v->v.cap.limit > 0 ? win : "0", lim, v->group};
    if (handoff(v, on_taken, "take", 8, args) != HILO_OK) visit_end(v, -2);
}

static void on_peeked(redisReply *r, void *arg) {
    visit_t *v = arg;
    if (step_failed(v, r, "peek")) return;
    const char *st = rstr(r, 0);
    if (!st) st = "";
    if (strcmp(st, "empty") == 0) {
        visit_end(v, -1);
    } else if (strcmp(st, "leased") == 0 || strcmp(st, "wait") == 0) {
        visit_end(v, reply_int(r, 1));
    } else if (strcmp(st, "unknown") == 0 && rstr(r, 1)) {
        unknown_settled(v->ob, v->channel, v->debtor, rstr(r, 1), reply_int(r, 2) == 1, "connector_lost_during_call");
        if (reply_int(r, 3) == 0)
            visit_end(v, -1);
        else
            peek(v); /* the next message of the queue goes on */
    } else if (strcmp(st, "head") == 0 && r->elements == 5 + NFACTS && rstr(r, 1) && rstr(r, 3) && rstr(r, 4) &&
               r->element[2]->type == REDIS_REPLY_STRING) {
        visit_clear_head(v);
        snprintf(v->oid, sizeof v->oid, "%s", rstr(r, 1));
        v->payload_len = r->element[2]->len;
        v->payload = hilo_xmalloc(v->payload_len ? v->payload_len : 1);
        memcpy(v->payload, r->element[2]->str, v->payload_len);
        v->disp = json_loads(rstr(r, 3), 0, NULL);
        if (!json_is_object(v->disp)) {
            json_decref(v->disp);
            v->disp = json_object(); /* judged as the strictest case: collector-initiated */
        }
        v->sig = hilo_xstrdup(rstr(r, 4));
        for (int i = 0; i < NFACTS; i++) v->facts[i] = hilo_xstrdup(rstr(r, 5 + (size_t)i) ? rstr(r, 5 + (size_t)i) : "");
        decide(v);
    } else {
        hilo_log_error("dispatch", "event=peek_unexpected debtor=%s status=%s", v->debtor, st);
        visit_end(v, -2);
    }
}

static void on_clock(void *arg, int64_t now) {
    visit_t *v = arg;
    if (v->ob->ctx->closing || now < 0) {
        visit_end(v, -2);
        return;
    }
    v->gate_now = now;
    peek(v);
}

static void peek(visit_t *v) {
    if (++v->heads > MAX_HEADS) {
        visit_end(v, 0); /* more to look at: the next poll goes on */
        return;
    }
    if (handoff(v, on_peeked, "peek", 0, NULL) != HILO_OK) visit_end(v, -2);
}

/* One visit per queue at a time in a router: two would both ask for a send slot and the gate
 * for the same head, and the one that lost the take would have spent a slot of the sender's rate
 * for nothing. What comes meanwhile (a kick, a claim's mark) is kept for a visit right after. */
static void visit(hilo_dispatch_t *ob, int channel, const char *debtor, int64_t mark) {
    if (strlen(debtor) >= sizeof ((visit_t *)0)->debtor) return;
    char key[sizeof ((visit_t *)0)->debtor + 8];
    visiting_key(channel, debtor, key, sizeof key);
    json_t *cur = json_object_get(ob->visiting, key);
    if (cur) {
        if (mark > json_integer_value(cur)) json_integer_set(cur, mark); /* a claim's mark wins over a kick */
        return;
    }
    json_object_set_new(ob->visiting, key, json_integer(VISIT_NOTHING));
    visit_t *v = hilo_xcalloc(1, sizeof *v);
    v->ob = ob;
    v->channel = channel;
    v->mark = mark;
    snprintf(v->debtor, sizeof v->debtor, "%s", debtor);
    /* The gate reads the same clock as the engine: the test clock when it is on. */
    if (hilo_clock_read(ob->ctx, on_clock, v) != HILO_OK) visit_end(v, -2);
}

/* --- polling the index ------------------------------------------------------------------- */

static void poll_partition(hilo_dispatch_t *ob, int channel, int part, int64_t now);

static void on_claimed(redisReply *r, void *arg) {
    claim_t *c = arg;
    hilo_dispatch_t *ob = c->ob;
    int channel = c->channel, part = c->part;
    int64_t now = c->now;
    free(c);
    if (ob->closed || ob->ctx->closing) return;
    ob->claiming[channel][part] = false;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        if (r && r->type == REDIS_REPLY_ERROR)
            hilo_log_error("dispatch", "event=claim_failed channel=%s reply=\"%s\"", hilo_channel_name(channel), r->str);
        return;
    }
    int64_t mark = reply_int(r, 0);
    for (size_t i = 1; i < r->elements; i++) {
        const char *d = rstr(r, i);
        if (d) visit(ob, channel, d, mark);
    }
    if (r->elements - 1 >= CLAIM_BATCH || ob->again[channel][part]) {
        if (ob->again[channel][part] && ob->again_now[channel][part] > now) now = ob->again_now[channel][part];
        ob->again[channel][part] = false;
        poll_partition(ob, channel, part, now); /* more may be due */
    }
}

/* Claims the debtors of one partition due at `now` (the poll's clock: scores and claims are on
 * the visits' clock). */
static void poll_partition(hilo_dispatch_t *ob, int channel, int part, int64_t now_ms) {
    hilo_router_ctx_t *ctx = ob->ctx;
    if (ob->claiming[channel][part]) {
        if (!ob->again[channel][part] || now_ms > ob->again_now[channel][part]) ob->again_now[channel][part] = now_ms;
        ob->again[channel][part] = true;
        return;
    }
    char k[HILO_KEY_MAX], now[24], lease[24], batch[16];
    index_key(channel, part, k);
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(lease, sizeof lease, "%ld", ctx->cfg->outbound_lease_ms);
    snprintf(batch, sizeof batch, "%d", CLAIM_BATCH);
    const char *argv[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_OUTBOX_INDEX), "1", k, "claim", now,
                          lease, batch};
    claim_t *c = hilo_xcalloc(1, sizeof *c);
    c->ob = ob;
    c->channel = channel;
    c->part = part;
    c->now = now_ms;
    if (run(ob, on_claimed, c, (int)HILO_ARRAY_LEN(argv), argv) == HILO_OK)
        ob->claiming[channel][part] = true;
    else
        free(c);
}

static bool can_dispatch(hilo_dispatch_t *ob, int channel) {
    hilo_router_ctx_t *ctx = ob->ctx;
    return !ob->closed && !ctx->closing && channel > 0 && channel < HILO_CHANNEL_MAX && hilo_store_ready(ctx->store) &&
           hilo_link_server_peer_count(ctx->link, channel) > 0;
}

typedef struct {
    hilo_dispatch_t *ob;
    int channel;
} kick_t;

/* The clock is read once per poll of a channel (the test clock's key is on its own hash slot:
 * the claims get the time as an argument). */
static void on_kick_clock(void *arg, int64_t now) {
    kick_t k = *(kick_t *)arg;
    free(arg);
    if (now < 0 || !can_dispatch(k.ob, k.channel)) return;
    for (int p = 0; p < HILO_OUTBOX_PARTITIONS; p++) poll_partition(k.ob, k.channel, p, now);
}

void hilo_dispatch_kick(hilo_dispatch_t *ob, int channel) {
    if (!can_dispatch(ob, channel)) return;
    kick_t *k = hilo_xcalloc(1, sizeof *k);
    k->ob = ob;
    k->channel = channel;
    if (hilo_clock_read(ob->ctx, on_kick_clock, k) != HILO_OK) free(k);
}

void hilo_dispatch_peers_changed(hilo_dispatch_t *ob, int channel) {
    if (!can_dispatch(ob, channel)) return;
    json_t *waiting = ob->no_peer[channel];
    ob->no_peer[channel] = json_object();
    const char *debtor;
    json_t *unused;
    json_object_foreach(waiting, debtor, unused) visit(ob, channel, debtor, -1);
    json_decref(waiting);
    hilo_dispatch_kick(ob, channel);
}

void hilo_dispatch_kick_debtor(hilo_dispatch_t *ob, int channel, const char *debtor) {
    if (!can_dispatch(ob, channel)) return;
    visit(ob, channel, debtor, -1);
}

static void on_timer(uv_timer_t *t) {
    hilo_dispatch_t *ob = t->data;
    for (int c = 1; c < HILO_CHANNEL_MAX; c++) hilo_dispatch_kick(ob, c);
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

/* A report about a pending message from a connector whose group was never handed it. */
static void forbidden(report_t *rp) {
    char reason[256];
    snprintf(reason, sizeof reason, "delivery: outbound %s was not handed to this connector (key %s)", rp->oid,
             rp->group);
    hilo_log_warn("dispatch", "event=delivery_forbidden channel=%s outbound_id=%s key_name=%s",
                  hilo_channel_name(rp->frame->envelope->channel), hilo_log_value(rp->oid), rp->group);
    report_finish(rp, false, HILO_NACK_FORBIDDEN, reason);
}

static void on_settled(redisReply *r, void *arg) {
    report_t *rp = arg;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r) hilo_log_error("dispatch", "event=settle_failed reply=\"%s\"", r->str);
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    const hilo_envelope_t *e = rp->frame->envelope;
    if (r->type == REDIS_REPLY_ARRAY && reply_int(r, 0) < 0) {
        forbidden(rp);
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && reply_int(r, 2) == 1 && !rp->ob->ctx->closing)
        hilo_strategy_run_kick(rp->ob->ctx, rp->debtor); /* a strategy step's result */
    if (r->type == REDIS_REPLY_ARRAY && reply_int(r, 1) > 0 && !rp->ob->ctx->closing) {
        /* The next message of the debtor's queue may go now. */
        index_mark(rp->ob, e->channel, rp->debtor, 0);
        hilo_dispatch_kick_debtor(rp->ob, e->channel, rp->debtor);
    }
    report_finish(rp, true, 0, NULL);
}

static void settle(report_t *rp) {
    hilo_router_ctx_t *ctx = rp->ob->ctx;
    const hilo_envelope_t *e = rp->frame->envelope;
    const hilo_delivery_t *d = e->delivery;
    const char *chname = hilo_channel_name(e->channel);
    int64_t now = rp->now;
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
    char kout[HILO_KEY_MAX], kstat[HILO_KEY_MAX], koq[HILO_KEY_MAX], kodisp[HILO_KEY_MAX];
    hilo_key_debtor(kout, sizeof kout, rp->debtor, HILO_KEY_OUT);
    hilo_key_debtor(kstat, sizeof kstat, rp->debtor, HILO_KEY_OSTAT);
    hilo_key_debtor_channel(koq, sizeof koq, rp->debtor, HILO_KEY_OQ, chname);
    hilo_key_debtor(kodisp, sizeof kodisp, rp->debtor, HILO_KEY_ODISP);
    /* A report about one part of a multi-part message records that part; only a report about
     * the whole message settles it. */
    const char *settles = d->part == 0 ? "1" : "0";
    const char *argv[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_SETTLE_OUTBOUND), "4", kout, kstat,
                          koq, kodisp, rp->oid, status, settles, rp->group};
    int rc = run(rp->ob, on_settled, rp, (int)HILO_ARRAY_LEN(argv), argv);
    free(status);
    if (rc != HILO_OK) report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

/* EVALSHA outbound_handoff <op> for a report about rp's message (its debtor's keys). */
static int report_handoff(report_t *rp, hilo_store_reply_fn cb, void *arg, const char *op, int nargs,
                          const char **args) {
    int channel = rp->frame->envelope->channel;
    visit_t tmp = {.ob = rp->ob, .channel = channel};
    snprintf(tmp.debtor, sizeof tmp.debtor, "%s", rp->debtor);
    char k[8][HILO_KEY_MAX], now[24];
    handoff_keys(&tmp, k);
    snprintf(now, sizeof now, "%" PRId64, rp->now);
    const char *argv[24] = {"EVALSHA", hilo_store_sha(rp->ob->ctx->store, HILO_SCRIPT_OUTBOUND_HANDOFF), "8",
                            k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], op, now, hilo_channel_name(channel),
                            rp->oid};
    int argc = 15;
    for (int i = 0; i < nargs && argc < 24; i++) argv[argc++] = args[i];
    return run(rp->ob, cb, arg, argc, argv);
}

/* --- at most once: CALLING and UNKNOWN (protocol 1.2) ---------------------------------- */

static void on_calling(redisReply *r, void *arg) {
    report_t *rp = arg;
    const char *st = r && r->type == REDIS_REPLY_ARRAY ? rstr(r, 0) : NULL;
    if (!st) {
        if (r && r->type == REDIS_REPLY_ERROR) hilo_log_error("dispatch", "event=calling_failed reply=\"%s\"", r->str);
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
    } else if (strcmp(st, "ok") == 0) {
        /* Recorded: the Ack is the connector's go-ahead for the provider call. */
        hilo_log_debug("dispatch", "event=outbound_calling outbound_id=%s attempt=%u", rp->oid,
                       rp->frame->envelope->delivery->attempt);
        report_finish(rp, true, 0, NULL);
    } else if (strcmp(st, "forbidden") == 0) {
        forbidden(rp);
    } else {
        char reason[256];
        snprintf(reason, sizeof reason,
                 "delivery: CALLING for attempt %u of outbound %s refused: settled, handed out again or its lease ran "
                 "out; do not call the provider",
                 rp->frame->envelope->delivery->attempt, rp->oid);
        report_finish(rp, false, HILO_NACK_GONE, reason);
    }
}

/* CALLING: `calling` = attempt in the message's dispatch state, with a fresh lease, only while
 * the attempt is current and its lease holds (else the connector must not call). */
static void calling(report_t *rp) {
    char att[16], lease[24];
    snprintf(att, sizeof att, "%u", rp->frame->envelope->delivery->attempt);
    snprintf(lease, sizeof lease, "%ld", rp->ob->ctx->cfg->outbound_lease_ms);
    const char *args[] = {att, lease, rp->group};
    if (report_handoff(rp, on_calling, rp, "calling", 3, args) != HILO_OK)
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

static void on_unknown_report(redisReply *r, void *arg) {
    report_t *rp = arg;
    const char *st = r && r->type == REDIS_REPLY_ARRAY ? rstr(r, 0) : NULL;
    int channel = rp->frame->envelope->channel;
    if (!st) {
        if (r && r->type == REDIS_REPLY_ERROR) hilo_log_error("dispatch", "event=unknown_failed reply=\"%s\"", r->str);
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    if (strcmp(st, "forbidden") == 0) {
        forbidden(rp);
        return;
    }
    if (strcmp(st, "unknown") == 0 && !rp->ob->ctx->closing) {
        unknown_settled(rp->ob, channel, rp->debtor, rp->oid, reply_int(r, 2) == 1, "provider_outcome_unknown");
        if (reply_int(r, 3) > 0) { /* the next message of the debtor's queue may go now */
            index_mark(rp->ob, channel, rp->debtor, 0);
            hilo_dispatch_kick_debtor(rp->ob, channel, rp->debtor);
        }
    }
    /* 'gone': settled already (or an older attempt): nothing to do. */
    report_finish(rp, true, 0, NULL);
}

/* UNKNOWN: the connector called the provider and cannot tell whether it took the message. */
static void unknown_report(report_t *rp) {
    const hilo_delivery_t *d = rp->frame->envelope->delivery;
    char att[16];
    snprintf(att, sizeof att, "%u", d->attempt);
    const char *args[] = {d->attempt ? att : "", rp->group, d->error_code, d->error_message};
    if (report_handoff(rp, on_unknown_report, rp, "unknown", 4, args) != HILO_OK)
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

/* --- returned messages: back to the queue, due again after a backoff ------------------ */

typedef struct {
    report_t *rp;
    int64_t due;
} returned_t;

static void on_returned(redisReply *r, void *arg) {
    returned_t *rt = arg;
    report_t *rp = rt->rp;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r) hilo_log_error("dispatch", "event=return_failed reply=\"%s\"", r->str);
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
    } else {
        if (rstr(r, 0) && strcmp(rstr(r, 0), "forbidden") == 0) {
            free(rt);
            forbidden(rp);
            return;
        }
        /* 'gone' (settled meanwhile, or an older attempt's return): nothing to do. */
        if (!rp->ob->ctx->closing && rstr(r, 0) && strcmp(rstr(r, 0), "ok") == 0)
            index_mark(rp->ob, rp->frame->envelope->channel, rp->debtor, rt->due);
        report_finish(rp, true, 0, NULL);
    }
    free(rt);
}

static void returned(report_t *rp) {
    hilo_router_ctx_t *ctx = rp->ob->ctx;
    const hilo_envelope_t *e = rp->frame->envelope;
    const hilo_delivery_t *d = e->delivery;
    ctx->metrics.outbound_returned[e->channel]++;
    int64_t delay = RETURN_BACKOFF_MIN_MS;
    for (uint32_t i = 1; i < d->attempt && delay < RETURN_BACKOFF_MAX_MS; i++) delay *= 2;
    if (delay > RETURN_BACKOFF_MAX_MS) delay = RETURN_BACKOFF_MAX_MS;
    if ((int64_t)d->retry_after_ms > delay) delay = d->retry_after_ms;
    returned_t *rt = hilo_xcalloc(1, sizeof *rt);
    rt->rp = rp;
    rt->due = rp->now + delay; /* on the clock the visits claim with (visit_now) */
    hilo_log_info("dispatch", "event=outbound_returned channel=%s outbound_id=%s attempt=%u code=%s delay_ms=%" PRId64,
                  hilo_channel_name(e->channel), rp->oid, d->attempt, hilo_log_value(d->error_code), delay);
    char due[24], ps[16], att[16], why[80];
    snprintf(due, sizeof due, "%" PRId64, rt->due);
    snprintf(ps, sizeof ps, "%u", d->parts_sent);
    snprintf(att, sizeof att, "%u", d->attempt);
    snprintf(why, sizeof why, "returned:%s", *d->error_code ? d->error_code : "unknown");
    const char *args[] = {due, d->parts_sent ? ps : "", d->attempt ? att : "", why, rp->group};
    if (report_handoff(rp, on_returned, rt, "release", 5, args) != HILO_OK) {
        free(rt);
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
    }
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

/* A valid report, with its "now" (the status's time, a return's due time, a CALLING's lease). */
static void on_report_clock(void *arg, int64_t now) {
    report_t *rp = arg;
    hilo_router_ctx_t *ctx = rp->ob->ctx;
    const hilo_envelope_t *e = rp->frame->envelope;
    const hilo_delivery_t *d = e->delivery;
    if (now < 0) {
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    rp->now = now;
    if (*rp->oid) {
        if (d->state == HILO_DELIVERY_RETURNED)
            returned(rp);
        else if (d->state == HILO_DELIVERY_CALLING)
            calling(rp);
        else if (d->state == HILO_DELIVERY_UNKNOWN)
            unknown_report(rp);
        else
            settle(rp);
        return;
    }
    char key[HILO_KEY_MAX];
    hilo_key_pmid(key, sizeof key, hilo_channel_name(e->channel), d->provider_message_id);
    if (hilo_store_command(ctx->store, on_pmid, rp, "GET %s", key) != HILO_OK)
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

static void on_order_failed(void *arg, int rc) {
    report_t *rp = arg;
    if (rc == HILO_OK) report_finish(rp, true, 0, NULL);
    else report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

void hilo_dispatch_on_delivery(hilo_dispatch_t *ob, const hilo_peer_ref_t *peer, hilo_frame_t *frame,
                               int64_t recv_us) {
    hilo_router_ctx_t *ctx = ob->ctx;
    report_t *rp = hilo_xcalloc(1, sizeof *rp);
    rp->ob = ob;
    rp->peer = *peer;
    rp->frame = frame;
    snprintf(rp->group, sizeof rp->group, "%s", hilo_link_server_peer_group(ctx->link, peer));
    hilo_router_inflight_begin(ctx);
    const hilo_envelope_t *e = frame->envelope;
    const hilo_delivery_t *d = e->delivery;
    if (d->state < HILO_DELIVERY_SENT || d->state >= HILO_DELIVERY_STATES) {
        report_finish(rp, false, HILO_NACK_INVALID,
                      "delivery.state must be SENT, DELIVERED, READ, FAILED, RETURNED, CALLING or UNKNOWN");
        return;
    }
    bool amo = d->state == HILO_DELIVERY_CALLING || d->state == HILO_DELIVERY_UNKNOWN;
    if (amo && (!*d->outbound_id || !*d->debtor_id || d->part != 0 ||
                (d->state == HILO_DELIVERY_CALLING && d->attempt == 0))) {
        report_finish(rp, false, HILO_NACK_INVALID,
                      "delivery: CALLING and UNKNOWN are about the whole message and need outbound_id and debtor_id "
                      "(CALLING also its attempt)");
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
    } else if (d->state == HILO_DELIVERY_RETURNED) {
        report_finish(rp, false, HILO_NACK_INVALID, "delivery: RETURNED needs outbound_id and debtor_id");
        return;
    } else if (!*d->provider_message_id) {
        report_finish(rp, false, HILO_NACK_INVALID,
                      "delivery: needs outbound_id with debtor_id, or provider_message_id");
        return;
    }
    /* A connect order that failed is acted on, not only recorded (calls.h). */
    if (d->state == HILO_DELIVERY_FAILED && *rp->oid && hilo_calls_is_order(rp->oid)) {
        hilo_calls_order_failed(ctx, rp->debtor, rp->oid, d->error_code, on_order_failed, rp);
        return;
    }
    /* Read once per report (clock.h); right away without the test clock. */
    if (hilo_clock_read(ctx, on_report_clock, rp) != HILO_OK)
        report_finish(rp, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

/* --- the dispatch index of older routers ----------------------------------------------
 * Routers before the gate at hand-off kept one index per channel, hilo:outbox:<channel>
 * ("<debtor>|<outbound id>" -> due ms). Its messages are moved, oldest first, to their debtors'
 * queues (outbox_migrate.lua, idempotent), marked in the partitioned index, then removed from
 * the old one: an upgrade loses no pending message. Judged as collector-initiated (the strict
 * case: who wrote them is not in the old entry), templates as templates. */

#define LEGACY_BATCH 100

typedef struct {
    hilo_dispatch_t *ob;
    int channel;
    char debtor[HILO_DEBTOR_ID_MAX + 32];
    char oid[128];
    char member[HILO_KEY_MAX];
} legacy_t;

static void legacy_poll(hilo_dispatch_t *ob, int channel);

static void legacy_key(int channel, char *buf) {
    snprintf(buf, HILO_KEY_MAX, "hilo:outbox:%s", hilo_channel_name(channel));
}

static void on_legacy_moved(redisReply *r, void *arg) {
    legacy_t *l = arg;
    hilo_dispatch_t *ob = l->ob;
    if (!ob->ctx->closing && r && r->type == REDIS_REPLY_INTEGER) {
        char k[HILO_KEY_MAX];
        index_mark(ob, l->channel, l->debtor, 0);
        legacy_key(l->channel, k);
        const char *argv[] = {"ZREM", k, l->member};
        run(ob, NULL, NULL, 3, argv);
        if (r->integer == 1)
            hilo_log_info("dispatch", "event=outbound_migrated channel=%s debtor=%s outbound_id=%s",
                          hilo_channel_name(l->channel), l->debtor, l->oid);
    }
    free(l);
}

static void on_legacy_payload(redisReply *r, void *arg) {
    legacy_t *l = arg;
    hilo_dispatch_t *ob = l->ob;
    if (ob->ctx->closing || !r || r->type == REDIS_REPLY_ERROR) {
        free(l);
        return;
    }
    const char *kind = "freeform";
    if (r->type == REDIS_REPLY_STRING) {
        hilo_outbound_t *msg = hilo__link__v1__outbound__unpack(NULL, r->len, (const uint8_t *)r->str);
        if (msg && msg->template_ && msg->template_->name && *msg->template_->name) kind = "template";
        if (msg) hilo__link__v1__outbound__free_unpacked(msg, NULL);
    }
    char disp[160], kc[HILO_KEY_MAX], koq[HILO_KEY_MAX], kd[HILO_KEY_MAX], kout[HILO_KEY_MAX];
    snprintf(disp, sizeof disp, "{\"by\":\"migrated\",\"bot\":false,\"reply\":false,\"kind\":\"%s\",\"wait\":false}",
             kind);
    hilo_key_debtor(kc, sizeof kc, l->debtor, HILO_KEY_CONV);
    hilo_key_debtor_channel(koq, sizeof koq, l->debtor, HILO_KEY_OQ, hilo_channel_name(l->channel));
    hilo_key_debtor(kd, sizeof kd, l->debtor, HILO_KEY_ODISP);
    hilo_key_debtor(kout, sizeof kout, l->debtor, HILO_KEY_OUT);
    const char *argv[] = {"EVALSHA", hilo_store_sha(ob->ctx->store, HILO_SCRIPT_OUTBOX_MIGRATE), "4", kc, koq, kd, kout,
                          l->oid, disp};
    if (run(ob, on_legacy_moved, l, (int)HILO_ARRAY_LEN(argv), argv) != HILO_OK) free(l);
}

static void on_legacy_range(redisReply *r, void *arg) {
    claim_t *c = arg;
    hilo_dispatch_t *ob = c->ob;
    int channel = c->channel;
    free(c);
    if (ob->ctx->closing || !r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return;
    for (size_t i = 0; i < r->elements; i++) {
        const char *m = rstr(r, i);
        if (!m) continue;
        legacy_t *l = hilo_xcalloc(1, sizeof *l);
        l->ob = ob;
        l->channel = channel;
        snprintf(l->member, sizeof l->member, "%s", m);
        char k[HILO_KEY_MAX];
        if (!split_member(m, l->debtor, sizeof l->debtor, l->oid, sizeof l->oid)) {
            legacy_key(channel, k); /* not ours to keep: a malformed entry */
            const char *argv[] = {"ZREM", k, m};
            run(ob, NULL, NULL, 3, argv);
            free(l);
            continue;
        }
        hilo_key_debtor(k, sizeof k, l->debtor, HILO_KEY_OUT);
        const char *argv[] = {"HGET", k, l->oid};
        if (run(ob, on_legacy_payload, l, 3, argv) != HILO_OK) free(l);
    }
    if (r->elements >= LEGACY_BATCH) legacy_poll(ob, channel); /* the ZREMs above went first */
}

static void legacy_poll(hilo_dispatch_t *ob, int channel) {
    char k[HILO_KEY_MAX], n[16];
    legacy_key(channel, k);
    snprintf(n, sizeof n, "%d", LEGACY_BATCH - 1);
    claim_t *c = hilo_xcalloc(1, sizeof *c);
    c->ob = ob;
    c->channel = channel;
    const char *argv[] = {"ZRANGE", k, "0", n};
    if (run(ob, on_legacy_range, c, 4, argv) != HILO_OK) free(c);
}

void hilo_dispatch_migrate(hilo_dispatch_t *ob) {
    if (ob->closed || ob->ctx->closing || !hilo_store_ready(ob->ctx->store)) return;
    for (int c = 1; c < HILO_CHANNEL_MAX; c++) legacy_poll(ob, c);
}

/* --- lifecycle --------------------------------------------------------------------- */

static hilo_compliance_t *load_gate(const hilo_router_config_t *cfg, char *err, size_t errlen) {
    char path[1024];
    return hilo_compliance_new(hilo_router_config_path(cfg, cfg->compliance_dir, path, sizeof path), NULL, err,
                               errlen);
}

hilo_dispatch_t *hilo_dispatch_new(hilo_router_ctx_t *ctx) {
    hilo_dispatch_t *ob = hilo_xcalloc(1, sizeof *ob);
    ob->ctx = ctx;
    ob->visiting = json_object();
    for (int c = 0; c < HILO_CHANNEL_MAX; c++) ob->no_peer[c] = json_object();
    ob->gate = load_gate(ctx->cfg, ob->gate_err, sizeof ob->gate_err);
    if (!ob->gate)
        hilo_log_error("dispatch", "event=gate_unavailable reason=\"%s\" effect=\"outbound messages wait\"",
                       ob->gate_err);
    uv_timer_init(ctx->loop, &ob->timer);
    ob->timer.data = ob;
    return ob;
}

int hilo_dispatch_reload_gate(hilo_dispatch_t *ob, char *err, size_t errlen) {
    hilo_compliance_t *gate = load_gate(ob->ctx->cfg, err, errlen);
    if (!gate) return -1;
    hilo_compliance_destroy(&ob->gate); /* verdicts are values: nothing outlives the old gate */
    ob->gate = gate;
    return 0;
}

const hilo_compliance_t *hilo_dispatch_gate(const hilo_dispatch_t *ob) { return ob->gate; }

void hilo_dispatch_start(hilo_dispatch_t *ob) {
    uint64_t every = (uint64_t)ob->ctx->cfg->outbound_poll_ms;
    uv_timer_start(&ob->timer, on_timer, every, every);
}

static void on_closed(uv_handle_t *h) {
    hilo_dispatch_t *ob = h->data;
    hilo_compliance_destroy(&ob->gate);
    json_decref(ob->visiting);
    for (int c = 0; c < HILO_CHANNEL_MAX; c++) json_decref(ob->no_peer[c]);
    free(ob);
}

void hilo_dispatch_destroy(hilo_dispatch_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_dispatch_t *ob = *self_p;
    ob->closed = true;
    uv_timer_stop(&ob->timer);
    uv_close((uv_handle_t *)&ob->timer, on_closed);
    *self_p = NULL;
}
