/* rconfig.h — the router's settings, read once at start from the config file ([router],
 * [redis], [identity]) by hilo_router_config_load(). A bad value stops start-up with
 * file:line and the reason. Owned by the router; read-only after load. */
#ifndef HILO_RCONFIG_H
#define HILO_RCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "costs.h"
#include "hilo/config.h"
#include "pacing.h"
#include "messages.h"
#include "sla.h"

typedef struct {
    const char *instance;         /* router name in logs, metrics and Welcome */
    const char *link_bind;        /* ZeroMQ endpoint connectors connect to */
    bool link_curve;              /* [router] link_auth = curve (default) | none: CURVE + allowlist */
    char link_secret[41];         /* the router's CURVE secret key (Z85), from link_secret_key_file
                                     or $HILO_ROUTER_LINK_SECRET_KEY; "" with link_auth = none */
    char link_keys[512];          /* [router] link_keys: allowlist file or directory (resolved path) */
    const char *http_bind;        /* interface for /healthz, /metrics, console */
    int http_port;
    int http_request_timeout_ms;  /* a POST's body must be in by then (docs/security.md) */
    long history_max;             /* history entries kept per debtor */
    int64_t dedupe_window_ms;     /* how long provider ids are remembered */
    long max_payload;             /* largest frame accepted, bytes */
    long heartbeat_ms;            /* link heartbeat interval */
    long max_inflight;            /* envelopes committing at once before backpressure */
    long commit_batch_max;        /* envelopes per identity lookup / commit call to Redis */
    long outbound_lease_ms;       /* re-send an unsettled outbound after this */
    long outbound_poll_ms;        /* how often the dispatch index is polled */
    long handoff_expiry_ms;       /* the gate's decision must reach the provider within this */
    long outbound_give_up_ms;     /* a message not handed off this long after its first try fails */
    const char *log_level;
    const char *default_cc;       /* [identity] default_country_code */
    long identity_cache_max;      /* [identity] cache_max: addresses cached (0 = no cache) */
    const char *redis_host;
    int redis_port;
    const char *redis_user;       /* ACL user ("" = the default user / legacy requirepass) */
    const char *redis_password;   /* NULL or "" = none; from [redis] password (environment:
                                     HILO_REDIS_PASSWORD) or the file [redis] password_file */
    char redis_password_buf[256]; /* what password_file held */
    long redis_db;
    long redis_timeout_ms;        /* a command unanswered this long = Redis silent */
    bool engine;                  /* [engine] enabled: run the bot and the gate on inbound */
    const char *flow_path;        /* [engine] flow file (relative: to the config's directory) */
    const char *compliance_dir;   /* [engine] compliance rule packs directory (same) */
    bool test_clock;              /* [engine] test_clock: "now" from Redis key hilo:test:now_ms */
    long promise_sweep_ms;        /* [engine] promise_sweep_ms: how often due promises are checked */
    long turn_resume_ms;          /* [engine] turn_resume_ms: a turn pending this long may be resumed
                                     by any router's sweep (also the sweep's lease on it) */
    long turn_sweep_ms;           /* [engine] turn_sweep_ms: how often pending turns are looked for */
    /* [strategies] — outbound strategies (router/src/strategy_run.c, docs/strategies.md) */
    const char *strategies_dir;   /* the *.strategy files (relative: to the config's directory);
                                     "" = this router runs no strategies */
    long strategy_poll_ms;        /* how often the time index is swept */
    long strategy_batch;          /* debtors claimed per partition and sweep */
    long strategy_lease_ms;       /* a claimed debtor is left to this router for this long */
    int64_t strategy_recheck_ms;  /* a stopped or waiting debtor is looked at again after this */
    hilo_pacing_config_t pacing;  /* [pacing] — per-sender rate limits at hand-off (pacing.h) */
    hilo_costs_config_t costs;    /* [costs] — message prices per channel and country (costs.h) */
    /* [console] — the agent and supervisor console (router/src/console/) */
    const char *console_assets_dir;      /* the page's files (relative: to the config's directory) */
    const char *console_allowed_origins; /* comma-separated Origins allowed on /ws and login; "*" = any */
    long console_session_ttl_s;          /* login session lifetime */
    long console_offer_timeout_ms;       /* an offer not accepted by then goes to the next agent */
    long console_grace_ms;               /* an agent unseen this long goes offline, offers re-routed */
    long console_sla_s;                  /* the default first-response target ([sla] first_response_s) */
    hilo_sla_config_t sla;               /* [sla] targets, [console] business_day_zone/_start (sla.h) */
    hilo_messages_t messages;            /* [messages]: what the router says by itself (messages.h) */
    long console_max_message;            /* largest websocket message accepted (bytes) */
    long console_rate_per_s;             /* messages per second per socket (token bucket) */
    long console_rate_burst;             /* ... and its burst */
    long console_floor_metrics_s;        /* the floor's figures for /metrics read every (0 = never) */
    long console_max_offers;             /* offers an agent holds at once (0 = capacity only) */
    long console_decline_cooldown_ms;    /* a conversation everyone passed on waits this long */
    long console_route_ms;               /* how often queues are routed */
    long console_reopen_window_s;        /* a closed conversation reopens on a message within this; 0 = never */
    long console_reopen_sweep_s;         /* how often hilo:closed is swept for reopens left undone */
    long reports_keep_days;              /* [reports] keep_days: daily roll-ups kept this many days */
    long reports_rollup_s;               /* [reports] rollup_s: how often the recent days are rolled up */
    const char *console_tls_cert;        /* PEM certificate: the HTTP port speaks TLS ("" = plain) */
    const char *console_tls_key;         /* its private key (PEM) */
    const char *console_trusted_proxies; /* addresses/CIDR whose X-Forwarded-For names the client */
    long console_login_source_burst;     /* login attempts a source may make at once ... */
    long console_login_source_per_min;   /* ... and per minute after that (token bucket) */
    long console_login_account_source_max; /* attempts on one account from one source without success */
    long console_login_account_source_window_s; /* ... forgotten this long after the last */
    long console_login_account_free;     /* failures on an account (unknown sources) before delays */
    long console_login_delay_max_s;      /* the doubling delay's ceiling */
    long console_login_account_window_s; /* an account's failures forgotten this long after the last */
    long console_login_checks;           /* Argon2 checks running at once */
    long console_login_queue;            /* logins waiting for a check; past it: 503 busy */
    char config_dir[512];         /* directory of the config file, for relative paths */
} hilo_router_config_t;

/* Fills *out from `cfg` (which must outlive *out). HILO_ERR with hilo_config_error(cfg) set. */
int hilo_router_config_load(hilo_config_t *cfg, const char *path, hilo_router_config_t *out);

/* Resolves `path` against cfg->config_dir unless it is absolute, into buf. */
const char *hilo_router_config_path(const hilo_router_config_t *cfg, const char *path, char *buf, size_t n);

#endif
