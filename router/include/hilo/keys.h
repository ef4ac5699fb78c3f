/* keys.h — every Redis key name hilo uses, in one place (docs/architecture.md lists them).
 * A debtor's keys share the hash tag {d:<id>} so that one Lua script may touch them all, also
 * on a Redis Cluster. Used by the router, the hilo CLI and the benchmark replay. */
#ifndef HILO_KEYS_H
#define HILO_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define HILO_KEY_MAX 256      /* large enough for any key below */
#define HILO_DEBTOR_ID_MAX 64 /* longest debtor id */

/* Per-debtor keys: "hilo:{d:<id>}:<part>". */
#define HILO_KEY_DEBTOR "debtor" /* HASH  portfolio record (CSV import) */
#define HILO_KEY_CONV "conv"     /* HASH  conversation state */
#define HILO_KEY_HIST "hist"     /* STREAM cross-channel history, field j = item JSON */
#define HILO_KEY_SEEN "seen"     /* ZSET  dedupe: "<channel>:<provider id>" -> first seen ms */
#define HILO_KEY_OUT "out"       /* HASH  pending outbound id -> serialized Outbound */
#define HILO_KEY_OQ "oq"         /* ZSET per channel, ":<channel>" appended: pending outbound id ->
                                    commit order; only the first may be with a provider (ordering) */
#define HILO_KEY_ODISP "odisp"   /* HASH  pending outbound id -> dispatch state JSON: how the gate
                                    judges it (by, bot, kind, wait) and its lease, attempts, due time */
#define HILO_KEY_OSTAT "ostat"   /* HASH  outbound id -> delivery status JSON */
#define HILO_KEY_AUDIT "audit"   /* STREAM append-only audit trail: ev + details per entry */
#define HILO_KEY_PROMISES "promises" /* HASH promise id -> promise JSON (the promise ledger) */
#define HILO_KEY_PAYMENTS "payments" /* HASH payment reference -> payment JSON (import-payments) */
#define HILO_KEY_CONTACTS "contacts" /* ZSET per channel, ":<channel>" appended: collector-initiated
                                       attempts in the frequency-cap window (freq_cap.lua) */
#define HILO_KEY_TURNQ "turnq"   /* ZSET  pending engine turns in commit order: turn key -> 1, 2, ... */
#define HILO_KEY_TURNS "turns"   /* HASH  pending engine turn key -> record (commit_inbound.lua) */

/* STRING debtor id, one per known address ("hilo:addr:<E.164>"); the routers cache them
 * (router/src/identity_cache.c) and hear of every change to this prefix. */
#define HILO_KEY_ADDR_PREFIX "hilo:addr:"

/* STRING Unix ms: "now" for the gate, the engine, the promise and turn sweepers and inbound commits while
 * [engine] test_clock is on (tests only; docs/operations.md). */
#define HILO_KEY_TEST_CLOCK "hilo:test:now_ms"
#define HILO_KEY_CONVS "hilo:convs"     /* ZSET debtor id -> last activity ms (listing index) */
#define HILO_KEY_DEBTORS "hilo:debtors" /* SET  imported debtor ids */
#define HILO_KEY_QUEUES "hilo:queues"   /* SET  skills that have (had) a human queue */
#define HILO_KEY_PROMISES_DUE "hilo:promises:due" /* ZSET "<debtor>|<promise id>" -> due ms */
/* HASH the schema version of the data (version, at_ms, by: who wrote it), its own hash slot;
 * hilo/schema.h says what each version is. */
#define HILO_KEY_SCHEMA "hilo:{schema}"

/* Writes "hilo:{d:<id>}:<part>" into buf; returns the length, or -1 when it does not fit. */
int hilo_key_debtor(char *buf, size_t n, const char *debtor_id, const char *part);
/* "hilo:addr:<address>" — normalized address (E.164 phone) -> debtor id. */
int hilo_key_addr(char *buf, size_t n, const char *address);
/* The dispatch index is split in HILO_OUTBOX_PARTITIONS partitions, each with its own hash tag,
 * swept by every router (../shared/DESIGN.md, "Keys on a Redis Cluster"). */
#define HILO_OUTBOX_PARTITIONS 8
/* The partition of a debtor: 0..HILO_OUTBOX_PARTITIONS-1. */
int hilo_outbox_partition(const char *debtor_id);
/* "hilo:{p:<n>}:outbox:<channel>" — ZSET debtor id -> when the debtor's next outbound on the
 * channel should be looked at (Unix ms; 0 = now). */
int hilo_key_outbox(char *buf, size_t n, int partition, const char *channel);
/* "hilo:{d:<id>}:<part>:<channel>" — a per-debtor, per-channel key (oq, contacts). */
int hilo_key_debtor_channel(char *buf, size_t n, const char *debtor_id, const char *part, const char *channel);
/* "hilo:queue:<skill>" — ZSET debtor id -> score (escalation time minus priority credit:
 * lowest first, so waiting ages every entry towards the front). */
int hilo_key_queue(char *buf, size_t n, const char *skill);
/* "hilo:pmid:<channel>:<provider message id>" — the provider's id of one of our outbound
 * messages -> "<debtor id>|<outbound id>" (delivery reports that carry only the provider id). */
int hilo_key_pmid(char *buf, size_t n, const char *channel, const char *provider_id);

/* The index of debtors' pending engine turns is split into HILO_TURN_PARTITIONS keys
 * "hilo:{p:<n>}:turns" (ZSET "<debtor id>|<turn key>" -> when a sweep may resume it), each its
 * own hash slot, all swept by every router (router/src/turns.c). Changing the count strands the
 * entries of the partitions that go away: it is a constant, not a setting. */
#define HILO_TURN_PARTITIONS 16
/* The partition of a debtor's turns (FNV-1a of the id). */
int hilo_turn_partition(const char *debtor_id);
/* "hilo:{p:<n>}:turns". */
int hilo_key_turn_index(char *buf, size_t n, int partition);

/* The strategy runner's time index (router/src/strategy_run.c): "hilo:{p:<n>}:sched", ZSET
 * debtor id -> when to look at the debtor's place in its strategy (Unix ms on the runner's clock;
 * 0 = now), n = hilo_outbox_partition(debtor id). The debtor's place itself is the conv field
 * `strat` (router/lua/lib/strategy_state.lua). */
int hilo_key_sched(char *buf, size_t n, int partition);
/* A strategy's own keys, tagged by its name (docs/strategies.md, "Running"):
 * "hilo:{s:<name>}:<part>" — part "state" (STRING running|paused: set by `hilo strategy
 * start|pause|resume`, absent = the file's state), "funnel" (HASH "<variant>|<step>|<metric>" ->
 * count), "budget:<UTC day number>" (STRING: sends that day). */
int hilo_key_strategy(char *buf, size_t n, const char *strategy, const char *part);

/* One sender's pacing slots (router/lua/pacing.lua): "hilo:{pace:<channel>:<sender>}", its own
 * hash slot; sender = the number's digits (no '+') or "default" (each connector's own sender). */
int hilo_key_pacing(char *buf, size_t n, const char *channel, const char *sender);

/* The contact optimizer (docs/optimizer.md, "In the router"): HILO_KEY_OPT_CELLS, the SET of
 * segment cell names that have a model, on its own slot; a cell's model
 * "hilo:{o:<cell>}:model" (STRING, hilo_opt_cell_pack's HILO_OPT_CELL_BYTES). Read by
 * `hilo optimizer show`. Cell names: 1..120 of [A-Za-z0-9._:+-]. */
#define HILO_KEY_OPT_CELLS "hilo:{o}:cells"
int hilo_key_opt_model(char *buf, size_t n, const char *cell);
bool hilo_opt_cell_name_valid(const char *cell);

/* Debtor ids: 1..64 of [A-Za-z0-9._:+-], not starting with "u:" (reserved for unidentified
 * contacts, "u:<E.164>"). Braces and '|' would break hash tags and index members. */
bool hilo_debtor_id_valid(const char *id);

#endif
