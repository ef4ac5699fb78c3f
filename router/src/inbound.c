/* inbound.c — envelope -> identity -> atomic commit -> ack.
 * Envelopes are batched by stage: those received in one loop turn share one MGET of their
 * addresses, and those whose identity is known in one loop turn share one call of
 * commit_inbound.lua (at most [router] commit_batch_max per command). Under light load a
 * batch is one message and nothing waits; under load the per-command cost in Redis and here
 * is paid once per batch.
 * An address found in the identity cache (identity_cache.h) skips the MGET: its envelope
 * goes to the commit in the same turn. While an MGET is out, nothing skips it, so that two
 * envelopes of one sender are committed in the order they came. */
#include "inbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "hilo/history_item.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/phone.h"
#include "dispatch.h"
#include "engine.h"
#include "console/console.h"
#include "identity_cache.h"
#include "turns.h"

#define PMID_MAX 256 /* longest provider message id accepted */

struct hilo_inbound {
    hilo_router_ctx_t *ctx;
    uv_check_t check;          /* flushes the queues after each loop turn's I/O */
    size_t batch_max;          /* [router] commit_batch_max */
    struct job **identity_q;   /* waiting for the next MGET */
    size_t n_identity;
    struct job **commit_q;     /* identity known, waiting for the next commit call */
    size_t n_commit;
    long lookups_out;          /* MGETs sent and not answered */
    hilo_phone_cache_t *phones; /* sender spelling -> canonical E.164 (libphonenumber is slow) */
};

/* Senders whose normalised address is remembered (phone.h): 32768 slots of 72 bytes, 2.3 MiB. A
 * miss costs one libphonenumber parse (10-20 µs) on the loop; docs/performance-log.md. */
#define PHONE_CACHE_SLOTS 32768

/* One envelope on its way through Redis. */
typedef struct job {
    hilo_inbound_t *in;
    hilo_peer_ref_t peer;                  /* whom to answer */
    hilo_frame_t *frame;                   /* owned (NULL once handed to the engine) */
    uint64_t seq;                          /* the envelope's seq, for the answer */
    int64_t recv_us;                       /* monotonic receive time */
    char addr[HILO_PHONE_MAX];             /* sender, canonical E.164: identity key, history */
    char reply[HILO_REPLY_ADDR_MAX];       /* sender as received, where replies go (phone.h) */
    char debtor[HILO_DEBTOR_ID_MAX + 32];  /* resolved debtor id, or u:<E.164> */
    char dedupe[PMID_MAX + 16];            /* "<channel>:<provider message id>" */
    char turn[HILO_TURN_KEY_MAX];          /* the engine turn's key; "" when the engine is off */
    bool unidentified;
} job_t;

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
        if (e->voice->kind < HILO_VOICE_CALL_START || e->voice->kind > HILO_VOICE_DEBTOR_DIALED || !*e->voice->call_id) {
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

/* One command's worth of jobs: the envelopes of one MGET, or of one commit call. */
typedef struct {
    hilo_inbound_t *in;
    uint64_t epoch;   /* the identity cache's, when the MGET was sent */
    int64_t now;      /* the commit's time (the engine's clock) */
    size_t n;
    job_t *jobs[];
} batch_t;

static batch_t *batch_take(hilo_inbound_t *in, job_t **queue, size_t *n) {
    batch_t *b = hilo_xmalloc(sizeof *b + *n * sizeof b->jobs[0]);
    b->in = in;
    b->epoch = 0;
    b->now = 0;
    b->n = *n;
    memcpy(b->jobs, queue, *n * sizeof b->jobs[0]);
    *n = 0;
    return b;
}

static void batch_fail(batch_t *b, int code, const char *reason) {
    for (size_t i = 0; i < b->n; i++) finish(b->jobs[i], false, false, code, reason);
    free(b);
}

static void queue_commit(hilo_inbound_t *in, job_t *j);

/* The acks (and the engine's turns) of one commit call, in the batch's order. */
static void on_commit(redisReply *r, void *arg) {
    batch_t *b = arg;
    hilo_router_ctx_t *ctx = b->in->ctx;
    if (ctx->closing) {
        batch_fail(b, 0, NULL);
        return;
    }
    if (!r) {
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage connection lost during commit; retry");
        return;
    }
    bool shape_ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 * b->n;
    for (size_t i = 0; shape_ok && i < b->n; i++)
        shape_ok = r->element[2 * i]->type == REDIS_REPLY_INTEGER;
    if (!shape_ok) {
        hilo_log_error("inbound", "event=commit_failed messages=%zu first_debtor=%s reply=\"%s\"", b->n,
                       b->jobs[0]->debtor, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
            hilo_store_reset(ctx->store, "script cache flushed");
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage refused the commit; retry");
        return;
    }
    /* The listing index is not part of the debtors' atomic steps (it is another hash slot):
     * one ZADD for the batch's stored messages. Losing it only delays a conversation in
     * listings until its next message. Each score is the millisecond part of the message's
     * history stream id: Redis's clock, the same for every router, so the console's activity
     * read (live pushes) does not depend on the routers' clocks agreeing. */
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)hilo_now_ms());
    const char **zargv = hilo_xmalloc((2 + 3 * b->n) * sizeof *zargv); /* ZADD's, then reopen's */
    size_t *zlens = hilo_xmalloc((2 + 2 * b->n) * sizeof *zlens);
    int zargc = 2;
    zargv[0] = "ZADD";
    zargv[1] = HILO_KEY_CONVS;
    zlens[0] = 4;
    zlens[1] = strlen(HILO_KEY_CONVS);
    const char **reopen = zargv + 2 + 2 * b->n; /* debtors of status 2: closed conversations */
    int nreopen = 0;
    for (size_t i = 0; i < b->n; i++) {
        long long status = r->element[2 * i]->integer;
        if (status == 1) continue;
        const redisReply *id = r->element[2 * i + 1];
        size_t ms_len = id->type == REDIS_REPLY_STRING ? strspn(id->str, "0123456789") : 0;
        zargv[zargc] = ms_len ? id->str : ts; /* (an id without digits never comes: the router's clock then) */
        zlens[zargc++] = ms_len ? ms_len : strlen(ts);
        zargv[zargc] = b->jobs[i]->debtor;
        zlens[zargc++] = strlen(b->jobs[i]->debtor);
        if (status == 2) reopen[nreopen++] = b->jobs[i]->debtor;
    }
    if (zargc > 2) hilo_store_argv(ctx->store, NULL, NULL, zargc, zargv, zlens);
    /* Before the engine's turns: their reads then find the conversation back in its queue. */
    if (nreopen) hilo_console_closed_written(ctx->console, reopen, nreopen);
    free(zargv);
    free(zlens);
    /* Ack first (the message is durable, and so is its engine turn: recorded pending by the
     * same script), then the conversation engine takes the envelope for its turn. Duplicates
     * get no second turn; their index entries name no turn and go. */
    for (size_t i = 0; i < b->n; i++) {
        job_t *j = b->jobs[i];
        int channel = j->frame->envelope->channel;
        bool duplicate = r->element[2 * i]->integer == 1; /* 0 and 2: stored */
        if (duplicate)
            ctx->metrics.dedupes[channel]++;
        else
            ctx->metrics.stored[channel]++;
        hilo_frame_t *frame = j->frame;
        j->frame = NULL;
        hilo_peer_ref_t peer = j->peer;
        char debtor[sizeof j->debtor], addr[sizeof j->reply];
        bool unidentified = j->unidentified;
        memcpy(debtor, j->debtor, sizeof debtor);
        memcpy(addr, j->reply, sizeof addr);
        char turn[sizeof j->turn];
        memcpy(turn, j->turn, sizeof turn);
        finish(j, true, duplicate, 0, NULL);
        if (!duplicate && ctx->engine && *turn) {
            hilo_engine_turn(ctx->engine, &peer, frame, debtor, unidentified, addr, turn, b->now);
        } else {
            if (*turn) hilo_turns_unindex(ctx, debtor, turn);
            hilo_frame_free(&frame);
        }
    }
    free(b);
}

/* With the engine on, each envelope gets a turn key and an entry in the pending-turns index
 * before its commit (turns.h): sent first on the same connection, the entry is in Redis before
 * the turn it names, so a crash at any point leaves no recorded turn that the sweep cannot
 * find (an entry with no turn behind it is removed by the sweep). HILO_OK, or HILO_AGAIN when
 * nothing may be committed. */
static int index_turns(batch_t *b) {
    hilo_router_ctx_t *ctx = b->in->ctx;
    for (size_t i = 0; i < b->n; i++) {
        job_t *j = b->jobs[i];
        j->turn[0] = '\0';
        if (!ctx->engine) continue;
        hilo_turns_key_new(j->turn);
        if (hilo_turns_index(ctx, j->debtor, j->turn, b->now + ctx->cfg->turn_resume_ms) != HILO_OK) return HILO_AGAIN;
    }
    return HILO_OK;
}

/* Sends one batch as one call of commit_inbound.lua (its argument layout), stamped `now`. */
static void send_commit(batch_t *b, int64_t now) {
    hilo_router_ctx_t *ctx = b->in->ctx;
    b->now = now;
    if (index_turns(b) != HILO_OK) {
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    size_t argc = 6 + 13 * b->n;
    const char **argv = hilo_xmalloc(argc * sizeof *argv);
    size_t *lens = hilo_xmalloc(argc * sizeof *lens);
    char *keys = hilo_xmalloc(6 * b->n * HILO_KEY_MAX);
    size_t *item_end = hilo_xmalloc(b->n * sizeof *item_end);
    uint8_t **frames = hilo_xcalloc(b->n, sizeof *frames);
    size_t *frame_len = hilo_xcalloc(b->n, sizeof *frame_len);
    hilo_buf_t items = HILO_BUF_INIT; /* every history item of the batch, one after another */
    char nkeys[24], now_s[24], cap_s[24], window_s[24];
    snprintf(nkeys, sizeof nkeys, "%zu", 6 * b->n);
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    snprintf(cap_s, sizeof cap_s, "%ld", ctx->cfg->history_max);
    snprintf(window_s, sizeof window_s, "%lld", (long long)ctx->cfg->dedupe_window_ms);
    argv[0] = "EVALSHA";
    argv[1] = hilo_store_sha(ctx->store, HILO_SCRIPT_COMMIT_INBOUND);
    argv[2] = nkeys;
    static const char *const suffix[6] = {HILO_KEY_CONV, HILO_KEY_HIST, HILO_KEY_SEEN, HILO_KEY_AUDIT,
                                          HILO_KEY_TURNQ, HILO_KEY_TURNS};
    size_t a = 3 + 6 * b->n; /* first ARGV */
    argv[a] = now_s;
    argv[a + 1] = cap_s;
    argv[a + 2] = window_s;
    for (size_t i = 0; i < b->n; i++) {
        job_t *j = b->jobs[i];
        const hilo_envelope_t *e = j->frame->envelope;
        const char *chname = hilo_channel_name(e->channel);
        for (size_t k = 0; k < 6; k++) {
            char *key = keys + (6 * i + k) * HILO_KEY_MAX;
            hilo_key_debtor(key, HILO_KEY_MAX, j->debtor, suffix[k]);
            argv[3 + 6 * i + k] = key;
        }
        snprintf(j->dedupe, sizeof j->dedupe, "%s:%s", chname, e->provider_message_id);
        hilo_history_item_inbound(&items, e, j->addr, now);
        item_end[i] = items.len;
        /* The turn's record keeps the whole envelope: a router that resumes the turn decides
         * on exactly what this one would have. */
        if (*j->turn) frames[i] = hilo_frame_pack(j->frame, &frame_len[i]);
        const char **m = argv + a + 3 + 7 * i;
        m[0] = j->dedupe;
        m[1] = NULL; /* the item: set below */
        m[2] = chname;
        m[3] = j->reply; /* the conversation's addr:<channel>: where replies go */
        m[4] = j->unidentified ? "1" : "0";
        m[5] = j->turn;
        m[6] = NULL; /* the frame: set below */
    }
    for (size_t k = 0; k < argc; k++) lens[k] = argv[k] ? strlen(argv[k]) : 0;
    for (size_t i = 0; i < b->n; i++) { /* the items' bytes stay put now that all are written */
        size_t start = i ? item_end[i - 1] : 0;
        argv[a + 4 + 7 * i] = items.data + start;
        lens[a + 4 + 7 * i] = item_end[i] - start;
        argv[a + 9 + 7 * i] = frames[i] ? (const char *)frames[i] : "";
        lens[a + 9 + 7 * i] = frame_len[i];
    }
    int rc = hilo_store_argv(ctx->store, on_commit, b, (int)argc, argv, lens);
    for (size_t i = 0; i < b->n; i++) free(frames[i]);
    free(frames);
    free(frame_len);
    hilo_buf_free(&items);
    free(item_end);
    free(keys);
    free(argv);
    free(lens);
    if (rc != HILO_OK) batch_fail(b, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

/* Under [engine] test_clock the commit is stamped with the test clock, like the gate's "now":
 * the debtor's last inbound and the gate's clock must be one clock, or a test that moves the
 * clock makes every reply look days old or days ahead (docs/compliance.md, "Replies"). The
 * GET goes out just before the commit on the same connection, so batches keep their order. */
static void on_test_clock(redisReply *r, void *arg) {
    batch_t *b = arg;
    if (b->in->ctx->closing || !r) {
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage connection lost; retry");
        return;
    }
    int64_t now = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    send_commit(b, now > 0 ? now : hilo_now_ms());
}

static void flush_commits(hilo_inbound_t *in) {
    if (in->n_commit == 0) return;
    hilo_router_ctx_t *ctx = in->ctx;
    batch_t *b = batch_take(in, in->commit_q, &in->n_commit);
    if (!ctx->cfg->test_clock) {
        send_commit(b, hilo_now_ms());
        return;
    }
    if (hilo_store_command(ctx->store, on_test_clock, b, "GET " HILO_KEY_TEST_CLOCK) != HILO_OK)
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
}

/* debtor NULL: the address is no debtor's. */
static void set_debtor(job_t *j, const char *debtor) {
    if (debtor) {
        snprintf(j->debtor, sizeof j->debtor, "%s", debtor);
    } else {
        /* Unknown address: an unidentified contact, kept apart, never merged by guess. */
        snprintf(j->debtor, sizeof j->debtor, "u:%s", j->addr);
        j->unidentified = true;
    }
}

static void on_identity(redisReply *r, void *arg) {
    batch_t *b = arg;
    hilo_inbound_t *in = b->in;
    hilo_router_ctx_t *ctx = in->ctx;
    in->lookups_out--;
    if (ctx->closing || !r) {
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage connection lost; retry");
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != b->n) {
        hilo_log_error("inbound", "event=identity_failed reply=\"%s\"",
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage refused the identity lookup; retry");
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        job_t *j = b->jobs[i];
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING && hilo_debtor_id_valid(e->str)) {
            set_debtor(j, e->str);
            hilo_identity_cache_put(ctx->identity, b->epoch, j->addr, e->str);
        } else {
            if (e->type == REDIS_REPLY_NIL)
                hilo_identity_cache_put(ctx->identity, b->epoch, j->addr, NULL);
            else
                hilo_log_error("inbound", "event=bad_identity_entry addr=%s", hilo_log_phone(j->addr));
            set_debtor(j, NULL);
        }
        queue_commit(in, j);
    }
    free(b);
}

/* The queued envelopes whose address is cached go to the commit queue; the others are
 * looked up with one MGET. */
static void flush_identities(hilo_inbound_t *in) {
    if (in->n_identity == 0) return;
    hilo_router_ctx_t *ctx = in->ctx;
    if (ctx->identity && in->lookups_out == 0) {
        size_t keep = 0;
        for (size_t i = 0; i < in->n_identity; i++) {
            job_t *j = in->identity_q[i];
            const char *debtor;
            if (keep == 0 && hilo_identity_cache_get(ctx->identity, j->addr, &debtor)) {
                set_debtor(j, debtor);
                queue_commit(in, j);
            } else {
                in->identity_q[keep++] = j; /* a miss: it and those after it keep their order */
            }
        }
        in->n_identity = keep;
        if (keep == 0) return;
    }
    batch_t *b = batch_take(in, in->identity_q, &in->n_identity);
    b->epoch = hilo_identity_cache_epoch(ctx->identity);
    const char **argv = hilo_xmalloc((1 + b->n) * sizeof *argv);
    size_t *lens = hilo_xmalloc((1 + b->n) * sizeof *lens);
    char *keys = hilo_xmalloc(b->n * HILO_KEY_MAX);
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t i = 0; i < b->n; i++) {
        char *key = keys + i * HILO_KEY_MAX;
        lens[1 + i] = (size_t)hilo_key_addr(key, HILO_KEY_MAX, b->jobs[i]->addr);
        argv[1 + i] = key;
    }
    int rc = hilo_store_argv(ctx->store, on_identity, b, (int)(1 + b->n), argv, lens);
    free(keys);
    free(argv);
    free(lens);
    if (rc != HILO_OK)
        batch_fail(b, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
    else
        in->lookups_out++;
}

/* End of a loop turn's I/O: what was queued during it goes out, one command per stage. */
static void on_check(uv_check_t *h) {
    hilo_inbound_t *in = h->data;
    flush_identities(in);
    flush_commits(in);
    if (in->n_identity == 0 && in->n_commit == 0) uv_check_stop(h);
}

static void wake(hilo_inbound_t *in) {
    if (!uv_is_active((uv_handle_t *)&in->check)) uv_check_start(&in->check, on_check);
}

/* Envelopes per MGET and per commit call: [router] commit_batch_max, or 1 on a Redis Cluster,
 * where one call keeps to one hash slot (an MGET of two addresses or a commit of two debtors
 * would be refused with CROSSSLOT; Redis 7.0 has no way to batch declared keys of two slots even
 * on one node). The calls still go out pipelined, in order, on the one connection. */
static size_t batch_limit(const hilo_inbound_t *in) {
    return hilo_store_cluster(in->ctx->store) ? 1 : in->batch_max;
}

static void queue_commit(hilo_inbound_t *in, job_t *j) {
    in->commit_q[in->n_commit++] = j;
    if (in->n_commit >= batch_limit(in)) flush_commits(in);
    wake(in);
}

static void queue_identity(hilo_inbound_t *in, job_t *j) {
    in->identity_q[in->n_identity++] = j;
    if (in->n_identity >= batch_limit(in)) flush_identities(in);
    wake(in);
}

/* The identity cache in front of the library. A sender spelled as a plain international number
 * ("+<digits>", "whatsapp:+<digits>", or a WhatsApp wa_id "<digits>") whose "+<digits>" is an
 * address of the identity cache is that address, with no parse: every cache entry is a canonical
 * number (put by on_identity from a parse, or found here), the canonical form of "+<digits>" is
 * the same whatever the spelling, and a canonical number is its own canonical form (parsing
 * "+525512345678" gives "+525512345678"; hilo's WhatsApp rules rewrite only 13-digit "521…" and
 * 15-digit "549…" numbers, which are never canonical). A parse costs 10-20 µs; this costs one
 * hash lookup, and the senders the cache knows are most of the traffic. */
static bool known_sender(const hilo_router_ctx_t *ctx, const char *from, bool wa_id, char *addr, size_t n) {
    if (!ctx->identity) return false;
    const char *s = from;
    if (strncasecmp(s, "whatsapp:", 9) == 0) s += 9;
    if (*s == '+')
        s++;
    else if (!wa_id)
        return false; /* bare digits elsewhere may be national: the library decides */
    size_t len = strspn(s, "0123456789");
    if (s[len] || len < 6 || len > 15 || len + 2 > n) return false;
    addr[0] = '+';
    memcpy(addr + 1, s, len + 1);
    return hilo_identity_cache_has(ctx->identity, addr);
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
    /* The canonical number names the debtor (identity key, unidentified contact, history);
     * the spelling received is where replies go: WhatsApp knows a Mexican mobile by its wa_id
     * "521…", not by "+52…" (docs/architecture.md, "Addresses"). */
    const char *why;
    unsigned flags = e->channel == HILO_CHANNEL_WHATSAPP ? HILO_PHONE_WA_ID : 0;
    if (!known_sender(ctx, e->from, flags & HILO_PHONE_WA_ID, j->addr, sizeof j->addr) &&
        hilo_phone_cache_parse(in->phones, e->from, ctx->cfg->default_cc, flags, j->addr, sizeof j->addr, &why) !=
            HILO_OK) {
        snprintf(reason, sizeof reason, "from '%.40s': %s", e->from, why);
        finish(j, false, false, HILO_NACK_INVALID, reason);
        return;
    }
    if (!hilo_phone_reply_address(e->from, j->addr, j->reply, sizeof j->reply))
        snprintf(j->reply, sizeof j->reply, "%s", j->addr);
    if (!hilo_store_ready(ctx->store)) {
        finish(j, false, false, HILO_NACK_UNAVAILABLE, "storage unavailable; retry");
        return;
    }
    queue_identity(in, j);
}

hilo_inbound_t *hilo_inbound_new(hilo_router_ctx_t *ctx) {
    hilo_inbound_t *in = hilo_xcalloc(1, sizeof *in);
    in->ctx = ctx;
    in->batch_max = (size_t)ctx->cfg->commit_batch_max;
    in->identity_q = hilo_xcalloc(in->batch_max, sizeof *in->identity_q);
    in->commit_q = hilo_xcalloc(in->batch_max, sizeof *in->commit_q);
    uv_check_init(ctx->loop, &in->check);
    in->check.data = in;
    in->phones = hilo_phone_cache_new(PHONE_CACHE_SLOTS);
    return in;
}

static void on_check_closed(uv_handle_t *h) {
    hilo_inbound_t *in = h->data;
    free(in->identity_q);
    free(in->commit_q);
    hilo_phone_cache_destroy(&in->phones);
    free(in);
}

void hilo_inbound_destroy(hilo_inbound_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_inbound_t *in = *self_p;
    /* Queued and never sent: no answer (the router is closing); the connectors re-send. */
    for (size_t i = 0; i < in->n_identity; i++) finish(in->identity_q[i], false, false, 0, NULL);
    for (size_t i = 0; i < in->n_commit; i++) finish(in->commit_q[i], false, false, 0, NULL);
    in->n_identity = in->n_commit = 0;
    uv_close((uv_handle_t *)&in->check, on_check_closed);
    *self_p = NULL;
}
