/* test_http.c — the webhook server and the provider HTTP client on one libuv loop, over real
 * sockets on 127.0.0.1 (ephemeral port): request collection (method, path, query, signature
 * headers, raw body), deferred answers, 413, a client that leaves early; then the sender
 * against the same server playing the provider API: 429 then success, a final 4xx, dedupe of
 * a re-sent outbound, a refusal by the adapter, network errors until give-up, rate limiting.
 * Every handle is closed at the end: uv_loop_close must succeed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "hilo/adapter.h"
#include "hilo/common.h"
#include "hilo/http_client.h"
#include "hilo/log.h"
#include "hilo/sender.h"
#include "hilo/utf8.h"
#include "hilo/webhook_server.h"

static uv_loop_t loop;
static hilo_webhook_server_t *srv;
static int port;

/* ----- what the server saw ----- */
typedef struct {
    int requests;
    uint64_t conn_id;
    unsigned method;
    char path[128], query[256], uri[300], ctype[64], host[64], hub[128], twilio[128];
    char body[4096];
    size_t body_len;
    int gone;
    /* fake provider */
    int provider_calls;
    int fail_next;      /* answer 429 this many times */
    int reject_next;    /* answer 400 this many times */
    int defer_ms;       /* answer later (0 = now) */
    int odd_status;     /* != 0: answer the next call with this status and odd_body */
    const char *odd_body;
    int silent_next;    /* never answer this many calls (the client times out) */
} srv_log_t;
static srv_log_t sl;

static uv_timer_t defer_timer;
static uint64_t deferred_conn;

static void on_defer(uv_timer_t *t) {
    (void)t;
    hilo_webhook_server_respond_text(srv, deferred_conn, 200, "later\n");
}

static void on_request(void *arg, uint64_t conn_id, const hilo_http_request_t *req) {
    (void)arg;
    sl.requests++;
    sl.conn_id = conn_id;
    sl.method = req->method;
    snprintf(sl.path, sizeof sl.path, "%s", req->path);
    snprintf(sl.query, sizeof sl.query, "%s", req->query);
    snprintf(sl.uri, sizeof sl.uri, "%s", req->uri);
    snprintf(sl.ctype, sizeof sl.ctype, "%s", req->content_type);
    snprintf(sl.host, sizeof sl.host, "%s", req->host);
    snprintf(sl.hub, sizeof sl.hub, "%s", req->x_hub_signature_256);
    snprintf(sl.twilio, sizeof sl.twilio, "%s", req->x_twilio_signature);
    assert_true(req->body_len < sizeof sl.body);
    memcpy(sl.body, req->body, req->body_len);
    sl.body_len = req->body_len;
    assert_int_equal(req->body[req->body_len], '\0');
    if (strcmp(req->path, "/provider") == 0) {
        sl.provider_calls++;
        if (sl.silent_next > 0) {
            sl.silent_next--;
        } else if (sl.odd_status) {
            hilo_webhook_server_respond_text(srv, conn_id, sl.odd_status, sl.odd_body);
            sl.odd_status = 0;
        } else if (sl.fail_next > 0) {
            sl.fail_next--;
            hilo_webhook_server_respond_text(srv, conn_id, 429, "slow down");
        } else if (sl.reject_next > 0) {
            sl.reject_next--;
            hilo_webhook_server_respond_text(srv, conn_id, 400, "code=21211 invalid To");
        } else {
            char id[64];
            snprintf(id, sizeof id, "id=SM%d", sl.provider_calls);
            hilo_webhook_server_respond_text(srv, conn_id, 201, id);
        }
        return;
    }
    if (strcmp(req->path, "/silent") == 0) return; /* never answered: the client gives up */
    if (sl.defer_ms) {
        deferred_conn = conn_id;
        uv_timer_start(&defer_timer, on_defer, (uint64_t)sl.defer_ms, 0);
        return;
    }
    hilo_webhook_server_respond_text(srv, conn_id, 200, "ok\n");
}

static void on_gone(void *arg, uint64_t conn_id) {
    (void)arg, (void)conn_id;
    sl.gone++;
}

/* ----- client side ----- */
typedef struct {
    int done;
    int status;
    bool maybe_sent;
    char body[256];
    char error[256];
} reply_t;

static void on_reply(void *arg, int status, const char *body, size_t len, const char *error, bool maybe_sent) {
    reply_t *r = arg;
    r->done++;
    r->status = status;
    r->maybe_sent = maybe_sent;
    snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
    snprintf(r->error, sizeof r->error, "%s", error);
}

static void run_until(int *flag, int value, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (*flag < value && hilo_mono_us() < end) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(*flag, value);
}

static void call(hilo_http_client_t *cl, const char *method, const char *path, const char *body,
                 const char *extra_header, long timeout_ms, reply_t *r) {
    hilo_send_plan_t p;
    hilo_send_plan_init(&p);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    hilo_http_call_t *c = hilo_send_plan_add_call(&p, method, url);
    if (extra_header) c->headers[c->n_headers++] = hilo_xstrdup(extra_header);
    if (body) {
        hilo_http_call_add_header(c, "Content-Type", "application/x-www-form-urlencoded");
        hilo_http_call_set_body(c, body, (size_t)-1);
    }
    memset(r, 0, sizeof *r);
    assert_true(hilo_http_client_start(cl, c, timeout_ms, on_reply, r) > 0);
    hilo_send_plan_release(&p);
}

static int setup(void **state) {
    (void)state;
    memset(&sl, 0, sizeof sl);
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &defer_timer);
    hilo_webhook_server_options_t o = {.bind = "127.0.0.1", .port = 0, .max_body = 2048,
                                       .on_request = on_request, .on_gone = on_gone};
    char err[256];
    srv = hilo_webhook_server_new(&loop, &o, err, sizeof err);
    assert_non_null(srv);
    port = hilo_webhook_server_port(srv);
    assert_true(port > 0);
    return 0;
}

static void show_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    fprintf(stderr, "# open handle: %s active=%d closing=%d\n", uv_handle_type_name(h->type), uv_is_active(h),
            uv_is_closing(h));
}

static int teardown(void **state) {
    (void)state;
    hilo_webhook_server_close(srv);
    uv_close((uv_handle_t *)&defer_timer, NULL);
    int64_t end = hilo_mono_us() + 3000000;
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && hilo_mono_us() < end) usleep(1000);
    uv_walk(&loop, show_handle, NULL);
    hilo_webhook_server_destroy(&srv);
    assert_null(srv);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void test_requests(void **state) {
    (void)state;
    hilo_http_client_t *cl = hilo_http_client_new(&loop);
    reply_t r;
    /* GET with a query string */
    call(cl, "GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=t%20k&hub.challenge=1158201444&p=a+b%2Bc%2541", NULL,
         NULL, 2000, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_int_equal(sl.method, HILO_HTTP_GET);
    assert_string_equal(sl.path, "/webhooks/whatsapp");
    hilo_http_request_t q = {.query = sl.query};
    char buf[64];
    assert_string_equal(hilo_http_query_param(&q, "hub.challenge", buf, sizeof buf), "1158201444");
    assert_string_equal(hilo_http_query_param(&q, "hub.verify_token", buf, sizeof buf), "t k");
    /* the query and the uri are the bytes as sent (lws alone would have decoded them) */
    assert_string_equal(hilo_http_query_param(&q, "p", buf, sizeof buf), "a b+c%41");
    assert_string_equal(sl.query, "hub.mode=subscribe&hub.verify_token=t%20k&hub.challenge=1158201444&p=a+b%2Bc%2541");
    assert_string_equal(sl.uri, "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=t%20k&hub.challenge=1158201444"
                                "&p=a+b%2Bc%2541");
    assert_string_equal(hilo_http_query_param(&q, "hub.mode", buf, sizeof buf), "subscribe");

    /* POST: raw body byte for byte, signature headers, content type, host */
    const char *form = "To=%2B15550001111&From=%2B16505551234&Body=Hola+%C2%BFqu%C3%A9%3F&MessageSid=SM1";
    call(cl, "POST", "/webhooks/twilio/sms", form, "X-Twilio-Signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", 2000, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 200);
    assert_int_equal(sl.method, HILO_HTTP_POST);
    assert_string_equal(sl.path, "/webhooks/twilio/sms");
    assert_string_equal(sl.uri, "/webhooks/twilio/sms");
    assert_int_equal(sl.body_len, strlen(form));
    assert_memory_equal(sl.body, form, strlen(form));
    assert_string_equal(sl.twilio, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    assert_string_equal(sl.ctype, "application/x-www-form-urlencoded");
    assert_true(strncmp(sl.host, "127.0.0.1:", 10) == 0);
    call(cl, "POST", "/webhooks/whatsapp", "{\"object\":\"whatsapp_business_account\"}",
         "X-Hub-Signature-256: sha256=abc123", 2000, &r);
    run_until(&r.done, 1, 3000);
    assert_string_equal(sl.hub, "sha256=abc123");
    assert_string_equal(sl.twilio, "");
    /* an empty body (Content-Length: 0) reaches the handler as "" */
    call(cl, "POST", "/webhooks/whatsapp", "", NULL, 2000, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 200);
    assert_int_equal(sl.body_len, 0);

    /* deferred answer: written when the caller gives it, 300 ms later */
    sl.defer_ms = 300;
    int64_t t0 = hilo_mono_us();
    call(cl, "POST", "/webhooks/whatsapp", "{}", NULL, 3000, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "later\n");
    assert_true(hilo_mono_us() - t0 >= 290000);
    sl.defer_ms = 0;

    /* too large: 413, the caller never sees it */
    int before = sl.requests;
    char *big = malloc(3000);
    memset(big, 'a', 2999);
    big[2999] = '\0';
    call(cl, "POST", "/webhooks/whatsapp", big, NULL, 2000, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 413);
    assert_int_equal(sl.requests, before);
    /* far too large (refused on Content-Length alone) */
    char *huge = malloc(20000);
    memset(huge, 'b', 19999);
    huge[19999] = '\0';
    call(cl, "POST", "/webhooks/whatsapp", huge, NULL, 2000, &r);
    run_until(&r.done, 1, 3000);
    fprintf(stderr, "# huge body: status=%d error=%s\n", r.status, r.error);
    assert_true(r.status == 413 || r.status == 0);
    free(big);
    free(huge);
    /* the server still works */
    call(cl, "GET", "/x", NULL, NULL, 2000, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 200);

    /* a client that gives up: the server reports it gone */
    call(cl, "POST", "/silent", "x=1", NULL, 200, &r);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 0);
    assert_true(r.error[0] != '\0');
    assert_true(r.maybe_sent); /* written, never answered: the server may have acted on it */
    run_until(&sl.gone, 1, 3000);
    assert_int_equal(hilo_webhook_server_respond_text(srv, sl.conn_id, 200, "too late"), HILO_ERR);

    /* connection refused: transport error, status 0 */
    hilo_send_plan_t p;
    hilo_send_plan_init(&p);
    hilo_http_call_t *c = hilo_send_plan_add_call(&p, "GET", "http://127.0.0.1:1/");
    memset(&r, 0, sizeof r);
    hilo_http_client_start(cl, c, 2000, on_reply, &r);
    hilo_send_plan_release(&p);
    run_until(&r.done, 1, 3000);
    assert_int_equal(r.status, 0);
    assert_false(r.maybe_sent); /* refused before a byte of the request was written */

    hilo_http_client_destroy(&cl);
    assert_null(cl);
}

/* ----- the sender against the fake provider ----- */

typedef struct {
    int reports;
    int state;
    char oid[64], pmid[64], code[64], msg[256], env_id[300];
} reports_t;
static reports_t rep;
static int sender_port_override; /* 0 = the server; else a port where nothing listens */

static int t_build_send(hilo_adapter_t *a, const hilo_outbound_t *ob, hilo_send_plan_t *plan) {
    (void)a;
    if (strcmp(ob->to, "bad") == 0) {
        hilo_send_plan_refuse(plan, "invalid_address", "not a phone number");
        return HILO_OK;
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/provider", sender_port_override ? sender_port_override : port);
    int parts = strlen(ob->text) > 10 ? 2 : 1; /* "long" texts go in two calls */
    for (int i = 0; i < parts; i++) {
        hilo_http_call_t *c = hilo_send_plan_add_call(plan, "POST", url);
        hilo_http_call_basic_auth(c, "AC1", "secret");
        hilo_http_call_set_body(c, "Body=x", (size_t)-1);
    }
    snprintf(plan->rate_key, sizeof plan->rate_key, "+15550001111");
    return HILO_OK;
}

static int t_parse(hilo_adapter_t *a, int status, const char *body, size_t len, hilo_send_result_t *res) {
    (void)a, (void)len;
    if (status >= 200 && status < 300 && strncmp(body, "id=", 3) == 0) {
        res->ok = true;
        snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", body + 3);
        return HILO_OK;
    }
    res->retryable = status == 429 || status >= 500;
    snprintf(res->error_code, sizeof res->error_code, "%s", status == 400 ? "21211" : "http");
    snprintf(res->error_message, sizeof res->error_message, "%s", body);
    return HILO_OK;
}

static const hilo_adapter_ops_t t_ops = {
    .name = "test", .channel = HILO_CHANNEL_SMS, .build_send = t_build_send, .parse_send_result = t_parse,
};

static void on_report(void *arg, const hilo_envelope_t *env) {
    (void)arg;
    assert_non_null(env->delivery);
    assert_int_equal(env->channel, HILO_CHANNEL_SMS);
    rep.reports++;
    rep.state = env->delivery->state;
    snprintf(rep.oid, sizeof rep.oid, "%s", env->delivery->outbound_id);
    snprintf(rep.pmid, sizeof rep.pmid, "%s", env->delivery->provider_message_id);
    snprintf(rep.code, sizeof rep.code, "%s", env->delivery->error_code);
    snprintf(rep.msg, sizeof rep.msg, "%s", env->delivery->error_message);
    snprintf(rep.env_id, sizeof rep.env_id, "%s", env->provider_message_id);
    /* whatever the provider answered, the report is one the router accepts */
    assert_true(hilo_utf8_valid(rep.msg, strlen(rep.msg)) && hilo_utf8_valid(rep.code, strlen(rep.code)));
    assert_in_range(strlen(rep.env_id), 1, 256);
}

static void send_ob(hilo_sender_t *s, const char *oid, const char *to, const char *text) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = (char *)oid;
    ob.to = (char *)to;
    ob.text = (char *)text;
    ob.channel = HILO_CHANNEL_SMS;
    hilo_sender_outbound(s, &ob);
}

static void test_sender(void **state) {
    (void)state;
    memset(&rep, 0, sizeof rep);
    hilo_adapter_t adapter = {.ops = &t_ops};
    hilo_http_client_t *cl = hilo_http_client_new(&loop);
    hilo_sender_options_t o = {.adapter = &adapter, .http = cl, .channel = HILO_CHANNEL_SMS, .rate_per_s = 0,
                               .retry = {50, 200}, .give_up_ms = 600, .send_timeout_ms = 2000, .dedupe_size = 100,
                               .report = on_report};
    hilo_sender_t *s = hilo_sender_new(&loop, &o);

    /* 429 twice, then accepted: SENT with the provider id, retried twice */
    sl.fail_next = 2;
    send_ob(s, "o1", "+16505551234", "hola");
    run_until(&rep.reports, 1, 5000);
    assert_int_equal(rep.state, HILO_DELIVERY_SENT);
    assert_string_equal(rep.oid, "o1");
    assert_string_equal(rep.pmid, "SM3");
    assert_int_equal(sl.provider_calls, 3);
    assert_true(strstr(sl.body, "Body=x") != NULL);

    /* the router sends o1 again: re-reported, the provider is not called */
    send_ob(s, "o1", "+16505551234", "hola");
    assert_int_equal(rep.reports, 2);
    assert_string_equal(rep.pmid, "SM3");
    assert_int_equal(sl.provider_calls, 3);

    /* a copy while in progress is ignored */
    send_ob(s, "o2", "+16505551234", "hola");
    send_ob(s, "o2", "+16505551234", "hola");
    run_until(&rep.reports, 3, 5000);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(rep.reports, 3);
    assert_int_equal(sl.provider_calls, 4);

    /* final 4xx: FAILED with the provider's code and text */
    sl.reject_next = 1;
    send_ob(s, "o3", "+16505551234", "hola");
    run_until(&rep.reports, 4, 5000);
    assert_int_equal(rep.state, HILO_DELIVERY_FAILED);
    assert_string_equal(rep.code, "21211");
    assert_string_equal(rep.msg, "code=21211 invalid To");

    /* two parts: the first succeeded, the second is refused; the first is never re-sent */
    int calls = sl.provider_calls;
    sl.fail_next = 0;
    send_ob(s, "o4", "+16505551234", "a longer text");
    /* let the first part through, then refuse the second */
    while (sl.provider_calls < calls + 1) uv_run(&loop, UV_RUN_ONCE);
    sl.reject_next = 1;
    run_until(&rep.reports, 5, 5000);
    assert_int_equal(rep.state, HILO_DELIVERY_FAILED);
    assert_string_equal(rep.pmid, "SM" "6");
    assert_true(strstr(rep.msg, "1 of 2 parts sent") != NULL);
    assert_int_equal(sl.provider_calls, calls + 2);

    /* refused by the adapter: FAILED at once, no call */
    calls = sl.provider_calls;
    send_ob(s, "o5", "bad", "hola");
    assert_int_equal(rep.reports, 6);
    assert_int_equal(rep.state, HILO_DELIVERY_FAILED);
    assert_string_equal(rep.code, "invalid_address");
    assert_int_equal(sl.provider_calls, calls);

    /* provider unreachable: network errors retried until give_up_ms (600 ms), then FAILED */
    sender_port_override = 1;
    int64_t t0 = hilo_mono_us();
    send_ob(s, "o6", "+16505551234", "hola");
    run_until(&rep.reports, 7, 5000);
    sender_port_override = 0;
    assert_int_equal(rep.state, HILO_DELIVERY_FAILED);
    assert_string_equal(rep.code, "network");
    assert_in_range((hilo_mono_us() - t0) / 1000, 150, 1500);

    /* an absurd provider id: SENT, reported under our outbound id (the link refuses ids over
     * 256 bytes, and a refused report would never settle the message) */
    char long_id[300] = "id=";
    memset(long_id + 3, 'S', 250);
    long_id[253] = '\0';
    sl.odd_status = 201;
    sl.odd_body = long_id;
    send_ob(s, "o7", "+16505551234", "hola");
    run_until(&rep.reports, 8, 5000);
    assert_int_equal(rep.state, HILO_DELIVERY_SENT);
    assert_string_equal(rep.pmid, "");
    assert_string_equal(rep.env_id, "dr:o7:sent");

    /* an error text that is not UTF-8, with a control character: made valid text */
    sl.odd_status = 400;
    sl.odd_body = "caf\xc3\xff\x01" "end";
    send_ob(s, "o8", "+16505551234", "hola");
    run_until(&rep.reports, 9, 5000);
    assert_int_equal(rep.state, HILO_DELIVERY_FAILED);
    assert_string_equal(rep.msg, "caf?? end");

    hilo_sender_stats_t st;
    hilo_sender_stats(s, &st);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.failed, 5);
    assert_true(st.retries >= 3);
    assert_int_equal(st.jobs, 0);
    hilo_sender_destroy(&s);
    hilo_http_client_destroy(&cl);
}

static void test_sender_rate_limit(void **state) {
    (void)state;
    memset(&rep, 0, sizeof rep);
    hilo_adapter_t adapter = {.ops = &t_ops};
    hilo_http_client_t *cl = hilo_http_client_new(&loop);
    hilo_sender_options_t o = {.adapter = &adapter, .http = cl, .channel = HILO_CHANNEL_SMS, .rate_per_s = 20,
                               .rate_burst = 1, .retry = {50, 200}, .give_up_ms = 5000, .report = on_report};
    hilo_sender_t *s = hilo_sender_new(&loop, &o);
    int64_t t0 = hilo_mono_us();
    char oid[16];
    for (int i = 0; i < 6; i++) {
        snprintf(oid, sizeof oid, "r%d", i);
        send_ob(s, oid, "+16505551234", "hola");
    }
    run_until(&rep.reports, 6, 5000);
    int64_t ms = (hilo_mono_us() - t0) / 1000;
    /* 20/s with a burst of 1: the 6th call cannot start before ~250 ms */
    assert_in_range(ms, 230, 2000);
    /* destroy with a job in flight: abandoned, no report */
    send_ob(s, "r-last", "+16505551234", "hola");
    hilo_sender_destroy(&s);
    hilo_http_client_destroy(&cl);
    int64_t end = hilo_mono_us() + 500000;
    while (hilo_mono_us() < end) uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(rep.reports, 6);
}

/* ----- at most once (protocol 1.2) ----- */

static struct {
    int asked;
    uint64_t ticket;
    int64_t ttl_ms;
    uint32_t attempt;
    char oid[64], env_id[300];
} cl_ask;

static void on_calling(void *arg, const hilo_envelope_t *env, int64_t ttl_ms, uint64_t ticket) {
    (void)arg;
    assert_int_equal(env->delivery->state, HILO_DELIVERY_CALLING);
    cl_ask.asked++;
    cl_ask.ticket = ticket;
    cl_ask.ttl_ms = ttl_ms;
    cl_ask.attempt = env->delivery->attempt;
    snprintf(cl_ask.oid, sizeof cl_ask.oid, "%s", env->delivery->outbound_id);
    snprintf(cl_ask.env_id, sizeof cl_ask.env_id, "%s", env->provider_message_id);
}

static void send_amo(hilo_sender_t *s, const char *oid, uint32_t expires_in_ms) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = (char *)oid;
    ob.to = "+16505551234";
    ob.text = "hola";
    ob.channel = HILO_CHANNEL_SMS;
    ob.attempt = 3;
    ob.expires_in_ms = expires_in_ms;
    ob.at_most_once = true;
    hilo_sender_outbound(s, &ob);
}

/* Sends `oid`, says yes to its CALLING, runs until the n-th report. */
static void send_amo_go(hilo_sender_t *s, const char *oid, int n) {
    send_amo(s, oid, 2000);
    hilo_sender_calling_answer(s, cl_ask.ticket, HILO_SENDER_CALL_GO);
    run_until(&rep.reports, n, 3000);
}

static void run_ms(int ms) {
    int64_t end = hilo_mono_us() + (int64_t)ms * 1000;
    while (hilo_mono_us() < end) uv_run(&loop, UV_RUN_NOWAIT);
}

static void test_sender_at_most_once(void **state) {
    (void)state;
    memset(&rep, 0, sizeof rep);
    memset(&cl_ask, 0, sizeof cl_ask);
    hilo_adapter_t adapter = {.ops = &t_ops};
    hilo_http_client_t *cl = hilo_http_client_new(&loop);
    hilo_sender_options_t o = {.adapter = &adapter, .http = cl, .channel = HILO_CHANNEL_SMS, .retry = {50, 200},
                               .give_up_ms = 5000, .send_timeout_ms = 300, .dedupe_size = 100,
                               .report = on_report, .calling = on_calling};
    hilo_sender_t *s = hilo_sender_new(&loop, &o);

    /* CALLING first; the provider is called only after the router's yes */
    int calls = sl.provider_calls;
    send_amo(s, "a1", 2000);
    assert_int_equal(cl_ask.asked, 1);
    assert_string_equal(cl_ask.oid, "a1");
    assert_int_equal(cl_ask.attempt, 3);
    assert_string_equal(cl_ask.env_id, "dr:a1:calling:3");
    assert_in_range(cl_ask.ttl_ms, 1, 2000);
    run_ms(100);
    assert_int_equal(sl.provider_calls, calls);
    assert_int_equal(rep.reports, 0);
    hilo_sender_calling_answer(s, cl_ask.ticket, HILO_SENDER_CALL_GO);
    run_until(&rep.reports, 1, 3000);
    assert_int_equal(rep.state, HILO_DELIVERY_SENT);
    assert_int_equal(sl.provider_calls, calls + 1);
    hilo_sender_calling_answer(s, cl_ask.ticket, HILO_SENDER_CALL_GO); /* a late repeat: ignored */

    /* no answer within the expiry: given back, never called */
    calls = sl.provider_calls;
    send_amo(s, "a2", 150);
    assert_int_equal(cl_ask.asked, 2);
    run_until(&rep.reports, 2, 3000);
    assert_int_equal(rep.state, HILO_DELIVERY_RETURNED);
    assert_string_equal(rep.code, "calling_unconfirmed");
    hilo_sender_calling_answer(s, cl_ask.ticket, HILO_SENDER_CALL_GO); /* too late: ignored */
    run_ms(100);
    assert_int_equal(sl.provider_calls, calls);

    /* refused (GONE): dropped, no call, no report */
    send_amo(s, "a3", 2000);
    hilo_sender_calling_answer(s, cl_ask.ticket, HILO_SENDER_CALL_REFUSED);
    run_ms(100);
    assert_int_equal(sl.provider_calls, calls);
    assert_int_equal(rep.reports, 2);

    /* the provider never answers (timeout after the request was written): UNKNOWN, no retry */
    sl.silent_next = 1;
    send_amo_go(s, "a4", 3);
    assert_int_equal(rep.state, HILO_DELIVERY_UNKNOWN);
    assert_string_equal(rep.code, "network");
    assert_string_equal(rep.env_id, "dr:a4:unknown");
    run_ms(400);
    assert_int_equal(sl.provider_calls, calls + 1);
    /* the router sends it again anyway: the same report, no call */
    send_amo(s, "a4", 2000);
    assert_int_equal(rep.reports, 4);
    assert_int_equal(rep.state, HILO_DELIVERY_UNKNOWN);
    assert_int_equal(cl_ask.asked, 4);

    /* a 5xx without a body (a proxy's): UNKNOWN; a 503 with the provider's error: RETURNED */
    sl.odd_status = 502;
    sl.odd_body = "";
    send_amo_go(s, "a5", 5);
    assert_int_equal(rep.state, HILO_DELIVERY_UNKNOWN);
    sl.odd_status = 503;
    sl.odd_body = "code=20503 try later";
    send_amo_go(s, "a6", 6);
    assert_int_equal(rep.state, HILO_DELIVERY_RETURNED);

    /* connection refused: nothing was written, RETURNED */
    sender_port_override = 1;
    send_amo_go(s, "a7", 7);
    sender_port_override = 0;
    assert_int_equal(rep.state, HILO_DELIVERY_RETURNED);
    assert_string_equal(rep.code, "network");

    hilo_sender_stats_t st;
    hilo_sender_stats(s, &st);
    assert_int_equal(st.unknown, 2);
    assert_int_equal(st.calling_refused, 1);
    assert_int_equal(st.jobs, 0);
    hilo_sender_destroy(&s);
    hilo_http_client_destroy(&cl);
}

int main(void) {
    hilo_log_set_level(HILO_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_at_most_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
