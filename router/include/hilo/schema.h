/* schema.h — the version of hilo's data model in Redis, kept in the key HILO_KEY_SCHEMA (keys.h).
 * Shared by the router, which refuses to start on data of a version it does not run
 * (router/src/schema_gate.c), and `hilo migrate`, which brings older data up to date step by
 * step (router/cli/cmd_migrate.c). docs/operations.md, "Upgrading", is the operator's side. */
#ifndef HILO_SCHEMA_H
#define HILO_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

/* The data model's versions. A change of how hilo's data sits in Redis that existing data must
 * be rewritten for bumps HILO_SCHEMA_VERSION, adds its step to cmd_migrate.c (steps[]) and a
 * line here. A change that only adds keys or fields older code never had does not.
 *   1  everything written before schema versions existed: no hilo:{schema} key. Identity keys
 *      (hilo:addr:<E.164>) and debtors' `phones` as the old hand-written phone rules wrote them
 *      (a Mexican mobile as "+5215512345678").
 *   2  identity keys and `phones` in libphonenumber's canonical form (proto/src/phone.c).
 *      Step 1 -> 2: rewrite the old forms (what `hilo migrate-addresses` did alone before). */
#define HILO_SCHEMA_VERSION 2
#define HILO_SCHEMA_OLDEST 1 /* what hilo data without the key is */

/* What a Redis holds, as the router and `hilo migrate` judge it. */
typedef enum {
    HILO_SCHEMA_FRESH,   /* no key and no hilo data: nothing to migrate, stamp the current version */
    HILO_SCHEMA_CURRENT, /* the version this build runs */
    HILO_SCHEMA_OLDER,   /* `hilo migrate` brings it up */
    HILO_SCHEMA_NEWER,   /* written by a newer hilo: this build must not touch it */
    HILO_SCHEMA_BROKEN   /* the key holds no version number */
} hilo_schema_state_t;

/* SCAN MATCH pattern for "is there hilo data at all" (with hilo_schema_is_data_key). */
#define HILO_SCHEMA_SCAN_MATCH "hilo:*"

/* The stored `version` field: 1.. , or -1 when it is not a plain positive number. */
long hilo_schema_parse(const char *s, size_t len);

/* Whether a key found by SCAN hilo:* is hilo data: every hilo key but the schema key itself and
 * the tests' clock (hilo:test:*), which a test may set before anything else runs. */
bool hilo_schema_is_data_key(const char *key, size_t len);

/* stored: the parsed version, 0 = no key, -1 = unreadable; has_data: only read when stored = 0. */
hilo_schema_state_t hilo_schema_judge(long stored, bool has_data);

/* The one-line reason for refusing OLDER, NEWER or BROKEN data (what to do included), the same
 * from the router's log and the CLI. stored as for hilo_schema_judge (0 = oldest). */
void hilo_schema_refusal(char *buf, size_t n, long stored);

#endif
