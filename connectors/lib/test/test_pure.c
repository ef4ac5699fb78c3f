/* test_pure.c — unit tests of the connector library's pure parts: backoff schedule, token
 * bucket, outbound dedupe set, deferred-response bookkeeping, the u64 map and the adapter
 * result helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hilo/adapter.h"
#include "hilo/backoff.h"
#include "hilo/dedupe.h"
#include "hilo/pending.h"
#include "hilo/token_bucket.h"
#include "u64map.h"

/* ----- backoff ----- */

static void test_backoff_schedule(void **state) {
    (void)state;
    hilo_backoff_t b = {1000, 30000};
    assert_int_equal(hilo_backoff_base(&b, 1), 1000);
    assert_int_equal(hilo_backoff_base(&b, 2), 2000);
    assert_int_equal(hilo_backoff_base(&b, 3), 4000);
    assert_int_equal(hilo_backoff_base(&b, 5), 16000);
    assert_int_equal(hilo_backoff_base(&b, 6), 30000);
    assert_int_equal(hilo_backoff_base(&b, 1000000), 30000); /* no overflow */
    /* equal jitter: [base/2, base] */
    assert_int_equal(hilo_backoff_delay(&b, 1, 0), 500);
    assert_int_equal(hilo_backoff_delay(&b, 1, 500), 1000);
    assert_int_equal(hilo_backoff_delay(&b, 1, 501), 500); /* wraps inside the range */
    for (uint32_t r = 0; r < 100000; r += 997) {
        int64_t d = hilo_backoff_delay(&b, 4, r);
        assert_in_range(d, 4000, 8000);
    }
    assert_int_equal(hilo_backoff_delay(&b, 0, 0), 500); /* attempt 0 treated as 1 */
}

/* ----- token bucket ----- */

static void test_token_bucket(void **state) {
    (void)state;
    hilo_token_bucket_t tb;
    hilo_token_bucket_init(&tb, 80, 80, 0);
    for (int i = 0; i < 80; i++) assert_int_equal(hilo_token_bucket_take(&tb, 0), 0);
    int64_t wait = hilo_token_bucket_take(&tb, 0);
    assert_in_range(wait, 12, 13); /* 1/80 s */
    assert_int_equal(hilo_token_bucket_take(&tb, 13), 0);
    assert_true(hilo_token_bucket_take(&tb, 13) > 0);
    /* a second later: 80 more, never more than the burst */
    assert_int_equal(hilo_token_bucket_take(&tb, 10000), 0);
    int ok = 1;
    for (int i = 0; i < 79; i++) ok &= hilo_token_bucket_take(&tb, 10000) == 0;
    assert_true(ok);
    assert_true(hilo_token_bucket_take(&tb, 10000) > 0);
    /* unlimited */
    hilo_token_bucket_init(&tb, 0, 1, 0);
    for (int i = 0; i < 1000; i++) assert_int_equal(hilo_token_bucket_take(&tb, 0), 0);
    /* slow rate, burst 1 */
    hilo_token_bucket_init(&tb, 0.5, 0, 0);
    assert_int_equal(hilo_token_bucket_take(&tb, 0), 0);
    assert_int_equal(hilo_token_bucket_take(&tb, 0), 2000);
    assert_int_equal(hilo_token_bucket_take(&tb, 1000), 1000);
    assert_int_equal(hilo_token_bucket_take(&tb, 2000), 0);
}

/* ----- dedupe ----- */

static void test_dedupe_states(void **state) {
    (void)state;
    hilo_dedupe_t *d = hilo_dedupe_new(3);
    hilo_dedupe_outcome_t o;
    assert_int_equal(hilo_dedupe_begin(d, "o1", &o), HILO_DEDUPE_NEW);
    assert_int_equal(hilo_dedupe_begin(d, "o1", &o), HILO_DEDUPE_IN_PROGRESS);
    assert_int_equal(hilo_dedupe_in_progress(d), 1);
    hilo_dedupe_finish(d, "o1", &(hilo_dedupe_outcome_t){HILO_DELIVERY_SENT, "wamid.1", NULL, NULL});
    assert_int_equal(hilo_dedupe_begin(d, "o1", &o), HILO_DEDUPE_DONE);
    assert_int_equal(o.state, HILO_DELIVERY_SENT);
    assert_string_equal(o.provider_message_id, "wamid.1");
    assert_string_equal(o.error_code, "");
    /* forget only drops in-progress ids */
    assert_int_equal(hilo_dedupe_begin(d, "o2", NULL), HILO_DEDUPE_NEW);
    hilo_dedupe_forget(d, "o2");
    assert_int_equal(hilo_dedupe_begin(d, "o2", NULL), HILO_DEDUPE_NEW);
    hilo_dedupe_forget(d, "o1");
    assert_int_equal(hilo_dedupe_begin(d, "o1", NULL), HILO_DEDUPE_DONE);
    hilo_dedupe_destroy(&d);
    assert_null(d);
    hilo_dedupe_destroy(&d); /* NULL is fine */
}

static void test_dedupe_bounded(void **state) {
    (void)state;
    hilo_dedupe_t *d = hilo_dedupe_new(100);
    char id[32];
    /* one in progress that must never be evicted */
    assert_int_equal(hilo_dedupe_begin(d, "busy", NULL), HILO_DEDUPE_NEW);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "o%d", i);
        assert_int_equal(hilo_dedupe_begin(d, id, NULL), HILO_DEDUPE_NEW);
        hilo_dedupe_finish(d, id, &(hilo_dedupe_outcome_t){HILO_DELIVERY_FAILED, "", "131047", "window"});
    }
    assert_int_equal(hilo_dedupe_finished(d), 100);
    assert_int_equal(hilo_dedupe_in_progress(d), 1);
    assert_int_equal(hilo_dedupe_begin(d, "busy", NULL), HILO_DEDUPE_IN_PROGRESS);
    hilo_dedupe_outcome_t o;
    assert_int_equal(hilo_dedupe_begin(d, "o4999", &o), HILO_DEDUPE_DONE);
    assert_int_equal(o.state, HILO_DELIVERY_FAILED);
    assert_string_equal(o.error_code, "131047");
    assert_int_equal(hilo_dedupe_begin(d, "o4900", NULL), HILO_DEDUPE_DONE);
    /* the oldest were forgotten: seen as new (now in progress again) */
    assert_int_equal(hilo_dedupe_begin(d, "o4899", NULL), HILO_DEDUPE_NEW);
    assert_int_equal(hilo_dedupe_begin(d, "o0", NULL), HILO_DEDUPE_NEW);
    /* re-finishing moves an id to the young end */
    hilo_dedupe_finish(d, "o4900", &(hilo_dedupe_outcome_t){HILO_DELIVERY_SENT, "x", "", ""});
    for (int i = 0; i < 99; i++) {
        snprintf(id, sizeof id, "n%d", i);
        hilo_dedupe_finish(d, id, &(hilo_dedupe_outcome_t){HILO_DELIVERY_SENT, "", "", ""});
    }
    assert_int_equal(hilo_dedupe_begin(d, "o4900", &o), HILO_DEDUPE_DONE);
    assert_string_equal(o.provider_message_id, "x");
    hilo_dedupe_destroy(&d);
}

/* ----- pending (deferred responses) ----- */

typedef struct {
    int calls;
    uint64_t id;
    void *user;
    hilo_pending_outcome_t outcome;
    const void *reply;
} ready_log_t;

static void on_ready(void *arg, uint64_t id, void *user, hilo_pending_outcome_t outcome, const void *reply) {
    ready_log_t *r = arg;
    r->calls++;
    r->id = id;
    r->user = user;
    r->outcome = outcome;
    r->reply = reply;
}

static void test_pending_after_ack(void **state) {
    (void)state;
    ready_log_t r = {0};
    hilo_pending_t *p = hilo_pending_new(on_ready, &r);
    int u;
    uint64_t id = hilo_pending_open(p, &u, 1000, false);
    assert_true(id > 0);
    hilo_pending_expect(p, id, 11, false);
    hilo_pending_expect(p, id, 12, false);
    hilo_pending_envelope_done(p, 11, HILO_PENDING_ACKED); /* before arm: counted, not resolved */
    assert_int_equal(r.calls, 0);
    hilo_pending_arm(p, id);
    assert_int_equal(r.calls, 0);
    hilo_pending_envelope_done(p, 99, HILO_PENDING_ACKED); /* unknown seq */
    hilo_pending_envelope_done(p, 11, HILO_PENDING_ACKED); /* already counted: ignored */
    assert_int_equal(r.calls, 0);
    hilo_pending_envelope_done(p, 12, HILO_PENDING_ACKED);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.outcome, HILO_PENDING_ACKED);
    assert_ptr_equal(r.user, &u);
    assert_int_equal(r.id, id);
    assert_int_equal(hilo_pending_count(p), 0);

    /* zero envelopes: resolves on arm */
    id = hilo_pending_open(p, NULL, 1000, false);
    hilo_pending_arm(p, id);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.outcome, HILO_PENDING_ACKED);

    /* one failure resolves at once; later completions of the others are ignored */
    id = hilo_pending_open(p, NULL, 1000, false);
    hilo_pending_expect(p, id, 21, false);
    hilo_pending_expect(p, id, 22, false);
    hilo_pending_arm(p, id);
    hilo_pending_envelope_done(p, 21, HILO_PENDING_REFUSED);
    assert_int_equal(r.calls, 3);
    assert_int_equal(r.outcome, HILO_PENDING_REFUSED);
    hilo_pending_envelope_done(p, 22, HILO_PENDING_ACKED);
    assert_int_equal(r.calls, 3);
    assert_int_equal(hilo_pending_count(p), 0);

    /* one envelope kept in the dead-letter file, the other acked: KEPT once both are done */
    id = hilo_pending_open(p, NULL, 1000, false);
    hilo_pending_expect(p, id, 31, false);
    hilo_pending_expect(p, id, 32, false);
    hilo_pending_arm(p, id);
    hilo_pending_envelope_done(p, 31, HILO_PENDING_KEPT);
    assert_int_equal(r.calls, 3);
    hilo_pending_envelope_done(p, 32, HILO_PENDING_ACKED);
    assert_int_equal(r.calls, 4);
    assert_int_equal(r.outcome, HILO_PENDING_KEPT);

    /* a kept voice turn: no reply can come, so it resolves at once */
    id = hilo_pending_open(p, NULL, 1000, true);
    hilo_pending_expect(p, id, 41, true);
    hilo_pending_arm(p, id);
    hilo_pending_envelope_done(p, 41, HILO_PENDING_KEPT);
    assert_int_equal(r.calls, 5);
    assert_int_equal(r.outcome, HILO_PENDING_KEPT);
    assert_int_equal(hilo_pending_count(p), 0);
    hilo_pending_destroy(&p);
    assert_null(p);
}

static void test_pending_reply_and_deadline(void **state) {
    (void)state;
    ready_log_t r = {0};
    hilo_pending_t *p = hilo_pending_new(on_ready, &r);
    uint64_t id = hilo_pending_open(p, NULL, 5000, true);
    hilo_pending_expect(p, id, 31, true);
    hilo_pending_arm(p, id);
    hilo_pending_envelope_done(p, 31, HILO_PENDING_ACKED);
    assert_int_equal(r.calls, 0); /* acked, still waiting for the reply */
    assert_false(hilo_pending_reply(p, 30, "x"));
    hilo_pending_expire(p, 4999);
    assert_int_equal(r.calls, 0);
    int reply = 7;
    assert_true(hilo_pending_reply(p, 31, &reply));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.outcome, HILO_PENDING_REPLIED);
    assert_ptr_equal(r.reply, &reply);
    assert_false(hilo_pending_reply(p, 31, &reply)); /* answered once */

    /* reply before the ack still answers */
    id = hilo_pending_open(p, NULL, 5000, true);
    hilo_pending_expect(p, id, 41, true);
    hilo_pending_arm(p, id);
    assert_true(hilo_pending_reply(p, 41, &reply));
    assert_int_equal(r.calls, 2);
    hilo_pending_envelope_done(p, 41, HILO_PENDING_ACKED); /* late ack: nothing */
    assert_int_equal(r.calls, 2);

    /* deadline */
    id = hilo_pending_open(p, NULL, 5000, true);
    hilo_pending_expect(p, id, 51, true);
    hilo_pending_arm(p, id);
    uint64_t id2 = hilo_pending_open(p, NULL, 9000, false);
    hilo_pending_expect(p, id2, 52, false);
    hilo_pending_arm(p, id2);
    hilo_pending_expire(p, 5000);
    assert_int_equal(r.calls, 3);
    assert_int_equal(r.outcome, HILO_PENDING_TIMEOUT);
    assert_int_equal(r.id, id);
    assert_int_equal(hilo_pending_count(p), 1);
    assert_false(hilo_pending_reply(p, 51, &reply));

    /* reply mode without a reply envelope is refused on arm */
    id = hilo_pending_open(p, NULL, 5000, true);
    hilo_pending_arm(p, id);
    assert_int_equal(r.calls, 4);
    assert_int_equal(r.outcome, HILO_PENDING_REFUSED);

    /* cancel: no callback, seqs forgotten */
    hilo_pending_cancel(p, id2);
    hilo_pending_envelope_done(p, 52, HILO_PENDING_ACKED);
    assert_int_equal(r.calls, 4);
    assert_int_equal(hilo_pending_count(p), 0);

    /* fail_all */
    for (int i = 0; i < 3; i++) hilo_pending_open(p, NULL, 100, false);
    hilo_pending_fail_all(p, HILO_PENDING_UNAVAILABLE);
    assert_int_equal(r.calls, 7);
    assert_int_equal(r.outcome, HILO_PENDING_UNAVAILABLE);
    hilo_pending_destroy(&p);
}

/* ----- u64map ----- */

static void count_fn(uint64_t k, void *v, void *arg) {
    (void)k, (void)v;
    (*(int *)arg)++;
}

static void test_u64map(void **state) {
    (void)state;
    hilo_u64map_t *m = hilo_u64map_new();
    static int vals[3000];
    for (uint64_t k = 0; k < 3000; k++) hilo_u64map_put(m, k * 7919 + 1700000000000000ULL, &vals[k]);
    assert_int_equal(hilo_u64map_size(m), 3000);
    for (uint64_t k = 0; k < 3000; k++) assert_ptr_equal(hilo_u64map_get(m, k * 7919 + 1700000000000000ULL), &vals[k]);
    assert_null(hilo_u64map_get(m, 5));
    for (uint64_t k = 0; k < 3000; k += 2) assert_ptr_equal(hilo_u64map_del(m, k * 7919 + 1700000000000000ULL), &vals[k]);
    assert_null(hilo_u64map_del(m, 1700000000000000ULL));
    int n = 0;
    hilo_u64map_each(m, count_fn, &n);
    assert_int_equal(n, 1500);
    hilo_u64map_destroy(&m);
    assert_null(m);
}

/* ----- adapter helpers ----- */

static void test_query_param(void **state) {
    (void)state;
    /* as the server hands it over: raw, as received; values are decoded once */
    hilo_http_request_t req = {.query = "hub.mode=subscribe&hub.verify_token=a+b%2Bc%2541&hub.challenge=1158201444&flag&e="
                                        "&bad=%4&bad2=%zz"};
    char buf[64];
    assert_string_equal(hilo_http_query_param(&req, "hub.mode", buf, sizeof buf), "subscribe");
    assert_string_equal(hilo_http_query_param(&req, "hub.verify_token", buf, sizeof buf), "a b+c%41");
    assert_string_equal(hilo_http_query_param(&req, "hub.challenge", buf, sizeof buf), "1158201444");
    assert_string_equal(hilo_http_query_param(&req, "flag", buf, sizeof buf), "");
    assert_string_equal(hilo_http_query_param(&req, "e", buf, sizeof buf), "");
    assert_null(hilo_http_query_param(&req, "hub", buf, sizeof buf));
    assert_null(hilo_http_query_param(&req, "hub.challenge", buf, 5)); /* does not fit */
    assert_null(hilo_http_query_param(&req, "bad", buf, sizeof buf));  /* badly escaped */
    assert_null(hilo_http_query_param(&req, "bad2", buf, sizeof buf));
    req.query = "";
    assert_null(hilo_http_query_param(&req, "x", buf, sizeof buf));
}

static void test_webhook_result(void **state) {
    (void)state;
    hilo_webhook_result_t out;
    hilo_webhook_result_init(&out);
    hilo_envelope_t env = HILO_ENVELOPE_INIT;
    env.channel = HILO_CHANNEL_VOICE;
    char pmid[] = "CA123:start";
    env.provider_message_id = pmid;
    env.wants_reply = true;
    assert_int_equal(hilo_webhook_add_envelope(&out, &env), HILO_OK);
    assert_int_equal(hilo_webhook_add_envelope(&out, &env), HILO_ERR); /* a second wants_reply */
    env.wants_reply = false;
    assert_int_equal(hilo_webhook_add_envelope(&out, &env), HILO_OK);
    strcpy(pmid, "XXXXXXXXXXX"); /* the copy does not see it */
    hilo_webhook_answer_reply(&out, "turn");
    assert_int_equal(out.answer, HILO_ANSWER_REPLY);
    assert_int_equal(out.n_envelopes, 2);
    assert_int_equal(out.reply_index, 0);
    hilo_envelope_t *copy = hilo__link__v1__envelope__unpack(NULL, out.env_len[0], out.env_buf[0]);
    assert_non_null(copy);
    assert_string_equal(copy->provider_message_id, "CA123:start");
    assert_true(copy->wants_reply);
    hilo__link__v1__envelope__free_unpacked(copy, NULL);
    hilo_webhook_answer_now(&out, 403, "text/plain", "bad signature", "bad_signature");
    assert_int_equal(out.response.status, 403);
    assert_int_equal(out.response.body_len, 13);
    assert_string_equal(out.why, "bad_signature");
    hilo_webhook_result_release(&out);
}

static void test_send_plan(void **state) {
    (void)state;
    hilo_send_plan_t p;
    hilo_send_plan_init(&p);
    hilo_http_call_t *c = hilo_send_plan_add_call(&p, "POST", "https://api.example/2010-04-01/Accounts/AC1/Messages.json");
    assert_non_null(c);
    /* "AC1:tok" → QUMxOnRvaw== */
    assert_int_equal(hilo_http_call_basic_auth(c, "AC1", "tok"), HILO_OK);
    assert_string_equal(c->headers[0], "Authorization: Basic QUMxOnRvaw==");
    hilo_http_call_set_body(c, "To=%2B1&Body=hi", (size_t)-1);
    assert_int_equal(c->body_len, 15);
    for (int i = 1; i < HILO_SEND_MAX_CALLS; i++) assert_non_null(hilo_send_plan_add_call(&p, "POST", "u"));
    assert_null(hilo_send_plan_add_call(&p, "POST", "u"));
    hilo_send_plan_refuse(&p, "invalid_address", "not a phone");
    assert_true(p.refused);
    assert_string_equal(p.error_code, "invalid_address");
    hilo_send_plan_release(&p);
    assert_int_equal(p.n_calls, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_schedule), cmocka_unit_test(test_token_bucket),
        cmocka_unit_test(test_dedupe_states),    cmocka_unit_test(test_dedupe_bounded),
        cmocka_unit_test(test_pending_after_ack), cmocka_unit_test(test_pending_reply_and_deadline),
        cmocka_unit_test(test_u64map),           cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_webhook_result),   cmocka_unit_test(test_send_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
