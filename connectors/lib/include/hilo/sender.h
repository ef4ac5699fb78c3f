/* sender.h — the outbound pipeline of a connector: every Outbound from the router goes through
 * the dedupe set (never call the provider twice for one outbound_id; re-report a finished one),
 * then either answers a waiting voice turn (try_reply) or becomes provider API calls
 * (adapter build_send), paced by a per-sender token bucket, and ends as a DeliveryReport envelope
 * (SENT with the provider message id, or FAILED with the provider's error) handed to `report`.
 * An Outbound with expires_in_ms (protocol 1.1: the compliance gate's yes is that fresh) must
 * reach the provider before it expires: if the rate limiter would hold it longer, or the
 * provider call fails in a retryable way (429, 5xx, network), it goes back to the router as a
 * RETURNED report, and the router asks the gate again before the next try. Only an Outbound
 * without expiry (a 1.0 router) is retried here, with backoff, until give_up_ms.
 * An Outbound with at_most_once (protocol 1.2: no provider gives an idempotency key) is called
 * only after the router confirmed a CALLING report (`calling`, answered with
 * hilo_sender_calling_answer) — the router then holds the trace of the call, so a crash of this
 * process never leads to a second copy; an outcome that does not prove the provider refused it
 * (a timeout, a connection lost after the request was written, a 5xx without a body) is
 * reported UNKNOWN and never retried.
 * Used by connector.c. Owns its jobs, timer and dedupe set; borrows the adapter and HTTP client. */
#ifndef HILO_SENDER_H
#define HILO_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "hilo/adapter.h"
#include "hilo/backoff.h"
#include "hilo/http_client.h"

typedef struct hilo_sender hilo_sender_t;

typedef struct {
    hilo_adapter_t *adapter;     /* build_send / parse_send_result (borrowed) */
    hilo_http_client_t *http;    /* (borrowed) */
    int channel;                 /* HILO_CHANNEL_* of the reports */
    double rate_per_s;           /* per rate key; <= 0 = unlimited */
    double rate_burst;           /* bucket size; <= 0 = rate_per_s (at least 1) */
    long send_timeout_ms;        /* one API call (default 15000) */
    hilo_backoff_t retry;        /* default 1000 → 30000 ms */
    int64_t give_up_ms;          /* retrying stops after this since the first try (default 300000) */
    size_t dedupe_size;          /* finished outbound ids remembered (default 100000) */
    /* Delivers a report (must-deliver: submit it to the link). `env` is valid during the call. */
    void (*report)(void *arg, const hilo_envelope_t *env);
    /* Voice: offers an Outbound with reply_to_seq to the waiting webhook; true when taken (the
     * webhook answered with it). May be NULL. */
    bool (*try_reply)(void *arg, const hilo_outbound_t *ob);
    /* At most once: submits the CALLING report `env` (valid during the call); the caller answers
     * with hilo_sender_calling_answer(ticket, ...) from a later loop turn, never inside this
     * call. ttl_ms: the answer is of no use after this. NULL: at_most_once Outbounds are given
     * back (RETURNED) uncalled. */
    void (*calling)(void *arg, const hilo_envelope_t *env, int64_t ttl_ms, uint64_t ticket);
    void *arg;
} hilo_sender_options_t;

/* The router's answer to a CALLING report. */
typedef enum {
    HILO_SENDER_CALL_GO = 0,     /* acked: call the provider */
    HILO_SENDER_CALL_REFUSED,    /* a final Nack (GONE, FORBIDDEN...): not ours any more; drop it, no report */
    HILO_SENDER_CALL_NO_ANSWER,  /* no ack in time (or the link went away): give it back, uncalled */
} hilo_sender_call_answer_t;

typedef struct {
    uint64_t received, duplicates_in_progress, duplicates_done; /* Outbounds in, copies ignored/re-reported */
    uint64_t sent, failed, refused, retries, replies;          /* outcomes; retried calls; voice replies */
    uint64_t returned, expired;                                 /* given back to the router; of which expired before a call */
    uint64_t unknown, calling_refused;                          /* at most once: outcome unknown; CALLING refused */
    size_t jobs;                                                /* outbounds being sent now */
} hilo_sender_stats_t;

hilo_sender_t *hilo_sender_new(uv_loop_t *loop, const hilo_sender_options_t *opts);
/* Abandons the jobs (no reports: the router re-sends unsettled outbounds after its lease),
 * closes the timer, frees itself once closed. Accepts NULL; nulls the caller's pointer. */
void hilo_sender_destroy(hilo_sender_t **self_p);

/* One Outbound from the router (valid during the call only). */
void hilo_sender_outbound(hilo_sender_t *self, const hilo_outbound_t *ob);
/* The answer to the CALLING report of `ticket` (options.calling). Unknown tickets (a job given
 * back or abandoned meanwhile) are ignored. */
void hilo_sender_calling_answer(hilo_sender_t *self, uint64_t ticket, hilo_sender_call_answer_t answer);
void hilo_sender_stats(const hilo_sender_t *self, hilo_sender_stats_t *out);

#endif
