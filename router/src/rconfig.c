/* rconfig.c — reads and checks the router's settings. */
#include "rconfig.h"
#include "console/login_source.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/link_keys.h"
#include "hilo/log.h"
#include "hilo/paths.h"
#include "hilo/secret_file.h"

/* [router] link_auth, link_secret_key_file (or $HILO_ROUTER_LINK_SECRET_KEY), link_keys. The
 * secret itself is never a key of the file: only a path to a file of mode 0600, or the
 * environment. */
static int load_link_auth(hilo_config_t *c, hilo_router_config_t *o) {
    const char *mode = NULL, *file = NULL, *keys = NULL;
    if (hilo_config_str(c, "router", "link_auth", "curve", &mode) != HILO_OK ||
        hilo_config_str(c, "router", "link_secret_key_file", "", &file) != HILO_OK ||
        hilo_config_str(c, "router", "link_keys", "", &keys) != HILO_OK)
        return HILO_ERR;
    if (strcmp(mode, "none") == 0) {
        o->link_curve = false;
        return HILO_OK;
    }
    if (strcmp(mode, "curve") != 0)
        return hilo_config_reject(c, "router", "link_auth", "must be curve (connectors authenticate) or none");
    o->link_curve = true;
    char env[64], full[512], err[600];
    hilo_config_env_name("router", "link_secret_key", env, sizeof env);
    const char *inline_key = getenv(env);
    if (inline_key && *inline_key) {
        if (!hilo_link_key_valid(inline_key))
            return hilo_config_reject(c, "router", "link_secret_key_file",
                                      "the environment's HILO_ROUTER_LINK_SECRET_KEY is not a Z85 key of 40 characters");
        snprintf(o->link_secret, sizeof o->link_secret, "%s", inline_key);
    } else if (!*file) {
        return hilo_config_reject(c, "router", "link_secret_key_file",
                                  "link_auth = curve needs the router's secret key: a file made by `hilo link keygen "
                                  "router` (or $HILO_ROUTER_LINK_SECRET_KEY); link_auth = none turns authentication off");
    } else if (hilo_link_read_secret_file(hilo_router_config_path(o, file, full, sizeof full), o->link_secret, err,
                                          sizeof err) != HILO_OK) {
        return hilo_config_reject(c, "router", "link_secret_key_file", err);
    }
    char pub[41];
    if (hilo_link_public_of(o->link_secret, pub) != HILO_OK)
        return hilo_config_reject(c, "router", "link_secret_key_file",
                                  "not a usable CURVE key (or this libzmq has no CURVE support)");
    if (!*keys)
        return hilo_config_reject(c, "router", "link_keys",
                                  "link_auth = curve needs the allowlist of connector keys (a file or directory)");
    hilo_router_config_path(o, keys, o->link_keys, sizeof o->link_keys);
    hilo_link_allow_t *a = hilo_link_allow_load(o->link_keys, err, sizeof err);
    if (!a) return hilo_config_reject(c, "router", "link_keys", err);
    hilo_link_allow_destroy(&a); /* checked here; the link server keeps its own copy */
    return HILO_OK;
}

int hilo_router_config_load(hilo_config_t *c, const char *path, hilo_router_config_t *o) {
    long long v;
    memset(o, 0, sizeof *o);
    /* The files an install ships (docs/operations.md, "Installing") are the defaults. */
    static char def_flow[PATH_MAX + 32], def_compliance[PATH_MAX + 32], def_assets[PATH_MAX + 32];
    hilo_paths_data("flows/collections.flow", def_flow, sizeof def_flow);
    hilo_paths_data("compliance", def_compliance, sizeof def_compliance);
    hilo_paths_data("console", def_assets, sizeof def_assets);
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash)
        snprintf(o->config_dir, sizeof o->config_dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(o->config_dir, sizeof o->config_dir, ".");
#define STR(sec, key, def, field) \
    if (hilo_config_str(c, sec, key, def, &o->field) != HILO_OK) return HILO_ERR
#define INT(sec, key, def, min, max, field)                                    \
    do {                                                                       \
        if (hilo_config_int(c, sec, key, def, min, max, &v) != HILO_OK) return HILO_ERR; \
        o->field = v;                                                          \
    } while (0)
    STR("router", "instance", "router-1", instance);
    STR("router", "link_bind", "tcp://127.0.0.1:5555", link_bind);
    STR("router", "http_bind", "127.0.0.1", http_bind);
    INT("router", "http_port", 8080, 0, 65535, http_port);
    INT("router", "http_request_timeout_ms", 30000, 500, 600000, http_request_timeout_ms);
    INT("router", "history_max", 1000, 10, 10000000, history_max);
    INT("router", "dedupe_window_s", 604800, 60, 31536000, dedupe_window_ms);
    o->dedupe_window_ms *= 1000;
    INT("router", "max_payload", 65536, 1024, 16 * 1024 * 1024, max_payload);
    INT("router", "heartbeat_ms", 1000, 50, 60000, heartbeat_ms);
    INT("router", "max_inflight", 10000, 1, 1000000, max_inflight);
    INT("router", "commit_batch_max", 32, 1, 1024, commit_batch_max);
    INT("router", "outbound_lease_ms", 10000, 100, 3600000, outbound_lease_ms);
    INT("router", "outbound_poll_ms", 100, 5, 60000, outbound_poll_ms);
    INT("router", "handoff_expiry_ms", 2000, 100, 60000, handoff_expiry_ms);
    INT("router", "outbound_give_up_ms", 300000, 1000, 7 * 86400000L, outbound_give_up_ms);
    STR("router", "log_level", "info", log_level);
    STR("identity", "default_country_code", "", default_cc);
    INT("identity", "cache_max", 200000, 0, 100000000, identity_cache_max);
    STR("redis", "host", "127.0.0.1", redis_host);
    INT("redis", "port", 6379, 1, 65535, redis_port);
    STR("redis", "user", "", redis_user);
    STR("redis", "password", NULL, redis_password);
    INT("redis", "db", 0, 0, 15, redis_db);
    INT("redis", "timeout_ms", 3000, 100, 600000, redis_timeout_ms);
    if (hilo_config_bool(c, "engine", "enabled", false, &o->engine) != HILO_OK) return HILO_ERR;
    STR("engine", "flow", def_flow, flow_path);
    STR("engine", "compliance_dir", def_compliance, compliance_dir);
    if (hilo_config_test_clock(c, &o->test_clock) != HILO_OK) return HILO_ERR;
    INT("engine", "promise_sweep_ms", 60000, 10, 86400000, promise_sweep_ms);
    INT("engine", "turn_resume_ms", 10000, 100, 3600000, turn_resume_ms);
    INT("engine", "turn_sweep_ms", 1000, 10, 600000, turn_sweep_ms);
    STR("strategies", "dir", "", strategies_dir);
    INT("strategies", "poll_ms", 1000, 10, 600000, strategy_poll_ms);
    INT("strategies", "batch", 500, 1, 100000, strategy_batch);
    INT("strategies", "lease_ms", 60000, 1000, 3600000, strategy_lease_ms);
    INT("strategies", "recheck_s", 86400, 1, 30 * 86400, strategy_recheck_ms);
    o->strategy_recheck_ms *= 1000;
    STR("console", "assets_dir", def_assets, console_assets_dir);
    STR("console", "allowed_origins", "http://127.0.0.1:8080,http://localhost:8080", console_allowed_origins);
    INT("console", "session_ttl_s", 43200, 60, 30 * 86400, console_session_ttl_s);
    INT("console", "offer_timeout_ms", 20000, 500, 600000, console_offer_timeout_ms);
    INT("console", "max_offers", 0, 0, 1000, console_max_offers);
    INT("console", "decline_cooldown_ms", 30000, 0, 3600000, console_decline_cooldown_ms);
    INT("console", "grace_ms", 30000, 1000, 3600000, console_grace_ms);
    INT("console", "sla_s", 60, 1, 86400, console_sla_s);
    INT("console", "floor_metrics_s", 15, 0, 3600, console_floor_metrics_s);
    INT("console", "max_message", 65536, 1024, 1048576, console_max_message);
    INT("console", "rate_per_s", 20, 1, 10000, console_rate_per_s);
    INT("console", "rate_burst", 40, 1, 100000, console_rate_burst);
    INT("console", "route_ms", 200, 100, 10000, console_route_ms);
    INT("console", "reopen_window_s", 86400, 0, 365 * 86400, console_reopen_window_s);
    INT("console", "reopen_sweep_s", 60, 1, 86400, console_reopen_sweep_s);
    STR("console", "tls_cert", "", console_tls_cert);
    INT("reports", "keep_days", 400, 1, 3660, reports_keep_days);
    INT("reports", "rollup_s", 60, 1, 86400, reports_rollup_s);
    STR("console", "tls_key", "", console_tls_key);
    STR("console", "trusted_proxies", "", console_trusted_proxies);
    INT("console", "login_source_burst", 20, 1, 100000, console_login_source_burst);
    INT("console", "login_source_per_min", 10, 1, 100000, console_login_source_per_min);
    INT("console", "login_account_source_max", 5, 1, 1000, console_login_account_source_max);
    INT("console", "login_account_source_window_s", 900, 1, 86400, console_login_account_source_window_s);
    INT("console", "login_account_free", 10, 1, 10000, console_login_account_free);
    INT("console", "login_delay_max_s", 300, 1, 86400, console_login_delay_max_s);
    INT("console", "login_account_window_s", 3600, 1, 7 * 86400, console_login_account_window_s);
    INT("console", "login_checks", 1, 1, 64, console_login_checks);
    INT("console", "login_queue", 8, 0, 10000, console_login_queue);
#undef STR
#undef INT
    char perr[160];
    if (!hilo_login_trusted_list_ok(o->console_trusted_proxies, perr, sizeof perr))
        return hilo_config_reject(c, "console", "trusted_proxies", perr);
    if (hilo_log_level_parse(o->log_level) < 0)
        return hilo_config_reject(c, "router", "log_level", "must be debug, info, warn or error");
    size_t cclen = strlen(o->default_cc);
    if (cclen > 3 || strspn(o->default_cc, "0123456789") != cclen)
        return hilo_config_reject(c, "identity", "default_country_code", "must be 1 to 3 digits");
    if (strncmp(o->link_bind, "tcp://", 6) != 0 && strncmp(o->link_bind, "ipc://", 6) != 0)
        return hilo_config_reject(c, "router", "link_bind", "must start with tcp:// or ipc://");
    if (load_link_auth(c, o) != HILO_OK) return HILO_ERR;
    if (hilo_pacing_config_load(c, &o->pacing) != HILO_OK) return HILO_ERR;
    if (hilo_costs_config_load(c, &o->costs) != HILO_OK) return HILO_ERR;
    if (hilo_sla_config_load(c, o->console_sla_s, &o->sla) != HILO_OK) return HILO_ERR;
    if (hilo_messages_load(c, &o->messages) != HILO_OK) return HILO_ERR;
    const char *pwfile = NULL;
    if (hilo_config_str(c, "redis", "password_file", "", &pwfile) != HILO_OK) return HILO_ERR;
    if (*pwfile) {
        if (o->redis_password && *o->redis_password)
            return hilo_config_reject(c, "redis", "password_file", "set either password or password_file, not both");
        char full[512], err[600];
        if (hilo_secret_file_read(hilo_router_config_path(o, pwfile, full, sizeof full), o->redis_password_buf,
                                  sizeof o->redis_password_buf, err, sizeof err) != HILO_OK)
            return hilo_config_reject(c, "redis", "password_file", err);
        o->redis_password = o->redis_password_buf;
    }
    return HILO_OK;
}

const char *hilo_router_config_path(const hilo_router_config_t *cfg, const char *path, char *buf, size_t n) {
    if (path[0] == '/')
        snprintf(buf, n, "%s", path);
    else
        snprintf(buf, n, "%s/%s", cfg->config_dir, path);
    return buf;
}
