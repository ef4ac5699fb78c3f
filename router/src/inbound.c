/* inbound.c — envelope -> identity -> atomic commit -> ack. */
#include "inbound.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/phone.h"
#include "dispatch.h"
#include "engine.h"

#define PMID_MAX 256 /* longest provider message id accepted */

struct hilo_inbound {
    hilo_router_ctx_t *ctx;
};

/* One envelope on its way through Redis. */
typedef struct {
    hilo_inbound_t *in;
    hilo_peer_ref_t peer;                  /* whom to answer */
    hilo_frame_t *frame;                   /* owned (NULL once handed to the engine) */
    uint64_t seq;                          /* the envelope's seq, for the answer */
    int64_t recv_us;                       /* monotonic receive time */
    char addr[24];                         /* sender, E.164 */
    char debtor[HILO_DEBTOR_ID_MAX + 32];  /* resolved debtor id, or u:<E.164> */
    bool unidentified;
} job_t;

static const char *voice_kind_name(int kind) {
    switch (kind) {
    case HILO_VOICE_CALL_START: return "call_start";
    case HILO_VOICE_GATHER: return "gather";
    case HILO_VOICE_CALL_END: return "call_end";
    default: return "unknown";
    }
}

/* Answers and frees the job (and its frame, unless it was handed on). */
static void finish(job_t *j, bool ok, bool duplicate, int code, const char *reason) {
    hilo_router_ctx_t *ctx = j->in->ctx;
    if (!ctx->closing) {
        uint64_t seq = j->seq;
        if (ok) {
            hilo_link_server_send_ack(ctx->link, &j->peer, seq, duplicate, j->debtor);
            hilo_histogram_observe(&ctx->metrics.commit_latency, (double)(hilo_mono_us() - j->recv_us) / 1e6);
        } else {
            hilo_link_server_send_nack(ctx->link, &j->peer, seq, code, reason);
        }
        hilo_router_inflight_end(ctx);
    }
    hilo_frame_free(&j->frame);
    free(j);
}

/* The rules of docs/protocol.md for what an envelope must carry. */
static int check_content(const hilo_envelope_t *e, char *reason, size_t n) {
    if (e->seq == 0) {
        snprintf(reason, n, "seq must not be 0 (it names the envelope in Ack/Nack)");
        return HILO_ERR;
    }
    size_t pmid_len = strlen(e->provider_message_id);
    if (pmid_len == 0 || pmid_len > PMID_MAX) {
        snprintf(reason, n, "provider_message_id must have 1 to %d bytes", PMID_MAX);
        return HILO_ERR;
    }
    int kinds = (*e->text || e->n_media) + (e->button != NULL) + (e->voice != NULL) + (e->delivery != NULL);
    if (kinds != 1) {
        snprintf(reason, n, kinds ? "text/media, button, voice and delivery are exclusive"
                                  : "no content: one of text, media, button, voice, delivery is required");
        return HILO_ERR;
    }
    if (e->voice) {
        if (e->channel != HILO_CHANNEL_VOICE) {
            snprintf(reason, n, "voice events belong to the voice channel");
            return HILO_ERR;
        }
        if (e->voice->kind < HILO_VOICE_CALL_START || e->voice->kind > HILO_VOICE_CALL_END || !*e->voice->call_id) {
            snprintf(reason, n, "voice event needs a kind and a call_id");
            return HILO_ERR;
        }
    }
    if (!e->delivery && !*e->from) {
        snprintf(reason, n, "from (the debtor's address) is required");
        return HILO_ERR;
    }
    return HILO_OK;
}

static void set_str(json_t *o, const char *key, const char *value) {
    if (value && *value) json_object_set_new(o, key, json_string(value));
}

/* The history item of docs/architecture.md. Returns a malloc'd compact JSON string. */
static char *item_json(const job_t *j, int64_t now_ms) {
    const hilo_envelope_t *e = j->frame->envelope;
    json_t *o = json_object();
    json_object_set_new(o, "ch", json_string(hilo_channel_name(e->channel)));
    json_object_set_new(o, "dir", json_string("in"));
    const char *kind = e->button ? "button" : e->voice ? "voice" : (!*e->text && e->n_media) ? "media" : "text";
    json_object_set_new(o, "kind", json_string(kind));
    set_str(o, "pmid", e->provider_message_id);
    set_str(o, "from", j->addr);
    set_str(o, "to", e->to);
    json_object_set_new(o, "sent_ms", json_integer(e->sent_at_ms));
    json_object_set_new(o, "recv_ms", json_integer(now_ms));
    set_str(o, "name", e->contact_name);
    set_str(o, "text", e->text);
    if (e->n_media) {
        json_t *arr = json_array();
        for (size_t i = 0; i < e->n_media; i++) {
            const hilo_media_t *m = e->media[i];
            json_t *mo = json_object();
            set_str(mo, "id", m->id);
            set_str(mo, "url", m->url);
            set_str(mo, "mime", m->mime_type);
            set_str(mo, "caption", m->caption);
            set_str(mo, "filename", m->filename);
            json_array_append_new(arr, mo);
        }
        json_object_set_new(o, "media", arr);
    }
    if (e->button) {
        json_t *b = json_object();
        set_str(b, "payload", e->button->payload);
        set_str(b, "title", e->button->title);
        json_object_set_new(o, "button", b);
    }
    if (e->voice) {
        const hilo_voice_event_t *v = e->voice;
        json_t *vo = json_object();
        json_object_set_new(vo, "event", json_string(voice_kind_name(v->kind)));
        set_str(vo, "call_id", v->call_id);
        set_str(vo, "digits", v->digits);
        set_str(vo, "speech", v->speech);
        if (v->confidence > 0) json_object_set_new(vo, "confidence", json_real(v->confidence));
        set_str(vo, "status", v->call_status);
        if (v->duration_s) json_object_set_new(vo, "duration_s", json_integer(v->duration_s));
        json_object_set_new(o, "voice", vo);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void on_commit(redisReply *r, void *arg) {
    job_t *j = arg;
    hilo_router_ctx_t *ctx = j->in->ctx;
    if (ctx->closing) {
        finish(j, false, false, 0, NULL);
        return;
    }
    if (!r) {
        finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage connection lost during commit; retry");
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER) {
        hilo_log_error("inbound", "event=commit_failed debtor=%s reply=\"%s\"", j->debtor,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
            hilo_store_reset(ctx->store, "script cache flushed");
        finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage refused the commit; retry");
        return;
    }
    int channel = j->frame->envelope->channel;
    bool duplicate = r->element[0]->integer == 1;
    if (duplicate) {
        ctx->metrics.dedupes[channel]++;
    } else {
        ctx->metrics.stored[channel]++;
        /* The listing index is not part of the debtor's atomic step (it is another hash
         * slot); losing this update only delays the conversation in listings until its
         * next message. */
        char ts[24];
        snprintf(ts, sizeof ts, "%lld", (long long)hilo_now_ms());
        const char *argv[] = {"ZADD", HILO_KEY_CONVS, ts, j->debtor};
        size_t lens[] = {4, strlen(HILO_KEY_CONVS), strlen(ts), strlen(j->debtor)};
        hilo_store_argv(ctx->store, NULL, NULL, 4, argv, lens);
    }
    /* Ack first (the message is durable), then the conversation engine takes the envelope
     * for its turn. Duplicates get no second turn. */
    hilo_frame_t *frame = j->frame;
    j->frame = NULL;
    hilo_peer_ref_t peer = j->peer;
    char debtor[sizeof j->debtor], addr[sizeof j->addr];
    bool unidentified = j->unidentified;
    memcpy(debtor, j->debtor, sizeof debtor);
    memcpy(addr, j->addr, sizeof addr);
    finish(j, true, duplicate, 0, NULL);
    if (!duplicate && ctx->engine) {
        hilo_engine_turn(ctx->engine, &peer, frame, debtor, unidentified, addr);
        return;
    }
    hilo_frame_free(&frame);
}

static void commit(job_t *j) {
    hilo_router_ctx_t *ctx = j->in->ctx;
    const hilo_envelope_t *e = j->frame->envelope;
    const char *chname = hilo_channel_name(e->channel);
    char kconv[HILO_KEY_MAX], khist[HILO_KEY_MAX], kseen[HILO_KEY_MAX], kaudit[HILO_KEY_MAX];
    hilo_key_debtor(kconv, sizeof kconv, j->debtor, HILO_KEY_CONV);
    hilo_key_debtor(khist, sizeof khist, j->debtor, HILO_KEY_HIST);
    hilo_key_debtor(kseen, sizeof kseen, j->debtor, HILO_KEY_SEEN);
    hilo_key_debtor(kaudit, sizeof kaudit, j->debtor, HILO_KEY_AUDIT);
    char dedupe[PMID_MAX + 16], now_s[24], cap_s[24], window_s[24];
    snprintf(dedupe, sizeof dedupe, "%s:%s", chname, e->provider_message_id);
    int64_t now = hilo_now_ms();
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    snprintf(cap_s, sizeof cap_s, "%ld", ctx->cfg->history_max);
    snprintf(window_s, sizeof window_s, "%lld", (long long)ctx->cfg->dedupe_window_ms);
    char *item = item_json(j, now);
    const char *sha = hilo_store_sha(ctx->store, HILO_SCRIPT_COMMIT_INBOUND);
    const char *argv[] = {"EVALSHA", sha, "4", kconv, khist, kseen, kaudit, dedupe, now_s, item, cap_s, window_s,
                          chname, j->addr, j->unidentified ? "1" : "0"};
    size_t lens[HILO_ARRAY_LEN(argv)];
    for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
    int rc = hilo_store_argv(ctx->store, on_commit, j, (int)HILO_ARRAY_LEN(argv), argv, lens);
    free(item);
    if (rc != HILO_OK) finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

static void on_identity(redisReply *r, void *arg) {
    job_t *j = arg;
    hilo_router_ctx_t *ctx = j->in->ctx;
    if (ctx->closing || !r) {
        finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage connection lost; retry");
        return;
    }
    if (r->type == REDIS_REPLY_STRING && hilo_debtor_id_valid(r->str)) {
        snprintf(j->debtor, sizeof j->debtor, "%s", r->str);
    } else {
        if (r->type != REDIS_REPLY_NIL)
            hilo_log_error("inbound", "event=bad_identity_entry addr_key=hilo:addr:%s", j->addr);
        /* Unknown address: an unidentified contact, kept apart, never merged by guess. */
        snprintf(j->debtor, sizeof j->debtor, "u:%s", j->addr);
        j->unidentified = true;
    }
    commit(j);
}

void hilo_inbound_handle(hilo_inbound_t *in, const hilo_peer_ref_t *peer, hilo_frame_t *frame, int64_t recv_us) {
    hilo_router_ctx_t *ctx = in->ctx;
    job_t *j = hilo_xcalloc(1, sizeof *j);
    j->in = in;
    j->peer = *peer;
    j->frame = frame;
    j->seq = frame->envelope->seq;
    j->recv_us = recv_us;
    hilo_router_inflight_begin(ctx);
    const hilo_envelope_t *e = frame->envelope;
    char reason[160];
    if (check_content(e, reason, sizeof reason) != HILO_OK) {
        finish(j, false, false, HILO_NACK_INVALID, reason);
        return;
    }
    if (e->delivery) {
        hilo_dispatch_on_delivery(ctx->dispatch, peer, frame, recv_us);
        j->frame = NULL;
        hilo_router_inflight_end(ctx);
        free(j);
        return;
    }
    const char *why;
    if (hilo_phone_normalize(e->from, ctx->cfg->default_cc, j->addr, sizeof j->addr, &why) != HILO_OK) {
        snprintf(reason, sizeof reason, "from '%.40s': %s", e->from, why);
        finish(j, false, false, HILO_NACK_INVALID, reason);
        return;
    }
    if (!hilo_store_ready(ctx->store)) {
        finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    char key[HILO_KEY_MAX];
    hilo_key_addr(key, sizeof key, j->addr);
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, strlen(key)};
    if (hilo_store_argv(ctx->store, on_identity, j, 2, argv, lens) != HILO_OK)
        finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

hilo_inbound_t *hilo_inbound_new(hilo_router_ctx_t *ctx) {
    hilo_inbound_t *in = hilo_xcalloc(1, sizeof *in);
    in->ctx = ctx;
    return in;
}

void hilo_inbound_destroy(hilo_inbound_t **self_p) {
    if (!self_p || !*self_p) return;
    free(*self_p);
    *self_p = NULL;
}
