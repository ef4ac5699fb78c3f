/* notice.c — what makes an agent notice a conversation: in the agent snapshot (views.c) each
 * conversation carries a preview of its newest thread item and, for the agent's own, how many
 * of the debtor's messages they have not read; the page turns these into badges, the count in
 * the tab's title, a sound and a desktop notification (router/console/notice.js). The read
 * mark is the debtor's inbound count (conv msgs_in) the agent has seen, kept per agent in
 * hilo:{a:<id>}:read (debtor -> count; the key expires READ_KEEP_S after its last write), and
 * set by {"t":"read"} when the page shows the thread. docs/console-protocol.md, "Unread". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define PREVIEW_MAX 120                 /* bytes of a preview, cut at a character boundary */
#define READ_KEEP_S (30 * 86400)        /* an agent's read marks outlive 30 idle days */

static void read_key(char *buf, size_t n, const char *agent) { snprintf(buf, n, "hilo:{a:%s}:read", agent); }

/* One command per listed conversation (a snapshot lists up to 30 and a batch holds 64): the
 * conversation's fields, the debtor's name and the newest thread item, all on the debtor's slot. */
static const char ROW_SCRIPT[] =
    "local f = redis.call('HMGET', KEYS[1], 'state', 'last_channel', 'esc_reason', 'esc_detail', 'queue', "
    "'esc_priority', 'esc_ms', 'offer_agent', 'agent', 'offer_deadline', 'updated_ms', 'last_in_ms', 'msgs_in', "
    "'snoozed_until', 'snoozed_in') "
    "local h = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1) "
    "local j = false "
    "if h[1] then for i = 1, #h[1][2], 2 do if h[1][2][i] == 'j' then j = h[1][2][i + 1] end end end "
    "return {f, redis.call('HGET', KEYS[2], 'full_name'), j}";

void console_notice_row(batch_t *b, const char *debtor) {
    char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX], hk[HILO_KEY_MAX];
    if (hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV) < 0 ||
        hilo_key_debtor(dk, sizeof dk, debtor, HILO_KEY_DEBTOR) < 0 ||
        hilo_key_debtor(hk, sizeof hk, debtor, HILO_KEY_HIST) < 0)
        snprintf(ck, sizeof ck, "hilo:invalid"), snprintf(dk, sizeof dk, "hilo:invalid"),
            snprintf(hk, sizeof hk, "hilo:invalid");
    const char *argv[] = {"EVAL", ROW_SCRIPT, "3", ck, dk, hk};
    batch_argv(b, (int)(sizeof argv / sizeof *argv), argv, NULL);
}

/* The agent's read marks of every listed conversation, in the lists' order: one HMGET (none
 * when nothing is listed). */
void console_notice_reads(batch_t *b, const char *agent, json_t *const *lists, int nlists) {
    size_t total = 0;
    for (int l = 0; l < nlists; l++) total += json_array_size(lists[l]);
    if (total == 0) return;
    const char **argv = hilo_xmalloc((total + 2) * sizeof *argv);
    char rk[HILO_KEY_MAX];
    read_key(rk, sizeof rk, agent);
    int argc = 0;
    argv[argc++] = "HMGET";
    argv[argc++] = rk;
    for (int l = 0; l < nlists; l++) {
        size_t i;
        json_t *d;
        json_array_foreach(lists[l], i, d) argv[argc++] = json_string_value(d);
    }
    batch_argv(b, argc, argv, NULL);
    free(argv);
}

/* The newest thread item as a line: its text, or what happened on a call. */
static void preview_of(const json_t *item, char *out, size_t outlen) {
    const char *text = jstr(item, "text");
    const json_t *voice = json_object_get(item, "voice");
    out[0] = '\0';
    if (text && *text) {
        snprintf(out, outlen, "%s", text);
    } else if (voice) {
        const char *ev = jstr(voice, "event"), *said = jstr(voice, "speech"), *digits = jstr(voice, "digits");
        if (said && *said) snprintf(out, outlen, "%s", said);
        else if (digits && *digits) snprintf(out, outlen, "keys %s", digits);
        else snprintf(out, outlen, "call %s", ev && strcmp(ev, "call_end") == 0 ? "ended" : "started");
    }
    /* Cut at a character boundary, then one line. */
    size_t n = strlen(out);
    if (n >= outlen - 1)
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80) out[--n] = '\0';
    if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0) out[--n] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
}

static long long field_num(const json_t *f, size_t i) {
    const char *v = json_string_value(json_array_get(f, i));
    return v ? strtoll(v, NULL, 10) : 0;
}

void console_notice_apply(json_t *entry, const json_t *f, const json_t *read, const json_t *newest, bool own) {
    /* f: ROW_SCRIPT's fields (msgs_in at 12, snoozed_until 13, snoozed_in 14); newest: the
     * item's JSON (a string), or false when the thread is empty */
    if (own) {
        long long in = field_num(f, 12);
        const char *r = json_string_value(read);
        long long seen = r ? strtoll(r, NULL, 10) : 0;
        json_object_set_new(entry, "unread", json_integer(in > seen ? in - seen : 0));
        json_object_set_new(entry, "msgs_in", json_integer(in));
        /* Snoozed until that time, or until the debtor writes again (by count, not clock). */
        long long until = field_num(f, 13);
        if (until > hilo_now_ms() && in <= field_num(f, 14))
            json_object_set_new(entry, "snoozed_until", json_integer(until));
    }
    json_t *item = json_is_string(newest) ? json_loads(json_string_value(newest), 0, NULL) : NULL;
    char line[PREVIEW_MAX + 1];
    if (item) preview_of(item, line, sizeof line);
    if (item && line[0]) {
        const char *dir = jstr(item, "dir"), *by = jstr(item, "by");
        /* json_string refuses bytes that are not UTF-8: the preview is then left out. */
        json_t *p = json_string(line);
        if (p) {
            json_object_set_new(entry, "preview", p);
            json_object_set_new(entry, "preview_from", json_string(dir && strcmp(dir, "in") == 0 ? "debtor"
                                                                   : by && strcmp(by, "bot") == 0 ? "bot"
                                                                                                  : "us"));
        }
    }
    json_decref(item);
}

static void on_read(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    json_t *rid = arg;
    if (n >= 1 && res_ok(res[0])) conn_ok(c, rid, NULL);
    else conn_error(c, rid, "unavailable", "try again");
    json_decref(rid);
}

/* {"t":"read","debtor","upto"}: the agent has seen the debtor's messages up to that inbound
 * count. Only the agent's own mark is written; it never goes down (an older page's late
 * message does not bring unread messages back). */
void console_read(conn_t *c, json_t *rid, const char *debtor, json_t *upto) {
    if (!json_is_integer(upto) || json_integer_value(upto) < 0 || json_integer_value(upto) > ((json_int_t)1 << 40)) {
        conn_error(c, rid, "bad_request", "upto: the debtor's inbound count seen, a whole number");
        return;
    }
    char rk[HILO_KEY_MAX], v[24], keep[24];
    read_key(rk, sizeof rk, c->agent);
    snprintf(v, sizeof v, "%lld", (long long)json_integer_value(upto));
    snprintf(keep, sizeof keep, "%d", READ_KEEP_S);
    batch_t *b = batch_new(c->console, c, on_read, json_incref(rid), batch_free_json);
    const char *argv[] = {"EVAL",
                          "local o = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0 "
                          "if tonumber(ARGV[2]) > o then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end "
                          "redis.call('EXPIRE', KEYS[1], ARGV[3]) return 1",
                          "1", rk, debtor, v, keep};
    batch_argv(b, (int)(sizeof argv / sizeof *argv), argv, NULL);
    batch_run(b);
}

/* --- snooze: out of "Waiting on me" until a time or the debtor's next message ------------- */

static void on_snoozed(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    json_t *rid = arg;
    if (n < 1 || !res_ok(res[0])) conn_error(c, rid, "unavailable", "try again");
    else if (json_integer_value(res[0]) != 1) conn_error(c, rid, "not_assigned", "not_assigned");
    else {
        conn_ok(c, rid, NULL);
        console_send_agent_of(k, c->agent);
    }
    json_decref(rid);
}

/* {"t":"snooze","debtor","minutes"}: the agent's own conversation leaves "Waiting on me" for that
 * many minutes (1 to 7 days' worth), or until the debtor writes again; 0 wakes it. Real time (the
 * page counts it down). */
void console_snooze(conn_t *c, json_t *rid, const char *debtor, json_t *minutes) {
    if (!json_is_integer(minutes) || json_integer_value(minutes) < 0 || json_integer_value(minutes) > 7 * 24 * 60) {
        conn_error(c, rid, "bad_request", "minutes: 0 (wake it) to 10080 (a week)");
        return;
    }
    char ck[HILO_KEY_MAX], until[24];
    if (hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV) < 0) {
        conn_error(c, rid, "bad_request", "\"debtor\" must be a debtor id");
        return;
    }
    json_int_t m = json_integer_value(minutes);
    snprintf(until, sizeof until, "%lld", m ? (long long)(hilo_now_ms() + m * 60000) : 0LL);
    batch_t *b = batch_new(c->console, c, on_snoozed, json_incref(rid), batch_free_json);
    const char *argv[] = {"EVAL",
                          "local f = redis.call('HMGET', KEYS[1], 'state', 'agent', 'msgs_in') "
                          "if f[1] ~= 'assigned' or f[2] ~= ARGV[1] then return 0 end "
                          "if ARGV[2] == '0' then redis.call('HDEL', KEYS[1], 'snoozed_until', 'snoozed_in') "
                          "else redis.call('HSET', KEYS[1], 'snoozed_until', ARGV[2], 'snoozed_in', f[3] or '0') end "
                          "return 1",
                          "1", ck, c->agent, until};
    batch_argv(b, (int)(sizeof argv / sizeof *argv), argv, NULL);
    batch_run(b);
}

/* --- the agent's "Closed" list ------------------------------------------------------------ */

#define CLOSED_LIST_MAX 30

static void on_closed_rows(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    json_t **ctx = arg; /* {rid, [[debtor, closed_ms], ...]} */
    json_t *rid = ctx[0], *ids = ctx[1], *list = json_array();
    for (size_t i = 0; i < json_array_size(ids) && (int)(2 * i + 1) < n; i++) {
        const json_t *f = res[2 * i];
        const char *st = json_string_value(json_array_get(f, 0)), *last = json_string_value(json_array_get(f, 2));
        json_t *e = json_pack("{s:O,s:O}", "debtor", json_array_get(json_array_get(ids, i), 0), "closed_ms",
                              json_array_get(json_array_get(ids, i), 1));
        json_t *disp = json_loads(json_string_value(json_array_get(f, 1)) ?: "", 0, NULL);
        if (jstr(disp, "code")) json_object_set_new(e, "disposition", json_string(jstr(disp, "code")));
        json_decref(disp);
        if (json_is_string(res[2 * i + 1])) json_object_set(e, "name", res[2 * i + 1]);
        /* Reopened, or taken by someone else since: listed, but no longer theirs to read. */
        json_object_set_new(e, "state", json_string(st ? st : "gone"));
        json_object_set_new(e, "readable", json_boolean(st && strcmp(st, "closed") == 0 && last &&
                                                        strcmp(last, c->agent) == 0));
        json_array_append_new(list, e);
    }
    conn_ok(c, rid, json_pack("{s:o}", "closed", list));
    json_decref(rid);
    json_decref(ids);
    free(ctx);
}

static void closed_free(void *arg) {
    json_t **ctx = arg;
    json_decref(ctx[0]);
    json_decref(ctx[1]);
    free(ctx);
}

static void on_closed_ids(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    json_t *rid = arg;
    if (n < 1 || !json_is_array(res[0])) {
        conn_error(c, rid, "unavailable", "try again");
        json_decref(rid);
        return;
    }
    json_t *ids = json_array();
    for (size_t i = 0; i + 1 < json_array_size(res[0]); i += 2) {
        const char *d = json_string_value(json_array_get(res[0], i));
        const char *ms = json_string_value(json_array_get(res[0], i + 1));
        if (d && console_debtor_ok(d)) json_array_append_new(ids, json_pack("[s,I]", d, (json_int_t)(ms ? strtoll(ms, NULL, 10) : 0)));
    }
    json_t **ctx = hilo_xcalloc(2, sizeof *ctx);
    ctx[0] = rid, ctx[1] = ids;
    batch_t *b = batch_new(k, c, on_closed_rows, ctx, closed_free);
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *d = json_string_value(json_array_get(json_array_get(ids, i), 0));
        char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX];
        hilo_key_debtor(ck, sizeof ck, d, HILO_KEY_CONV);
        hilo_key_debtor(dk, sizeof dk, d, HILO_KEY_DEBTOR);
        batch_cmd(b, "HMGET %s state disposition last_agent", ck);
        batch_cmd(b, "HGET %s full_name", dk);
    }
    batch_run(b);
}

/* {"t":"closed"}: the conversations this agent closed, newest first (at most 30). */
void console_closed_list(conn_t *c, json_t *rid) {
    char key[HILO_KEY_MAX];
    snprintf(key, sizeof key, "hilo:{a:%s}:closed", c->agent);
    batch_t *b = batch_new(c->console, c, on_closed_ids, json_incref(rid), batch_free_json);
    batch_cmd(b, "ZREVRANGE %s 0 %lld WITHSCORES", key, (long long)(CLOSED_LIST_MAX - 1));
    batch_run(b);
}
