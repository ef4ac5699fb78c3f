/* connector.c — hilo_connector_main(): the runtime of one channel connector. Reads the config
 * section, wires the adapter to the webhook server (requests in), the link (envelopes to the
 * router, Outbound back), the sender (provider API calls) and the pending table (webhooks
 * answered only after the router's ack, or with the router's voice reply), and stops cleanly
 * on SIGTERM/SIGINT. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "hilo/adapter.h"
#include "hilo/common.h"
#include "hilo/config.h"
#include "hilo/dead_letter.h"
#include "hilo/link_client.h"
#include "hilo/link_keys.h"
#include "hilo/log.h"
#include "hilo/metrics.h"
#include "hilo/pending.h"
#include "hilo/sender.h"
#include "hilo/spool.h"
#include "hilo/watchdog.h"
#include "hilo/webhook_server.h"
#include "hilo/build_info.h"
#include "options.h"
#include "turn_spool.h"
#include "u64map.h"

#define MOD "connector"

typedef struct {
    const char *link_connect, *instance, *http_bind, *metrics_bind;
    long long http_port, metrics_port, max_body, max_header, max_buffered, request_timeout_ms, ack_timeout_ms, webhook_deadline_ms, voice_reply_deadline_ms;
    long long max_pending, max_inflight, max_outbound, envelope_ttl_ms, rate_per_s, rate_burst, send_timeout_ms;
    long long retry_min_ms, retry_max_ms, retry_give_up_ms, dedupe_size, stop_grace_ms;
    const char *spool_dir;        /* "" = none: a voice turn answered with the fallback before its
                                   * ack lives only in memory until acked */
    long long spool_max_events, spool_max_age_ms;
    const char *log_level;
    const char *dead_letter_file; /* "" = none: a final Nack is answered 500 */
    const char *senders;          /* our numbers this instance sends from (protocol 1.3); "" = any */
    const char *link_auth;        /* curve (default) | none */
    const char *link_server_key;  /* the router's public key (Z85) */
    char link_secret[41];         /* ours, from link_secret_key_file or $HILO_<SECTION>_LINK_SECRET_KEY */
} settings_t;

typedef struct {
    const hilo_adapter_ops_t *ops;
    hilo_adapter_t adapter;
    settings_t set;
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t tick;            /* webhook deadlines */
    uv_timer_t stop_timer;      /* graceful stop steps */
    hilo_link_t *link;
    hilo_webhook_server_t *http;
    hilo_http_client_t *curl;
    hilo_sender_t *sender;
    hilo_pending_t *pending;
    hilo_u64map_t *waiting;     /* conn id → waiter_t (webhooks answered later) */
    hilo_metrics_t *metrics;
    hilo_dead_letter_t *dead_letter; /* NULL when dead_letter_file is "" */
    hilo_spool_t *spool;        /* NULL when spool_dir is "" */
    hilo_turn_spool_t *turn_spool; /* the spool's use for voice turns (NULL without a spool) */
    int64_t last_replay;        /* loop ms of the last periodic spool replay */
    hilo_watchdog_t *watchdog;  /* systemd READY/STOPPING/WATCHDOG notices from this loop */
    hilo_log_limit_t refusals;  /* log budget for unsigned webhooks (strangers can repeat them) */
    int stopping;               /* 0 running, 1 draining, 2 closing */
    int64_t stop_deadline;
} connector_t;

/* A webhook answered later: what to say once its envelopes are acked. */
typedef struct {
    uint64_t conn_id;
    uint64_t pending_id;
    hilo_answer_t answer;
    hilo_http_response_t response; /* AFTER_ACK: the adapter's answer */
    const char *why;
    int route;
    uint8_t *turn_buf;             /* REPLY: the packed envelope that waits (call context) */
    size_t turn_len;
    uint64_t turn_seq;             /* its seq */
    char *query;                   /* REPLY: the webhook's query (render_reply keeps it in URLs) */
} waiter_t;

/* ----- answering ----- */

static void answer(connector_t *c, uint64_t conn_id, const hilo_http_response_t *r, const char *why) {
    hilo_metrics_webhook(c->metrics, why, r->status);
    if (c->http) hilo_webhook_server_respond(c->http, conn_id, r);
}

static void free_waiter(uint64_t key, void *value, void *arg) {
    (void)key, (void)arg;
    waiter_t *w = value;
    hilo_http_response_clear(&w->response);
    free(w->turn_buf);
    free(w->query);
    free(w);
}

static void answer_text(connector_t *c, uint64_t conn_id, int status, const char *text, const char *why) {
    hilo_http_response_t r = {0};
    hilo_http_response_set(&r, status, "text/plain", text, (size_t)-1);
    answer(c, conn_id, &r, why);
    hilo_http_response_clear(&r);
}

/* The pending table resolved a webhook: say what the router's answer allows. */
static void on_ready(void *arg, uint64_t id, void *user, hilo_pending_outcome_t outcome, const void *reply) {
    (void)id;
    connector_t *c = arg;
    waiter_t *w = user;
    hilo_u64map_del(c->waiting, w->conn_id);
    static const char *names[] = {"", "acked", "replied", "unavailable", "refused", "timeout", "dead_letter"};
    if (w->answer == HILO_ANSWER_REPLY) {
        /* A voice call must always get TwiML back: the reply, or the adapter's fallback. */
        hilo_http_response_t r = {0};
        const hilo_outbound_t *ob = outcome == HILO_PENDING_REPLIED ? reply : NULL;
        /* Twilio never sends a 200'd webhook again: an event not acked yet goes to the spool,
         * synced, before the fallback is written (turn_spool.h). */
        if (!ob && c->turn_spool && w->turn_buf &&
            !hilo_turn_spool_keep(c->turn_spool, w->turn_seq, w->turn_buf, w->turn_len))
            hilo_log_error(MOD, "event=voice_fallback_unspooled seq=%" PRIu64, w->turn_seq);
        hilo_envelope_t *turn = w->turn_buf ? hilo__link__v1__envelope__unpack(NULL, w->turn_len, w->turn_buf) : NULL;
        if (turn) turn->seq = w->turn_seq;
        int rrc = hilo_adapter_render_reply(&c->adapter, ob, turn, w->query, &r);
        if (turn) hilo__link__v1__envelope__free_unpacked(turn, NULL);
        if (rrc == HILO_OK && r.status) {
            answer(c, w->conn_id, &r, ob ? w->why : "reply_fallback");
        } else {
            hilo_log_error(MOD, "event=render_failed conn=%" PRIu64, w->conn_id);
            answer_text(c, w->conn_id, 500, "internal error\n", "render_failed");
        }
        if (!ob) hilo_log_warn(MOD, "event=voice_fallback outcome=%s", names[outcome]);
        hilo_http_response_clear(&r);
    } else if (outcome == HILO_PENDING_ACKED) {
        answer(c, w->conn_id, &w->response, w->why);
    } else if (outcome == HILO_PENDING_KEPT) {
        /* Refused for good, but safe in the dead-letter file: the provider's retry would be
         * refused the same way for days (docs/protocol.md §6), so it gets its 2xx. */
        answer(c, w->conn_id, &w->response, "dead_letter");
    } else if (outcome == HILO_PENDING_REFUSED) {
        /* Never 2xx for what is neither stored nor kept; the provider's retry policy decides. */
        answer_text(c, w->conn_id, 500, "refused by the router\n", "refused");
    } else {
        hilo_log_warn(MOD, "event=webhook_unavailable outcome=%s", names[outcome]);
        answer_text(c, w->conn_id, 503, "try again later\n", outcome == HILO_PENDING_TIMEOUT ? "ack_timeout" : "unavailable");
    }
    hilo_http_response_clear(&w->response);
    free(w->turn_buf);
    free(w->query);
    free(w);
}

static void on_envelope_done(void *arg, uint64_t seq, hilo_link_result_t result, const char *reason) {
    (void)reason;
    connector_t *c = arg;
    hilo_pending_outcome_t o = result == HILO_LINK_ACKED || result == HILO_LINK_DUPLICATE ? HILO_PENDING_ACKED
                               : result == HILO_LINK_DEAD_LETTER                            ? HILO_PENDING_KEPT
                               : result == HILO_LINK_REFUSED                                ? HILO_PENDING_REFUSED
                                                                                            : HILO_PENDING_UNAVAILABLE;
    if (c->turn_spool) hilo_turn_spool_done(c->turn_spool, seq, result);
    hilo_pending_envelope_done(c->pending, seq, o);
}

/* ----- requests ----- */

static int find_route(const hilo_adapter_ops_t *ops, const char *path) {
    for (int i = 0; ops->routes && ops->routes[i].path; i++)
        if (strcmp(ops->routes[i].path, path) == 0) return i;
    return -1;
}

static void serve_builtin(connector_t *c, uint64_t conn_id, const char *path) {
    if (strcmp(path, "/healthz") == 0) {
        bool up = c->link && hilo_link_is_up(c->link) && !c->stopping;
        hilo_webhook_server_respond_text(c->http, conn_id, up ? 200 : 503, up ? "ok\n" : "router link down\n");
        return;
    }
    hilo_link_stats_t ls;
    hilo_sender_stats_t ss;
    hilo_webhook_server_stats_t hs;
    hilo_link_stats(c->link, &ls);
    hilo_sender_stats(c->sender, &ss);
    hilo_webhook_server_stats(c->http, &hs);
    size_t len;
    if (c->spool) {
        hilo_spool_stats_t sp;
        hilo_spool_stats(c->spool, &sp);
        hilo_metrics_set_spool(c->metrics, &sp);
    }
    const char *text = hilo_metrics_render(c->metrics, &ls, &ss, &hs, hilo_u64map_size(c->waiting), &len);
    hilo_http_response_t r = {0};
    hilo_http_response_set(&r, 200, "text/plain; version=0.0.4", text, len);
    hilo_webhook_server_respond(c->http, conn_id, &r);
    hilo_http_response_clear(&r);
}

/* Submits the adapter's envelopes and registers the webhook to be answered when they are acked. */
static void defer(connector_t *c, uint64_t conn_id, const hilo_http_request_t *req, hilo_webhook_result_t *res) {
    waiter_t *w = hilo_xcalloc(1, sizeof *w);
    int route = req->route;
    w->conn_id = conn_id;
    w->answer = res->answer;
    w->why = res->why;
    w->route = route;
    w->response = res->response; /* moved */
    memset(&res->response, 0, sizeof res->response);
    bool reply = res->answer == HILO_ANSWER_REPLY;
    if (reply) w->query = hilo_xstrdup(req->query ? req->query : "");
    int64_t deadline = (int64_t)uv_now(&c->loop) + (reply ? c->set.voice_reply_deadline_ms : c->set.webhook_deadline_ms);
    w->pending_id = hilo_pending_open(c->pending, w, deadline, reply);
    hilo_u64map_put(c->waiting, conn_id, w);
    uint64_t pid = w->pending_id; /* w may be freed by a synchronous resolution below */
    for (size_t i = 0; i < res->n_envelopes; i++) {
        hilo_envelope_t *env = hilo__link__v1__envelope__unpack(NULL, res->env_len[i], res->env_buf[i]);
        if (!env) {
            hilo_pending_fail(c->pending, pid, HILO_PENDING_REFUSED);
            return;
        }
        env->channel = c->ops->channel;
        if ((int)i == res->reply_index) { /* kept for render_reply's call context (and the spool) */
            w->turn_buf = hilo_xmalloc(res->env_len[i]);
            memcpy(w->turn_buf, res->env_buf[i], res->env_len[i]);
            w->turn_len = res->env_len[i];
        }
        uint64_t seq = 0;
        int rc = hilo_link_submit(c->link, env, c->set.envelope_ttl_ms, false, on_envelope_done, c, &seq);
        hilo__link__v1__envelope__free_unpacked(env, NULL);
        if (rc == HILO_AGAIN) {
            /* The pending queue is full (router away for long): the provider keeps it for us. */
            hilo_log_warn(MOD, "event=queue_full max_pending=%lld", c->set.max_pending);
            hilo_pending_fail(c->pending, pid, HILO_PENDING_UNAVAILABLE);
            return;
        }
        if (rc != HILO_OK) {
            hilo_pending_fail(c->pending, pid, HILO_PENDING_REFUSED);
            return;
        }
        if ((int)i == res->reply_index) {
            w->turn_seq = seq;
            if (c->turn_spool) hilo_turn_spool_track(c->turn_spool, seq);
        }
        hilo_pending_expect(c->pending, pid, seq, (int)i == res->reply_index);
    }
    hilo_pending_arm(c->pending, pid);
}

/* The metrics port serves /healthz and /metrics, nothing else; the webhook port never serves
 * them (docs/security.md: what a provider-facing port shows). */
static void on_admin_request(connector_t *c, uint64_t conn_id, const hilo_http_request_t *in) {
    if (in->method == HILO_HTTP_GET && (strcmp(in->path, "/healthz") == 0 || strcmp(in->path, "/metrics") == 0))
        serve_builtin(c, conn_id, in->path);
    else
        hilo_webhook_server_respond_text(c->http, conn_id, 404, "not found\n");
}

/* A POST's head, before its body: one without the provider's signature header is refused
 * unread (docs/security.md, "Memory before the signature check"). */
static void on_head(void *arg, uint64_t conn_id, const hilo_http_request_t *in) {
    connector_t *c = arg;
    if (in->listener != 0) {
        on_admin_request(c, conn_id, in);
        return;
    }
    const char *sig = c->ops->signed_by == HILO_SIGNED_META     ? in->x_hub_signature_256
                      : c->ops->signed_by == HILO_SIGNED_TWILIO ? in->x_twilio_signature
                                                                : NULL;
    if (!sig || sig[0] || find_route(c->ops, in->path) < 0) return;
    hilo_log_limited(&c->refusals, HILO_LOG_WARN, MOD, "event=unsigned_webhook path=%s remote=%s",
                     hilo_log_value(in->path), in->remote_addr);
    answer_text(c, conn_id, c->ops->unsigned_status, "missing signature\n", "unsigned");
}

static void on_request(void *arg, uint64_t conn_id, const hilo_http_request_t *in) {
    connector_t *c = arg;
    if (in->listener != 0) {
        on_admin_request(c, conn_id, in);
        return;
    }
    int route = find_route(c->ops, in->path);
    if (route < 0) {
        answer_text(c, conn_id, 404, "not found\n", "not_found");
        return;
    }
    if (!in->method || !(c->ops->routes[route].methods & in->method)) {
        answer_text(c, conn_id, 405, "method not allowed\n", "method_not_allowed");
        return;
    }
    if (c->stopping) {
        answer_text(c, conn_id, 503, "stopping\n", "stopping");
        return;
    }
    hilo_http_request_t req = *in;
    req.route = route;
    hilo_webhook_result_t res;
    hilo_webhook_result_init(&res);
    int rc = hilo_adapter_handle_webhook(&c->adapter, &req, &res);
    if (rc != HILO_OK || (res.answer == HILO_ANSWER_NOW && !res.response.status) ||
        (res.answer == HILO_ANSWER_AFTER_ACK && !res.response.status)) {
        hilo_log_error(MOD, "event=adapter_failed path=%s why=%s", in->path, res.why);
        answer_text(c, conn_id, 500, "internal error\n", "internal");
    } else if (res.answer == HILO_ANSWER_NOW) {
        hilo_log_debug(MOD, "event=webhook path=%s status=%d why=%s", in->path, res.response.status, res.why);
        answer(c, conn_id, &res.response, res.why);
    } else {
        hilo_log_debug(MOD, "event=webhook path=%s envelopes=%zu why=%s", in->path, res.n_envelopes, res.why);
        defer(c, conn_id, &req, &res);
    }
    hilo_webhook_result_release(&res);
}

static void on_gone(void *arg, uint64_t conn_id) {
    connector_t *c = arg;
    waiter_t *w = hilo_u64map_del(c->waiting, conn_id);
    if (!w) return;
    /* The envelopes stay in the link until acked: the provider's retry will find them stored. */
    hilo_pending_cancel(c->pending, w->pending_id);
    hilo_http_response_clear(&w->response);
    free(w->turn_buf);
    free(w->query);
    free(w);
}

/* ----- link and sender glue ----- */

static void on_outbound(void *arg, const hilo_outbound_t *ob) { hilo_sender_outbound(((connector_t *)arg)->sender, ob); }

static void on_link_state(void *arg, bool up) {
    connector_t *c = arg;
    hilo_log_info(MOD, "event=link_%s", up ? "up" : "down");
    if (up && c->turn_spool && hilo_turn_spool_idle(c->turn_spool)) hilo_turn_spool_replay(c->turn_spool, hilo_now_ms());
}

static void on_report(void *arg, const hilo_envelope_t *env) {
    connector_t *c = arg;
    uint64_t seq;
    /* must = true: delivery reports are bounded by the outbound flow, never refused for room. */
    if (hilo_link_submit(c->link, env, 0, true, NULL, NULL, &seq) != HILO_OK)
        hilo_log_error(MOD, "event=report_dropped outbound_id=%s", env->delivery ? env->delivery->outbound_id : "");
}

/* A CALLING report on its way: the link's answer is the sender's go-ahead (protocol 1.2). */
typedef struct {
    connector_t *c;
    uint64_t ticket;
} calling_t;

static void on_calling_done(void *arg, uint64_t seq, hilo_link_result_t result, const char *reason) {
    (void)seq;
    calling_t *k = arg;
    connector_t *c = k->c;
    hilo_sender_call_answer_t a = HILO_SENDER_CALL_NO_ANSWER;
    if (result == HILO_LINK_ACKED) {
        a = HILO_SENDER_CALL_GO;
    } else if (result == HILO_LINK_REFUSED || result == HILO_LINK_DEAD_LETTER) {
        a = HILO_SENDER_CALL_REFUSED;
        hilo_log_info(MOD, "event=calling_refused reason=%s", hilo_log_value(reason));
    }
    if (c->sender) hilo_sender_calling_answer(c->sender, k->ticket, a); /* NULL once stopping */
    free(k);
}

static void on_calling(void *arg, const hilo_envelope_t *env, int64_t ttl_ms, uint64_t ticket) {
    connector_t *c = arg;
    calling_t *k = hilo_xcalloc(1, sizeof *k);
    k->c = c;
    k->ticket = ticket;
    uint64_t seq;
    /* ttl: an answer after the gate's expiry is of no use (the sender gives the message back). */
    if (hilo_link_submit(c->link, env, ttl_ms > 0 ? ttl_ms : 1, true, on_calling_done, k, &seq) != HILO_OK) {
        hilo_log_error(MOD, "event=calling_dropped outbound_id=%s", env->delivery ? env->delivery->outbound_id : "");
        free(k); /* the sender's own deadline gives the message back */
    }
}

static bool on_try_reply(void *arg, const hilo_outbound_t *ob) {
    connector_t *c = arg;
    return hilo_pending_reply(c->pending, ob->reply_to_seq, ob);
}

/* ----- lifecycle ----- */

#define SPOOL_RETRY_MS 5000 /* spooled events out of the link (expired, queue full) are tried again */

static void on_tick(uv_timer_t *t) {
    connector_t *c = t->data;
    int64_t now = (int64_t)uv_now(&c->loop);
    hilo_pending_expire(c->pending, now);
    if (c->turn_spool && !c->stopping && now - c->last_replay >= SPOOL_RETRY_MS) {
        c->last_replay = now;
        if (hilo_link_is_up(c->link) && hilo_turn_spool_idle(c->turn_spool))
            hilo_turn_spool_replay(c->turn_spool, hilo_now_ms());
    }
}

static void close_all(connector_t *c) {
    c->stopping = 2;
    hilo_sender_destroy(&c->sender);
    hilo_http_client_destroy(&c->curl);
    hilo_link_destroy(&c->link); /* completes every envelope ABANDONED: spooled records stay */
    hilo_turn_spool_destroy(&c->turn_spool);
    hilo_webhook_server_close(c->http);
    uv_timer_stop(&c->tick);
    uv_close((uv_handle_t *)&c->tick, NULL);
    uv_timer_stop(&c->stop_timer);
    uv_close((uv_handle_t *)&c->stop_timer, NULL);
    uv_signal_stop(&c->sigterm);
    uv_close((uv_handle_t *)&c->sigterm, NULL);
    uv_signal_stop(&c->sigint);
    uv_close((uv_handle_t *)&c->sigint, NULL);
    hilo_watchdog_destroy(&c->watchdog);
}

/* Graceful stop: new webhooks get 503; the ones waiting get their acks (or a 503 at the grace
 * deadline), the envelopes in the link get acked if the router is there; then every handle closes. */
static void on_stop_step(uv_timer_t *t) {
    connector_t *c = t->data;
    hilo_link_stats_t ls;
    hilo_link_stats(c->link, &ls);
    int64_t now = (int64_t)uv_now(&c->loop);
    bool idle = hilo_pending_count(c->pending) == 0 && (ls.pending == 0 || !ls.up);
    if (c->stopping == 1 && (idle || now >= c->stop_deadline)) {
        hilo_pending_fail_all(c->pending, HILO_PENDING_UNAVAILABLE);
        c->stopping = 3; /* one more step: let lws write those answers */
        uv_timer_start(&c->stop_timer, on_stop_step, 50, 0);
        return;
    }
    if (c->stopping == 3) {
        hilo_log_info(MOD, "event=stopped envelopes_unacked=%zu", ls.pending);
        close_all(c);
        return;
    }
    uv_timer_start(&c->stop_timer, on_stop_step, 20, 0);
}

static void on_signal(uv_signal_t *s, int signum) {
    connector_t *c = s->data;
    if (c->stopping) {
        if (signum == SIGINT) { /* second ^C: now */
            hilo_pending_fail_all(c->pending, HILO_PENDING_UNAVAILABLE);
            if (c->stopping != 2) close_all(c);
        }
        return;
    }
    hilo_log_info(MOD, "event=stopping signal=%d grace_ms=%lld", signum, c->set.stop_grace_ms);
    hilo_watchdog_stopping(c->watchdog);
    c->stopping = 1;
    c->stop_deadline = (int64_t)uv_now(&c->loop) + c->set.stop_grace_ms;
    uv_timer_start(&c->stop_timer, on_stop_step, 0, 0);
}

/* ----- configuration ----- */

/* [section] link_auth, link_server_key, link_secret_key_file (relative: to the config file's
 * directory) or $HILO_<SECTION>_LINK_SECRET_KEY. The secret itself is never a key of the file. */
static int read_link_keys(connector_t *c, hilo_config_t *cfg, const char *sec, const char *config_path) {
    settings_t *s = &c->set;
    const char *file = NULL;
    if (hilo_config_str(cfg, sec, "link_server_key", "", &s->link_server_key) ||
        hilo_config_str(cfg, sec, "link_secret_key_file", "", &file))
        return HILO_ERR;
    if (strcmp(s->link_auth, "none") == 0) return HILO_OK;
    if (strcmp(s->link_auth, "curve") != 0)
        return hilo_config_reject(cfg, sec, "link_auth", "must be curve (the link authenticates) or none");
    if (!hilo_link_key_valid(s->link_server_key))
        return hilo_config_reject(cfg, sec, "link_server_key",
                                  "link_auth = curve needs the router's public key, 40 Z85 characters "
                                  "(`hilo link pubkey` of the router's key file)");
    char env[128], full[4096], err[4200];
    hilo_config_env_name(sec, "link_secret_key", env, sizeof env);
    const char *inline_key = getenv(env);
    if (inline_key && *inline_key) {
        if (!hilo_link_key_valid(inline_key)) {
            char why[256];
            snprintf(why, sizeof why, "$%s is not a Z85 key of 40 characters", env);
            return hilo_config_reject(cfg, sec, "link_secret_key_file", why);
        }
        snprintf(s->link_secret, sizeof s->link_secret, "%s", inline_key);
        return HILO_OK;
    }
    if (!*file) {
        char why[300];
        snprintf(why, sizeof why, "link_auth = curve needs this connector's secret key: a file made by `hilo link "
                 "keygen NAME` (or $%s)", env);
        return hilo_config_reject(cfg, sec, "link_secret_key_file", why);
    }
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    if (file[0] != '/' && slash)
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - config_path), config_path, file);
    else
        snprintf(full, sizeof full, "%s", file);
    if (hilo_link_read_secret_file(full, s->link_secret, err, sizeof err) != HILO_OK)
        return hilo_config_reject(cfg, sec, "link_secret_key_file", err);
    return HILO_OK;
}

static int read_settings(connector_t *c, hilo_config_t *cfg, const char *sec, char *defaults_instance,
                         const char *config_path) {
    settings_t *s = &c->set;
    const hilo_adapter_ops_t *o = c->ops;
    snprintf(defaults_instance, 64, "%s-1", sec);
    if (hilo_config_str(cfg, sec, "link_connect", "tcp://127.0.0.1:5555", &s->link_connect) ||
        hilo_config_str(cfg, sec, "instance", defaults_instance, &s->instance) ||
        hilo_config_str(cfg, sec, "http_bind", "127.0.0.1", &s->http_bind) ||
        hilo_config_int(cfg, sec, "http_port", o->default_http_port, 0, 65535, &s->http_port) ||
        /* /metrics and /healthz: never on the provider-facing port. 0 = not served. */
        hilo_config_str(cfg, sec, "metrics_bind", "127.0.0.1", &s->metrics_bind) ||
        hilo_config_int(cfg, sec, "metrics_port", o->default_http_port + 1000, 0, 65535, &s->metrics_port) ||
        hilo_config_int(cfg, sec, "max_body", 1 << 20, 1024, 64LL << 20, &s->max_body) ||
        hilo_config_int(cfg, sec, "max_header", 8192, 1024, 65536, &s->max_header) ||
        hilo_config_int(cfg, sec, "max_buffered", 16LL << 20, 1024, 4LL << 30, &s->max_buffered) ||
        hilo_config_int(cfg, sec, "request_timeout_ms", 30000, 500, 600000, &s->request_timeout_ms) ||
        hilo_config_int(cfg, sec, "ack_timeout_ms", 5000, 50, 600000, &s->ack_timeout_ms) ||
        hilo_config_int(cfg, sec, "max_inflight", 256, 1, 100000, &s->max_inflight) ||
        hilo_config_int(cfg, sec, "webhook_deadline_ms", 10000, 100, 600000, &s->webhook_deadline_ms) ||
        /* Twilio waits 15 s for TwiML: the fallback must be on its way well before. */
        hilo_config_int(cfg, sec, "voice_reply_deadline_ms", 3000, 100, 12000, &s->voice_reply_deadline_ms) ||
        hilo_config_int(cfg, sec, "max_pending", 10000, 1, 10000000, &s->max_pending) ||
        hilo_config_int(cfg, sec, "max_outbound", 1000, 0, 1000000, &s->max_outbound) ||
        hilo_config_int(cfg, sec, "envelope_ttl_ms", 600000, 0, 7LL * 86400000, &s->envelope_ttl_ms) ||
        hilo_config_int(cfg, sec, "rate_per_s", (long long)o->default_rate_per_s, 0, 100000, &s->rate_per_s) ||
        hilo_config_int(cfg, sec, "rate_burst", 0, 0, 100000, &s->rate_burst) ||
        hilo_config_int(cfg, sec, "send_timeout_ms", 15000, 100, 600000, &s->send_timeout_ms) ||
        hilo_config_int(cfg, sec, "retry_min_ms", 1000, 10, 3600000, &s->retry_min_ms) ||
        hilo_config_int(cfg, sec, "retry_max_ms", 30000, 10, 3600000, &s->retry_max_ms) ||
        hilo_config_int(cfg, sec, "retry_give_up_ms", 300000, 0, 7LL * 86400000, &s->retry_give_up_ms) ||
        hilo_config_int(cfg, sec, "dedupe_size", 100000, 1, 100000000, &s->dedupe_size) ||
        hilo_config_int(cfg, sec, "stop_grace_ms", 2000, 0, 600000, &s->stop_grace_ms) ||
        hilo_config_str(cfg, sec, "log_level", "info", &s->log_level) ||
        hilo_config_str(cfg, sec, "dead_letter_file", "", &s->dead_letter_file) ||
        hilo_config_str(cfg, sec, "senders", "", &s->senders) ||
        hilo_config_str(cfg, sec, "spool_dir", "", &s->spool_dir) ||
        hilo_config_int(cfg, sec, "spool_max_events", 10000, 1, 10000000, &s->spool_max_events) ||
        hilo_config_int(cfg, sec, "spool_max_age_ms", 86400000, 1000, 30LL * 86400000, &s->spool_max_age_ms) ||
        hilo_config_str(cfg, sec, "link_auth", "curve", &s->link_auth) || read_link_keys(c, cfg, sec, config_path))
        return HILO_ERR;
    char why[96];
    if (hilo_link_senders_check(s->senders, why, sizeof why) != HILO_OK) return hilo_config_reject(cfg, sec, "senders", why);
    if (s->metrics_port && s->metrics_port == s->http_port && !strcmp(s->metrics_bind, s->http_bind))
        return hilo_config_reject(cfg, sec, "metrics_port", "must differ from http_port (or 0: off)");
    if (s->max_buffered < s->max_body)
        return hilo_config_reject(cfg, sec, "max_buffered", "must be at least max_body");
    return HILO_OK;
}

/* The dead-letter file, a relative path taken from the config file's directory; it must be
 * writable now, not at the first refusal. */
static int open_dead_letter(connector_t *c, hilo_config_t *cfg, const char *config_path, const char *sec) {
    const char *file = c->set.dead_letter_file;
    if (!file[0]) {
        hilo_log_info(MOD, "event=no_dead_letter_file msg=\"a final Nack is answered 500\"");
        return HILO_OK;
    }
    char full[4096];
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    if (file[0] != '/' && slash)
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - config_path), config_path, file);
    else
        snprintf(full, sizeof full, "%s", file);
    char err[512];
    c->dead_letter = hilo_dead_letter_open(full, c->set.instance, err, sizeof err);
    if (!c->dead_letter) return hilo_config_reject(cfg, sec, "dead_letter_file", err);
    hilo_log_info(MOD, "event=dead_letter_file path=\"%s\"", full);
    return HILO_OK;
}

/* The spool directory (relative: to the config file's directory); it must be writable now. */
static int open_spool(connector_t *c, hilo_config_t *cfg, const char *sec) {
    if (!c->set.spool_dir[0]) {
        if (c->ops->render_reply)
            hilo_log_info(MOD, "event=no_spool_dir msg=\"a voice turn answered with the fallback before its ack is "
                          "kept in memory only\"");
        return HILO_OK;
    }
    char full[4096], err[4200];
    hilo_config_path_of(cfg, c->set.spool_dir, full, sizeof full);
    c->spool = hilo_spool_open(full, (size_t)c->set.spool_max_events, c->set.spool_max_age_ms, err, sizeof err);
    if (!c->spool) return hilo_config_reject(cfg, sec, "spool_dir", err);
    hilo_spool_stats_t st;
    hilo_spool_stats(c->spool, &st);
    hilo_log_info(MOD, "event=spool_dir path=\"%s\" held=%zu", full, st.count);
    return HILO_OK;
}

typedef struct {
    const char *mine;
    int others;
} sections_t;

static void count_other(const char *section, void *arg) {
    sections_t *s = arg;
    if (strcmp(section, s->mine) != 0) s->others++;
}

static int start(connector_t *c, char *err, size_t errlen) {
    char software[96];
    snprintf(software, sizeof software, "hilo-%s %s", c->ops->name, HILO_VERSION);
    hilo_link_options_t lo = {
        .endpoint = c->set.link_connect, .channel = c->ops->channel, .instance = c->set.instance,
        .software = software, .max_outbound = (uint32_t)c->set.max_outbound,
        .ack_timeout_ms = (int)c->set.ack_timeout_ms, .max_pending = (size_t)c->set.max_pending,
        .max_inflight = (size_t)c->set.max_inflight, .dead_letter = c->dead_letter,
        .on_outbound = on_outbound, .on_state = on_link_state, .arg = c,
        .curve_server_key = strcmp(c->set.link_auth, "none") == 0 ? NULL : c->set.link_server_key,
        .curve_secret_key = c->set.link_secret, .senders = c->set.senders,
    };
    if (!lo.curve_server_key)
        hilo_log_warn(MOD, "event=link_auth mode=none effect=\"the router is not authenticated\"");
    c->link = hilo_link_new(&c->loop, &lo, err, errlen);
    memset(c->set.link_secret, 0, sizeof c->set.link_secret); /* libzmq keeps its own copy */
    if (!c->link) return HILO_ERR;
    if (c->spool) {
        /* What the last run answered with the fallback and never saw acked goes first, in the
         * order it came (the link sends it once the router welcomes us). */
        c->turn_spool = hilo_turn_spool_new(c->spool, c->link, c->ops->channel, c->set.envelope_ttl_ms);
        size_t n = hilo_turn_spool_replay(c->turn_spool, hilo_now_ms());
        if (n) hilo_log_info(MOD, "event=spool_replay_start events=%zu", n);
        c->last_replay = (int64_t)uv_now(&c->loop);
    }
    c->curl = hilo_http_client_new(&c->loop);
    if (!c->curl) {
        snprintf(err, errlen, "libcurl could not be initialised");
        return HILO_ERR;
    }
    hilo_sender_options_t so = {
        .adapter = &c->adapter, .http = c->curl, .channel = c->ops->channel,
        .rate_per_s = (double)c->set.rate_per_s, .rate_burst = (double)c->set.rate_burst,
        .send_timeout_ms = (long)c->set.send_timeout_ms,
        .retry = {c->set.retry_min_ms, c->set.retry_max_ms}, .give_up_ms = c->set.retry_give_up_ms,
        .dedupe_size = (size_t)c->set.dedupe_size, .report = on_report, .try_reply = on_try_reply,
        .calling = on_calling, .arg = c,
    };
    c->sender = hilo_sender_new(&c->loop, &so);
    hilo_webhook_server_options_t wo = {
        .bind = c->set.http_bind, .port = (int)c->set.http_port,
        .admin_bind = c->set.metrics_bind, .admin_port = c->set.metrics_port ? (int)c->set.metrics_port : -1,
        .max_body = (size_t)c->set.max_body, .max_head = (size_t)c->set.max_header,
        .max_buffered = (size_t)c->set.max_buffered, .request_timeout_ms = (int)c->set.request_timeout_ms,
        .on_request = on_request, .on_head = on_head, .on_gone = on_gone, .arg = c,
    };
    c->http = hilo_webhook_server_new(&c->loop, &wo, err, errlen);
    if (!c->http) return HILO_ERR;
    if (hilo_webhook_server_port(c->http) < 0) {
        /* lws could not bind and cannot tear that context down (webhook_server.h): leave now,
         * nothing has been accepted yet. */
        hilo_log_error(MOD, "event=start_failed reason=\"%s\"", err);
        fprintf(stderr, "hilo-%s: %s\n", c->ops->name, err);
        _exit(1);
    }
    return HILO_OK;
}

int hilo_connector_main(const hilo_adapter_ops_t *ops, int argc, char **argv) {
    hilo_connector_args_t args;
    int done = hilo_connector_args_parse(ops, argc, argv, &args);
    if (done >= 0) return done;
    const char *path = args.config, *section = args.section, *level = args.level;
    signal(SIGPIPE, SIG_IGN);
    char err[512] = "";
    hilo_config_t *cfg = hilo_config_load(path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (hilo_config_check_sections(cfg, ops->name) != HILO_OK) { /* the file is shared: see config.h */
        fprintf(stderr, "%s\n", hilo_config_error(cfg));
        hilo_config_destroy(&cfg);
        return 2;
    }
    static connector_t conn; /* one per process; static so signal handlers never outlive it */
    connector_t *c = &conn;
    memset(c, 0, sizeof *c);
    c->ops = ops;
    c->adapter.ops = ops;
    c->adapter.section = section;
    char def_instance[64];
    int rc = 2;
    if (read_settings(c, cfg, section, def_instance, path) != HILO_OK) {
        fprintf(stderr, "%s\n", hilo_config_error(cfg));
        goto out_cfg;
    }
    int lvl = hilo_log_level_parse(level ? level : c->set.log_level);
    if (lvl < 0) {
        fprintf(stderr, "%s: [%s] log_level: unknown level '%s' (debug, info, warn, error)\n", path ? path : "(none)",
                section, level ? level : c->set.log_level);
        goto out_cfg;
    }
    hilo_log_set_level((hilo_log_level_t)lvl);
    err[0] = '\0';
    if (hilo_adapter_configure(&c->adapter, cfg, section, err, sizeof err) != HILO_OK) {
        const char *cerr = hilo_config_error(cfg);
        fprintf(stderr, "%s\n", err[0] ? err : (cerr[0] ? cerr : "adapter configuration failed"));
        goto out_adapter;
    }
    /* An unknown key in our section is a typo that must not fall back to a default. Another
     * section sharing our name as prefix ([sms] and [sms-2]) belongs to another instance whose
     * keys we cannot know: then the check is left to that instance. */
    sections_t others = {section, 0};
    hilo_config_each_section(cfg, section, count_other, &others);
    if (others.others == 0 && hilo_config_check_unused(cfg, section) != HILO_OK) {
        fprintf(stderr, "%s\n", hilo_config_error(cfg));
        goto out_adapter;
    }
    if (c->set.voice_reply_deadline_ms >= c->set.webhook_deadline_ms && ops->render_reply)
        hilo_log_warn(MOD, "event=config_note msg=\"voice_reply_deadline_ms >= webhook_deadline_ms\"");
    if (args.check_only) { /* checked; the dead-letter file and the spool are not created */
        printf("hilo-%s: config %s [%s] is valid\n", ops->name, path ? path : "(defaults)", section);
        printf("  link: %s (%s)\n", c->set.link_connect,
               strcmp(c->set.link_auth, "none") == 0 ? "no authentication" : "CURVE, router key and own secret key read");
        printf("  webhooks: %s:%lld, metrics: %s:%lld; provider settings checked\n", c->set.http_bind,
               c->set.http_port, c->set.metrics_bind, c->set.metrics_port);
        printf("  dead letters: %s; spool: %s (not opened)\n", c->set.dead_letter_file[0] ? c->set.dead_letter_file : "none",
               c->set.spool_dir[0] ? c->set.spool_dir : "none");
        rc = 0;
        goto out_adapter;
    }
    if (open_dead_letter(c, cfg, path, section) != HILO_OK || open_spool(c, cfg, section) != HILO_OK) {
        fprintf(stderr, "%s\n", hilo_config_error(cfg));
        goto out_adapter;
    }

    rc = 1;
    uv_loop_init(&c->loop);
    c->watchdog = hilo_watchdog_new(&c->loop, "connector");
    c->pending = hilo_pending_new(on_ready, c);
    c->waiting = hilo_u64map_new();
    c->metrics = hilo_metrics_new(hilo_channel_name(ops->channel), c->set.instance);
    uv_timer_init(&c->loop, &c->tick);
    c->tick.data = c;
    uv_timer_start(&c->tick, on_tick, 50, 50);
    uv_timer_init(&c->loop, &c->stop_timer);
    c->stop_timer.data = c;
    uv_signal_init(&c->loop, &c->sigterm);
    c->sigterm.data = c;
    uv_signal_start(&c->sigterm, on_signal, SIGTERM);
    uv_signal_init(&c->loop, &c->sigint);
    c->sigint.data = c;
    uv_signal_start(&c->sigint, on_signal, SIGINT);
    err[0] = '\0';
    if (start(c, err, sizeof err) != HILO_OK) {
        hilo_log_error(MOD, "event=start_failed reason=\"%s\"", err);
        fprintf(stderr, "%s: %s\n", argv[0], err);
        close_all(c);
        uv_run(&c->loop, UV_RUN_DEFAULT);
    } else {
        hilo_log_info(MOD, "event=started channel=%s section=%s instance=%s link=%s http=%s:%d metrics=%s:%d", ops->name,
                      section, c->set.instance, c->set.link_connect, c->set.http_bind, hilo_webhook_server_port(c->http),
                      c->set.metrics_port ? c->set.metrics_bind : "-", hilo_webhook_server_admin_port(c->http));
        hilo_watchdog_ready(c->watchdog); /* the webhook server listens: ready to serve */
        uv_run(&c->loop, UV_RUN_DEFAULT);
        rc = 0;
    }
    /* Everything closed: the loop ended by itself. lws finishes its teardown now. */
    hilo_log_debug(MOD, "event=loop_ended");
    hilo_webhook_server_destroy(&c->http);
    if (uv_loop_close(&c->loop) != 0) {
        hilo_log_error(MOD, "event=loop_not_empty");
        rc = 1;
    }
    hilo_pending_destroy(&c->pending);
    hilo_u64map_each(c->waiting, free_waiter, NULL); /* none is left after a normal stop */
    hilo_u64map_destroy(&c->waiting);
    hilo_metrics_destroy(&c->metrics);
out_adapter:
    hilo_dead_letter_close(&c->dead_letter);
    hilo_spool_close(&c->spool);
    hilo_adapter_destroy_state(&c->adapter);
out_cfg:
    hilo_config_destroy(&cfg);
    return rc;
}
