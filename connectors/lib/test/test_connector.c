/* test_connector.c — the whole connector runtime (hilo_connector_main) in a child process,
 * driven by a test adapter, against a ZeroMQ ROUTER peer and HTTP clients in this process, on
 * 127.0.0.1: /healthz before and after Welcome, webhooks answered only after the ack (200),
 * on a refusal (500), after the deadline (503), at once on a bad signature (401) or a GET
 * verification; voice turns answered with the router's reply or the fallback; Outbound →
 * provider call → DeliveryReport, a re-sent Outbound re-reported without a second call;
 * /metrics; 404/405; SIGTERM → exit 0; bad config → exit 2 with file:line; with a dead-letter
 * file, a final Nack answered 200 once the envelope is kept there, 500 when it cannot be. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <curl/curl.h>
#include <zmq.h>

#include "hilo/adapter.h"
#include "hilo/common.h"
#include "hilo/frame.h"

/* ===================== the test adapter (runs in the child) ===================== */

typedef struct {
    const char *provider_url;
    int provider_calls;
} tstate_t;

static const hilo_adapter_route_t t_routes[] = {
    {"/hook", HILO_HTTP_GET | HILO_HTTP_POST},
    {"/voice", HILO_HTTP_POST},
    {"/provider", HILO_HTTP_POST},
    {"/provider-count", HILO_HTTP_GET},
    {NULL, 0},
};

static int t_configure(hilo_adapter_t *a, hilo_config_t *cfg, const char *section, char *err, size_t errlen) {
    tstate_t *st = hilo_xcalloc(1, sizeof *st);
    a->state = st;
    if (hilo_config_str(cfg, section, "provider_url", "", &st->provider_url) != HILO_OK) return HILO_ERR;
    if (!st->provider_url[0]) {
        snprintf(err, errlen, "[%s] provider_url: required", section);
        return HILO_ERR;
    }
    return HILO_OK;
}

static void t_destroy(hilo_adapter_t *a) { free(a->state); }

/* body "pmid=X&text=Y" (no escapes in tests) */
static void field(const hilo_http_request_t *req, const char *name, char *buf, size_t len) {
    hilo_http_request_t r = {.query = (const char *)req->body};
    if (!hilo_http_query_param(&r, name, buf, len)) buf[0] = '\0';
}

static int t_handle(hilo_adapter_t *a, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    tstate_t *st = a->state;
    char buf[128], pmid[64], text[64];
    if (strcmp(req->path, "/provider") == 0) {
        st->provider_calls++;
        snprintf(buf, sizeof buf, "id=P%d", st->provider_calls);
        hilo_webhook_answer_now(out, 200, "text/plain", buf, "provider");
        return HILO_OK;
    }
    if (strcmp(req->path, "/provider-count") == 0) {
        snprintf(buf, sizeof buf, "%d", st->provider_calls);
        hilo_webhook_answer_now(out, 200, "text/plain", buf, "provider");
        return HILO_OK;
    }
    if (req->method == HILO_HTTP_GET) {
        if (!hilo_http_query_param(req, "hub.challenge", buf, sizeof buf)) {
            hilo_webhook_answer_now(out, 400, "text/plain", "no challenge", "bad_request");
            return HILO_OK;
        }
        hilo_webhook_answer_now(out, 200, "text/plain", buf, "verify");
        return HILO_OK;
    }
    if (strcmp(req->x_hub_signature_256, "sha256=good") != 0) {
        hilo_webhook_answer_now(out, 401, "text/plain", "bad signature", "bad_signature");
        return HILO_OK;
    }
    field(req, "pmid", pmid, sizeof pmid);
    field(req, "text", text, sizeof text);
    hilo_envelope_t env = HILO_ENVELOPE_INIT;
    env.provider_message_id = pmid;
    env.from = "+16505551234";
    env.to = "15550001111";
    env.text = text;
    if (strcmp(req->path, "/voice") == 0) {
        env.wants_reply = true;
        hilo_webhook_add_envelope(out, &env);
        hilo_webhook_answer_reply(out, "turn");
        return HILO_OK;
    }
    hilo_webhook_add_envelope(out, &env);
    hilo_webhook_answer_after_ack(out, 200, "text/plain", "stored", "ok");
    return HILO_OK;
}

static int t_build_send(hilo_adapter_t *a, const hilo_outbound_t *ob, hilo_send_plan_t *plan) {
    tstate_t *st = a->state;
    hilo_http_call_t *c = hilo_send_plan_add_call(plan, "POST", st->provider_url);
    hilo_http_call_set_body(c, ob->text, (size_t)-1);
    return HILO_OK;
}

static int t_parse(hilo_adapter_t *a, int status, const char *body, size_t len, hilo_send_result_t *res) {
    (void)a, (void)len;
    if (status == 200 && strncmp(body, "id=", 3) == 0) {
        res->ok = true;
        snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", body + 3);
    } else {
        res->retryable = status >= 500;
        snprintf(res->error_code, sizeof res->error_code, "http_%d", status);
    }
    return HILO_OK;
}

static int t_render(hilo_adapter_t *a, const hilo_outbound_t *ob, const hilo_envelope_t *turn, const char *query,
                    hilo_http_response_t *resp) {
    (void)a, (void)turn, (void)query;
    char xml[256];
    snprintf(xml, sizeof xml, "<Response><Say>%s</Say></Response>", ob ? ob->text : "fallback");
    hilo_http_response_set(resp, 200, "text/xml", xml, (size_t)-1);
    return HILO_OK;
}

static const hilo_adapter_ops_t t_ops = {
    .name = "test", .channel = HILO_CHANNEL_VOICE, .default_http_port = 8089, .default_rate_per_s = 0,
    .routes = t_routes, .configure = t_configure, .destroy = t_destroy, .handle_webhook = t_handle,
    .build_send = t_build_send, .parse_send_result = t_parse, .render_reply = t_render,
};

/* ===================== the test side ===================== */

static void *zctx, *router;
static uint8_t peer_id[256];
static size_t peer_id_len;
static int http_port, metrics_port; /* /healthz and /metrics: on metrics_port only */
static pid_t child;
static char dir[64], cfg_path[128];
static int64_t last_hb;

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void peer_send(hilo_frame_t *f) {
    size_t len;
    uint8_t *buf = hilo_frame_pack(f, &len);
    zmq_send(router, peer_id, peer_id_len, ZMQ_SNDMORE);
    zmq_send(router, buf, len, 0);
    free(buf);
}

static void heartbeat_if_due(void) {
    if (!peer_id_len || hilo_mono_us() - last_hb < 100000) return;
    last_hb = hilo_mono_us();
    hilo_heartbeat_t h = HILO_HEARTBEAT_INIT;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HEARTBEAT;
    f.heartbeat = &h;
    peer_send(&f);
}

/* Next frame with body `body` (others dropped), heartbeating meanwhile; NULL on timeout. */
static hilo_frame_t *peer_expect(int body, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (hilo_mono_us() < end) {
        heartbeat_if_due();
        zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) <= 0) continue;
        zmq_msg_t id, msg;
        zmq_msg_init(&id);
        zmq_msg_recv(&id, router, 0);
        memcpy(peer_id, zmq_msg_data(&id), zmq_msg_size(&id));
        peer_id_len = zmq_msg_size(&id);
        zmq_msg_close(&id);
        zmq_msg_init(&msg);
        zmq_msg_recv(&msg, router, 0);
        hilo_frame_t *f = hilo_frame_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        if (f && (int)f->body_case == body) return f;
        hilo_frame_free(&f);
    }
    return NULL;
}

/* The next envelope whose provider_message_id is `pmid`: re-sends of earlier envelopes (an
 * ack timeout fired before our ack arrived) may come first and are skipped. */
static hilo_frame_t *peer_expect_pmid(const char *pmid, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (hilo_mono_us() < end) {
        hilo_frame_t *f = peer_expect(HILO_FRAME_ENVELOPE, 50);
        if (f && strcmp(f->envelope->provider_message_id, pmid) == 0) return f;
        hilo_frame_free(&f);
    }
    return NULL;
}

static void idle(int ms) { /* keep heartbeating, ignore frames */
    hilo_frame_t *f = peer_expect(-1, ms);
    hilo_frame_free(&f);
}

static void peer_ack(uint64_t seq) {
    hilo_ack_t a = HILO_ACK_INIT;
    a.seq = seq;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_ACK;
    f.ack = &a;
    peer_send(&f);
}

static void peer_nack(uint64_t seq, int code, const char *reason) {
    hilo_nack_t n = HILO_NACK_INIT;
    n.seq = seq;
    n.code = code;
    n.reason = (char *)reason;
    hilo_frame_t nf = HILO_FRAME_INIT;
    nf.body_case = HILO_FRAME_NACK;
    nf.nack = &n;
    peer_send(&nf);
}

static void peer_outbound(const char *oid, const char *text, uint64_t reply_to) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = (char *)oid;
    ob.channel = HILO_CHANNEL_VOICE;
    ob.to = "+16505551234";
    ob.text = (char *)text;
    ob.reply_to_seq = reply_to;
    ob.debtor_id = "D-1001";
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_OUTBOUND;
    f.outbound = &ob;
    peer_send(&f);
}

/* ----- HTTP requests in a thread (the main thread plays the router meanwhile) ----- */
typedef struct {
    pthread_t th;
    char method[8], path[256], body[256], header[128];
    int port;
    long status;
    char resp[8192];
    size_t resp_len;
    volatile int done;
} req_t;

static size_t on_data(char *p, size_t s, size_t n, void *arg) {
    req_t *r = arg;
    size_t len = s * n;
    if (r->resp_len + len >= sizeof r->resp) len = sizeof r->resp - r->resp_len - 1;
    memcpy(r->resp + r->resp_len, p, len);
    r->resp_len += len;
    r->resp[r->resp_len] = '\0';
    return s * n;
}

static void *req_thread(void *arg) {
    req_t *r = arg;
    CURL *e = curl_easy_init();
    char url[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", r->port, r->path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 8000L);
    struct curl_slist *h = NULL;
    if (r->header[0]) h = curl_slist_append(h, r->header);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (strcmp(r->method, "POST") == 0) curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    r->done = 1;
    return NULL;
}

/* A request on `port` (0: the metrics port for /healthz and /metrics, else the webhook port). */
static req_t *req_start_on(int port, const char *method, const char *path, const char *body, const char *header) {
    req_t *r = calloc(1, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    bool admin = strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0;
    r->port = port ? port : admin ? metrics_port : http_port;
    snprintf(r->body, sizeof r->body, "%s", body ? body : "");
    snprintf(r->header, sizeof r->header, "%s", header ? header : "");
    pthread_create(&r->th, NULL, req_thread, r);
    return r;
}

static req_t *req_start(const char *method, const char *path, const char *body, const char *header) {
    return req_start_on(0, method, path, body, header);
}

/* Waits for the answer (heartbeating); returns the status. The caller frees r. */
static long req_wait(req_t *r, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (!r->done && hilo_mono_us() < end) idle(10);
    assert_true(r->done);
    pthread_join(r->th, NULL);
    return r->status;
}

/* A GET on the webhook port, whatever the path. */
static long get_webhook_port(const char *path) {
    req_t *r = req_start_on(http_port, "GET", path, NULL, NULL);
    long st = req_wait(r, 5000);
    free(r);
    return st;
}

static long get(const char *path, char *out, size_t outlen) {
    req_t *r = req_start("GET", path, NULL, NULL);
    long st = req_wait(r, 5000);
    if (out) snprintf(out, outlen, "%s", r->resp);
    free(r);
    return st;
}

/* The router here is a bare ROUTER socket of this test: a plain link (link_auth = none). The
 * link's authentication is tested with the real router (tests/integration/test_link_auth.py,
 * and the e2e suites, whose C connectors all use CURVE). */
static void write_config(const char *extra) {
    FILE *f = fopen(cfg_path, "w");
    char ep[64];
    size_t len = sizeof ep;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &len);
    fprintf(f,
            "[router]\nlink_bind = %s\n\n[test]\nlink_connect = %s\nlink_auth = none\ninstance = test-1\nhttp_port = %d\nmetrics_port = %d\n"
            "ack_timeout_ms = 300\nwebhook_deadline_ms = 1500\nvoice_reply_deadline_ms = 800\n"
            "provider_url = http://127.0.0.1:%d/provider\nretry_min_ms = 50\nlog_level = warn\n%s",
            ep, ep, http_port, metrics_port, http_port, extra ? extra : "");
    fclose(f);
}

/* The connector runs in a new image of this test binary (main's --connector), not in the
 * forked copy: this process has ZeroMQ's I/O thread running, and a fork taken while that
 * thread holds a lock (the allocator's, say) leaves the child waiting on it forever. */
static pid_t spawn(int *err_fd) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (err_fd) dup2(p[1], 2); /* else the child's log lines show in the test output */
        close(p[0]);
        close(p[1]);
        execl("/proc/self/exe", "hilo-test", "--connector", cfg_path, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (err_fd) *err_fd = p[0];
    else close(p[0]);
    return pid;
}

static int wait_exit(pid_t pid, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    int status;
    while (hilo_mono_us() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hilo-conntest-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cfg_path, sizeof cfg_path, "%s/hilo.conf", dir);
    zctx = zmq_ctx_new();
    router = zmq_socket(zctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    http_port = free_port();
    do metrics_port = free_port();
    while (metrics_port == http_port);
    peer_id_len = 0;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = 0;
    }
    zmq_close(router);
    zmq_ctx_term(zctx);
    char dead[192];
    snprintf(dead, sizeof dead, "%s/dead.jsonl", dir);
    unlink(dead);
    rmdir(dead);
    unlink(cfg_path);
    rmdir(dir);
    return 0;
}

static void test_runtime(void **state) {
    (void)state;
    write_config(NULL);
    child = spawn(NULL);
    assert_true(child > 0);

    /* Hello; /healthz says 503 until the Welcome */
    hilo_frame_t *f = peer_expect(HILO_FRAME_HELLO, 5000);
    assert_non_null(f);
    assert_int_equal(f->hello->channel, HILO_CHANNEL_VOICE);
    assert_string_equal(f->hello->instance, "test-1");
    assert_true(strncmp(f->hello->software, "hilo-test ", 10) == 0);
    hilo_frame_free(&f);
    char body[8192];
    long st = 0;
    for (int i = 0; i < 200 && st == 0; i++) { /* the HTTP port opens right after the link */
        st = get("/healthz", body, sizeof body);
        if (!st) usleep(20000);
    }
    assert_int_equal(st, 503);
    hilo_welcome_t w = HILO_WELCOME_INIT;
    w.router_instance = "router-t";
    w.heartbeat_ms = 200;
    w.max_payload = 65536;
    hilo_frame_t wf = HILO_FRAME_INIT;
    wf.body_case = HILO_FRAME_WELCOME;
    wf.welcome = &w;
    peer_send(&wf);
    idle(100);
    assert_int_equal(get("/healthz", body, sizeof body), 200);

    /* webhook: no answer before the ack, 200 after */
    req_t *r = req_start("POST", "/hook", "pmid=m1&text=hola", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("m1", 3000);
    assert_non_null(f);
    assert_string_equal(f->envelope->provider_message_id, "m1");
    assert_string_equal(f->envelope->text, "hola");
    assert_int_equal(f->envelope->channel, HILO_CHANNEL_VOICE);
    uint64_t seq = f->envelope->seq;
    hilo_frame_free(&f);
    idle(200);
    assert_false(r->done);
    peer_ack(seq);
    assert_int_equal(req_wait(r, 3000), 200);
    assert_string_equal(r->resp, "stored");
    free(r);

    /* bad signature: 401 at once, nothing submitted */
    r = req_start("POST", "/hook", "pmid=m2&text=x", "X-Hub-Signature-256: sha256=bad");
    assert_int_equal(req_wait(r, 3000), 401);
    free(r);
    /* GET verification */
    assert_int_equal(get("/hook?hub.mode=subscribe&hub.challenge=1158201444", body, sizeof body), 200);
    assert_string_equal(body, "1158201444");

    /* refused by the router: 500 */
    r = req_start("POST", "/hook", "pmid=m3&text=x", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("m3", 3000);
    assert_string_equal(f->envelope->provider_message_id, "m3");
    peer_nack(f->envelope->seq, HILO_NACK_INVALID, "bad from");
    hilo_frame_free(&f);
    assert_int_equal(req_wait(r, 3000), 500); /* no dead-letter file in this config */
    free(r);

    /* never acked: 503 at the deadline (1.5 s), the envelope is re-sent meanwhile */
    int64_t t0 = hilo_mono_us();
    r = req_start("POST", "/hook", "pmid=m4&text=x", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("m4", 3000);
    seq = f->envelope->seq;
    hilo_frame_free(&f);
    f = peer_expect_pmid("m4", 3000); /* re-sent after ack_timeout_ms */
    assert_non_null(f);
    assert_int_equal(f->envelope->seq, seq);
    hilo_frame_free(&f);
    assert_int_equal(req_wait(r, 4000), 503);
    assert_in_range((hilo_mono_us() - t0) / 1000, 1400, 4000);
    free(r);
    peer_ack(seq); /* a late ack is harmless */

    /* voice turn: answered with the router's reply */
    r = req_start("POST", "/voice", "pmid=CA1:gather:1&text=dos", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("CA1:gather:1", 3000);
    assert_true(f->envelope->wants_reply);
    seq = f->envelope->seq;
    hilo_frame_free(&f);
    peer_ack(seq);
    peer_outbound("v1", "Gracias", seq);
    assert_int_equal(req_wait(r, 3000), 200);
    assert_string_equal(r->resp, "<Response><Say>Gracias</Say></Response>");
    free(r);
    f = peer_expect_pmid("dr:v1:sent", 3000); /* the reply is reported SENT */
    assert_non_null(f->envelope->delivery);
    assert_string_equal(f->envelope->delivery->outbound_id, "v1");
    assert_int_equal(f->envelope->delivery->state, HILO_DELIVERY_SENT);
    assert_string_equal(f->envelope->provider_message_id, "dr:v1:sent");
    peer_ack(f->envelope->seq);
    hilo_frame_free(&f);
    /* voice turn without a reply: the fallback after 800 ms */
    t0 = hilo_mono_us();
    r = req_start("POST", "/voice", "pmid=CA1:gather:2&text=tres", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("CA1:gather:2", 3000);
    peer_ack(f->envelope->seq);
    hilo_frame_free(&f);
    assert_int_equal(req_wait(r, 3000), 200);
    assert_string_equal(r->resp, "<Response><Say>fallback</Say></Response>");
    assert_in_range((hilo_mono_us() - t0) / 1000, 700, 2500);
    free(r);

    /* outbound → provider call → DeliveryReport SENT; the same outbound again → re-reported only */
    peer_outbound("o1", "hola", 0);
    f = peer_expect_pmid("dr:P1:sent", 3000);
    assert_non_null(f);
    assert_non_null(f->envelope->delivery);
    assert_string_equal(f->envelope->delivery->outbound_id, "o1");
    assert_int_equal(f->envelope->delivery->state, HILO_DELIVERY_SENT);
    assert_string_equal(f->envelope->delivery->provider_message_id, "P1");
    assert_string_equal(f->envelope->delivery->debtor_id, "D-1001");
    assert_string_equal(f->envelope->provider_message_id, "dr:P1:sent"); /* stable per (message, state) */
    assert_string_equal(f->envelope->from, "+16505551234");
    peer_ack(f->envelope->seq);
    hilo_frame_free(&f);
    peer_outbound("o1", "hola", 0);
    f = peer_expect_pmid("dr:P1:sent", 3000);
    assert_string_equal(f->envelope->delivery->outbound_id, "o1");
    assert_string_equal(f->envelope->delivery->provider_message_id, "P1");
    assert_string_equal(f->envelope->provider_message_id, "dr:P1:sent"); /* the same report again */
    peer_ack(f->envelope->seq);
    hilo_frame_free(&f);
    assert_int_equal(get("/provider-count", body, sizeof body), 200);
    assert_string_equal(body, "1");

    /* routing and metrics; /healthz and /metrics are not on the webhook port */
    assert_int_equal(get("/nope", NULL, 0), 404);
    assert_int_equal(get_webhook_port("/healthz"), 404);
    assert_int_equal(get_webhook_port("/metrics"), 404);
    assert_int_equal(get("/voice", NULL, 0), 405);
    assert_int_equal(get("/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "hilo_connector_link_up{channel=\"voice\",connector=\"test-1\"} 1"));
    assert_non_null(strstr(body, "hilo_connector_webhooks_total{channel=\"voice\",connector=\"test-1\",result=\"ok\",status=\"200\"} 1"));
    assert_non_null(strstr(body, "result=\"bad_signature\",status=\"401\"} 1"));
    assert_non_null(strstr(body, "result=\"ack_timeout\",status=\"503\"} 1"));
    assert_non_null(strstr(body, "result=\"reply_fallback\",status=\"200\"} 1"));
    assert_non_null(strstr(body, "hilo_connector_outbound_total{channel=\"voice\",connector=\"test-1\",result=\"sent\"} 2"));

    /* SIGTERM: clean stop */
    kill(child, SIGTERM);
    assert_int_equal(wait_exit(child, 5000), 0);
    child = 0;
}

static void test_router_restart_keeps_webhook(void **state) {
    (void)state;
    /* the router is down when the webhook comes: the connector keeps the envelope, answers 503
     * at the deadline, and delivers it once a router welcomes it */
    write_config(NULL);
    child = spawn(NULL);
    hilo_frame_t *f = peer_expect(HILO_FRAME_HELLO, 5000);
    hilo_frame_free(&f);
    char body[256];
    long st = 0;
    for (int i = 0; i < 200 && st == 0; i++) {
        st = get("/healthz", body, sizeof body);
        if (!st) usleep(20000);
    }
    req_t *r = req_start("POST", "/hook", "pmid=k1&text=x", "X-Hub-Signature-256: sha256=good");
    assert_int_equal(req_wait(r, 3000), 503);
    free(r);
    hilo_welcome_t w = HILO_WELCOME_INIT;
    w.heartbeat_ms = 200;
    hilo_frame_t wf = HILO_FRAME_INIT;
    wf.body_case = HILO_FRAME_WELCOME;
    wf.welcome = &w;
    f = peer_expect(HILO_FRAME_HELLO, 3000); /* Hello repeated every interval until Welcome */
    assert_non_null(f);
    hilo_frame_free(&f);
    peer_send(&wf);
    f = peer_expect_pmid("k1", 3000);
    assert_non_null(f);
    peer_ack(f->envelope->seq);
    hilo_frame_free(&f);
    kill(child, SIGINT);
    assert_int_equal(wait_exit(child, 5000), 0);
    child = 0;
}

/* Spawns the connector, answers its Hello with a Welcome, and waits until /healthz says 200. */
static void start_connector(void) {
    child = spawn(NULL);
    assert_true(child > 0);
    hilo_frame_t *f = peer_expect(HILO_FRAME_HELLO, 5000);
    assert_non_null(f);
    hilo_frame_free(&f);
    hilo_welcome_t w = HILO_WELCOME_INIT;
    w.heartbeat_ms = 200;
    hilo_frame_t wf = HILO_FRAME_INIT;
    wf.body_case = HILO_FRAME_WELCOME;
    wf.welcome = &w;
    peer_send(&wf);
    long st = 0;
    for (int i = 0; i < 250 && st != 200; i++) {
        idle(20);
        st = get("/healthz", NULL, 0);
    }
    assert_int_equal(st, 200);
}

/* The lines of a text file (at most 8, each at most 4 KiB); returns how many. */
static int read_lines(const char *path, char lines[8][4096]) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    while (n < 8 && fgets(lines[n], 4096, f)) n++;
    fclose(f);
    return n;
}

/* The "envelope" member of a dead-letter line, decoded. */
static hilo_envelope_t *dead_letter_envelope(const char *line) {
    const char *p = strstr(line, "\"envelope\":\"");
    if (!p) return NULL;
    p += strlen("\"envelope\":\"");
    const char *end = strchr(p, '"');
    if (!end) return NULL;
    unsigned char raw[4096];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)p, (int)(end - p));
    if (n < 0) return NULL;
    while (n > 0 && end - p >= 1 && end[-1] == '=') n--, end--; /* DecodeBlock counts padding */
    return hilo__link__v1__envelope__unpack(NULL, (size_t)n, raw);
}

static void test_dead_letter(void **state) {
    (void)state;
    /* With a dead-letter file, a final Nack is answered 2xx once the envelope is kept there. */
    char dead[192], body[8192], lines[8][4096];
    snprintf(dead, sizeof dead, "%s/dead.jsonl", dir);
    write_config("dead_letter_file = dead.jsonl\n"); /* relative: beside the config file */
    start_connector();
    struct stat sb;
    assert_int_equal(stat(dead, &sb), 0); /* created at start: a bad path fails at once */
    assert_int_equal(sb.st_mode & 0777, 0600); /* it holds message text */
    assert_int_equal(read_lines(dead, lines), 0);

    req_t *r = req_start("POST", "/hook", "pmid=d1&text=mal", "X-Hub-Signature-256: sha256=good");
    hilo_frame_t *f = peer_expect_pmid("d1", 3000);
    assert_non_null(f);
    uint64_t seq = f->envelope->seq;
    hilo_frame_free(&f);
    peer_nack(seq, HILO_NACK_INVALID, "bad from");
    assert_int_equal(req_wait(r, 3000), 200);
    assert_string_equal(r->resp, "stored"); /* the adapter's own answer */
    free(r);
    assert_int_equal(read_lines(dead, lines), 1);
    char want[64];
    snprintf(want, sizeof want, "\"seq\":%llu,", (unsigned long long)seq);
    const char *members[] = {"{\"ts\":\"20", "\"connector\":\"test-1\"", "\"channel\":\"voice\"", want,
                             "\"code\":\"INVALID\"", "\"reason\":\"bad from\"", "\"kind\":\"text\"",
                             "\"provider_message_id\":\"d1\"", "\"from\":\"+16505551234\""};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        if (!strstr(lines[0], members[i])) fprintf(stderr, "missing %s in %s", members[i], lines[0]);
        assert_non_null(strstr(lines[0], members[i]));
    }
    assert_true(lines[0][strlen(lines[0]) - 1] == '\n');
    hilo_envelope_t *e = dead_letter_envelope(lines[0]);
    assert_non_null(e);
    assert_string_equal(e->provider_message_id, "d1");
    assert_string_equal(e->text, "mal");
    assert_int_equal(e->seq, seq);
    hilo__link__v1__envelope__free_unpacked(e, NULL);

    /* a voice turn refused: the fallback at once (no reply can come), and the turn is kept */
    int64_t t0 = hilo_mono_us();
    r = req_start("POST", "/voice", "pmid=CA9:gather:1&text=uno", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("CA9:gather:1", 3000);
    seq = f->envelope->seq;
    hilo_frame_free(&f);
    peer_nack(seq, HILO_NACK_TOO_LARGE, "too big");
    assert_int_equal(req_wait(r, 3000), 200);
    assert_string_equal(r->resp, "<Response><Say>fallback</Say></Response>");
    assert_true((hilo_mono_us() - t0) / 1000 < 700); /* before voice_reply_deadline_ms (800) */
    free(r);
    assert_int_equal(read_lines(dead, lines), 2);
    assert_non_null(strstr(lines[1], "\"code\":\"TOO_LARGE\""));
    assert_non_null(strstr(lines[1], "\"provider_message_id\":\"CA9:gather:1\""));

    /* the file cannot take it (a directory in its place): 500, the provider keeps the message */
    assert_int_equal(unlink(dead), 0);
    assert_int_equal(mkdir(dead, 0700), 0);
    r = req_start("POST", "/hook", "pmid=d3&text=x", "X-Hub-Signature-256: sha256=good");
    f = peer_expect_pmid("d3", 3000);
    seq = f->envelope->seq;
    hilo_frame_free(&f);
    peer_nack(seq, HILO_NACK_INVALID, "bad from");
    assert_int_equal(req_wait(r, 3000), 500);
    free(r);
    assert_int_equal(rmdir(dead), 0);

    assert_int_equal(get("/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "hilo_connector_dead_letters_total{channel=\"voice\",connector=\"test-1\"} 2"));
    assert_non_null(strstr(body, "hilo_connector_dead_letter_failures_total{channel=\"voice\",connector=\"test-1\"} 1"));
    assert_non_null(strstr(body, "result=\"nacked\"} 3"));
    assert_non_null(strstr(body, "result=\"dead_letter\",status=\"200\"} 1"));
    assert_non_null(strstr(body, "result=\"refused\",status=\"500\"} 1"));
    kill(child, SIGTERM);
    assert_int_equal(wait_exit(child, 5000), 0);
    child = 0;
}

static char *read_all(int fd) {
    static char buf[4096];
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof buf && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
    buf[n] = '\0';
    close(fd);
    return buf;
}

static void test_bad_config(void **state) {
    (void)state;
    int fd = -1;
    /* a bad value: file:line and the reason, exit 2 */
    write_config("max_pending = lots\n");
    child = spawn(&fd);
    assert_int_equal(wait_exit(child, 5000), 2);
    child = 0;
    char *err = read_all(fd);
    char want[200];
    snprintf(want, sizeof want, "%s:16: [test] max_pending", cfg_path);
    if (!strstr(err, want)) fprintf(stderr, "stderr was: %s\n", err);
    assert_non_null(strstr(err, want));
    /* an unknown key (typo) */
    write_config("htp_port = 1\n");
    child = spawn(&fd);
    assert_int_equal(wait_exit(child, 5000), 2);
    child = 0;
    err = read_all(fd);
    snprintf(want, sizeof want, "%s:16:", cfg_path);
    if (!strstr(err, want) || !strstr(err, "htp_port")) fprintf(stderr, "stderr was: %s\n", err);
    assert_non_null(strstr(err, "htp_port"));
    /* the adapter's own check */
    FILE *f = fopen(cfg_path, "w");
    fprintf(f, "[test]\nlink_auth = none\nhttp_port = %d\n", http_port);
    fclose(f);
    child = spawn(&fd);
    assert_int_equal(wait_exit(child, 5000), 2);
    child = 0;
    err = read_all(fd);
    assert_non_null(strstr(err, "[test] provider_url: required"));
    /* link authentication (the default) without the router's key: said at start */
    f = fopen(cfg_path, "w");
    fprintf(f, "[test]\nprovider_url = http://127.0.0.1:%d/provider\nhttp_port = %d\n", http_port, http_port);
    fclose(f);
    child = spawn(&fd);
    assert_int_equal(wait_exit(child, 5000), 2);
    child = 0;
    err = read_all(fd);
    if (!strstr(err, "[test] link_server_key")) fprintf(stderr, "stderr was: %s\n", err);
    assert_non_null(strstr(err, "[test] link_server_key"));
    /* a dead-letter file that cannot be written: said at start, not at the first refusal */
    write_config("dead_letter_file = /nonexistent-hilo-dir/dead.jsonl\n");
    child = spawn(&fd);
    assert_int_equal(wait_exit(child, 5000), 2);
    child = 0;
    err = read_all(fd);
    snprintf(want, sizeof want, "%s:16: [test] dead_letter_file: cannot open '/nonexistent-hilo-dir/dead.jsonl'",
             cfg_path);
    if (!strstr(err, want)) fprintf(stderr, "stderr was: %s\n", err);
    assert_non_null(strstr(err, want));
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--connector") == 0) { /* spawn()'s child */
        char *cargv[] = {"hilo-test", "-c", argv[2], NULL};
        return hilo_connector_main(&t_ops, 3, cargv);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_restart_keeps_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
