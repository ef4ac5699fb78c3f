/* access_log.c — who opened which debtor's record, when (docs/console-protocol.md, "The access
 * log"). Every successful `open` adds one entry to the debtor's stream hilo:{d:<id>}:access and
 * one to the person's hilo:{a:<id>}:access (two commands, each on its own slot, each capped at
 * ACCESS_MAX entries); supervisors read either with {"t":"access_log"} or `hilo access-log`.
 * Entries: a (the person), r (their role then), d (the debtor), ms (router time); the stream
 * id is Redis's time of the write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define ACCESS_MAX 10000       /* entries kept per debtor and per person (MAXLEN ~) */
#define ACCESS_READ_MAX 500    /* entries one request may read */

static void on_written(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k, (void)arg;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i]))
            hilo_log_warn("console", "event=access_log_failed agent=%s reply=\"%s\"", c ? c->agent : "?",
                          res[i] ? jstr(res[i], "error") : "no reply");
}

void console_access_record(conn_t *c, const char *debtor) {
    hilo_console_t *k = c->console;
    char dk[HILO_KEY_MAX], ak[160], ms[24], cap[24];
    snprintf(dk, sizeof dk, "hilo:{d:%s}:access", debtor);
    snprintf(ak, sizeof ak, "hilo:{a:%s}:access", c->agent);
    snprintf(ms, sizeof ms, "%lld", (long long)hilo_now_ms());
    snprintf(cap, sizeof cap, "%d", ACCESS_MAX);
    const char *role = c->supervisor ? "supervisor" : "agent";
    batch_t *b = batch_new(k, c, on_written, NULL, NULL);
    const char *d_argv[] = {"XADD", dk, "MAXLEN", "~", cap, "*", "a", c->agent, "r", role, "d", debtor, "ms", ms};
    batch_argv(b, 14, d_argv, NULL);
    const char *a_argv[] = {"XADD", ak, "MAXLEN", "~", cap, "*", "a", c->agent, "r", role, "d", debtor, "ms", ms};
    batch_argv(b, 14, a_argv, NULL);
    batch_run(b);
}

typedef struct {
    json_t *rid;
    char agent[CONSOLE_ID_MAX + 1]; /* with a debtor: only this person's entries ("" = all) */
} read_t;

static void read_free(void *arg) {
    read_t *r = arg;
    json_decref(r->rid);
    free(r);
}

static void on_read(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    read_t *rd = arg;
    if (n < 1 || !json_is_array(res[0])) {
        conn_error(c, rd->rid, "unavailable", "try again");
        read_free(rd);
        return;
    }
    json_t *entries = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(res[0], i, e) {
        json_t *f = res_hash(json_array_get(e, 1));
        const char *a = jstr(f, "a"), *ms = jstr(f, "ms");
        if (a && (!rd->agent[0] || strcmp(a, rd->agent) == 0))
            json_array_append_new(entries, json_pack("{s:s,s:s?,s:s?,s:I,s:s?}", "agent", a, "role", jstr(f, "r"),
                                                     "debtor", jstr(f, "d"), "ms",
                                                     (json_int_t)(ms ? strtoll(ms, NULL, 10) : 0), "id",
                                                     json_string_value(json_array_get(e, 0))));
        json_decref(f);
    }
    conn_ok(c, rd->rid, json_pack("{s:o}", "entries", entries));
    read_free(rd);
}

/* {"t":"access_log", "debtor"?, "agent"?, "limit"?}: newest first, supervisors only. */
void console_access_read(conn_t *c, json_t *rid, const char *debtor, const char *agent, json_int_t limit) {
    if (!c->supervisor) {
        conn_error(c, rid, "forbidden", "supervisors only");
        return;
    }
    if ((!debtor && !agent) || (debtor && !console_debtor_ok(debtor)) || (agent && !console_agent_id_ok(agent))) {
        conn_error(c, rid, "bad_request", "a \"debtor\" id or an \"agent\" id is required");
        return;
    }
    if (limit <= 0 || limit > ACCESS_READ_MAX) limit = limit <= 0 ? 100 : ACCESS_READ_MAX;
    read_t *rd = hilo_xcalloc(1, sizeof *rd);
    rd->rid = json_incref(rid);
    if (debtor && agent) snprintf(rd->agent, sizeof rd->agent, "%s", agent);
    char key[HILO_KEY_MAX + 32], count[24];
    if (debtor) snprintf(key, sizeof key, "hilo:{d:%s}:access", debtor);
    else snprintf(key, sizeof key, "hilo:{a:%s}:access", agent);
    /* With both, the debtor's stream filtered: its newest `limit` entries, then this person's. */
    snprintf(count, sizeof count, "%lld", (long long)limit);
    batch_t *b = batch_new(c->console, c, on_read, rd, read_free);
    const char *argv[] = {"XREVRANGE", key, "+", "-", "COUNT", count};
    batch_argv(b, 6, argv, NULL);
    batch_run(b);
}
