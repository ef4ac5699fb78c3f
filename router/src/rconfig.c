/* rconfig.c — reads and checks the router's settings. */
#include "rconfig.h"

#include <stdio.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/log.h"

int hilo_router_config_load(hilo_config_t *c, const char *path, hilo_router_config_t *o) {
    long long v;
    memset(o, 0, sizeof *o);
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
    STR("redis", "password", NULL, redis_password);
    INT("redis", "db", 0, 0, 15, redis_db);
    INT("redis", "timeout_ms", 3000, 100, 600000, redis_timeout_ms);
    if (hilo_config_bool(c, "engine", "enabled", false, &o->engine) != HILO_OK) return HILO_ERR;
    STR("engine", "flow", "flows/collections.flow", flow_path);
    STR("engine", "compliance_dir", "compliance", compliance_dir);
    if (hilo_config_test_clock(c, &o->test_clock) != HILO_OK) return HILO_ERR;
    INT("engine", "promise_sweep_ms", 60000, 10, 86400000, promise_sweep_ms);
    INT("engine", "turn_resume_ms", 10000, 100, 3600000, turn_resume_ms);
    INT("engine", "turn_sweep_ms", 1000, 10, 600000, turn_sweep_ms);
    STR("console", "assets_dir", "../router/console", console_assets_dir);
    STR("console", "allowed_origins", "http://127.0.0.1:8080,http://localhost:8080", console_allowed_origins);
    INT("console", "session_ttl_s", 43200, 60, 30 * 86400, console_session_ttl_s);
    INT("console", "offer_timeout_ms", 20000, 500, 600000, console_offer_timeout_ms);
    INT("console", "grace_ms", 30000, 1000, 3600000, console_grace_ms);
    INT("console", "sla_s", 60, 1, 86400, console_sla_s);
    INT("console", "max_message", 65536, 1024, 1048576, console_max_message);
    INT("console", "rate_per_s", 20, 1, 10000, console_rate_per_s);
    INT("console", "rate_burst", 40, 1, 100000, console_rate_burst);
    INT("console", "route_ms", 200, 100, 10000, console_route_ms);
    INT("console", "reopen_window_s", 86400, 0, 365 * 86400, console_reopen_window_s);
    INT("console", "reopen_sweep_s", 60, 1, 86400, console_reopen_sweep_s);
    STR("console", "tls_cert", "", console_tls_cert);
    STR("console", "tls_key", "", console_tls_key);
#undef STR
#undef INT
    if (hilo_log_level_parse(o->log_level) < 0)
        return hilo_config_reject(c, "router", "log_level", "must be debug, info, warn or error");
    size_t cclen = strlen(o->default_cc);
    if (cclen > 3 || strspn(o->default_cc, "0123456789") != cclen)
        return hilo_config_reject(c, "identity", "default_country_code", "must be 1 to 3 digits");
    if (strncmp(o->link_bind, "tcp://", 6) != 0 && strncmp(o->link_bind, "ipc://", 6) != 0)
        return hilo_config_reject(c, "router", "link_bind", "must start with tcp:// or ipc://");
    return HILO_OK;
}

const char *hilo_router_config_path(const hilo_router_config_t *cfg, const char *path, char *buf, size_t n) {
    if (path[0] == '/')
        snprintf(buf, n, "%s", path);
    else
        snprintf(buf, n, "%s/%s", cfg->config_dir, path);
    return buf;
}
