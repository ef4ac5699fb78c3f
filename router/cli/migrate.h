/* migrate.h — the steps of `hilo migrate` (cmd_migrate.c), one per version of the data model
 * (hilo/schema.h). A step turns data of version N-1 into version N, reading and writing through
 * the CLI's connection. Each must be idempotent: a crash half-way is finished by running it again,
 * and a run on data it already changed changes nothing; each change is atomic on one hash slot, so
 * that a program still running meanwhile sees either form. dry: read only, print what would change. */
#ifndef HILO_MIGRATE_H
#define HILO_MIGRATE_H

#include <stdbool.h>

#include "cli.h"

/* Step 1 -> 2 (migrate_addresses.c): identity keys and debtors' `phones` into canonical E.164.
 * HILO_EXIT_OK, HILO_EXIT_DATA (conflicts left for the operator, reported) or HILO_EXIT_REDIS. */
int hilo_migrate_addresses(hilo_cli_t *cli, bool dry);
/* The compare-and-delete script of an identity key (KEYS[1] hilo:addr:<E.164>, ARGV[1] the
 * debtor it must still name; 1 = deleted, 0 = it names another or none): one slot per call.
 * Also used by the import (cmd_import.c) to unmap a phone a row dropped. */
extern const char hilo_migrate_addr_unmap[];

/* For a command about to write (`who`, e.g. "import-debtors"): a fresh Redis (no hilo data) is
 * stamped with this build's schema version (what it writes is of that version, and there is
 * nothing to migrate); data of a newer version or an unreadable key is refused (printed,
 * HILO_EXIT_SCHEMA); older data is left to `hilo migrate` (HILO_EXIT_OK). */
int hilo_migrate_stamp_fresh(hilo_cli_t *cli, const char *who);

#endif
