/* views.c — what an agent sees and sends: the agent snapshot (state, load, offers,
 * conversations), a conversation (the cross-channel thread with bot turns, the debtor panel
 * with the debtor's strategy step, which channels the gate allows now and why not, private
 * notes), replies (compliance gate, frequency cap, commit_outbound.lua, dispatch) and notes.
 * Authorization is checked on every read: an agent sees only conversations offered or assigned
 * to them; a supervisor sees all, read-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "dispatch.h"
#include "hilo/common.h"
#include "hilo/freq_cap.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/outbound_record.h"

#define THREAD_ITEMS 200   /* newest items sent with a conversation */
#define NOTES_MAX 50
#define LIST_MAX 30        /* offers + conversations listed in a snapshot */
#define REPLY_MAX 4096     /* bytes of one agent reply */
#define NOTE_MAX 2000

static const char *const channels[] = {"whatsapp", "sms", "voice"};

static int64_t num(const json_t *o, const char *k) {
    const char *v = jstr(o, k);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void key(char *buf, size_t n, const char *debtor, const char *part) {
    if (hilo_key_debtor(buf, n, debtor, part) < 0) snprintf(buf, n, "hilo:invalid");
}

/* --- the agent snapshot --------------------------------------------------------------- */

typedef struct {
    json_t *offers, *convs;       /* debtor ids */
    json_t *live, *account;
} snap_t;

static void snap_free(void *arg) {
    snap_t *s = arg;
    json_decref(s->offers);
    json_decref(s->convs);
    json_decref(s->live);
    json_decref(s->account);
    free(s);
}

static void on_snapshot_items(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    snap_t *s = arg;
    c->agent_inflight = false;
    if (conn_alive(c)) {
        json_t *offers = json_array(), *convs = json_array(), *load = json_object(), *cap = json_object();
        int64_t now = hilo_now_ms();
        size_t i;
        json_t *d;
        int r = 0;
        json_t *lists[2] = {s->offers, s->convs};
        const json_t *reads = n >= 1 ? res[n - 1] : NULL; /* HMGET of the agent's read marks */
        int rd = 0;
        for (int l = 0; l < 2; l++) {
            json_array_foreach(lists[l], i, d) {
                if (r + 1 >= n) break;
                /* notice.c's row: [conv fields, full_name, newest thread item (JSON) or false] */
                json_t *row = res[r++], *f = json_array_get(row, 0), *name = json_array_get(row, 1);
                const json_t *read = json_array_get(reads, (size_t)rd++);
                const char *id = json_string_value(d);
                const char *st = json_string_value(json_array_get(f, 0));
                if (!st) continue; /* the conversation is gone */
                const char *offer_agent = json_string_value(json_array_get(f, 7));
                const char *agent = json_string_value(json_array_get(f, 8));
                if (l == 0 && (!offer_agent || strcmp(offer_agent, c->agent) != 0)) continue; /* stale */
                if (l == 1 && (!agent || strcmp(agent, c->agent) != 0)) continue;
                const char *ch = json_string_value(json_array_get(f, 1));
                json_t *e = json_pack("{s:s,s:s?,s:s,s:s?}", "debtor", id, "name", json_string_value(name), "state", st,
                                      "channel", ch);
                const char *v;
                if ((v = json_string_value(json_array_get(f, 2)))) json_object_set_new(e, "reason", json_string(v));
                if ((v = json_string_value(json_array_get(f, 3)))) json_object_set_new(e, "detail", json_string(v));
                if ((v = json_string_value(json_array_get(f, 4)))) json_object_set_new(e, "queue", json_string(v));
                if ((v = json_string_value(json_array_get(f, 5))))
                    json_object_set_new(e, "priority", json_integer(strtoll(v, NULL, 10)));
                if ((v = json_string_value(json_array_get(f, 6))))
                    json_object_set_new(e, "waiting_ms", json_integer(now - strtoll(v, NULL, 10)));
                if ((v = json_string_value(json_array_get(f, 9))))
                    json_object_set_new(e, "deadline_ms", json_integer(strtoll(v, NULL, 10)));
                if ((v = json_string_value(json_array_get(f, 10))))
                    json_object_set_new(e, "updated_ms", json_integer(strtoll(v, NULL, 10)));
                if ((v = json_string_value(json_array_get(f, 11))))
                    json_object_set_new(e, "last_in_ms", json_integer(strtoll(v, NULL, 10)));
                console_notice_apply(e, f, read, json_array_get(row, 2), l == 1);
                json_array_append_new(l == 0 ? offers : convs, e);
            }
        }
        for (int ch = 0; ch < 3; ch++) {
            char f[32];
            snprintf(f, sizeof f, "load:%s", channels[ch]);
            json_object_set_new(load, channels[ch], json_integer(num(s->live, f)));
            json_object_set_new(cap, channels[ch], json_integer(json_string_value(json_array_get(s->account, ch))
                                                                    ? strtoll(json_string_value(json_array_get(s->account, ch)), NULL, 10)
                                                                    : 0));
        }
        char hf[40];
        int64_t day, day_start;
        console_business_day(k, now, &day, &day_start); /* (the router's clock, not the test clock) */
        snprintf(hf, sizeof hf, "handled:%lld", (long long)day);
        const char *state = jstr(s->live, "state");
        const char *skills = json_string_value(json_array_get(s->account, 3));
        conn_send(c, json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:I,s:o,s:o,s:I}", "t", "agent", "agent", c->agent, "state",
                               state ? state : "away", "load", load, "capacity", cap, "skills", skills ? skills : "",
                               "handled_today", (json_int_t)num(s->live, hf), "offers", offers, "convs", convs, "now",
                               (json_int_t)now));
    }
    (void)k;
    snap_free(s);
    /* A change arrived while this snapshot was being read: read again. */
    if (c->dirty_agent) console_send_agent(c);
}

static void on_snapshot(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)arg;
    if (!conn_alive(c) || n < 5 || !res_ok(res[0])) {
        c->agent_inflight = false; /* dirty_agent, if set, is retried by the next sweep */
        return;
    }
    if (json_is_integer(res[4]) && json_integer_value(res[4]) == 0) {
        /* The session is gone (logout on a router whose notice we missed, or deleted). */
        c->agent_inflight = false;
        conn_send(c, json_pack("{s:s,s:s}", "t", "logged_out", "reason", "session revoked"));
        c->state = CONN_CLOSING;
        hilo_ws_close(c->ws, 4401, "logged out");
        return;
    }
    snap_t *s = hilo_xcalloc(1, sizeof *s);
    s->live = res_hash(res[0]);
    s->offers = json_is_array(res[1]) ? json_incref(res[1]) : json_array();
    s->convs = json_is_array(res[2]) ? json_incref(res[2]) : json_array();
    s->account = json_incref(res[3]);
    batch_t *b = batch_new(k, c, on_snapshot_items, s, snap_free);
    json_t *lists[2] = {s->offers, s->convs};
    int count = 0;
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *d;
        json_array_foreach(lists[l], i, d) {
            const char *id = json_string_value(d);
            if (!id || !console_debtor_ok(id) || count++ >= LIST_MAX) {
                json_array_remove(lists[l], i);
                i--;
                continue;
            }
            console_notice_row(b, id);
        }
    }
    console_notice_reads(b, c->agent, lists, 2);
    batch_run(b);
}

void console_send_agent(conn_t *c) {
    if (!conn_alive(c) || c->state != CONN_READY) return;
    if (c->agent_inflight) {
        c->dirty_agent = true;
        return;
    }
    c->dirty_agent = false;
    c->agent_inflight = true;
    c->snap_ms = hilo_now_ms();
    batch_t *b = batch_new(c->console, c, on_snapshot, NULL, NULL);
    batch_cmd(b, "HGETALL hilo:agent:%s:live", c->agent);
    batch_cmd(b, "SMEMBERS hilo:agent:%s:offers", c->agent);
    batch_cmd(b, "SMEMBERS hilo:agent:%s:convs", c->agent);
    batch_cmd(b, "HMGET hilo:agent:%s cap:whatsapp cap:sms cap:voice skills", c->agent);
    batch_cmd(b, "EXISTS hilo:session:%s", c->session);
    batch_run(b);
}

/* --- one conversation ----------------------------------------------------------------- */

bool console_may_read(const conn_t *c, const json_t *conv) {
    if (c->supervisor) return true;
    const char *a = jstr(conv, "agent"), *o = jstr(conv, "offer_agent");
    const char *st = jstr(conv, "state"), *last = jstr(conv, "last_agent");
    /* An agent reads back a conversation they closed (their "Closed" list) until someone else
     * takes it: read-only (may_write). */
    bool closed_by_me = st && strcmp(st, "closed") == 0 && last && strcmp(last, c->agent) == 0;
    return (a && strcmp(a, c->agent) == 0) || (o && strcmp(o, c->agent) == 0) || closed_by_me;
}

static bool may_write(const conn_t *c, const json_t *conv) {
    const char *a = jstr(conv, "agent"), *st = jstr(conv, "state");
    return a && strcmp(a, c->agent) == 0 && st && strcmp(st, "assigned") == 0;
}

static const char *fact(const void *record, const char *field) { return jstr(record, field); }

/* The gate's verdict for one channel of this conversation. */
static void gate_check(const hilo_console_t *k, const json_t *conv, const json_t *debtor, int ch, int64_t now,
                       bool call, hilo_verdict_t *v) {
    if (!k->gate) {
        hilo_verdict_block(v, HILO_REASON_NO_RULE_PACK, "compliance rules are not loaded on this router");
        return;
    }
    hilo_attempt_t a;
    hilo_attempt_load_facts(&a, fact, debtor, conv); /* the same facts as the engine's */
    a.channel = ch;
    a.kind = HILO_MSG_FREEFORM;
    /* An agent answering a debtor who wrote lately is not counted by the frequency cap, but
     * is the collector speaking all the same: contact hours apply (docs/compliance.md). */
    a.reply = !call; /* a click-to-call is never a reply: the call limits count it */
    a.bot = false;
    a.now_ms = now;
    hilo_compliance_check(k->gate, &a, v);
}

/* The debtor's address on a channel: where the debtor last wrote from on it, else (SMS, voice)
 * the first phone of the portfolio record. NULL when none. */
const char *console_debtor_address(const json_t *conv, const json_t *debtor, int ch, char *buf, size_t n) {
    char f[32];
    snprintf(f, sizeof f, "addr:%s", hilo_channel_name(ch));
    const char *a = jstr(conv, f);
    if (a && *a) return a;
    const char *phones = jstr(debtor, "phones");
    if ((ch == HILO_CHANNEL_SMS || ch == HILO_CHANNEL_VOICE) && phones && *phones) {
        snprintf(buf, n, "%.*s", (int)strcspn(phones, ";"), phones);
        return buf;
    }
    return NULL;
}

static void channel_state(const hilo_console_t *k, const json_t *conv, const json_t *debtor, int ch, int64_t now,
                          bool call, hilo_verdict_t *v, const char **to, char *buf, size_t n) {
    *to = console_debtor_address(conv, debtor, ch, buf, n);
    if (ch == HILO_CHANNEL_VOICE && !call) {
        hilo_verdict_block(v, HILO_REASON_INVALID, "calls are placed with the Call button (click-to-call)");
        return;
    }
    if (!*to) {
        hilo_verdict_block(v, HILO_REASON_INVALID, "no known address for the debtor on this channel");
        return;
    }
    gate_check(k, conv, debtor, ch, now, call, v);
}

static int64_t clock_now(const hilo_console_t *k, json_t *clock) {
    if (k->cfg->test_clock && json_is_string(clock)) return strtoll(json_string_value(clock), NULL, 10);
    return hilo_now_ms();
}

static json_t *items_of(const json_t *range, bool reverse) {
    json_t *out = json_array();
    size_t n = json_array_size(range);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(range, reverse ? n - 1 - i : i);
        const char *id = json_string_value(json_array_get(e, 0));
        json_t *f = res_hash(json_array_get(e, 1));
        const char *j = jstr(f, "j");
        json_t *item = j ? json_loads(j, 0, NULL) : NULL;
        if (json_is_object(item) && id) {
            json_object_set_new(item, "id", json_string(id));
            json_array_append(out, item);
        }
        json_decref(item);
        json_decref(f);
    }
    return out;
}

/* An outbound item's fate from the ostat hash: {"state", "reason", "text"} (a message the gate
 * cancelled at hand-off says why; docs/console-protocol.md). */
static void add_status(json_t *items, const json_t *ostat_reply) {
    json_t *ostat = res_hash(ostat_reply);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *oid = jstr(it, "oid");
        const char *raw = oid ? jstr(ostat, oid) : NULL;
        json_t *st = raw ? json_loads(raw, 0, NULL) : NULL;
        if (json_is_object(st) && jstr(st, "state")) {
            json_t *o = json_pack("{s:s}", "state", jstr(st, "state"));
            if (jstr(st, "reason")) json_object_set_new(o, "reason", json_string(jstr(st, "reason")));
            if (jstr(st, "error") && *jstr(st, "error")) json_object_set_new(o, "text", json_string(jstr(st, "error")));
            json_object_set_new(it, "status", o);
        }
        json_decref(st);
    }
    json_decref(ostat);
}

static const char *const conv_fields[] = {
    "state", "last_channel", "esc_reason", "esc_detail", "esc_topic", "queue", "esc_priority", "esc_ms", "agent",
    "offer_agent", "offer_deadline", "last_agent", "verified_ms", "disposition", "closed_ms", "assigned_ms",
    "callback_ms", "dnc", "unidentified", "msgs_in", "snoozed_until", "snoozed_in", "dispute_ms", "hardship_ms", NULL};
static const char *const debtor_fields[] = {"full_name", "balance", "currency", "days_past_due", "timezone",
                                            "country", "language", "phones", "email", NULL};

static void on_conv(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    char *debtor = arg;
    if (!conn_alive(c) || n < 7) goto out;
    json_t *conv = res_hash(res[0]), *deb = res_hash(res[1]);
    if (json_object_size(conv) == 0 || !console_may_read(c, conv)) {
        conn_unfollow(c, debtor);
        conn_send(c, json_pack("{s:s,s:s}", "t", "conv_gone", "debtor", debtor));
        json_decref(conv);
        json_decref(deb);
        goto out;
    }
    int64_t now = clock_now(k, n > 7 ? res[7] : NULL);
    json_t *cv = json_object(), *dv = json_object(), *chans = json_object(), *promises = json_array();
    for (const char *const *f = conv_fields; *f; f++)
        if (jstr(conv, *f)) json_object_set(cv, *f, json_object_get(conv, *f));
    for (const char *const *f = debtor_fields; *f; f++)
        if (jstr(deb, *f)) json_object_set(dv, *f, json_object_get(deb, *f));
    json_object_set_new(dv, "verified", json_boolean(num(conv, "verified_ms") > 0));
    json_object_set_new(dv, "portfolio", console_portfolio_attrs(deb));
    json_t *ph = res_hash(res[3]);
    const char *pk;
    json_t *pv;
    json_object_foreach(ph, pk, pv) {
        json_t *p = json_is_string(pv) ? json_loads(json_string_value(pv), 0, NULL) : NULL;
        if (json_is_object(p)) {
            json_object_set_new(p, "id", json_string(pk));
            json_array_append(promises, p);
        }
        json_decref(p);
    }
    json_decref(ph);
    bool writable = may_write(c, conv);
    const char *last = jstr(conv, "last_channel");
    const char *def = NULL;
    for (int i = 0; i < 3; i++) {
        int ch = hilo_channel_parse(channels[i]);
        hilo_verdict_t v;
        const char *to;
        char buf[64];
        channel_state(k, conv, deb, ch, now, false, &v, &to, buf, sizeof buf);
        json_object_set_new(chans, channels[i],
                            json_pack("{s:b,s:s,s:s,s:b}", "allowed", v.allowed, "reason", hilo_reason_name(v.reason),
                                      "text", v.allowed ? "" : v.text, "waitable",
                                      !v.allowed && to && hilo_reason_waitable(v.reason) && v.next_ms > 0));
        if (v.allowed && (!def || (last && strcmp(last, channels[i]) == 0))) def = channels[i];
    }
    /* The Call button (click-to-call, click_to_call.c): what the gate says of a call now. */
    hilo_verdict_t cv_;
    const char *cto;
    char cbuf[64];
    channel_state(k, conv, deb, HILO_CHANNEL_VOICE, now, true, &cv_, &cto, cbuf, sizeof cbuf);
    json_t *callv = json_pack("{s:b,s:s,s:s}", "allowed", cv_.allowed, "reason", hilo_reason_name(cv_.reason), "text",
                              cv_.allowed ? "" : cv_.text);
    json_t *m = json_pack("{s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:s?,s:I}", "t", "conv", "debtor", debtor, "readonly",
                          !writable, "conv", cv, "debtor_info", dv, "promises", promises, "channels", chans,
                          "default_channel", def ? def : last, "now", (json_int_t)now);
    json_object_set_new(m, "call", callv);
    json_t *items = items_of(res[2], true);
    add_status(items, res[5]);
    json_object_set_new(m, "items", items);
    json_object_set_new(m, "notes", items_of(res[4], true));
    /* The debtor's place in its outbound strategy and its last strategy events (strategies.c). */
    json_object_set_new(m, "wrapups", console_earlier_wrapups(res[6]));
    json_t *strat = console_strategy_of_debtor(k, conv, res[6]);
    json_object_set_new(m, "strategy", strat ? strat : json_null());
    conn_send(c, m);
    json_decref(conv);
    json_decref(deb);
out:
    free(debtor);
}

void console_send_conv(conn_t *c, const char *debtor) {
    hilo_console_t *k = c->console;
    if (!conn_alive(c)) return;
    char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX], hk[HILO_KEY_MAX], pk[HILO_KEY_MAX], nk[HILO_KEY_MAX], sk[HILO_KEY_MAX];
    key(sk, sizeof sk, debtor, HILO_KEY_OSTAT);
    key(ck, sizeof ck, debtor, HILO_KEY_CONV);
    key(dk, sizeof dk, debtor, HILO_KEY_DEBTOR);
    key(hk, sizeof hk, debtor, HILO_KEY_HIST);
    key(pk, sizeof pk, debtor, HILO_KEY_PROMISES);
    key(nk, sizeof nk, debtor, "notes");
    char ak[HILO_KEY_MAX];
    key(ak, sizeof ak, debtor, HILO_KEY_AUDIT);
    batch_t *b = batch_new(k, c, on_conv, hilo_xstrdup(debtor), free);
    batch_cmd(b, "HGETALL %s", ck);
    batch_cmd(b, "HGETALL %s", dk);
    batch_cmd(b, "XREVRANGE %s + - COUNT %lld", hk, (long long)THREAD_ITEMS);
    batch_cmd(b, "HGETALL %s", pk);
    batch_cmd(b, "XREVRANGE %s + - COUNT %lld", nk, (long long)NOTES_MAX);
    batch_cmd(b, "HGETALL %s", sk);
    batch_cmd(b, "XREVRANGE %s + - COUNT %lld", ak, (long long)CONSOLE_STRATEGY_AUDIT_SCAN);
    if (k->cfg->test_clock) batch_cmd(b, "GET " HILO_KEY_TEST_CLOCK);
    batch_run(b);
}

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
} open_t;

static void open_free(void *arg) {
    open_t *o = arg;
    json_decref(o->rid);
    free(o);
}

static void on_open_check(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    open_t *o = arg;
    if (!conn_alive(c)) goto out;
    if (n < 1 || !res_ok(res[0])) {
        conn_error(c, o->rid, "unavailable", "try again");
        goto out;
    }
    json_t *conv = res_hash(res[0]);
    bool ok = json_object_size(conv) > 0 && console_may_read(c, conv);
    json_decref(conv);
    if (!ok) {
        /* Same answer for "does not exist" and "not yours": ids are not probed. */
        conn_error(c, o->rid, "forbidden", "this conversation is not offered or assigned to you");
        goto out;
    }
    int slot = -1;
    for (int i = 0; i < CONSOLE_OPEN_MAX && slot < 0; i++)
        if (strcmp(c->open[i], o->debtor) == 0) slot = i;
    for (int i = 0; i < CONSOLE_OPEN_MAX && slot < 0; i++)
        if (!c->open[i][0]) slot = i;
    if (slot < 0) slot = 0; /* follow at most CONSOLE_OPEN_MAX: the oldest slot is reused */
    conn_follow(c, slot, o->debtor);
    console_access_record(c, o->debtor);
    conn_ok(c, o->rid, json_pack("{s:s}", "debtor", o->debtor));
    console_send_conv(c, o->debtor);
out:
    open_free(o);
}

void console_open_conv(conn_t *c, json_t *rid, const char *debtor) {
    char ck[HILO_KEY_MAX];
    key(ck, sizeof ck, debtor, HILO_KEY_CONV);
    open_t *o = hilo_xcalloc(1, sizeof *o);
    o->rid = json_incref(rid);
    snprintf(o->debtor, sizeof o->debtor, "%s", debtor);
    batch_t *b = batch_new(c->console, c, on_open_check, o, open_free);
    batch_cmd(b, "HGETALL %s", ck);
    batch_run(b);
}

/* --- replies -------------------------------------------------------------------------- */

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
    int channel;
    char *text;
    char to[64];
    hilo_outbound_record_t *rec;
    int64_t now;
    bool wait;          /* "wait": true — hold it until allowed instead of refusing it */
    bool waits;         /* refused now, committed to wait for its window */
    char bridge[160];   /* click-to-call: the agent's phone, rung first ("" = a message) */
} reply_t;

static void reply_free(reply_t *r) {
    json_decref(r->rid);
    free(r->text);
    hilo_outbound_record_destroy(&r->rec);
    free(r);
}

static void reply_free_arg(void *r) { reply_free(r); }

static void reply_blocked(hilo_console_t *k, conn_t *c, reply_t *r, const hilo_verdict_t *v) {
    char ak[HILO_KEY_MAX];
    key(ak, sizeof ak, r->debtor, HILO_KEY_AUDIT);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "channel", hilo_channel_name(r->channel), "reason",
                          hilo_reason_name(v->reason), "text", v->text, "by", "agent");
    char *js = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char by[96];
    snprintf(by, sizeof by, "agent:%s", c->agent);
    hilo_store_command(k->ctx->store, NULL, NULL, "XADD %s * ev blocked j %s by %s", ak, js, by);
    int64_t day, day_start;
    console_business_day(k, r->now ? r->now : hilo_now_ms(), &day, &day_start);
    hilo_store_command(k->ctx->store, NULL, NULL, "HINCRBY hilo:stats:%lld block:%s 1", (long long)day,
                       hilo_reason_name(v->reason));
    free(js);
    hilo_log_info("console", "event=reply_blocked agent=%s debtor=%s channel=%s reason=%s", c->agent, r->debtor,
                  hilo_channel_name(r->channel), hilo_reason_name(v->reason));
    json_t *m = json_pack("{s:s,s:b,s:s,s:s,s:s,s:b}", "t", "reply_result", "ok", 0, "channel",
                          hilo_channel_name(r->channel), "reason", hilo_reason_name(v->reason), "text", v->text,
                          "call", r->bridge[0] != '\0');
    if (v->next_ms) json_object_set_new(m, "next_ms", json_integer(v->next_ms));
    if (r->rid) json_object_set(m, "rid", r->rid);
    conn_send(c, m);
}

static void on_committed(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    reply_t *r = arg;
    if (n < 2 || !res_ok(res[0]) || !res_ok(res[1])) {
        hilo_log_error("console", "event=reply_commit_failed agent=%s debtor=%s", c->agent, r->debtor);
        conn_error(c, r->rid, "unavailable", "the reply was not stored; try again");
    } else {
        hilo_dispatch_kick_debtor(k->ctx->dispatch, r->channel, r->debtor);
        /* On its way to the debtor now (not held for a window): maybe the first response. */
        if (!r->waits) console_sla_responded(k, r->debtor, r->now);
        hilo_log_info("console", "event=reply agent=%s debtor=%s channel=%s oid=%s", c->agent, r->debtor,
                      hilo_channel_name(r->channel), hilo_outbound_record_id(r->rec));
        json_t *m = json_pack("{s:s,s:b,s:s,s:s,s:b,s:b}", "t", "reply_result", "ok", 1, "channel",
                              hilo_channel_name(r->channel), "oid", hilo_outbound_record_id(r->rec), "waits", r->waits,
                              "call", r->bridge[0] != '\0');
        if (r->rid) json_object_set(m, "rid", r->rid);
        conn_send(c, m);
    }
    reply_free(r);
}

/* Builds the record (its outbound id is also the frequency cap's attempt id, so that the gate at
 * hand-off counts the same message once). False after answering the agent. */
static bool build_reply(hilo_console_t *k, conn_t *c, reply_t *r) {
    char by[96];
    snprintf(by, sizeof by, "agent:%s", c->agent);
    /* A click-to-call is a contact the collector starts, whatever the debtor said last: never
     * judged as a reply (contact hours, the call limits). */
    hilo_outbound_spec_t spec = {.debtor_id = r->debtor, .channel = r->channel, .to = r->to, .text = r->text,
                                 .by = by, .reply = !r->bridge[0], .wait_window = r->wait, .bridge_from = r->bridge};
    /* Committed on the gate's clock (the test clock under [engine] test_clock), like the
     * debtor's messages: the thread's times agree (the dispatch index needs no clock: a commit
     * marks the debtor with score 0). */
    r->rec = hilo_outbound_record_new(&spec, r->now, k->cfg->history_max,
                                      hilo_store_sha(k->ctx->store, HILO_SCRIPT_COMMIT_OUTBOUND));
    if (!r->rec) {
        conn_error(c, r->rid, "bad_request", "the reply could not be built");
        reply_free(r);
        return false;
    }
    return true;
}

void console_outbound_commit(batch_t *b, hilo_outbound_record_t *rec, const char *debtor, int channel,
                             const char *by) {
    int argc;
    const char **argv;
    const size_t *lens;
    /* The mark in the dispatch index first, then the message (lib/outbox.lua). */
    hilo_outbound_record_index_argv(rec, &argc, &argv, &lens);
    batch_argv(b, argc, argv, lens);
    hilo_outbound_record_argv(rec, &argc, &argv, &lens);
    batch_argv(b, argc, argv, lens);
    /* And again after it: a sweep that found the queue empty in between may have removed the
     * first mark. */
    hilo_outbound_record_index_argv(rec, &argc, &argv, &lens);
    batch_argv(b, argc, argv, lens);
    hilo_outbound_record_listing_argv(rec, &argc, &argv, &lens);
    batch_argv(b, argc, argv, lens);
    char ak[HILO_KEY_MAX];
    key(ak, sizeof ak, debtor, HILO_KEY_AUDIT);
    batch_cmd(b, "XADD %s * ev outbound ch %s ref %s by %s", ak, hilo_channel_name(channel),
              hilo_outbound_record_id(rec), by);
}

static void commit_reply(hilo_console_t *k, conn_t *c, reply_t *r) {
    char by[96];
    snprintf(by, sizeof by, "agent:%s", c->agent);
    batch_t *b = batch_new(k, c, on_committed, r, reply_free_arg);
    console_outbound_commit(b, r->rec, r->debtor, r->channel, by);
    batch_run(b);
}

typedef struct {
    reply_t *r;
    hilo_cap_t cap;
} capctx_t;

static void on_cap(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    reply_t *r = arg;
    if (n < 1) {
        reply_free(r);
        return;
    }
    /* The freq_cap reply came back as JSON: {1, count, 0} allowed, {0, count, next} blocked. */
    json_t *a = res[0];
    if (!conn_alive(c)) {
        reply_free(r);
        return;
    }
    if (json_is_array(a) && json_integer_value(json_array_get(a, 0)) == 1) {
        commit_reply(k, c, r);
        return;
    }
    hilo_verdict_t v;
    if (json_is_array(a))
        hilo_verdict_block(&v, HILO_REASON_FREQUENCY_CAP, "too many contact attempts on this channel; try later");
    else
        hilo_verdict_block(&v, HILO_REASON_CAP_FAILED, "the frequency cap could not be checked");
    v.next_ms = json_integer_value(json_array_get(a, 2));
    if (r->wait && hilo_reason_waitable(v.reason) && v.next_ms > 0) {
        r->waits = true;
        commit_reply(k, c, r); /* held by the gate at hand-off until the cap allows it */
        return;
    }
    reply_blocked(k, c, r, &v);
    reply_free(r);
}

static void on_reply_facts(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    reply_t *r = arg;
    if (!conn_alive(c) || n < 2 || !res_ok(res[0])) {
        if (conn_alive(c)) conn_error(c, r->rid, "unavailable", "try again");
        reply_free(r);
        return;
    }
    json_t *conv = res_hash(res[0]), *deb = res_hash(res[1]);
    if (!may_write(c, conv)) {
        conn_error(c, r->rid, "forbidden", "only the assigned agent may reply");
        reply_free(r);
    } else {
        r->now = clock_now(k, n > 2 ? res[2] : NULL);
        hilo_verdict_t v;
        const char *to;
        char buf[64];
        channel_state(k, conv, deb, r->channel, r->now, r->bridge[0] != '\0', &v, &to, buf, sizeof buf);
        if (to) snprintf(r->to, sizeof r->to, "%s", to);
        bool waits = !v.allowed && r->wait && to && hilo_reason_waitable(v.reason) && v.next_ms > 0;
        if (!v.allowed && !waits) {
            reply_blocked(k, c, r, &v);
            reply_free(r);
        } else if (!build_reply(k, c, r)) {
            /* answered */
        } else if (waits) {
            r->waits = true;
            commit_reply(k, c, r); /* held by the gate at hand-off until its window opens */
        } else if (v.cap.limit > 0) {
            /* Collector-initiated (the debtor has not written lately): the cap decides last,
             * counting the message by its outbound id, as the gate at hand-off does. */
            hilo_freq_cap_cmd_t cmd;
            char err[128];
            if (hilo_freq_cap_command(&cmd, hilo_store_sha(k->ctx->store, HILO_SCRIPT_FREQ_CAP), r->debtor, r->channel,
                                      v.cap, r->now, hilo_outbound_record_id(r->rec), err, sizeof err) != HILO_OK) {
                hilo_verdict_block(&v, HILO_REASON_CAP_FAILED, "the frequency cap could not be checked");
                reply_blocked(k, c, r, &v);
                reply_free(r);
            } else {
                batch_t *b = batch_new(k, c, on_cap, r, reply_free_arg);
                batch_argv(b, cmd.argc, cmd.argv, cmd.argvlen);
                batch_run(b);
            }
        } else {
            commit_reply(k, c, r);
        }
    }
    json_decref(conv);
    json_decref(deb);
}

void console_reply(conn_t *c, json_t *rid, const char *debtor, const char *channel, const char *text, bool wait) {
    console_reply_or_call(c, rid, debtor, channel, text, wait, NULL);
}

void console_reply_or_call(conn_t *c, json_t *rid, const char *debtor, const char *channel, const char *text,
                           bool wait, const char *bridge) {
    int ch = channel ? hilo_channel_parse(channel) : 0;
    if (!ch || !text || !*text || strlen(text) > REPLY_MAX) {
        conn_error(c, rid, "bad_request", "\"channel\" (whatsapp|sms|voice) and a non-empty \"text\" are required");
        return;
    }
    reply_t *r = hilo_xcalloc(1, sizeof *r);
    if (bridge) snprintf(r->bridge, sizeof r->bridge, "%s", bridge);
    r->rid = json_incref(rid);
    snprintf(r->debtor, sizeof r->debtor, "%s", debtor);
    r->channel = ch;
    r->text = hilo_xstrdup(text);
    r->wait = wait;
    char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX];
    key(ck, sizeof ck, debtor, HILO_KEY_CONV);
    key(dk, sizeof dk, debtor, HILO_KEY_DEBTOR);
    batch_t *b = batch_new(c->console, c, on_reply_facts, r, reply_free_arg);
    batch_cmd(b, "HGETALL %s", ck);
    batch_cmd(b, "HGETALL %s", dk);
    if (c->console->cfg->test_clock) batch_cmd(b, "GET " HILO_KEY_TEST_CLOCK);
    batch_run(b);
}

/* --- private notes -------------------------------------------------------------------- */

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
    char *text;
} note_t;

static void note_free(void *arg) {
    note_t *o = arg;
    json_decref(o->rid);
    free(o->text);
    free(o);
}

static void on_note_done(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    note_t *o = arg;
    if (n >= 1 && res_ok(res[0])) conn_ok(c, o->rid, json_pack("{s:s}", "debtor", o->debtor));
    else conn_error(c, o->rid, "unavailable", "the note was not stored");
    note_free(o);
}

static void on_note_check(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    note_t *o = arg;
    json_t *conv = n >= 1 ? res_hash(res[0]) : json_object();
    if (!conn_alive(c) || !console_may_read(c, conv) || json_object_size(conv) == 0) {
        conn_error(c, o->rid, "forbidden", "this conversation is not offered or assigned to you");
        json_decref(conv);
        note_free(o);
        return;
    }
    json_decref(conv);
    char nk[HILO_KEY_MAX], by[96];
    key(nk, sizeof nk, o->debtor, "notes");
    snprintf(by, sizeof by, "agent:%s", c->agent);
    json_t *j = json_pack("{s:s,s:s,s:I}", "by", by, "text", o->text, "ms", (json_int_t)hilo_now_ms());
    char *js = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    batch_t *b = batch_new(k, c, on_note_done, o, note_free);
    batch_cmd(b, "XADD %s MAXLEN ~ 1000 * j %s", nk, js);
    batch_cmd(b, "XADD hilo:console:events MAXLEN ~ 10000 * k note a %s d %s", "", o->debtor);
    batch_run(b);
    free(js);
}

void console_note(conn_t *c, json_t *rid, const char *debtor, const char *text) {
    if (!text || !*text || strlen(text) > NOTE_MAX) {
        conn_error(c, rid, "bad_request", "a non-empty \"text\" is required");
        return;
    }
    note_t *o = hilo_xcalloc(1, sizeof *o);
    o->rid = json_incref(rid);
    snprintf(o->debtor, sizeof o->debtor, "%s", debtor);
    o->text = hilo_xstrdup(text);
    char ck[HILO_KEY_MAX];
    key(ck, sizeof ck, debtor, HILO_KEY_CONV);
    batch_t *b = batch_new(c->console, c, on_note_check, o, note_free);
    batch_cmd(b, "HGETALL %s", ck);
    batch_run(b);
}
