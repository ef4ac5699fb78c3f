/* takeover.c — a supervisor's hand on a conversation (docs/console-protocol.md, "Take over and
 * whisper"): take it over (agent_ops.lua op takeover, through routing.c's console_op: atomic on
 * the conversation with the capacity and the queue), and whisper a note to the agent who handles
 * it (stored with the conversation's private notes, marked as a whisper from that supervisor,
 * pushed live to that agent's consoles; never on a debtor's channel). Also the console's entry
 * for the supervisor's powers (console_admin_dispatch, with admin_view.c) and the events they
 * write (`taken`, `whisper`) turned into messages for the agent's sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define WHISPER_MAX 2000   /* bytes of a whisper's text (a private note's limit) */
#define NOTES_KEEP "1000"  /* entries kept in a conversation's notes stream (views.c keeps the same) */

/* --- whisper ---------------------------------------------------------------------------- */

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
    char to[CONSOLE_ID_MAX + 1];   /* the agent who handles the conversation (set once read) */
    char *text;
} whisper_t;

static void whisper_free(void *arg) {
    whisper_t *w = arg;
    json_decref(w->rid);
    free(w->text);
    free(w);
}

static void on_whispered(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    whisper_t *w = arg;
    if (n >= 1 && res_ok(res[0])) {
        hilo_log_info("console", "event=whisper by=%s agent=%s debtor=%s", c->agent, w->to, w->debtor);
        conn_ok(c, w->rid, json_pack("{s:s,s:s}", "debtor", w->debtor, "to", w->to));
    } else {
        conn_error(c, w->rid, "unavailable", "the whisper was not stored; try again");
    }
    whisper_free(w);
}

/* The conversation is read first: the whisper goes to whoever holds it (assigned, else offered). */
static void on_whisper_conv(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    whisper_t *w = arg;
    if (!conn_alive(c)) goto out;
    if (n < 1 || !res_ok(res[0])) {
        conn_error(c, w->rid, "unavailable", "try again");
        goto out;
    }
    json_t *conv = res_hash(res[0]);
    const char *to = jstr(conv, "agent") ? jstr(conv, "agent") : jstr(conv, "offer_agent");
    if (json_object_size(conv) == 0) {
        conn_error(c, w->rid, "not_found", "There is no such conversation.");
    } else if (!to || !console_agent_id_ok(to)) {
        conn_error(c, w->rid, "no_agent", "No agent handles this conversation: take it over or reassign it first.");
    } else if (strcmp(to, c->agent) == 0) {
        conn_error(c, w->rid, "no_agent", "You hold this conversation yourself: write a note instead.");
    } else {
        snprintf(w->to, sizeof w->to, "%s", to);
        char nk[HILO_KEY_MAX], ak[HILO_KEY_MAX], by[96], ms[24];
        hilo_key_debtor(nk, sizeof nk, w->debtor, "notes");
        hilo_key_debtor(ak, sizeof ak, w->debtor, HILO_KEY_AUDIT);
        snprintf(by, sizeof by, "supervisor:%s", c->agent);
        int64_t now = hilo_now_ms();
        snprintf(ms, sizeof ms, "%lld", (long long)now);
        json_t *note = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "by", by, "kind", "whisper", "from", c->agent,
                                 "from_name", c->name, "to", w->to, "text", w->text, "ms", (json_int_t)now);
        json_t *aud = json_pack("{s:s,s:s,s:I}", "by", c->agent, "to", w->to, "ms", (json_int_t)now);
        char *nj = json_dumps(note, JSON_COMPACT), *aj = json_dumps(aud, JSON_COMPACT);
        json_decref(note);
        json_decref(aud);
        /* Each command on its own slot: the note and the audit entry on the debtor's, the event
         * on the console's stream. The note is what survives a reload; the event only makes it
         * live (a router that misses it still shows the note with the conversation). */
        batch_t *b = batch_new(k, c, on_whispered, w, whisper_free);
        const char *n_argv[] = {"XADD", nk, "MAXLEN", "~", NOTES_KEEP, "*", "j", nj};
        batch_argv(b, 8, n_argv, NULL);
        const char *a_argv[] = {"XADD", ak, "*", "ev", "whisper", "j", aj};
        batch_argv(b, 7, a_argv, NULL);
        const char *e_argv[] = {"XADD", "hilo:console:events", "MAXLEN", "~", "10000", "*", "k", "whisper",
                                "a", w->to, "d", w->debtor, "by", c->agent, "n", c->name, "x", w->text};
        batch_argv(b, 18, e_argv, NULL);
        batch_run(b);
        free(nj);
        free(aj);
        json_decref(conv);
        return;
    }
    json_decref(conv);
out:
    whisper_free(w);
}

static void whisper(conn_t *c, json_t *rid, const char *debtor, const char *text) {
    if (!text || !*text || strlen(text) > WHISPER_MAX) {
        conn_error(c, rid, "bad_request", "a non-empty \"text\" of at most 2000 bytes is required");
        return;
    }
    whisper_t *w = hilo_xcalloc(1, sizeof *w);
    w->rid = json_incref(rid);
    snprintf(w->debtor, sizeof w->debtor, "%s", debtor);
    w->text = hilo_xstrdup(text);
    char ck[HILO_KEY_MAX];
    hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV);
    batch_t *b = batch_new(c->console, c, on_whisper_conv, w, whisper_free);
    batch_cmd(b, "HGETALL %s", ck);
    batch_run(b);
}

/* --- the events, for the agent's sockets ------------------------------------------------- */

void console_admin_event(hilo_console_t *k, const char *kind, const json_t *f) {
    bool taken = strcmp(kind, "taken") == 0, whispered = strcmp(kind, "whisper") == 0;
    bool unanswered = strcmp(kind, "call_unanswered") == 0; /* agent_ops.lua op call_unanswered */
    const char *a = jstr(f, "a"), *d = jstr(f, "d"), *by = jstr(f, "by"), *name = jstr(f, "n");
    if ((!taken && !whispered && !unanswered) || !a || !d || !by) return;
    for (conn_t *c = k->conns; c; c = c->next) {
        if (c->state != CONN_READY || !c->ws || strcmp(c->agent, a) != 0) continue;
        if (unanswered) {
            /* The agent's phone did not answer the caller: it went back to the queue. Said
             * before the bare conv_gone of the unassignment, as for a take-over. */
            conn_unfollow(c, d);
            conn_send(c, json_pack("{s:s,s:s,s:s,s:s}", "t", "conv_gone", "debtor", d, "reason", "call_unanswered",
                                   "name", name ? name : d));
        } else if (taken) {
            /* Told before the generic event handling would send a bare conv_gone: the agent
             * stops following it here, and learns who has it now. */
            conn_unfollow(c, d);
            conn_send(c, json_pack("{s:s,s:s,s:s,s:s,s:s}", "t", "conv_gone", "debtor", d, "reason", "taken_over", "by",
                                   by, "by_name", name ? name : by));
        } else {
            const char *x = jstr(f, "x");
            conn_send(c, json_pack("{s:s,s:s,s:s,s:s,s:s}", "t", "whisper", "debtor", d, "from", by, "from_name",
                                   name ? name : by, "text", x ? x : ""));
        }
    }
}

/* --- the entry ---------------------------------------------------------------------------- */

bool console_admin_dispatch(conn_t *c, json_t *rid, const char *t, json_t *m) {
    static const char *const types[] = {"takeover", "whisper", "admin", "agent_disable", "agent_enable",
                                        "agent_logout", NULL};
    int i = 0;
    while (types[i] && strcmp(types[i], t) != 0) i++;
    if (!types[i]) return false;
    if (!c->supervisor) {
        hilo_log_info("console", "event=refused op=%s agent=%s reason=not_a_supervisor", t, c->agent);
        conn_error(c, rid, "forbidden", "supervisors only");
        return true;
    }
    const char *debtor = jstr(m, "debtor");
    if (i <= 1 && !console_debtor_ok(debtor)) {
        conn_error(c, rid, "bad_request", "\"debtor\" must be a debtor id");
    } else if (i == 0) {
        json_t *args = json_object();
        console_op(c, rid, "takeover", debtor, args);
        json_decref(args);
    } else if (i == 1) {
        whisper(c, rid, debtor, jstr(m, "text"));
    } else if (i == 2) {
        console_admin_view(c, rid);
    } else {
        console_agent_account(c, rid, t + strlen("agent_"), jstr(m, "agent"));
    }
    return true;
}
