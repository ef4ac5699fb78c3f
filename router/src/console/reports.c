/* reports.c — the supervisor's historical reports (docs/console-protocol.md, "Reports";
 * docs/architecture.md, "Daily roll-ups"). The day's live counters (hilo:stats:<business day>,
 * counted by route_offer.lua and agent_ops.lua in the very step that records each event, and the
 * queues' first-response SLA counters hilo:{q:<queue>}:sla:<day>) last about a week; every
 * [reports] rollup_s, and before each report, the last REPORT_LIVE_DAYS business days are copied
 * into one roll-up per day, hilo:{r:<day>}:rollup (its own hash slot), kept [reports] keep_days
 * after the day began. The copy writes absolute values, so a pass repeated (by another router,
 * after a crash, a minute later) writes the same: there is nothing to repair between the steps.
 * {"t":"report"} then reads the roll-ups of a date range, answered as JSON and, asked for, as
 * CSV (report_format.c, which the CLI's `hilo report daily` shares). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/strategy.h"
#include "report_format.h"
#include "strategy_run.h"

#define REPORT_LIVE_DAYS 8      /* days rolled up on each pass; hilo:stats:<day> kept a day longer */
#define REPORT_QUEUES_MAX 60    /* queues whose SLA counters one day's read takes (batch.c: 64) */
#define REPORT_READ_CHUNK 60    /* roll-ups or agent names per batch */
#define REPORT_ANSWER_MAX (4u << 20) /* bytes of one answer (its JSON, or its CSV) */
#define REPORT_STRATEGIES_MAX 30 /* strategies whose funnels one pass reads (2 commands each) */
#define DAY_MS 86400000LL

/* --- the roll-up pass ------------------------------------------------------------------- */

typedef void (*roll_done_fn)(hilo_console_t *k, conn_t *c, bool ok, int64_t today, void *arg);

typedef struct {
    roll_done_fn done;             /* called once, at the end (ok false: a step failed) */
    void *arg;
    void (*free_arg)(void *);
    conn_t *conn;                  /* the report's socket (NULL: the timer's pass) */
    int64_t now, today, today_start;
    int64_t day;                   /* the day being rolled up */
    json_t *queues;                /* hilo:queues (at most REPORT_QUEUES_MAX) */
    json_t *strategies;            /* the loaded strategies' names, read with today's day */
} roll_t;

static void roll_free(void *p) {
    roll_t *r = p;
    if (r->free_arg) r->free_arg(r->arg);
    if (r->conn) conn_unref(r->conn);
    json_decref(r->queues);
    json_decref(r->strategies);
    free(r);
}

static void roll_end(hilo_console_t *k, roll_t *r, bool ok) {
    if (!ok) hilo_log_warn("console", "event=report_rollup_failed day=%lld", (long long)r->day);
    if (!r->conn) k->reports_inflight = false;
    r->done(k, r->conn, ok, r->today, r->arg);
    r->free_arg = NULL; /* done owns arg now */
    roll_free(r);
}

static void roll_day(hilo_console_t *k, roll_t *r);
static void roll_strategies(hilo_console_t *k, roll_t *r);

static void on_written(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    roll_t *r = arg;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i])) {
            roll_end(k, r, false);
            return;
        }
    if (r->day < r->today) {
        r->day++;
        roll_day(k, r);
    } else if (r->day == r->today && !r->strategies) {
        roll_strategies(k, r);
    } else {
        roll_end(k, r, true);
    }
}

/* --- strategies: a day's figures from a funnel that only ever grows ----------------------- */

/* The funnel's figures a report shows, summed over variants and steps. */
static const char *const STRATEGY_METRICS[] = {"sent", "delivered", "replied", "promised", "paid", "collected_cents"};
#define NSTRATEGY_METRICS (sizeof STRATEGY_METRICS / sizeof *STRATEGY_METRICS)
/* HSETNX of every field-value pair of ARGV on KEYS[1]: one command however many strategies. */
static const char SETNX_MANY[] =
    "for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end return 1";

/* Today's roll-up keeps each strategy's funnel totals now ("s|<name>|total:<metric>") and, from
 * the first pass of the day, where the day started ("s|<name>|base:<metric>": yesterday's last
 * totals, or today's first when yesterday has none); the day's figure is total - base (report_format.c).
 * Both writes are absolute (HSET, HSETNX), so a repeated pass changes nothing. */
static void on_funnels(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    roll_t *r = arg;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i])) {
            roll_end(k, r, false);
            return;
        }
    int64_t start = r->today_start;
    int64_t keep_ms = start + k->cfg->reports_keep_days * DAY_MS - r->now;
    char key[96];
    snprintf(key, sizeof key, "hilo:{r:%lld}:rollup", (long long)r->today);
    /* Every strategy's fields in two commands (batch.c takes 64 commands, a pass up to
     * REPORT_STRATEGIES_MAX strategies): the totals in one HSET, the bases in one call of
     * SETNX_MANY (HSETNX of each pair, on the one key it declares). */
    json_t *totals = json_array(), *bases = json_array();
    for (size_t s = 0; s < json_array_size(r->strategies) && (int)(2 * s + 1) < n; s++) {
        const char *name = json_string_value(json_array_get(r->strategies, s));
        json_t *funnel = res[2 * s], *before = res[2 * s + 1];
        long long sum[NSTRATEGY_METRICS] = {0};
        for (size_t i = 0; i + 1 < json_array_size(funnel); i += 2) {
            const char *f = json_string_value(json_array_get(funnel, i)), *v = json_string_value(json_array_get(funnel, i + 1));
            const char *metric = f ? strrchr(f, '|') : NULL;
            for (size_t m = 0; metric && v && m < NSTRATEGY_METRICS; m++)
                if (strcmp(metric + 1, STRATEGY_METRICS[m]) == 0) sum[m] += strtoll(v, NULL, 10);
        }
        for (size_t m = 0; m < NSTRATEGY_METRICS; m++) {
            const char *y = json_string_value(json_array_get(before, m));
            json_array_append_new(totals, json_sprintf("s|%s|total:%s", name, STRATEGY_METRICS[m]));
            json_array_append_new(totals, json_sprintf("%lld", sum[m]));
            json_array_append_new(bases, json_sprintf("s|%s|base:%s", name, STRATEGY_METRICS[m]));
            json_array_append_new(bases, json_sprintf("%lld", y ? strtoll(y, NULL, 10) : sum[m]));
        }
    }
    size_t nt = json_array_size(totals), nb = json_array_size(bases);
    const char **hset = hilo_xmalloc((nt + 2) * sizeof *hset), **setnx = hilo_xmalloc((nb + 4) * sizeof *setnx);
    hset[0] = "HSET", hset[1] = key;
    setnx[0] = "EVAL", setnx[1] = SETNX_MANY, setnx[2] = "1", setnx[3] = key;
    for (size_t i = 0; i < nt; i++) hset[2 + i] = json_string_value(json_array_get(totals, i));
    for (size_t i = 0; i < nb; i++) setnx[4 + i] = json_string_value(json_array_get(bases, i));
    batch_t *b = batch_new(k, c, on_written, r, roll_free);
    batch_cmd(b, "MULTI");
    batch_argv(b, (int)(nt + 2), hset, NULL);
    batch_argv(b, (int)(nb + 4), setnx, NULL);
    batch_cmd(b, "PEXPIRE %s %lld", key, (long long)(keep_ms > 0 ? keep_ms : 1));
    batch_cmd(b, "EXEC");
    batch_run(b);
    free(hset);
    free(setnx);
    json_decref(totals);
    json_decref(bases);
}

static void roll_strategies(hilo_console_t *k, roll_t *r) {
    r->strategies = json_array();
    const hilo_strategy_set_t *set = k->ctx->strategies ? hilo_strategy_run_set(k->ctx->strategies) : NULL;
    for (size_t i = 0; set && i < hilo_strategy_set_count(set) && i < REPORT_STRATEGIES_MAX; i++)
        json_array_append_new(r->strategies, json_string(hilo_strategy_name(hilo_strategy_set_get(set, i))));
    if (json_array_size(r->strategies) == 0) {
        roll_end(k, r, true);
        return;
    }
    batch_t *b = batch_new(k, r->conn, on_funnels, r, roll_free);
    size_t i;
    json_t *name;
    json_array_foreach(r->strategies, i, name) {
        char fk[HILO_KEY_MAX];
        if (hilo_key_strategy(fk, sizeof fk, json_string_value(name), "funnel") < 0) snprintf(fk, sizeof fk, "hilo:invalid");
        batch_cmd(b, "HGETALL %s", fk);
        /* Yesterday's last totals: where today starts. */
        const char *argv[2 + NSTRATEGY_METRICS];
        char key[96], fields[NSTRATEGY_METRICS][160];
        snprintf(key, sizeof key, "hilo:{r:%lld}:rollup", (long long)(r->today - 1));
        argv[0] = "HMGET", argv[1] = key;
        for (size_t m = 0; m < NSTRATEGY_METRICS; m++) {
            snprintf(fields[m], sizeof fields[m], "s|%s|total:%s", json_string_value(name), STRATEGY_METRICS[m]);
            argv[2 + m] = fields[m];
        }
        batch_argv(b, 2 + NSTRATEGY_METRICS, argv, NULL);
    }
    batch_run(b);
}

/* The roll-up field of a live counter ("" when it is not one a report keeps). */
static void rollup_field(const char *f, char *out, size_t n) {
    static const struct { const char *live, *metric; } queue[] = {
        {"escq:", "escalated"}, {"offered:", "offered"}, {"answered:", "answered"},
        {"abandoned:", "abandoned"}, {"closed:", "closed"}};
    out[0] = '\0';
    for (size_t i = 0; i < HILO_ARRAY_LEN(queue); i++) {
        size_t l = strlen(queue[i].live);
        if (strncmp(f, queue[i].live, l) == 0) {
            snprintf(out, n, "q|%s|%s", f[l] ? f + l : "none", queue[i].metric);
            return;
        }
    }
    if (strncmp(f, "esc:", 4) == 0) snprintf(out, n, "r|%s", f + 4);
    else if (strncmp(f, "disp:", 5) == 0) snprintf(out, n, "d|%s", f + 5);
    else if (strncmp(f, "block:", 6) == 0) snprintf(out, n, "b|%s", f + 6);
    else if (strncmp(f, "a:", 2) == 0) {
        /* a:<agent>:<metric>: agent ids have no ':' (console_agent_id_ok). */
        const char *m = strchr(f + 2, ':');
        if (m && m > f + 2) snprintf(out, n, "a|%.*s|%s", (int)(m - f - 2), f + 2, m + 1);
    }
}

/* One day's live counters are in: the day's roll-up is written over (MULTI on its slot), and
 * the live counters get their end (they predate this module and were kept for ever). */
static void on_day_read(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    roll_t *r = arg;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i])) {
            roll_end(k, r, false);
            return;
        }
    int64_t start = r->today_start - (r->today - r->day) * DAY_MS; /* within an hour (DST) */
    int64_t keep_ms = start + k->cfg->reports_keep_days * DAY_MS - r->now;
    int64_t live_ms = start + (REPORT_LIVE_DAYS + 1) * DAY_MS - r->now;
    size_t cap = 16, argc = 2;
    const char **argv = hilo_xmalloc(cap * sizeof *argv);
    json_t *live = n >= 1 ? res[0] : NULL;
    json_t *vals = json_array();
    for (size_t i = 0; i + 1 < json_array_size(live); i += 2) {
        const char *f = json_string_value(json_array_get(live, i)), *v = json_string_value(json_array_get(live, i + 1));
        char rf[320];
        if (!f || !v) continue;
        rollup_field(f, rf, sizeof rf);
        if (!rf[0]) continue;
        json_array_append_new(vals, json_pack("[s,s]", rf, v));
    }
    for (size_t q = 0; q < json_array_size(r->queues) && (int)q + 1 < n; q++) {
        const char *name = json_string_value(json_array_get(r->queues, q));
        const char *met = json_string_value(json_array_get(res[q + 1], 0));
        const char *br = json_string_value(json_array_get(res[q + 1], 1));
        char rf[320];
        snprintf(rf, sizeof rf, "q|%s|sla_met", name);
        if (met) json_array_append_new(vals, json_pack("[s,s]", rf, met));
        snprintf(rf, sizeof rf, "q|%s|sla_breached", name);
        if (br) json_array_append_new(vals, json_pack("[s,s]", rf, br));
    }
    /* A day older than the retention is not written again; a day with nothing counted (or
     * whose live counters are gone) leaves its roll-up as it was. */
    if (keep_ms <= 0 || json_array_size(vals) == 0) {
        json_decref(vals);
        free(argv);
        on_written(k, c, NULL, 0, r);
        return;
    }
    char key[96];
    snprintf(key, sizeof key, "hilo:{r:%lld}:rollup", (long long)r->day);
    size_t i;
    json_t *fv;
    json_array_foreach(vals, i, fv) {
        if (argc + 2 > cap) {
            cap *= 2;
            argv = hilo_xrealloc(argv, cap * sizeof *argv);
        }
        argv[argc++] = json_string_value(json_array_get(fv, 0));
        argv[argc++] = json_string_value(json_array_get(fv, 1));
    }
    argv[0] = "HSET", argv[1] = key;
    batch_t *b = batch_new(k, c, on_written, r, roll_free);
    batch_cmd(b, "MULTI");
    batch_argv(b, (int)argc, argv, NULL);
    batch_cmd(b, "PEXPIRE %s %lld", key, (long long)keep_ms);
    batch_cmd(b, "EXEC");
    if (live_ms > 0) batch_cmd(b, "PEXPIRE hilo:stats:%lld %lld", (long long)r->day, (long long)live_ms);
    batch_run(b);
    json_decref(vals);
    free(argv);
}

static void roll_day(hilo_console_t *k, roll_t *r) {
    batch_t *b = batch_new(k, r->conn, on_day_read, r, roll_free);
    batch_cmd(b, "HGETALL hilo:stats:%lld", (long long)r->day);
    size_t i;
    json_t *q;
    json_array_foreach(r->queues, i, q) {
        char sk[160];
        snprintf(sk, sizeof sk, "hilo:{q:%s}:sla:%lld", json_string_value(q), (long long)r->day);
        batch_cmd(b, "HMGET %s met breached", sk);
    }
    batch_run(b);
}

static void on_queues(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    roll_t *r = arg;
    if (n < 1 || !json_is_array(res[0])) {
        roll_end(k, r, false);
        return;
    }
    r->queues = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(res[0], i, q) {
        const char *s = json_string_value(q);
        /* Queue names as agent_ops.lua takes them ([A-Za-z0-9._-]): they name keys. */
        if (s && console_agent_id_ok(s) && json_array_size(r->queues) < REPORT_QUEUES_MAX)
            json_array_append(r->queues, q);
    }
    r->day = r->today - (REPORT_LIVE_DAYS - 1);
    roll_day(k, r);
}

static void roll_clock(hilo_console_t *k, int64_t now_ms, void *arg) {
    roll_t *r = arg;
    r->now = now_ms;
    console_business_day(k, now_ms, &r->today, &r->today_start);
    batch_t *b = batch_new(k, r->conn, on_queues, r, roll_free);
    batch_cmd(b, "SMEMBERS hilo:queues");
    batch_run(b);
}

static void roll_start(hilo_console_t *k, conn_t *c, roll_done_fn done, void *arg, void (*free_arg)(void *)) {
    roll_t *r = hilo_xcalloc(1, sizeof *r);
    r->done = done, r->arg = arg, r->free_arg = free_arg, r->conn = c;
    if (c) conn_ref(c); /* the socket outlives the pass (the clock's read holds no reference) */
    console_stats_clock(k, roll_clock, r, roll_free);
}

static void on_tick_rolled(hilo_console_t *k, conn_t *c, bool ok, int64_t today, void *arg) {
    (void)k, (void)c, (void)ok, (void)today, (void)arg;
}

void console_reports_tick(hilo_console_t *k) {
    if (k->reports_inflight || !hilo_store_ready(k->ctx->store)) return;
    k->reports_inflight = true;
    roll_start(k, NULL, on_tick_rolled, NULL, NULL);
}

/* --- {"t":"report"} ---------------------------------------------------------------------- */

typedef struct {
    json_t *rid;
    bool csv;
    int64_t from, to;              /* business days, inclusive */
    int64_t next;                  /* the next day (or agent index) to read */
    json_t *days;                  /* [{"date", "day", "queues", "agents", ...}] */
    json_t *agent_ids;             /* the agents met in the roll-ups, for their names */
    json_t *names;                 /* agent id -> name */
} report_t;

static void report_free(void *p) {
    report_t *q = p;
    json_decref(q->rid);
    json_decref(q->days);
    json_decref(q->agent_ids);
    json_decref(q->names);
    free(q);
}

static void report_answer(conn_t *c, report_t *q) {
    if (!conn_alive(c)) return;
    char from[16], to[16];
    int y, m, d;
    hilo_civil_from_days(q->from, &y, &m, &d);
    snprintf(from, sizeof from, "%04d-%02d-%02d", y, m, d);
    hilo_civil_from_days(q->to, &y, &m, &d);
    snprintf(to, sizeof to, "%04d-%02d-%02d", y, m, d);
    json_t *extra = json_pack("{s:s,s:s,s:s}", "from", from, "to", to, "zone", c->console->cfg->sla.zone);
    size_t size;
    if (q->csv) { /* the file only: the page saves it as it is */
        char *csv = hilo_report_csv(q->days, q->names);
        char file[64];
        snprintf(file, sizeof file, "hilo-report-%s-to-%s.csv", from, to);
        size = strlen(csv);
        json_object_set_new(extra, "csv", json_string(csv));
        json_object_set_new(extra, "filename", json_string(file));
        free(csv);
    } else {
        json_object_set(extra, "days", q->days);
        json_object_set(extra, "agent_names", q->names);
        size = json_dumpb(extra, NULL, 0, JSON_COMPACT);
    }
    /* A socket with more than 8 MB unsent is closed as a slow client (http.c): a year of a large
     * floor is refused with words instead. */
    if (size > REPORT_ANSWER_MAX) {
        json_decref(extra);
        char text[200];
        snprintf(text, sizeof text, "the report is too large for the console (%zu KB): ask for fewer days, or use "
                 "`hilo report daily` on the server", size / 1024);
        conn_error(c, q->rid, "too_large", text);
        return;
    }
    conn_ok(c, q->rid, extra);
}

static void on_days(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg);
static void on_names(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg);

/* The report's next read: the roll-ups of the next days (q->next: a day), then the names of the
 * agents met in them (q->next: an index into agent_ids), REPORT_READ_CHUNK at a time; then the
 * answer. */
static void report_step(hilo_console_t *k, conn_t *c, report_t *q, bool names) {
    if (!names && q->next > q->to) names = true, q->next = 0;
    if (!conn_alive(c) || (names && (size_t)q->next >= json_array_size(q->agent_ids))) {
        report_answer(c, q);
        report_free(q);
        return;
    }
    batch_t *b = batch_new(k, c, names ? on_names : on_days, q, report_free);
    for (int64_t i = q->next; i < q->next + REPORT_READ_CHUNK; i++) {
        if (names && (size_t)i < json_array_size(q->agent_ids))
            batch_cmd(b, "HGET hilo:agent:%s name", json_string_value(json_array_get(q->agent_ids, (size_t)i)));
        else if (!names && i <= q->to)
            batch_cmd(b, "HGETALL hilo:{r:%lld}:rollup", (long long)i);
    }
    batch_run(b);
}

static void on_names(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    report_t *q = arg;
    for (int i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(q->agent_ids, (size_t)q->next + i));
        const char *name = json_string_value(res[i]);
        if (id) json_object_set_new(q->names, id, json_string(name ? name : id)); /* a deleted account: its id */
    }
    q->next += n;
    report_step(k, c, q, true);
}

static void on_days(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    report_t *q = arg;
    for (int i = 0; i < n; i++) {
        if (!res_ok(res[i])) {
            if (conn_alive(c)) conn_error(c, q->rid, "unavailable", "the reports could not be read: try again");
            report_free(q);
            return;
        }
        json_array_append_new(q->days, hilo_report_day(q->next + i, res[i]));
    }
    q->next += n;
    if (q->next > q->to) { /* the days are in: the agents met in them, for their names */
        json_decref(q->agent_ids);
        q->agent_ids = hilo_report_agents(q->days);
    }
    report_step(k, c, q, false);
}

static void on_report_rolled(hilo_console_t *k, conn_t *c, bool ok, int64_t today, void *arg) {
    (void)today;
    report_t *q = arg;
    if (!ok) {
        if (conn_alive(c)) conn_error(c, q->rid, "unavailable", "the reports could not be brought up to date: try again");
        report_free(q);
        return;
    }
    q->next = q->from;
    report_step(k, c, q, false);
}

void console_report_request(conn_t *c, json_t *rid, const json_t *m) {
    if (!c->supervisor) {
        conn_error(c, rid, "forbidden", "supervisors only");
        return;
    }
    int64_t from, to;
    const char *fmt = jstr(m, "format");
    if (!hilo_report_parse_date(jstr(m, "from"), &from) || !hilo_report_parse_date(jstr(m, "to"), &to)) {
        conn_error(c, rid, "bad_request", "from and to must be dates written YYYY-MM-DD");
        return;
    }
    if (to < from) {
        conn_error(c, rid, "bad_request", "the range ends before it starts");
        return;
    }
    if (to - from + 1 > HILO_REPORT_RANGE_MAX) {
        conn_error(c, rid, "bad_request", "a report covers at most 366 days");
        return;
    }
    if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0) {
        conn_error(c, rid, "bad_request", "format must be json or csv");
        return;
    }
    if (!hilo_store_ready(c->console->ctx->store)) {
        conn_error(c, rid, "unavailable", "storage unavailable: try again");
        return;
    }
    report_t *q = hilo_xcalloc(1, sizeof *q);
    q->rid = json_incref(rid);
    q->csv = fmt && strcmp(fmt, "csv") == 0;
    q->from = from, q->to = to;
    q->days = json_array();
    q->agent_ids = json_array();
    q->names = json_object();
    /* The recent days rolled up first: today's figures are current, not a minute old. */
    roll_start(c->console, c, on_report_rolled, q, report_free);
}
