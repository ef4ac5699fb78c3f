/* login_throttle.c — the login budgets, charged in Redis before any password is checked
 * (docs/console-protocol.md, "Login budgets"; docs/security.md, "Logins").
 *
 * An attempt is charged first to its source (a token bucket per address, hilo:{s:<source>}:login),
 * then to its account (one script on the account's slot, tag {a:<id>}):
 *   - account + source: at most login_account_source_max attempts without a success, the
 *     count forgotten login_account_source_window_s after the last one (hilo:{a:<id>}:login:src:<source>);
 *   - the account's ceiling: past login_account_free failures from sources that never logged
 *     in to it, each attempt from such a source must wait a delay that doubles (1 s, 2 s, 4 s,
 *     ... login_delay_max_s), forgotten login_account_window_s after the last failure
 *     (hilo:{a:<id>}:login). Sources that logged in to the account before (hilo:{a:<id>}:login:known,
 *     the 20 newest, 30 days) skip the ceiling: a stranger's flood slows the account for
 *     strangers, never for its owner at their usual place.
 * The charge is made before the check and is atomic, so parallel attempts cannot pass a budget
 * together; a success gives its charge back (and clears that source's count for the account).
 * Unknown ids are charged exactly like known ones: the scripts do not know whether the
 * account exists. Each script touches the keys of one slot and declares them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/log.h"

#define KNOWN_SOURCES_MAX 20
#define KNOWN_SOURCES_TTL_S (30 * 86400)

/* KEYS[1] the source's bucket. ARGV: now_ms, burst, per minute, "take"|"give".
 * {1, 0} taken (or given back); {0, seconds until a token} refused. */
static const char source_script[] =
    "local now, burst, per_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) / 60000\n"
    "local t = redis.call('HMGET', KEYS[1], 'tokens', 'ms')\n"
    "local tokens, ms = tonumber(t[1]) or burst, tonumber(t[2]) or now\n"
    "tokens = math.min(burst, tokens + math.max(0, now - ms) * per_ms)\n"
    "if ARGV[4] == 'give' then tokens = math.min(burst, tokens + 1)\n"
    "elseif tokens < 1 then return {0, math.ceil((1 - tokens) / per_ms / 1000)}\n"
    "else tokens = tokens - 1 end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', tostring(now))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_ms) + 1000)\n"
    "return {1, 0}\n";

/* KEYS[1] the account's ceiling (hash fails, next_ms), KEYS[2] account + source count, KEYS[3]
 * the account's known sources. ARGV: op ("take"|"ok"), source, now_ms, pair max, pair window
 * s, free failures, delay max ms, ceiling window s, known max, known ttl s, charged ("1": this
 * attempt was charged to the ceiling; "ok" only).
 * take: {1, 0, "", charged} or {0, seconds to wait, "account_source"|"account", 0}. */
static const char account_script[] =
    "local op, src, now = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local pair_max, pair_win, free = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local delay_max, ceil_win = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "if op == 'ok' then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  redis.call('ZADD', KEYS[3], now, src)\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[9]) + 1))\n"
    "  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[10]))\n"
    "  if ARGV[11] == '1' and tonumber(redis.call('HINCRBY', KEYS[1], 'fails', -1)) < 0 then\n"
    "    redis.call('HSET', KEYS[1], 'fails', 0)\n"
    "  end\n"
    "  return {1, 0, '', 0}\n"
    "end\n"
    "local n = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if n >= pair_max then\n"
    "  return {0, math.max(1, redis.call('TTL', KEYS[2])), 'account_source', 0}\n"
    "end\n"
    "local charged = 0\n"
    "if not redis.call('ZSCORE', KEYS[3], src) then\n"
    "  local h = redis.call('HMGET', KEYS[1], 'fails', 'next_ms')\n"
    "  local fails, nxt = tonumber(h[1]) or 0, tonumber(h[2]) or 0\n"
    "  if fails >= free and now < nxt then\n"
    "    return {0, math.ceil((nxt - now) / 1000), 'account', 0}\n"
    "  end\n"
    "  fails = fails + 1\n"
    "  redis.call('HSET', KEYS[1], 'fails', fails)\n"
    "  if fails >= free then\n"
    "    local d = math.min(delay_max, 1000 * 2 ^ math.min(30, fails - free))\n"
    "    redis.call('HSET', KEYS[1], 'next_ms', tostring(now + d))\n"
    "  end\n"
    "  redis.call('EXPIRE', KEYS[1], ceil_win)\n"
    "  charged = 1\n"
    "end\n"
    "redis.call('INCR', KEYS[2])\n"
    "redis.call('EXPIRE', KEYS[2], pair_win)\n"
    "return {1, 0, '', charged}\n";

typedef struct {
    char agent[CONSOLE_ID_MAX + 1];
    char source[HILO_LOGIN_SOURCE_MAX];
    console_login_charged_fn fn;
    void *arg;
    void (*free_arg)(void *);
} charge_t;

static void charge_free(void *p) {
    charge_t *c = p;
    if (c->free_arg) c->free_arg(c->arg);
    free(c);
}

static void keys_of(const char *agent, const char *source, char ceiling[160], char pair[200], char known[160]) {
    snprintf(ceiling, 160, "hilo:{a:%s}:login", agent);
    snprintf(pair, 200, "hilo:{a:%s}:login:src:%s", agent, source);
    snprintf(known, 160, "hilo:{a:%s}:login:known", agent);
}

static void run_source(hilo_console_t *k, batch_t *b, const char *source, const char *op) {
    char key[128], now[24], burst[24], rate[24];
    snprintf(key, sizeof key, "hilo:{s:%s}:login", source);
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(burst, sizeof burst, "%ld", k->cfg->console_login_source_burst);
    snprintf(rate, sizeof rate, "%ld", k->cfg->console_login_source_per_min);
    const char *argv[] = {"EVAL", source_script, "1", key, now, burst, rate, op};
    batch_argv(b, 8, argv, NULL);
}

static void run_account(hilo_console_t *k, batch_t *b, const char *agent, const char *source, const char *op,
                        bool charged) {
    char ceiling[160], pair[200], known[160], now[24], pmax[24], pwin[24], fr[24], dmax[24], cwin[24], kmax[24],
        kttl[24];
    keys_of(agent, source, ceiling, pair, known);
    const hilo_router_config_t *cfg = k->cfg;
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(pmax, sizeof pmax, "%ld", cfg->console_login_account_source_max);
    snprintf(pwin, sizeof pwin, "%ld", cfg->console_login_account_source_window_s);
    snprintf(fr, sizeof fr, "%ld", cfg->console_login_account_free);
    snprintf(dmax, sizeof dmax, "%lld", (long long)cfg->console_login_delay_max_s * 1000);
    snprintf(cwin, sizeof cwin, "%ld", cfg->console_login_account_window_s);
    snprintf(kmax, sizeof kmax, "%d", KNOWN_SOURCES_MAX);
    snprintf(kttl, sizeof kttl, "%d", KNOWN_SOURCES_TTL_S);
    const char *argv[] = {"EVAL", account_script, "3",  ceiling, pair, known, op,  source,
                          now,    pmax,           pwin, fr,      dmax, cwin,  kmax, kttl, charged ? "1" : "0"};
    batch_argv(b, 17, argv, NULL);
}

/* The script's reply when it is an array of `size`, else NULL (logged). */
static json_t *script_reply(json_t **res, int n, size_t size, const char *step) {
    json_t *r = n >= 1 ? res[0] : NULL;
    if (json_is_array(r) && json_array_size(r) == size) return r;
    const char *e = r && json_is_object(r) ? jstr(r, "error") : "no reply";
    hilo_log_warn("console", "event=login_budget_failed step=%s reply=\"%s\"", step, e ? e : "?");
    return NULL;
}

static void on_account_charged(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    charge_t *c = arg;
    json_t *r = script_reply(res, n, 4, "account");
    console_login_verdict_t v = {.unavailable = !r};
    if (r) {
        v.allowed = json_integer_value(json_array_get(r, 0)) == 1;
        v.retry_after_s = (long)json_integer_value(json_array_get(r, 1));
        v.limit = v.allowed ? "" : json_string_value(json_array_get(r, 2));
        v.charged = json_integer_value(json_array_get(r, 3)) == 1;
    }
    c->fn(k, &v, c->arg);
    free(c);
}

static void on_source_charged(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    charge_t *c = arg;
    json_t *r = script_reply(res, n, 2, "source");
    console_login_verdict_t v = {.unavailable = !r};
    if (!r) {
        /* answered below: unavailable */
    } else if (json_integer_value(json_array_get(r, 0)) != 1) {
        v.retry_after_s = (long)json_integer_value(json_array_get(r, 1));
        v.limit = "source";
    } else {
        /* The account's step, on its own slot. */
        batch_t *b = batch_new(k, NULL, on_account_charged, c, charge_free);
        run_account(k, b, c->agent, c->source, "take", false);
        batch_run(b);
        return;
    }
    c->fn(k, &v, c->arg);
    free(c);
}

void console_login_charge(hilo_console_t *k, const char *agent, const char *source, console_login_charged_fn fn,
                          void *arg, void (*free_arg)(void *)) {
    charge_t *c = hilo_xcalloc(1, sizeof *c);
    snprintf(c->agent, sizeof c->agent, "%s", agent);
    snprintf(c->source, sizeof c->source, "%s", source);
    c->fn = fn;
    c->arg = arg;
    c->free_arg = free_arg;
    batch_t *b = batch_new(k, NULL, on_source_charged, c, charge_free);
    run_source(k, b, source, "take");
    batch_run(b);
}

static void on_given_back(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)k, (void)conn, (void)arg;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i]))
            hilo_log_warn("console", "event=login_budget_failed step=give_back reply=\"%s\"",
                          res[i] ? jstr(res[i], "error") : "no reply");
}

void console_login_succeeded(hilo_console_t *k, const char *agent, const char *source, bool charged) {
    batch_t *b = batch_new(k, NULL, on_given_back, NULL, NULL);
    run_source(k, b, source, "give");
    batch_run(b);
    b = batch_new(k, NULL, on_given_back, NULL, NULL);
    run_account(k, b, agent, source, "ok", charged);
    batch_run(b);
}
