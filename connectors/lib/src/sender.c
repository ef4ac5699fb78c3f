/* sender.c — outbound jobs: dedupe, plan, rate limit, HTTP calls, retries, delivery reports. */
#include "hilo/sender.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/dedupe.h"
#include "hilo/log.h"
#include "hilo/token_bucket.h"
#include "hilo/utf8.h"

#define MOD "sender"
#define PROVIDER_ID_MAX 128 /* longer provider message ids are not used (the link allows 256 in all) */

typedef struct bucket {
    char key[64];
    hilo_token_bucket_t tb;
    struct bucket *next;
} bucket_t;

typedef struct job {
    char *oid, *debtor_id;       /* outbound id, its debtor (both go in the report) */
    char *to, *from;             /* debtor address, our address */
    hilo_send_plan_t plan;
    size_t call;                 /* next call of the plan */
    char first_pmid[256];        /* provider id of the first call that succeeded */
    bucket_t *bucket;
    int64_t first_ms;            /* loop ms of the first try */
    int64_t next_ms;             /* loop ms when the next call may start */
    unsigned failures;           /* retryable failures of the current call */
    uint64_t http_id;            /* call in flight, 0 = none */
    char last_code[64], last_msg[256];
    struct hilo_sender *s;
    struct job *prev, *next;
} job_t;

struct hilo_sender {
    uv_loop_t *loop;
    hilo_sender_options_t opt;
    uv_timer_t timer;            /* wakes the earliest waiting job */
    hilo_dedupe_t *dedupe;
    bucket_t *buckets;
    job_t *head, *tail;          /* arrival order = sending order */
    hilo_sender_stats_t stats;
    bool destroyed;
};

static int64_t now_ms(hilo_sender_t *s) { return (int64_t)uv_now(s->loop); }

/* A provider message id fit to travel on the link: printable ASCII, at most PROVIDER_ID_MAX. */
static bool usable_provider_id(const char *id) {
    size_t n = 0;
    for (; id[n]; n++)
        if ((unsigned char)id[n] < 0x21 || (unsigned char)id[n] > 0x7E) return false;
    return n > 0 && n <= PROVIDER_ID_MAX;
}

/* What the provider answered goes on the link, where the router refuses invalid UTF-8 and
 * over-long ids with a final Nack: a report it refused would never settle the message. So the
 * provider's id is used only when it is fit (else the report names our outbound id), and its
 * error text is made valid UTF-8. */
static void report(hilo_sender_t *s, const char *oid, const char *debtor_id, const char *debtor_addr,
                   const char *our_addr, int state, const char *pmid, const char *code, const char *msg,
                   size_t parts) {
    if (pmid && *pmid && !usable_provider_id(pmid)) {
        hilo_log_warn(MOD, "event=unusable_provider_id outbound_id=%s length=%zu", oid, strlen(pmid));
        pmid = NULL;
    }
    char code_text[64], msg_text[256];
    hilo_utf8_clean_copy(code_text, sizeof code_text, code);
    hilo_utf8_clean_copy(msg_text, sizeof msg_text, msg);
    hilo_delivery_t d = HILO_DELIVERY_INIT;
    d.outbound_id = (char *)oid;
    d.debtor_id = (char *)(debtor_id ? debtor_id : "");
    d.provider_message_id = (char *)(pmid ? pmid : "");
    d.state = state;
    d.error_code = code_text;
    d.error_message = msg_text;
    d.parts = (uint32_t)parts; /* the whole message (part 0) went out in this many parts */
    /* The envelope's own id must be stable per (message, state) so that a re-sent report is
     * deduplicated: dr:<provider id, or our outbound id when there is none>:<state>. */
    char env_id[300];
    snprintf(env_id, sizeof env_id, "dr:%s:%s", pmid && pmid[0] ? pmid : oid, hilo_delivery_state_name(state));
    hilo_envelope_t env = HILO_ENVELOPE_INIT;
    env.channel = s->opt.channel;
    env.provider_message_id = env_id;
    env.from = (char *)(debtor_addr ? debtor_addr : "");
    env.to = (char *)(our_addr ? our_addr : "");
    env.sent_at_ms = hilo_now_ms();
    env.delivery = &d;
    if (s->opt.report) s->opt.report(s->opt.arg, &env);
}

static void finish(hilo_sender_t *s, const char *oid, const char *debtor_id, const char *to, const char *from,
                   int state, const char *pmid, const char *code, const char *msg, size_t parts) {
    hilo_dedupe_finish(s->dedupe, oid, &(hilo_dedupe_outcome_t){state, pmid, code, msg});
    if (state == HILO_DELIVERY_SENT) s->stats.sent++;
    else s->stats.failed++;
    report(s, oid, debtor_id, to, from, state, pmid, code, msg, parts);
}

static bucket_t *bucket_for(hilo_sender_t *s, const char *key) {
    for (bucket_t *b = s->buckets; b; b = b->next)
        if (strcmp(b->key, key) == 0) return b;
    bucket_t *b = hilo_xcalloc(1, sizeof *b);
    snprintf(b->key, sizeof b->key, "%s", key);
    double burst = s->opt.rate_burst > 0 ? s->opt.rate_burst : s->opt.rate_per_s;
    hilo_token_bucket_init(&b->tb, s->opt.rate_per_s, burst, now_ms(s));
    b->next = s->buckets;
    s->buckets = b;
    return b;
}

static void free_job(hilo_sender_t *s, job_t *j) {
    if (j->prev) j->prev->next = j->next; else s->head = j->next;
    if (j->next) j->next->prev = j->prev; else s->tail = j->prev;
    s->stats.jobs--;
    hilo_send_plan_release(&j->plan);
    free(j->oid);
    free(j->debtor_id);
    free(j->to);
    free(j->from);
    free(j);
}

static void job_done(hilo_sender_t *s, job_t *j, int state, const char *code, const char *msg) {
    hilo_log_info(MOD, "event=outbound_%s outbound_id=%s calls=%zu/%zu pmid=%s code=%s", state == HILO_DELIVERY_SENT ? "sent" : "failed",
                  j->oid, j->call, j->plan.n_calls, j->first_pmid, code ? code : "");
    finish(s, j->oid, j->debtor_id, j->to, j->from, state, j->first_pmid, code, msg, j->plan.n_calls);
    free_job(s, j);
}

static void kick(hilo_sender_t *s);

static void on_http_done(void *arg, int status, const char *body, size_t len, const char *error) {
    job_t *j = arg;
    hilo_sender_t *s = j->s;
    j->http_id = 0;
    hilo_send_result_t res;
    memset(&res, 0, sizeof res);
    if (status == 0) {
        res.retryable = true;
        snprintf(res.error_code, sizeof res.error_code, "network");
        snprintf(res.error_message, sizeof res.error_message, "%s", error);
    } else {
        int prc = hilo_adapter_parse_send_result(s->opt.adapter, status, body, len, &res);
        if (prc != HILO_OK) res.ok = false;
        if (!res.ok) {
            if (!res.error_code[0]) snprintf(res.error_code, sizeof res.error_code, "http_%d", status);
            /* The adapter could not read the answer: fall back on the status alone. */
            if (prc != HILO_OK) res.retryable = status == 429 || status >= 500;
        }
    }
    if (res.ok) {
        if (!j->first_pmid[0]) snprintf(j->first_pmid, sizeof j->first_pmid, "%s", res.provider_message_id);
        j->call++;
        j->failures = 0;
        j->next_ms = now_ms(s);
        if (j->call == j->plan.n_calls) job_done(s, j, HILO_DELIVERY_SENT, "", "");
    } else {
        snprintf(j->last_code, sizeof j->last_code, "%s", res.error_code[0] ? res.error_code : "error");
        snprintf(j->last_msg, sizeof j->last_msg, "%s", res.error_message);
        char partial[300] = "";
        if (j->call > 0) /* some parts went out: never re-send them, say so */
            snprintf(partial, sizeof partial, "%zu of %zu parts sent; %s", j->call, j->plan.n_calls, j->last_msg);
        const char *msg = j->call > 0 ? partial : j->last_msg;
        if (!res.retryable) {
            hilo_log_warn(MOD, "event=send_refused outbound_id=%s status=%d code=%s", j->oid, status, j->last_code);
            job_done(s, j, HILO_DELIVERY_FAILED, j->last_code, msg);
        } else {
            hilo_backoff_t b = s->opt.retry;
            int64_t delay = hilo_backoff_delay(&b, ++j->failures, hilo_backoff_random());
            int64_t now = now_ms(s);
            if (now + delay - j->first_ms > s->opt.give_up_ms) {
                hilo_log_warn(MOD, "event=send_gave_up outbound_id=%s status=%d code=%s failures=%u", j->oid, status,
                              j->last_code, j->failures);
                job_done(s, j, HILO_DELIVERY_FAILED, j->last_code, msg);
            } else {
                s->stats.retries++;
                j->next_ms = now + delay;
                hilo_log_info(MOD, "event=send_retry outbound_id=%s status=%d code=%s delay_ms=%" PRId64, j->oid, status,
                              j->last_code, delay);
            }
        }
    }
    kick(s);
}

static void on_timer(uv_timer_t *t) { kick(t->data); }

/* Starts every job that is due and has a token; re-arms the timer for the earliest other. */
static void kick(hilo_sender_t *s) {
    if (s->destroyed) return;
    int64_t now = now_ms(s), next = INT64_MAX;
    for (job_t *j = s->head, *nj; j; j = nj) {
        nj = j->next;
        if (j->http_id) continue;
        if (j->next_ms > now) {
            if (j->next_ms < next) next = j->next_ms;
            continue;
        }
        int64_t wait = hilo_token_bucket_take(&j->bucket->tb, now);
        if (wait > 0) {
            j->next_ms = now + wait;
            if (j->next_ms < next) next = j->next_ms;
            continue;
        }
        j->http_id = hilo_http_client_start(s->opt.http, &j->plan.calls[j->call], s->opt.send_timeout_ms, on_http_done, j);
        if (!j->http_id) { /* could not even start: treat as a network error */
            j->next_ms = now + 1000;
            if (j->next_ms < next) next = j->next_ms;
        }
    }
    if (next != INT64_MAX) uv_timer_start(&s->timer, on_timer, (uint64_t)(next > now ? next - now : 0), 0);
    else uv_timer_stop(&s->timer);
}

void hilo_sender_outbound(hilo_sender_t *s, const hilo_outbound_t *ob) {
    if (s->destroyed) return;
    s->stats.received++;
    const char *oid = ob->outbound_id ? ob->outbound_id : "";
    if (!oid[0]) {
        /* protocol.md §10.4: a voice-turn answer with nothing stored (no text: a human owns the
         * call, an unidentified caller, a block) has no id. It is rendered into its waiting
         * webhook, never deduped nor reported; without a waiting webhook it is dropped. */
        if (ob->reply_to_seq && s->opt.try_reply && s->opt.try_reply(s->opt.arg, ob)) {
            s->stats.replies++;
            hilo_log_info(MOD, "event=outbound_replied outbound_id= reply_to_seq=%" PRIu64, ob->reply_to_seq);
            return;
        }
        hilo_log_warn(MOD, "event=outbound_without_id debtor_id=%s reply_to_seq=%" PRIu64,
                      ob->debtor_id ? ob->debtor_id : "", ob->reply_to_seq);
        return;
    }
    hilo_dedupe_outcome_t prev;
    switch (hilo_dedupe_begin(s->dedupe, oid, &prev)) {
    case HILO_DEDUPE_IN_PROGRESS:
        s->stats.duplicates_in_progress++;
        hilo_log_debug(MOD, "event=outbound_in_progress outbound_id=%s attempt=%u", oid, ob->attempt);
        return;
    case HILO_DEDUPE_DONE:
        /* Finished before: the router did not see our report (or re-sent anyway). Report again,
         * never call the provider again. */
        s->stats.duplicates_done++;
        hilo_log_info(MOD, "event=outbound_rereport outbound_id=%s state=%s", oid, hilo_delivery_state_name(prev.state));
        report(s, oid, ob->debtor_id, ob->to, ob->from, prev.state, prev.provider_message_id, prev.error_code,
               prev.error_message, 0);
        return;
    case HILO_DEDUPE_NEW: break;
    }
    if (ob->reply_to_seq && s->opt.try_reply && s->opt.try_reply(s->opt.arg, ob)) {
        s->stats.replies++;
        hilo_log_info(MOD, "event=outbound_replied outbound_id=%s reply_to_seq=%" PRIu64, oid, ob->reply_to_seq);
        finish(s, oid, ob->debtor_id, ob->to, ob->from, HILO_DELIVERY_SENT, "", "", "", 0);
        return;
    }
    job_t *j = hilo_xcalloc(1, sizeof *j);
    hilo_send_plan_init(&j->plan);
    int rc = hilo_adapter_build_send(s->opt.adapter, ob, &j->plan);
    if (rc != HILO_OK || j->plan.refused || j->plan.n_calls == 0) {
        const char *code = j->plan.refused ? j->plan.error_code : "internal";
        const char *msg = j->plan.refused ? j->plan.error_message : "the adapter could not build the request";
        s->stats.refused++;
        hilo_log_warn(MOD, "event=outbound_refused outbound_id=%s code=%s", oid, code);
        finish(s, oid, ob->debtor_id, ob->to, ob->from, HILO_DELIVERY_FAILED, "", code, msg, 0);
        hilo_send_plan_release(&j->plan);
        free(j);
        return;
    }
    j->s = s;
    j->oid = hilo_xstrdup(oid);
    j->debtor_id = hilo_xstrdup(ob->debtor_id ? ob->debtor_id : "");
    j->to = hilo_xstrdup(ob->to ? ob->to : "");
    j->from = hilo_xstrdup(ob->from ? ob->from : "");
    const char *key = j->plan.rate_key[0] ? j->plan.rate_key : (j->from[0] ? j->from : "default");
    j->bucket = bucket_for(s, key);
    j->first_ms = j->next_ms = now_ms(s);
    j->prev = s->tail;
    if (s->tail) s->tail->next = j; else s->head = j;
    s->tail = j;
    s->stats.jobs++;
    hilo_log_debug(MOD, "event=outbound_queued outbound_id=%s calls=%zu attempt=%u", oid, j->plan.n_calls, ob->attempt);
    kick(s);
}

hilo_sender_t *hilo_sender_new(uv_loop_t *loop, const hilo_sender_options_t *opts) {
    hilo_sender_t *s = hilo_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->opt = *opts;
    if (s->opt.send_timeout_ms <= 0) s->opt.send_timeout_ms = 15000;
    if (s->opt.retry.min_ms <= 0) s->opt.retry.min_ms = 1000;
    if (s->opt.retry.max_ms < s->opt.retry.min_ms) s->opt.retry.max_ms = s->opt.retry.min_ms > 30000 ? s->opt.retry.min_ms : 30000;
    if (s->opt.give_up_ms <= 0) s->opt.give_up_ms = 300000;
    s->dedupe = hilo_dedupe_new(s->opt.dedupe_size ? s->opt.dedupe_size : 100000);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    return s;
}

static void on_closed(uv_handle_t *h) {
    hilo_sender_t *s = h->data;
    for (bucket_t *b = s->buckets, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    hilo_dedupe_destroy(&s->dedupe);
    free(s);
}

void hilo_sender_destroy(hilo_sender_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_sender_t *s = *self_p;
    *self_p = NULL;
    if (s->destroyed) return;
    s->destroyed = true;
    while (s->head) {
        job_t *j = s->head;
        if (j->http_id) hilo_http_client_cancel(s->opt.http, j->http_id);
        hilo_log_warn(MOD, "event=outbound_abandoned outbound_id=%s", j->oid);
        free_job(s, j);
    }
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

void hilo_sender_stats(const hilo_sender_t *s, hilo_sender_stats_t *out) { *out = s->stats; }
