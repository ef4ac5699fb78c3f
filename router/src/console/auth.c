/* auth.c — who may use the console: the Origin allowlist, POST /api/login (budgets charged
 * first, login_throttle.c; then the Argon2id check in libuv's thread pool, at most
 * [console] login_checks at once and login_queue waiting, a dummy hash for unknown ids; then a
 * random session token whose SHA-256 names the Redis session
 * hash hilo:session:<hash>, with a TTL), token checks for new websockets, and logout (the
 * session is deleted and every socket holding it, on any router, is closed through the event
 * stream; the agent leaves routing in the same batch, console_agent_leave). Accounts are made by `hilo agent add` (router/cli/cmd_agent.c).
 *
 * Revocation: each account has a session generation (hilo:agent:<id> field sgen) that the CLI
 * bumps on a password change, a role change, `agent disable` and `agent logout`, deleting the
 * agent's sessions (the set hilo:agent:<id>:sessions) and writing a `revoke` event that closes
 * every socket of that agent on every router. A session records the generation it was made
 * under; a websocket is let in only when it is still the account's, so a login that raced a
 * revocation is void too. The role and the disabled flag are read from the account on every
 * connect, never trusted from the session. */
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/log.h"

#define LOGIN_MAX_BODY 4096

/* Checked instead of the account's hash when the id is unknown or the account disabled, with
 * the parameters `hilo agent add` uses (Argon2id, libsodium's interactive limits), so that such
 * a login costs the same time as a wrong password for a real account: ids cannot be told
 * apart by timing. Its password is random and was thrown away: it never matches. */
static const char DUMMY_HASH[] =
    "$argon2id$v=19$m=65536,t=2,p=1$BzeR6IK83sJc2beb6xaX3w$qebv6k/CU+65RGUyjOmLbZuHZbHgAsJDvKvza2Tf7rU";

static hilo_log_limit_t login_refusals; /* throttled and busy logins: a stranger can repeat them */

void console_token_hash(const char *token, char out[65]) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

bool console_origin_allowed(const hilo_console_t *k, const char *origin) {
    /* No Origin header: not a browser (browsers always send it on websockets and POSTs), so
     * no cross-site request to guard against; the token still decides. */
    if (!origin || !*origin) return true;
    const char *list = k->cfg->console_allowed_origins;
    size_t n = strlen(origin);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if ((size_t)(e - p) == 1 && *p == '*') return true;
        if ((size_t)(e - p) == n && strncmp(p, origin, n) == 0) return true;
        p = e;
    }
    return false;
}

/* --- login ---------------------------------------------------------------------------- */

typedef struct login {
    hilo_console_t *k;
    hilo_http_req_t *req;
    uv_work_t work;
    struct login *next;             /* in the console's queue of logins waiting for a check */
    bool admitted;                  /* counted in k->logins_admitted */
    bool charged;                   /* charged to the account's ceiling (given back on success) */
    bool dummy;                     /* unknown or disabled: checked against DUMMY_HASH */
    char source[HILO_LOGIN_SOURCE_MAX];
    char agent[CONSOLE_ID_MAX + 1];
    char role[16];
    char gen[24];                   /* the account's session generation at the check */
    char *password;                 /* wiped and freed after the check */
    char pwhash[crypto_pwhash_STRBYTES];
    bool ok;
    char token[65], session[65];
    int64_t exp_ms;
} login_t;

static void answer(hilo_http_req_t *req, int status, const char *fmt_json) {
    hilo_http_req_answer(req, status, "application/json", fmt_json, strlen(fmt_json));
}

static void login_free(login_t *l) {
    if (l->admitted) l->k->logins_admitted--;
    if (l->password) {
        sodium_memzero(l->password, strlen(l->password));
        free(l->password);
    }
    sodium_memzero(l->token, sizeof l->token);
    free(l);
}

static void login_free_arg(void *l) { login_free(l); }

static void on_session_stored(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    login_t *l = arg;
    if (n < 2 || !res_ok(res[0]) || !res_ok(res[1])) {
        answer(l->req, 503, "{\"error\":\"unavailable\",\"text\":\"the session store is unavailable\"}");
    } else {
        json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "token", l->token, "agent", l->agent, "role", l->role,
                              "expires_ms", (json_int_t)l->exp_ms);
        char *s = json_dumps(o, JSON_COMPACT);
        answer(l->req, 200, s);
        free(s);
        json_decref(o);
        hilo_log_info("console", "event=login agent=%s role=%s", l->agent, l->role);
    }
    (void)k;
    login_free(l);
}

static void verify_work(uv_work_t *w) {
    login_t *l = w->data;
    l->ok = crypto_pwhash_str_verify(l->pwhash, l->password, strlen(l->password)) == 0;
}

static void login_start(login_t *l);

/* The next waiting login, if any, takes the check slot just freed. */
static void login_start_next(hilo_console_t *k) {
    while (k->logins_head && k->logins_checking < k->cfg->console_login_checks) {
        login_t *l = k->logins_head;
        k->logins_head = l->next;
        if (!k->logins_head) k->logins_tail = NULL;
        l->next = NULL;
        login_start(l);
    }
}

static void verify_done(uv_work_t *w, int status) {
    login_t *l = w->data;
    hilo_console_t *k = l->k;
    k->logins_checking--;
    k->logins_admitted--; /* the check is over: the rest is two Redis calls */
    l->admitted = false;
    bool gone = k->tick_closed;
    if (!gone && !k->closing) login_start_next(k);
    console_work_done(k); /* may free k when the console was destroyed meanwhile */
    if (gone) {
        hilo_http_req_answer(l->req, 503, "application/json", "{}", 2);
        login_free(l);
        return;
    }
    if (status != 0 || k->ctx->closing) {
        hilo_http_req_answer(l->req, 503, "application/json", "{}", 2);
        login_free(l);
        return;
    }
    if (!l->ok || l->dummy) {
        hilo_log_warn("console", "event=login_failed agent=%s source=%s reason=%s", hilo_log_value(l->agent),
                      hilo_log_value(l->source), l->dummy ? "unknown_or_disabled" : "password");
        answer(l->req, 401, "{\"error\":\"invalid_credentials\",\"text\":\"unknown agent or wrong password\"}");
        login_free(l);
        return;
    }
    console_login_succeeded(k, l->agent, l->source, l->charged);
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++) snprintf(l->token + 2 * i, 3, "%02x", raw[i]);
    console_token_hash(l->token, l->session);
    int64_t now = hilo_now_ms();
    l->exp_ms = now + (int64_t)k->cfg->console_session_ttl_s * 1000;
    batch_t *b = batch_new(k, NULL, on_session_stored, l, login_free_arg);
    char key[96];
    snprintf(key, sizeof key, "hilo:session:%s", l->session);
    batch_cmd(b, "HSET %s agent %s role %s gen %s created_ms %lld exp_ms %lld", key, l->agent, l->role, l->gen,
              (long long)now, (long long)l->exp_ms);
    batch_cmd(b, "PEXPIREAT %s %lld", key, (long long)l->exp_ms);
    /* The agent's sessions, for revoking them all (kept as long as the newest of them). */
    batch_cmd(b, "SADD hilo:agent:%s:sessions %s", l->agent, l->session);
    batch_cmd(b, "PEXPIREAT hilo:agent:%s:sessions %lld", l->agent, (long long)l->exp_ms);
    batch_run(b);
}

/* Argon2id takes about 340 ms of a core and 64 MiB on purpose: off the loop, in libuv's thread
 * pool, at most [console] login_checks at once so that a flood of logins leaves the loop (and
 * the pool's other users) the rest of the machine. */
static void login_start(login_t *l) {
    hilo_console_t *k = l->k;
    l->work.data = l;
    k->works++;
    k->logins_checking++;
    if (uv_queue_work(k->ctx->loop, &l->work, verify_work, verify_done) != 0) {
        k->works--;
        k->logins_checking--;
        answer(l->req, 503, "{\"error\":\"unavailable\"}");
        login_free(l);
    }
}

static void login_enqueue(login_t *l) {
    hilo_console_t *k = l->k;
    if (k->logins_checking < k->cfg->console_login_checks && !k->logins_head) {
        login_start(l);
        return;
    }
    if (k->logins_tail) k->logins_tail->next = l;
    else k->logins_head = l;
    k->logins_tail = l;
}

void console_auth_stop(hilo_console_t *k) {
    while (k->logins_head) {
        login_t *l = k->logins_head;
        k->logins_head = l->next;
        hilo_http_req_answer(l->req, 503, "application/json", "{}", 2);
        login_free(l);
    }
    k->logins_tail = NULL;
}

static void on_account(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    login_t *l = arg;
    if (n < 1 || !res_ok(res[0])) {
        answer(l->req, 503, "{\"error\":\"unavailable\",\"text\":\"the account store is unavailable\"}");
        login_free(l);
        return;
    }
    const char *hash = json_string_value(json_array_get(res[0], 0));
    const char *role = json_string_value(json_array_get(res[0], 1));
    const char *disabled = json_string_value(json_array_get(res[0], 2));
    const char *gen = json_string_value(json_array_get(res[0], 3));
    snprintf(l->gen, sizeof l->gen, "%s", gen && *gen ? gen : "0");
    l->dummy = !hash || !role || strlen(hash) >= sizeof l->pwhash || (disabled && strcmp(disabled, "1") == 0);
    snprintf(l->pwhash, sizeof l->pwhash, "%s", l->dummy ? DUMMY_HASH : hash);
    snprintf(l->role, sizeof l->role, "%s", role && strcmp(role, "supervisor") == 0 ? "supervisor" : "agent");
    (void)k;
    login_enqueue(l);
}

static void on_charged(hilo_console_t *k, const console_login_verdict_t *v, void *arg) {
    login_t *l = arg;
    if (v->unavailable) {
        answer(l->req, 503, "{\"error\":\"unavailable\",\"text\":\"the account store is unavailable\"}");
        login_free(l);
        return;
    }
    if (!v->allowed) {
        long s = v->retry_after_s > 0 ? v->retry_after_s : 1;
        hilo_log_limited(&login_refusals, HILO_LOG_WARN, "console",
                         "event=login_throttled agent=%s source=%s limit=%s retry_after_s=%ld",
                         hilo_log_value(l->agent), hilo_log_value(l->source), v->limit ? v->limit : "?", s);
        char body[256];
        snprintf(body, sizeof body,
                 "{\"error\":\"too_many_attempts\",\"limit\":\"%s\",\"retry_after_s\":%ld,"
                 "\"text\":\"too many login attempts; try again in %ld s\"}",
                 v->limit ? v->limit : "source", s, s);
        answer(l->req, 429, body);
        login_free(l);
        return;
    }
    l->charged = v->charged;
    batch_t *b = batch_new(k, NULL, on_account, l, login_free_arg);
    batch_cmd(b, "HMGET hilo:agent:%s pwhash role disabled sgen", l->agent);
    batch_run(b);
}

/* POST /api/login {"agent": id, "password": pw} -> {"token", "agent", "role", "expires_ms"}.
 * Order: admission (a place among the logins being checked or waiting, else 503 busy, no
 * Redis call), the budgets (login_throttle.c, else 429), the account, the Argon2 check (a
 * dummy hash for unknown ids), the session. */
static void on_login(hilo_http_req_t *req, const char *body, size_t len, const char *origin, void *arg) {
    hilo_console_t *k = arg;
    if (!console_origin_allowed(k, origin)) {
        answer(req, 403, "{\"error\":\"forbidden_origin\"}");
        return;
    }
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *agent = jstr(j, "agent"), *pw = jstr(j, "password");
    if (!agent || !pw || !console_agent_id_ok(agent) || !*pw || strlen(pw) > 1024) {
        json_decref(j);
        answer(req, 400, "{\"error\":\"bad_request\",\"text\":\"{\\\"agent\\\", \\\"password\\\"} expected\"}");
        return;
    }
    if (!hilo_store_ready(k->ctx->store)) {
        json_decref(j);
        answer(req, 503, "{\"error\":\"unavailable\",\"text\":\"Redis is unavailable\"}");
        return;
    }
    if (k->logins_admitted >= k->cfg->console_login_checks + k->cfg->console_login_queue) {
        json_decref(j);
        hilo_log_limited(&login_refusals, HILO_LOG_WARN, "console", "event=login_busy admitted=%ld",
                         k->logins_admitted);
        answer(req, 503, "{\"error\":\"busy\",\"retry_after_s\":1,"
                         "\"text\":\"many logins are being checked; try again in a second\"}");
        return;
    }
    login_t *l = hilo_xcalloc(1, sizeof *l);
    l->k = k;
    l->req = req;
    l->admitted = true;
    k->logins_admitted++;
    snprintf(l->agent, sizeof l->agent, "%s", agent);
    l->password = hilo_xstrdup(pw);
    json_decref(j);
    if (!hilo_login_source(hilo_http_req_peer(req), hilo_http_req_forwarded_for(req), k->cfg->console_trusted_proxies,
                           l->source))
        snprintf(l->source, sizeof l->source, "unknown"); /* no address: all such logins share one budget */
    console_login_charge(k, l->agent, l->source, on_charged, l, login_free_arg);
}

void console_auth_install(hilo_console_t *k, hilo_http_t *http) {
    if (sodium_init() < 0) hilo_log_error("console", "event=sodium_init_failed");
    hilo_http_post_route(http, "/api/login", LOGIN_MAX_BODY, on_login, k);
}

/* --- websocket tokens ------------------------------------------------------------------ */

static void on_account_for_conn(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    char session_gen[24];
    snprintf(session_gen, sizeof session_gen, "%s", (char *)arg);
    free(arg); /* the callback owns it (batch.c) */
    if (!c->ws || c->state == CONN_CLOSING) return;
    const char *name = n >= 1 ? json_string_value(json_array_get(res[0], 0)) : NULL;
    const char *disabled = n >= 1 ? json_string_value(json_array_get(res[0], 1)) : NULL;
    const char *role = n >= 1 ? json_string_value(json_array_get(res[0], 2)) : NULL;
    const char *gen = n >= 1 ? json_string_value(json_array_get(res[0], 3)) : NULL;
    if (!gen || !*gen) gen = "0";
    if (n < 1 || !json_is_array(res[0]) || !name || !role || (disabled && strcmp(disabled, "1") == 0) ||
        strcmp(gen, session_gen) != 0) {
        hilo_log_info("console", "event=ws_refused agent=%s reason=%s", c->agent,
                      !name || !role ? "unknown_account" : disabled && strcmp(disabled, "1") == 0 ? "disabled"
                                                                                               : "session_revoked");
        conn_error(c, NULL, "unauthorized", "the account is unknown or disabled, or the session was revoked");
        c->state = CONN_CLOSING;
        hilo_ws_close(c->ws, 4401, "unauthorized");
        return;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    /* The account's role now, not the one the session was made with. */
    c->supervisor = strcmp(role, "supervisor") == 0;
    console_ready(c);
}

static void on_session(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)arg;
    if (!c->ws || c->state == CONN_CLOSING) return;
    if (n < 1 || !res_ok(res[0])) {
        conn_error(c, NULL, "unavailable", "the session store is unavailable; reconnect later");
        c->state = CONN_CLOSING;
        hilo_ws_close(c->ws, 1013, "try again later");
        return;
    }
    json_t *s = res_hash(res[0]);
    const char *agent = jstr(s, "agent"), *role = jstr(s, "role"), *exp = jstr(s, "exp_ms");
    int64_t exp_ms = exp ? strtoll(exp, NULL, 10) : 0;
    if (!agent || !console_agent_id_ok(agent) || !role || exp_ms <= hilo_now_ms()) {
        json_decref(s);
        hilo_log_info("console", "event=ws_refused reason=bad_token");
        conn_error(c, NULL, "unauthorized", "the session token is unknown, expired or revoked");
        c->state = CONN_CLOSING;
        hilo_ws_close(c->ws, 4401, "unauthorized");
        return;
    }
    snprintf(c->agent, sizeof c->agent, "%s", agent);
    c->supervisor = false; /* from the account, in on_account_for_conn */
    c->session_exp_ms = exp_ms;
    const char *gen = jstr(s, "gen");
    char *session_gen = hilo_xstrdup(gen && *gen ? gen : "0");
    json_decref(s);
    batch_t *b = batch_new(k, c, on_account_for_conn, session_gen, free);
    batch_cmd(b, "HMGET hilo:agent:%s name disabled role sgen", c->agent);
    batch_run(b);
}

void console_auth_connect(conn_t *c, const char *token) {
    hilo_console_t *k = c->console;
    if (strlen(token) != 64 || strspn(token, "0123456789abcdef") != 64) {
        conn_error(c, NULL, "unauthorized", "the session token is malformed");
        c->state = CONN_CLOSING;
        hilo_ws_close(c->ws, 4401, "unauthorized");
        return;
    }
    console_token_hash(token, c->session);
    batch_t *b = batch_new(k, c, on_session, NULL, NULL);
    char key[96];
    snprintf(key, sizeof key, "hilo:session:%s", c->session);
    batch_cmd(b, "HGETALL %s", key);
    batch_run(b);
}

static void on_logout(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    json_t *rid = arg;
    if (n >= 2 && res_ok(res[0])) {
        hilo_log_info("console", "event=logout agent=%s", c->agent);
        conn_ok(c, rid, NULL);
        /* This socket is closed here, after its answer; the event closes the session's others. */
        conn_send(c, json_pack("{s:s,s:s}", "t", "logged_out", "reason", "session revoked"));
        conn_close(c, 4401, "logged out");
    } else {
        c->logging_out = false;
        conn_error(c, rid, "unavailable", "logout failed; try again");
    }
    json_decref(rid);
}

void console_auth_logout(conn_t *c, json_t *rid) {
    hilo_console_t *k = c->console;
    c->logging_out = true;
    batch_t *b = batch_new(k, c, on_logout, json_incref(rid), batch_free_json);
    char key[96];
    snprintf(key, sizeof key, "hilo:session:%s", c->session);
    batch_cmd(b, "DEL %s", key);
    batch_cmd(b, "SREM hilo:agent:%s:sessions %s", c->agent, c->session);
    /* Every router closes the sockets of this session (console_events_apply). */
    batch_cmd(b, "XADD hilo:console:events MAXLEN ~ 10000 * k logout a %s d %s", c->session, "");
    /* Out of routing in the same step, unless another session of the agent is still valid:
     * no offer reaches (or waits for) an agent who has left. */
    console_agent_leave(k, b, c->agent, c->session, "logout");
    batch_run(b);
}
