/* console_int.h — what the console's files share (console.c, auth.c, routing.c, views.c, sla_mark.c,
 * sla_resolution.c, supervisor.c, search.c, drill*.c, strategies.c, takeover.c, admin_view.c,
 * floor_gauges.c): the console object, one websocket connection, and the batch helper that runs
 * a few Redis commands and hands their replies over as JSON. Not for use outside
 * router/src/console/. */
#ifndef HILO_CONSOLE_INT_H
#define HILO_CONSOLE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "hilo/compliance.h"
#include "hilo/strategy.h"
#include "hilo/tz.h"
#include "http.h"
#include "login_source.h"
#include "router_ctx.h"

#define CONSOLE_ID_MAX 64      /* agent ids: 1..64 of [A-Za-z0-9._-] */
#define CONSOLE_OPEN_MAX 8     /* conversations one connection follows at once */

#define CONSOLE_AGENT_BUCKETS 4096 /* hash buckets of the by-agent index */

typedef enum { CONN_NEW = 0, CONN_AUTHING, CONN_READY, CONN_CLOSING } conn_state_t;

/* One console websocket. Freed when the socket is gone and no Redis reply is pending. */
typedef struct conn {
    struct conn *prev, *next;      /* console's list of connections */
    struct conn *agent_next;       /* next in its by_agent bucket (authenticated sockets only) */
    bool indexed;                  /* in by_agent */
    hilo_console_t *console;
    hilo_ws_t *ws;                 /* NULL once the socket is gone */
    int refs;                      /* 1 for the socket + 1 per pending batch */
    conn_state_t state;
    char agent[CONSOLE_ID_MAX + 1];
    char name[128];
    bool supervisor;
    char session[65];              /* hex SHA-256 of the token: the session key's suffix */
    int64_t session_exp_ms;
    int64_t opened_ms;
    int64_t last_rx_ms;            /* any message from the client */
    int64_t last_ping_ms;
    double tokens;                 /* rate limit bucket */
    int64_t tokens_ms;
    int rejected;                  /* messages refused by the rate limit */
    bool floor;                    /* a supervisor following the floor stats */
    bool strategies;               /* a supervisor following the strategies panel */
    char strategy_filter[HILO_STRATEGY_NAME_MAX + 1]; /* ...of this strategy only ("" = all) */
    char drill_view[8];            /* the drill-down open ("" none, "queue", "agent", "calls"; drill.c) */
    char drill_id[CONSOLE_ID_MAX + 1]; /* ...of this queue or agent */
    bool drill_inflight;           /* that view is being read */
    char open[CONSOLE_OPEN_MAX][CONSOLE_ID_MAX + 32]; /* debtors followed ("" = free slot) */
    bool dirty_agent;              /* agent snapshot to re-send */
    int64_t snap_ms;               /* last snapshot requested (periodic resync) */
    int64_t seen_ms;               /* last presence refresh (hilo:agents:seen) */
    bool agent_inflight;           /* a snapshot is being read */
    bool logging_out;              /* its logout is in Redis: closed by its answer, not the event */
} conn_t;

typedef struct {
    const char *body;              /* embedded script */
    char sha[41];
} console_script_t;

enum { SCRIPT_ROUTE = 0, SCRIPT_OPS, SCRIPT_FLOOR, SCRIPT_REOPEN, SCRIPT_SLA, SCRIPT_GAUGES, SCRIPT_VERIFY, SCRIPT_N };

struct hilo_console {
    hilo_router_ctx_t *ctx;
    const hilo_router_config_t *cfg;
    hilo_compliance_t *gate;       /* NULL: rules not loadable, every agent reply is blocked */
    hilo_tzdb_t *tz;               /* debtors' zones: when an agent's promise falls due (routing.c) */
    const hilo_tz_t *day_tz;       /* [console] business_day_zone: the day's counters (sla_mark.c) */
    char gate_err[256];
    conn_t *conns;                 /* every live connection */
    conn_t *by_agent[CONSOLE_AGENT_BUCKETS]; /* authenticated sockets by agent id (events) */
    long nconns;                   /* sockets, authenticated or not */
    int works;                     /* login checks running in libuv's thread pool */
    long logins_admitted;          /* logins between admission and their answer (auth.c) */
    int logins_checking;           /* Argon2 checks running (at most [console] login_checks) */
    struct login *logins_head, *logins_tail; /* logins charged and waiting for a check */
    bool tick_closed;              /* destroyed; freed once works drops to 0 */
    uv_timer_t tick;
    int64_t tick_n;
    console_script_t scripts[SCRIPT_N];
    char events_id[48];            /* last hilo:console:events id read ("": not started) */
    bool events_inflight, route_inflight, floor_inflight, activity_inflight;
    bool strategies_inflight;      /* the strategies panel is being read (strategies.c) */
    bool reports_inflight;         /* the timer's roll-up pass is running (reports.c) */
    int64_t activity_since_ms;     /* highest hilo:convs score seen (Redis ms); -1: not read yet */
    char **activity_tied;          /* the debtors already seen at exactly that score */
    size_t activity_ntied;
    char **reopen_retry;           /* debtors whose reopen.lua call failed, to try again */
    size_t reopen_nretry;
    int64_t reopen_retry_ms;       /* not before this (wall ms) */
    bool reopen_sweep_inflight;
    char reopen_sweep_cursor[32];  /* next ZSCAN cursor of hilo:closed ("": not sweeping) */
    int64_t reopen_sweep_ms;       /* next sweep starts then (wall ms; 0 = at once) */
    long reopen_swept;             /* closed conversations looked at by this sweep */
    long following;                /* followed-conversation slots in use over all sockets;
                                    * hilo:convs is read only while there are some */
    int64_t presence_ms;           /* last presence walk */
    hilo_store_t *events_store;    /* its own Redis connection for the blocking event read */
    hilo_metrics_t events_metrics; /* that connection's counters (kept out of /metrics) */
    hilo_buf_t floor_msg;          /* the floor being assembled from its parts (supervisor.c) */
    char floor_cursor[32];         /* next part's SSCAN cursor */
    int64_t floor_now_ms;          /* the "now" every part of this floor is read at */
    struct console_gauges *gauges; /* the floor's figures for /metrics (floor_gauges.c) */
    hilo_buf_t voice_next;         /* agents holding a call, as this floor's parts list them (a,b,...) */
    hilo_buf_t voice_agents;       /* ...as the last complete floor listed them (drill.c's calls view) */
    bool alerts_inflight;          /* the SLA alerts are being read (drill_alerts.c) */
    bool scripts_loaded;           /* SCRIPT LOAD sent since the store became ready */
    bool closing;
};

/* --- connections (console.c) --- */
void conn_ref(conn_t *c);
void conn_unref(conn_t *c);
bool conn_alive(const conn_t *c);
/* Follow debtor in open[slot] / stop following it (every slot holding it); these keep the
 * console's `following` count. */
void conn_follow(conn_t *c, int slot, const char *debtor);
void conn_unfollow(conn_t *c, const char *debtor);
void conn_send(conn_t *c, json_t *msg);                      /* steals msg */
/* Closes the socket with a websocket close code and reason. */
void conn_close(conn_t *c, int code, const char *reason);
void conn_error(conn_t *c, json_t *rid, const char *code, const char *text);
void conn_ok(conn_t *c, json_t *rid, json_t *extra);         /* steals extra (may be NULL) */

/* --- Redis batches (batch.c) --- */
typedef struct batch batch_t;
/* res[i]: the i-th reply as JSON (string, integer, array, null; {"error": "..."} for error
 * replies; NULL when the command failed or Redis is down). conn may be NULL. */
typedef void (*batch_fn)(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg);
/* fn gets arg (and frees it, or hands it on); when the router closes before the replies, fn
 * is not called and free_arg (NULL: arg needs no freeing) frees it instead. */
batch_t *batch_new(hilo_console_t *k, conn_t *conn, batch_fn fn, void *arg, void (*free_arg)(void *));
void batch_free_json(void *json); /* a free_arg for a json_t */
void batch_cmd(batch_t *b, const char *fmt, ...);
void batch_argv(batch_t *b, int argc, const char **argv, const size_t *lens);
/* EVALSHA of one of the console's scripts with string arguments (nkeys = 0). */
void batch_script(batch_t *b, int script, int nargs, const char **args);
void batch_run(batch_t *b);
/* The last command added was EVALSHA of `script` (reloaded on NOSCRIPT). */
void batch_mark_script(batch_t *b, int script);
/* Helpers over batch results. */
bool res_ok(const json_t *r);
json_t *res_hash(const json_t *r);                           /* flat array -> new object */
/* A Redis reply as JSON (strings that are not UTF-8 become null). */
json_t *console_reply_json(const redisReply *r);
const char *jstr(const json_t *obj, const char *key);        /* string or NULL */

/* --- auth.c --- */
void console_auth_install(hilo_console_t *k, hilo_http_t *http);
bool console_origin_allowed(const hilo_console_t *k, const char *origin);
void console_auth_connect(conn_t *c, const char *token);     /* validates, then console_ready */
void console_auth_logout(conn_t *c, json_t *rid);
void console_token_hash(const char *token, char out[65]);
/* The console is going: logins waiting for a check are answered 503 and freed. */
void console_auth_stop(hilo_console_t *k);

/* --- login_throttle.c --- */
typedef struct {
    bool allowed;                  /* charged: the password may be checked */
    bool unavailable;              /* Redis failed: neither allowed nor refused */
    bool charged;                  /* charged to the account's ceiling (given back on success) */
    long retry_after_s;            /* refused: seconds until this budget has room again */
    const char *limit;             /* refused: "source", "account_source" or "account" */
} console_login_verdict_t;
typedef void (*console_login_charged_fn)(hilo_console_t *k, const console_login_verdict_t *v, void *arg);
/* Charges one attempt for `agent` from `source` to every budget (the source's, then the
 * account's), atomically on each slot, then calls fn (not called when the router closes
 * first: free_arg(arg) then). */
void console_login_charge(hilo_console_t *k, const char *agent, const char *source, console_login_charged_fn fn,
                          void *arg, void (*free_arg)(void *));
/* The password was right: the attempt's charges are given back, the source is remembered as
 * one the account logs in from. */
void console_login_succeeded(hilo_console_t *k, const char *agent, const char *source, bool charged);

/* --- console.c --- */
void console_ready(conn_t *c);                               /* authenticated: hello + snapshot */
void console_events_apply(hilo_console_t *k, json_t *entries);
/* The agent snapshot to every socket of that agent on this router. */
void console_send_agent_of(hilo_console_t *k, const char *agent);
void console_work_done(hilo_console_t *k);                   /* a thread-pool job finished */
/* The per-socket rate limit: refills *tokens for the time since *tokens_ms at rate_per_s (at
 * most burst), then takes one token; false when there was none. Pure (the caller's clock). */
bool console_rate_take(double *tokens, int64_t *tokens_ms, int64_t now_ms, long rate_per_s, long burst);

/* --- routing.c --- */
void console_route_tick(hilo_console_t *k);
void console_op(conn_t *c, json_t *rid, const char *op, const char *debtor, json_t *args);
void console_reopen(hilo_console_t *k, const char **debtors, int n); /* reopen.lua */
/* The agent leaves (why: "logout", "session_end", "revoked"): out of routing at once, their
 * pending offers withdrawn for other agents (agent_ops.lua, op leave), unless another of their
 * sessions (not `session`, the one that ended; "" = none left) is still valid. Added to b, or,
 * b NULL, run on its own with the outcome logged. */
void console_agent_leave(hilo_console_t *k, batch_t *b, const char *agent, const char *session, const char *why);

/* --- refusals.c --- */
/* The sentence the console shows for an operation's error code (and detail, may be NULL),
 * into out (outlen bytes, always terminated). */
void console_refusal_text(const char *code, const char *detail, char *out, size_t outlen);
/* On the tick: the reopens that failed (Redis down or refusing) are tried again, every
 * REOPEN_RETRY_MS until they get through. */
void console_reopen_retry(hilo_console_t *k);
void console_reopen_forget(hilo_console_t *k); /* frees the retry list (at the end) */
/* On the tick: every [console] reopen_sweep_s (and once at start), reopen.lua runs over all of
 * hilo:closed, a page per tick, for reopens no router did (one stopped between the commit and
 * its reopen call, or before its retry went through). */
void console_reopen_sweep(hilo_console_t *k);

/* --- views.c --- */
void console_send_agent(conn_t *c);                          /* offers + conversations */
void console_open_conv(conn_t *c, json_t *rid, const char *debtor);
void console_send_conv(conn_t *c, const char *debtor);       /* a followed conversation again */
void console_reply(conn_t *c, json_t *rid, const char *debtor, const char *channel, const char *text, bool wait);
/* The same path for a click-to-call (bridge: the agent's phone, rung first; NULL = a reply). */
void console_reply_or_call(conn_t *c, json_t *rid, const char *debtor, const char *channel, const char *text,
                           bool wait, const char *bridge);
/* {"t":"call","debtor"}: click-to-call (click_to_call.c). */
void console_call(conn_t *c, json_t *rid, const char *debtor);
/* The debtor's address on channel ch: the conversation's (addr:<channel>), else for SMS the
 * portfolio's first phone; NULL when there is none (buf holds what it returns). */
const char *console_debtor_address(const json_t *conv, const json_t *debtor, int ch, char *buf, size_t n);

/* Adds to b what commits rec, an outbound message to debtor on channel written by `by`: the
 * mark in the dispatch index, the message (commit_outbound.lua), the mark again, the listing,
 * the `outbound` audit entry; b's callback gets their 5 replies. */
typedef struct hilo_outbound_record hilo_outbound_record_t;
void console_outbound_commit(batch_t *b, hilo_outbound_record_t *rec, const char *debtor, int channel,
                             const char *by);

/* --- system_msg.c --- */
/* Says the [messages] text of kind (messages.h) to debtor on the channel they last wrote on, for
 * a conversation in queue (NULL: its own): committed as a collector-initiated message ("by":
 * "system:<kind>") that the gate at hand-off sends or refuses like any other, with the refusal's
 * reason in the audit. Nothing when no text is configured, when the debtor has no address there,
 * and for an acknowledgement when the last thing the debtor heard already was one (the bot's
 * hand-off reply, or ours). */
void console_system_msg(hilo_console_t *k, const char *debtor, int kind, const char *queue);
void console_note(conn_t *c, json_t *rid, const char *debtor, const char *text);
/* Whether c may read the conversation (its hash as an object): a supervisor any; an agent one
 * offered or assigned to them, or one they closed that nobody has taken since. */
bool console_may_read(const conn_t *c, const json_t *conv);

/* --- access_log.c --- */
void console_access_record(conn_t *c, const char *debtor);   /* c opened debtor's record */
void console_access_read(conn_t *c, json_t *rid, const char *debtor, const char *agent, json_int_t limit);

/* --- supervisor.c --- */
void console_floor_tick(hilo_console_t *k);
/* --- unread counts and previews in the agent's list (notice.c) --- */
void console_notice_row(batch_t *b, const char *debtor);  /* [conv fields, name, newest item] */
void console_notice_reads(batch_t *b, const char *agent, json_t *const *lists, int nlists);
void console_notice_apply(json_t *entry, const json_t *fields, const json_t *read, const json_t *newest, bool own);
void console_read(conn_t *c, json_t *rid, const char *debtor, json_t *upto);
void console_snooze(conn_t *c, json_t *rid, const char *debtor, json_t *minutes);
void console_closed_list(conn_t *c, json_t *rid);
void console_verify(conn_t *c, json_t *rid, const char *debtor, const char *digits); /* identity_check.c */
void console_payment_link(conn_t *c, json_t *rid, const char *debtor, json_t *amount); /* payment_link.c */
/* {"t":"plan"}: a payment plan the debtor agreed with the agent (promise_plan.c). */
void console_plan(conn_t *c, json_t *rid, const char *debtor, const json_t *m);
/* --- the debtor panel's extras (debtor_panel.c) --- */
json_t *console_portfolio_attrs(const json_t *debtor);   /* {name: value} of the attr:* columns */
json_t *console_earlier_wrapups(const json_t *audit);    /* dispositions in XREVRANGE entries */
/* --- the floor's figures for /metrics (floor_gauges.c) --- */
void console_floor_gauges_tick(hilo_console_t *k); /* a read when [console] floor_metrics_s has passed */
void console_floor_gauges_free(hilo_console_t *k);
void console_agents_list(conn_t *c, json_t *rid);
/* --- search.c --- */
/* {"t":"search","query"}: the debtors the user may read whose id, phone (any spelling) or name
 * (word prefixes, case and accents aside) matches; agents among their own conversations. */
void console_search(conn_t *c, json_t *rid, const char *query);
/* {"t":"find","query"}: the floor's box (supervisors): one debtor by id, phone or a name only
 * one debtor has. */
void console_find(conn_t *c, json_t *rid, const char *query);

/* --- takeover.c, admin_view.c: a supervisor's powers --- */
/* {"t": takeover|whisper|admin|agent_disable|agent_enable|agent_logout}: false when t is none of
 * these; else answered (agents get `forbidden`). */
bool console_admin_dispatch(conn_t *c, json_t *rid, const char *t, json_t *m);
/* An event of the console stream (fields f) that the powers wrote: `taken` and `whisper` become
 * messages to the agent's sockets on this router; other kinds are ignored. */
void console_admin_event(hilo_console_t *k, const char *kind, const json_t *f);
void console_admin_view(conn_t *c, json_t *rid);
/* op: disable, enable or logout. */
void console_agent_account(conn_t *c, json_t *rid, const char *op, const char *agent);

/* --- sla_mark.c --- */
/* The clock the day's counters and the SLA are kept by: the router's, or under [engine]
 * test_clock the test clock (read from Redis first, then fn runs). fn is not called when the
 * router closes before the clock's answer: free_arg(arg) then (NULL: nothing to free). */
typedef void (*console_clock_fn)(hilo_console_t *k, int64_t now_ms, void *arg);
void console_stats_clock(hilo_console_t *k, console_clock_fn fn, void *arg, void (*free_arg)(void *));
/* The same clock read inside a batch of the caller's own: console_clock_cmd adds its read as
 * the batch's next command (nothing without the test clock), console_clock_of gives "now" from
 * the replies, res[i] being that command's. */
void console_clock_cmd(hilo_console_t *k, batch_t *b);
int64_t console_clock_of(const hilo_console_t *k, json_t **res, int n, int i);
/* The business day now_ms falls in ([console] business_day_zone, business_day_start):
 * *day names the day's counters, *start_ms is when it began. */
void console_business_day(const hilo_console_t *k, int64_t now_ms, int64_t *day, int64_t *start_ms);
/* An agent's reply to debtor was committed at now_ms (the gate's clock): if it is the first
 * since the escalation, its verdict (within the queue's first-response target or not) goes on
 * the queue's counters for that business day. */
void console_sla_responded(hilo_console_t *k, const char *debtor, int64_t now_ms);
/* Claims debtor's escalation (esc_ms as written) from the queue's awaiting set `set` ("await":
 * first response, "resolve": resolution) and counts `verdict` on the queue's counters of the
 * business day of now_ms (sla_mark.lua, atomic on the queue's slot; counted once whoever comes
 * twice). fn gets the script's answer (1 counted, 0 counted before) and arg, freed with free(). */
void console_sla_count(hilo_console_t *k, const char *queue, const char *set, const char *debtor, const char *esc,
                       int64_t now_ms, const char *verdict, batch_fn fn, void *arg);
#define CONSOLE_SLA_KEEP_S (8 * 86400) /* a day's SLA counters are kept this long */

/* --- sla_resolution.c --- */
/* debtor's conversation was closed (agent_ops.lua said ok): its resolution verdict (escalation
 * to close within the queue's target or not) goes on the queue's counters for the business day. */
void console_sla_closed(hilo_console_t *k, const char *debtor);

/* --- drill.c, drill_alerts.c --- */
/* {"t":"detail","view":"queue"|"agent"|"calls"|"none","id":...}: the one drill-down a
 * supervisor has open, answered at once and pushed again with every floor (console_drill_tick). */
void console_drill_request(conn_t *c, json_t *rid, const json_t *m);
/* With the floor, once a second: each open drill-down, and the live SLA alerts, to the
 * supervisors following the floor. */
void console_drill_tick(hilo_console_t *k);
void console_alerts_tick(hilo_console_t *k);

/* --- strategies.c --- */
/* Once a second: the strategies panel to the supervisors following it. */
void console_strategies_tick(hilo_console_t *k);
/* {"t":"strategies"}: follow (or, with "follow": false, stop following) the panel. */
void console_strategies_request(conn_t *c, json_t *rid, const json_t *m);
/* The strategy part of a debtor panel (strategy_view.h) from the conv hash (as an object) and
 * the newest entries of the debtor's audit stream (XREVRANGE); NULL when there is none. */
json_t *console_strategy_of_debtor(hilo_console_t *k, const json_t *conv, const json_t *audit);
#define CONSOLE_STRATEGY_AUDIT_SCAN 100 /* audit entries looked through for strategy events */

/* --- reports.c --- */
/* Every [reports] rollup_s: the recent business days' counters copied into their roll-ups. */
void console_reports_tick(hilo_console_t *k);
/* {"t":"report","from","to"[,"format":"csv"]}: the daily roll-ups of a date range. */
void console_report_request(conn_t *c, json_t *rid, const json_t *m);

bool console_debtor_ok(const char *id);
bool console_agent_id_ok(const char *id);

#endif
