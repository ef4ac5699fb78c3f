/* schema_gate.c — the schema version check on every Redis connection (schema_gate.h).
 *
 * Steps, each a reply callback on the store's connection:
 *   1. HGET hilo:{schema} version: a number is judged at once.
 *   2. No key: SCAN hilo:* for hilo data (the tests' clock and the key itself do not count).
 *      Any: the data predates schema versions (version 1), refused. None: a fresh Redis.
 *   3. A fresh Redis is stamped with the current version (schema_stamp.lua, only if still no
 *      key): there is nothing to migrate, and whatever this router writes is of its version.
 *      Another program stamping first (a second router, `hilo migrate`) sends us back to 1.
 * Why on every connection and not only at start: a Redis restored from an old backup under a
 * running router must not be written to by it either (docs/operations.md, "Backup and restore").
 * A NULL reply means the connection went away: the store runs the gate again on the next. */
#include "schema_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/build_info.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/schema.h"
#include "hilo/scripts.h"

struct hilo_schema_gate {
    hilo_store_t *store;
    char by[200];            /* who stamps: "hilo-router <version> <instance>" */
    void (*on_refuse)(void *arg);
    void *arg;
    bool refused;            /* once refused, the router is stopping: nothing more */
};

static void read_version(hilo_store_t *store, void *arg);

static void refuse(hilo_schema_gate_t *g, long stored) {
    char why[400];
    hilo_schema_refusal(why, sizeof why, stored);
    hilo_log_error("schema", "event=schema_refused stored=%ld known=%d reason=%s exit=%d",
                   stored < 0 ? -1 : stored ? stored : (long)HILO_SCHEMA_OLDEST, HILO_SCHEMA_VERSION,
                   hilo_log_value(why), HILO_ROUTER_EXIT_SCHEMA);
    g->refused = true;
    g->on_refuse(g->arg);
}

/* An error reply (a refused command, a Redis loading its data): drop and try again later. */
static bool failed(hilo_schema_gate_t *g, const redisReply *r, const char *what) {
    if (r->type != REDIS_REPLY_ERROR) return false;
    hilo_log_warn("schema", "event=schema_check_failed step=%s reply=%s", what, hilo_log_value(r->str));
    hilo_store_reset(g->store, "schema check failed");
    return true;
}

static void on_stamped(redisReply *r, void *arg) {
    hilo_schema_gate_t *g = arg;
    if (!r || g->refused || failed(g, r, "stamp")) return;
    char want[16];
    snprintf(want, sizeof want, "%d", HILO_SCHEMA_VERSION);
    if (r->type == REDIS_REPLY_STRING && strcmp(r->str, want) == 0) {
        hilo_log_info("schema", "event=schema_stamped version=%d reason=\"a fresh Redis: no hilo data\"",
                      HILO_SCHEMA_VERSION);
        hilo_store_gate_passed(g->store);
        return;
    }
    read_version(g->store, g); /* someone else wrote the key first: judge what they wrote */
}

static void stamp(hilo_schema_gate_t *g) {
    char ver[16];
    snprintf(ver, sizeof ver, "%d", HILO_SCHEMA_VERSION);
    const char *argv[] = {"EVAL", hilo_script_schema_stamp, "1", HILO_KEY_SCHEMA, "", ver, g->by};
    size_t lens[7];
    for (int i = 0; i < 7; i++) lens[i] = strlen(argv[i]);
    hilo_store_gate_argv(g->store, on_stamped, g, 7, argv, lens);
}

static void on_scan(redisReply *r, void *arg) {
    hilo_schema_gate_t *g = arg;
    if (!r || g->refused || failed(g, r, "scan")) return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        hilo_log_warn("schema", "event=schema_check_failed step=scan reply=unexpected");
        hilo_store_reset(g->store, "schema check failed");
        return;
    }
    const redisReply *keys = r->element[1];
    for (size_t i = 0; i < keys->elements; i++)
        if (keys->element[i]->type == REDIS_REPLY_STRING &&
            hilo_schema_is_data_key(keys->element[i]->str, keys->element[i]->len)) {
            refuse(g, 0);
            return;
        }
    if (strcmp(r->element[0]->str, "0") == 0)
        stamp(g);
    else
        hilo_store_gate_command(g->store, on_scan, g, "SCAN %s MATCH %s COUNT 1000", r->element[0]->str,
                                HILO_SCHEMA_SCAN_MATCH);
}

static void on_version(redisReply *r, void *arg) {
    hilo_schema_gate_t *g = arg;
    if (!r || g->refused || failed(g, r, "read")) return;
    if (r->type == REDIS_REPLY_NIL) {
        hilo_store_gate_command(g->store, on_scan, g, "SCAN 0 MATCH %s COUNT 1000", HILO_SCHEMA_SCAN_MATCH);
        return;
    }
    long stored = r->type == REDIS_REPLY_STRING ? hilo_schema_parse(r->str, r->len) : -1;
    if (hilo_schema_judge(stored, true) != HILO_SCHEMA_CURRENT) {
        refuse(g, stored);
        return;
    }
    hilo_log_info("schema", "event=schema_ok version=%ld", stored);
    hilo_store_gate_passed(g->store);
}

static void read_version(hilo_store_t *store, void *arg) {
    hilo_schema_gate_t *g = arg;
    if (g->refused) return;
    hilo_store_gate_command(store, on_version, g, "HGET %s version", HILO_KEY_SCHEMA);
}

hilo_schema_gate_t *hilo_schema_gate_new(hilo_store_t *store, const char *instance, void (*on_refuse)(void *arg),
                                         void *arg) {
    hilo_schema_gate_t *g = hilo_xcalloc(1, sizeof *g);
    g->store = store;
    g->on_refuse = on_refuse;
    g->arg = arg;
    snprintf(g->by, sizeof g->by, "hilo-router %s %s", HILO_VERSION, instance);
    hilo_store_set_gate(store, read_version, g);
    return g;
}

void hilo_schema_gate_destroy(hilo_schema_gate_t **self_p) {
    if (!self_p || !*self_p) return;
    free(*self_p);
    *self_p = NULL;
}
