/* outbound_record.h — one outbound message, prepared for commit_outbound.lua: the outbound id,
 * the history item JSON, the serialized Outbound and the EVALSHA argument vector, without any
 * I/O, so the router (hiredis async) and the hilo CLI (hiredis sync) commit a reply the same way.
 * A record owns every string its argv points to; the argv stays valid until destroy.
 * Callers: router/src/engine.c (bot replies), router/src/console (agent replies), router/cli (hilo send). */
#ifndef HILO_OUTBOUND_RECORD_H
#define HILO_OUTBOUND_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to send. Every string is borrowed: new() copies what it keeps. */
typedef struct {
    const char *debtor_id; /* a valid debtor id, or an unidentified contact "u:<E.164>" */
    int channel;           /* HILO_CHANNEL_WHATSAPP, _SMS or _VOICE (hilo/frame.h) */
    const char *to;        /* the debtor's address on that channel (E.164, wa_id) */
    const char *text;      /* the message text, UTF-8, not empty */
    const char *by;        /* who wrote it: "bot", "agent:<id>", "cli" */
    const char *language;  /* optional (NULL or ""): BCP 47 language of the text */
    /* Optional reply buttons (WhatsApp interactive; other channels render them as options):
     * nbuttons pairs of machine id (Button.payload) and what the debtor sees (Button.title). */
    const char *const *button_ids;
    const char *const *button_titles;
    size_t nbuttons;       /* 0..HILO_OUTBOUND_BUTTONS_MAX */
    uint64_t reply_to_seq; /* answers the envelope with this seq (a voice turn), 0 = none */
    /* Optional (NULL or ""): the name of a pre-approved WhatsApp template (Outbound.template,
     * language = `language`); `text` is then what the thread shows of it. WhatsApp only. */
    const char *template_name;
    /* How the compliance gate judges it at hand-off (router/src/dispatch.c): */
    bool reply;            /* answers the debtor's own message (bot and agent replies) */
    bool optout_confirm;   /* the confirmation of an opt-out just received (the bot's) */
    bool wait_window;      /* refused for the hour, day or cap: wait for the next allowed time
                              instead of being cancelled */
    /* Optional (NULL or ""): the outbound strategy whose step this is (router/src/strategy_run.c):
     * the dispatch state gets "strat", and the gate at hand-off sends it only while it is still
     * the debtor's current step (outbound_handoff.lua). */
    const char *strategy;
    /* Optional (NULL or ""): click-to-call (voice only, protocol 1.4): the agent's phone, rung
     * first; the debtor (`to`) is dialled once the agent answers (VoiceAction BRIDGE). The
     * dispatch state gets "min_minor": 4, so only a connector that speaks 1.4 is handed it. */
    const char *bridge_from;
} hilo_outbound_spec_t;

#define HILO_OUTBOUND_BUTTONS_MAX 3 /* WhatsApp's limit for reply buttons */

typedef struct hilo_outbound_record hilo_outbound_record_t;

/* argc of hilo_outbound_record_argv(): EVALSHA sha 5 + 5 keys + 8 arguments. */
#define HILO_OUTBOUND_RECORD_ARGC 16

/* Checks a spec as new() will: known channel, valid debtor id, non-empty `to`, `text` and
 * `by`, at most HILO_OUTBOUND_BUTTONS_MAX buttons with non-empty ids and titles, every string
 * valid UTF-8. Returns HILO_OK, or HILO_ERR with a static reason in *why.
 * Use it to answer a console or CLI user before building anything. */
int hilo_outbound_spec_check(const hilo_outbound_spec_t *spec, const char **why);

/* Builds the record: a new outbound id ("o" + 13-digit ms + "-" + 12 random hex digits), the
 * history item {"ch","dir":"out","kind":"text","oid","to","sent_ms","recv_ms","text","by"}
 * (+ "buttons":[{"payload","title"}] when there are buttons) and the packed Outbound
 * (outbound_id, channel, to, debtor_id, text, language, buttons, reply_to_seq, created_ms;
 * attempt stays 0: the dispatcher sets it).
 * now_ms: commit time; history_max: [router] history_max (>= 1); script_sha: the SHA1 that
 * SCRIPT LOAD answered for hilo_script_commit_outbound (copied).
 * Returns NULL when the spec fails hilo_outbound_spec_check() or no random bytes could be read. */
hilo_outbound_record_t *hilo_outbound_record_new(const hilo_outbound_spec_t *spec, int64_t now_ms,
                                                 long history_max, const char *script_sha);
void hilo_outbound_record_destroy(hilo_outbound_record_t **r_p);

/* The command, ready for redisCommandArgv / redisAsyncCommandArgv:
 *   EVALSHA <sha> 5 <conv> <hist> <out> <oq:channel> <odisp> <oid> <now> <item json> <history_max>
 *           <serialized Outbound> <debtor id> <channel name> <dispatch json>
 * Send hilo_outbound_record_index_argv() first (same connection, or wait for its reply).
 * The script replies with the history stream id (bulk string), or the integer 0 when this
 * outbound id was committed before. Returns HILO_OK. The arrays belong to the record. */
int hilo_outbound_record_argv(const hilo_outbound_record_t *r, int *argc, const char ***argv,
                              const size_t **argvlen);

/* The command to send before the commit: ZADD hilo:{p:<n>}:outbox:<channel> 0 <debtor id>, the
 * mark in the partitioned dispatch index that makes routers look at the debtor's queue. argc 4. */
int hilo_outbound_record_index_argv(const hilo_outbound_record_t *r, int *argc, const char ***argv,
                                    const size_t **argvlen);

/* The dispatch state JSON (ARGV[8] of the script): {"by","bot","reply","kind","wait"} and
 * "strat" for a strategy's step. */
const char *hilo_outbound_record_dispatch(const hilo_outbound_record_t *r);

/* The follow-up command once the script succeeded: EVAL of a one-line script that does
 * ZADD hilo:convs <Redis's time in ms> <debtor id>, which refreshes the conversation listing
 * (kept out of the commit script: see docs/architecture.md, "Keys on a Redis Cluster"). Same
 * ownership as above; argc is 4. */
int hilo_outbound_record_listing_argv(const hilo_outbound_record_t *r, int *argc, const char ***argv,
                                      const size_t **argvlen);

/* The serialized Outbound (ARGV[5] of the script), for callers that build their own command
 * or answer a waiting voice turn directly. */
const uint8_t *hilo_outbound_record_payload(const hilo_outbound_record_t *r, size_t *len);
/* The message text as given in the spec. */
const char *hilo_outbound_record_text(const hilo_outbound_record_t *r);

/* The outbound id, e.g. "o1700000000123-9f86d081884c". */
const char *hilo_outbound_record_id(const hilo_outbound_record_t *r);
/* The history item JSON that the script appends (for logs and the console's echo). */
const char *hilo_outbound_record_item(const hilo_outbound_record_t *r);

#endif
