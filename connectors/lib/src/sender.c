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
#include "u64map.h"

#define MOD "sender"
#define PROVIDER_ID_MAX 128 /* longer provider message ids are not used (the link allows 256 in all) */

typedef struct bucket {
    char key[64];
    hilo_token_bucket_t tb;
    struct bucket *next;
} bucket_t;

/* At most once (Outbound.at_most_once, protocol 1.2): where a job stands with its CALLING. */
enum { AMO_OFF = 0, AMO_ASK, AMO_WAIT, AMO_GO };

typedef struct job {
    char *oid, *debtor_id;       /* outbound id, its debtor (both go in the report) */
    char *to, *from;             /* debtor address, our address */
    hilo_send_plan_t plan;
    size_t call;                 /* next call of the plan */
    char first_pmid[256];        /* provider id of the first call that succeeded */
    bucket_t *bucket;
    int64_t first_ms;            /* loop ms of the first try */
    int64_t next_ms;             /* loop ms when the next call may start */
    int64_t expires_ms;          /* loop ms: the first call of this hand-off must start before (0 = none) */
    size_t first_call;           /* the plan's call this hand-off starts at (Outbound.parts_sent) */
    uint32_t attempt;            /* Outbound.attempt */
    unsigned failures;           /* retryable failures of the current call */
    int amo;                     /* AMO_*: AMO_OFF for an at-least-once Outbound */
    uint64_t ticket;             /* AMO_WAIT: the CALLING report waiting for the router's answer */
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
    hilo_u64map_t *calling;      /* ticket → job waiting for the router's answer to CALLING */
    uint64_t tickets;            /* tickets issued */
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
typedef struct {
    uint32_t parts, parts_sent, attempt, retry_after_ms;
    int64_t ttl_ms;              /* CALLING: how long its answer is worth waiting for */
    uint64_t ticket;             /* CALLING: the job's ticket */
} report_extra_t;

static void report(hilo_sender_t *s, const char *oid, const char *debtor_id, const char *debtor_addr,
                   const char *our_addr, int state, const char *pmid, const char *code, const char *msg,
                   const report_extra_t *x) {
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
    if (x) {
        d.parts = x->parts > 1 ? x->parts : 0;
        d.parts_sent = x->parts_sent;
        d.attempt = x->attempt;
        d.retry_after_ms = x->retry_after_ms;
    }
    /* The envelope's own id must be stable per (message, state) so that a re-sent report is
     * deduplicated: dr:<provider id, or our outbound id when there is none>:<state>. */
    char env_id[300];
    if (state == HILO_DELIVERY_RETURNED || state == HILO_DELIVERY_CALLING) /* one per attempt */
        snprintf(env_id, sizeof env_id, "dr:%s:%s:%u", oid, hilo_delivery_state_name(state), x ? x->attempt : 0);
    else
        snprintf(env_id, sizeof env_id, "dr:%s:%s", pmid && pmid[0] ? pmid : oid, hilo_delivery_state_name(state));
    hilo_envelope_t env = HILO_ENVELOPE_INIT;
    env.channel = s->opt.channel;
    env.provider_message_id = env_id;
    env.from = (char *)(debtor_addr ? debtor_addr : "");
    env.to = (char *)(our_addr ? our_addr : "");
    env.sent_at_ms = hilo_now_ms();
    env.delivery = &d;
    if (state == HILO_DELIVERY_CALLING)
        s->opt.calling(s->opt.arg, &env, x->ttl_ms, x->ticket);
    else if (s->opt.report)
        s->opt.report(s->opt.arg, &env);
}

static void finish(hilo_sender_t *s, const char *oid, const char *debtor_id, const char *to, const char *from,
                   int state, const char *pmid, const char *code, const char *msg, const report_extra_t *x) {
    hilo_dedupe_finish(s->dedupe, oid, &(hilo_dedupe_outcome_t){state, pmid, code, msg});
    if (state == HILO_DELIVERY_SENT) s->stats.sent++;
    else if (state == HILO_DELIVERY_UNKNOWN) s->stats.unknown++;
    else s->stats.failed++;
    report(s, oid, debtor_id, to, from, state, pmid, code, msg, x);
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
    if (j->ticket) hilo_u64map_del(s->calling, j->ticket);
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
    report_extra_t x = {.parts = (uint32_t)j->plan.n_calls, .parts_sent = (uint32_t)j->call, .attempt = j->attempt};
    finish(s, j->oid, j->debtor_id, j->to, j->from, state, j->first_pmid, code, msg, &x);
    free_job(s, j);
}

/* Not handed to the provider in time (or the provider answered "later"): back to the router,
 * which asks the gate again before the next try. Forgotten here, so that the router's next
 * dispatch of the same outbound id is taken as new. */
static void job_return(hilo_sender_t *s, job_t *j, const char *code, const char *msg, int64_t retry_after_ms) {
    s->stats.returned++;
    hilo_log_info(MOD, "event=outbound_returned outbound_id=%s attempt=%u calls=%zu/%zu code=%s retry_after_ms=%" PRId64,
                  j->oid, j->attempt, j->call, j->plan.n_calls, code, retry_after_ms);
    report_extra_t x = {.parts = (uint32_t)j->plan.n_calls, .parts_sent = (uint32_t)j->call, .attempt = j->attempt,
                        .retry_after_ms = retry_after_ms > 0 ? (uint32_t)retry_after_ms : 0};
    hilo_dedupe_forget(s->dedupe, j->oid);
    report(s, j->oid, j->debtor_id, j->to, j->from, HILO_DELIVERY_RETURNED, "", code, msg, &x);
    free_job(s, j);
}

/* At most once: the provider was called and may have taken the message. Reported UNKNOWN
 * (the router settles it so, never sends it again); remembered like any fate, so a copy of the
 * Outbound that still comes is answered with the same report. */
static void job_unknown(hilo_sender_t *s, job_t *j, const char *code, const char *msg) {
    hilo_log_warn(MOD, "event=outbound_unknown outbound_id=%s attempt=%u calls=%zu/%zu code=%s", j->oid, j->attempt,
                  j->call, j->plan.n_calls, code);
    report_extra_t x = {.parts = (uint32_t)j->plan.n_calls, .parts_sent = (uint32_t)j->call, .attempt = j->attempt};
    finish(s, j->oid, j->debtor_id, j->to, j->from, HILO_DELIVERY_UNKNOWN, j->first_pmid, code, msg, &x);
    free_job(s, j);
}

/* At most once: asks the router to record the call (CALLING) and waits for its answer until the
 * gate's expiry; the token of the rate limiter is already taken. */
static void ask_calling(hilo_sender_t *s, job_t *j, int64_t now) {
    int64_t deadline = j->expires_ms ? j->expires_ms : now + s->opt.send_timeout_ms;
    if (deadline <= now) deadline = now + 1;
    j->amo = AMO_WAIT;
    j->next_ms = deadline;
    j->ticket = ++s->tickets;
    hilo_u64map_put(s->calling, j->ticket, j);
    hilo_log_debug(MOD, "event=outbound_calling outbound_id=%s attempt=%u", j->oid, j->attempt);
    report_extra_t x = {.parts = (uint32_t)j->plan.n_calls, .attempt = j->attempt, .ttl_ms = deadline - now,
                        .ticket = j->ticket};
    report(s, j->oid, j->debtor_id, j->to, j->from, HILO_DELIVERY_CALLING, "", "", "", &x);
}

/* At most once: did this failed call prove that the provider did not take the message? A
 * provider's answer does (a 4xx, or a 5xx with a body: its error), and so does a request that
 * was never written (DNS, connection refused, TLS). A timeout, a connection lost after the
 * request went out, a 5xx without a body (a proxy's 502/504: the provider behind it may have
 * taken it) or a 2xx we cannot read do not. */
static bool proves_not_taken(int status, size_t len, bool maybe_sent) {
    if (status == 0) return !maybe_sent;
    if (status >= 400 && status < 500) return true;
    return status >= 500 && len > 0;
}

static void kick(hilo_sender_t *s);

static void on_http_done(void *arg, int status, const char *body, size_t len, const char *error, bool maybe_sent) {
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
        if (j->amo && !proves_not_taken(status, len, maybe_sent)) {
            job_unknown(s, j, status == 0 ? "network" : j->last_code, msg);
        } else if (!res.retryable) {
            hilo_log_warn(MOD, "event=send_refused outbound_id=%s status=%d code=%s", j->oid, status, j->last_code);
            job_done(s, j, HILO_DELIVERY_FAILED, j->last_code, msg);
        } else if (j->expires_ms || j->amo) {
            /* Retries go back through the router and the gate (protocol 1.1). */
            job_return(s, j, j->last_code, msg, 0);
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

/* May job j's next call start now? Returns the jobs that must wait with their wake-up time in
 * j->next_ms (*wake = true), and gives back (frees) those that cannot go in time. */
static bool may_call(hilo_sender_t *s, job_t *j, int64_t now, bool *wake) {
    *wake = false;
    if (j->amo == AMO_WAIT) { /* the router has not answered CALLING yet */
        if (now >= j->next_ms) {
            s->stats.expired++;
            job_return(s, j, "calling_unconfirmed", "the router did not confirm the call before the gate's decision expired",
                       0);
            return false;
        }
        *wake = true;
        return false;
    }
    if (j->next_ms > now) {
        *wake = true;
        return false;
    }
    bool first = j->call == j->first_call;
    /* A confirmed CALLING: the expiry and the rate limit were checked before it; call at once. */
    if (first && j->amo == AMO_GO) return true;
    if (first && j->expires_ms && now >= j->expires_ms) {
        /* The gate's yes is too old to call the provider on. */
        s->stats.expired++;
        job_return(s, j, "expired", "not handed to the provider before the gate's decision expired", 0);
        return false;
    }
    int64_t wait = hilo_token_bucket_peek(&j->bucket->tb, now);
    if (first && j->expires_ms && wait > 0 && now + wait >= j->expires_ms) {
        s->stats.expired++;
        job_return(s, j, "rate_limited", "the connector's rate limit holds it past the gate's expiry", wait);
        return false;
    }
    wait = hilo_token_bucket_take(&j->bucket->tb, now);
    if (wait > 0) {
        j->next_ms = now + wait;
        *wake = true;
        return false;
    }
    if (j->amo == AMO_ASK) { /* at most once: the router records the call first */
        if (!s->opt.calling) {
            job_return(s, j, "unsupported", "this connector cannot send at most once", 0);
            return false;
        }
        ask_calling(s, j, now);
        *wake = true;
        return false;
    }
    return true;
}

/* Starts every job that is due and has a token; re-arms the timer for the earliest other. */
static void kick(hilo_sender_t *s) {
    if (s->destroyed) return;
    int64_t now = now_ms(s), next = INT64_MAX;
    for (job_t *j = s->head, *nj; j; j = nj) {
        nj = j->next;
        if (j->http_id) continue;
        bool wake;
        if (!may_call(s, j, now, &wake)) {
            if (wake && j->next_ms < next) next = j->next_ms;
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
               prev.error_message, NULL);
        return;
    case HILO_DEDUPE_NEW: break;
    }
    if (ob->reply_to_seq && s->opt.try_reply && s->opt.try_reply(s->opt.arg, ob)) {
        s->stats.replies++;
        hilo_log_info(MOD, "event=outbound_replied outbound_id=%s reply_to_seq=%" PRIu64, oid, ob->reply_to_seq);
        finish(s, oid, ob->debtor_id, ob->to, ob->from, HILO_DELIVERY_SENT, "", "", "", NULL);
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
        finish(s, oid, ob->debtor_id, ob->to, ob->from, HILO_DELIVERY_FAILED, "", code, msg, NULL);
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
    j->attempt = ob->attempt;
    if (ob->at_most_once) j->amo = AMO_ASK;
    if (ob->expires_in_ms) j->expires_ms = j->first_ms + ob->expires_in_ms;
    if (ob->parts_sent) {
        /* Parts the provider took on an earlier attempt are never sent again. */
        j->first_call = ob->parts_sent < j->plan.n_calls ? ob->parts_sent : j->plan.n_calls - 1;
        j->call = j->first_call;
    }
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
    s->calling = hilo_u64map_new();
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
    hilo_u64map_destroy(&s->calling);
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

void hilo_sender_calling_answer(hilo_sender_t *s, uint64_t ticket, hilo_sender_call_answer_t answer) {
    if (s->destroyed) return;
    job_t *j = hilo_u64map_del(s->calling, ticket);
    if (!j) return; /* given back meanwhile (the expiry came first) */
    j->ticket = 0;
    if (answer == HILO_SENDER_CALL_GO) {
        j->amo = AMO_GO;
        j->next_ms = now_ms(s);
    } else if (answer == HILO_SENDER_CALL_REFUSED) {
        /* Settled, or handed out again: not ours to call nor to report on. */
        s->stats.calling_refused++;
        hilo_log_warn(MOD, "event=outbound_calling_refused outbound_id=%s attempt=%u", j->oid, j->attempt);
        hilo_dedupe_forget(s->dedupe, j->oid);
        free_job(s, j);
    } else {
        s->stats.expired++;
        job_return(s, j, "calling_unconfirmed", "the router did not confirm the call", 0);
    }
    kick(s);
}

void hilo_sender_stats(const hilo_sender_t *s, hilo_sender_stats_t *out) { *out = s->stats; }
