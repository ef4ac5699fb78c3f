/* spool.h — the connector's durable spool: events a webhook was answered for before the router
 * acked them (a voice turn answered with the fallback TwiML: Twilio never retries a 200), kept on
 * disk until the router acks them, so a connector killed in between loses nothing. One file per
 * event in a directory, written to a temporary name, synced, renamed and the directory synced
 * before hilo_spool_put() returns; replayed in the order written (hilo_spool_scan); removed on
 * the ack; dropped past a count or an age bound. Used by connector.c; knows nothing of the link.
 * Pure file I/O, no loop; the caller passes the time. The format is in docs/connectors.md. */
#ifndef HILO_SPOOL_H
#define HILO_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct hilo_spool hilo_spool_t;

typedef struct {
    uint64_t written;        /* records put */
    uint64_t removed;        /* records removed after the router's ack */
    uint64_t discarded;      /* records removed without an ack (refused for good, unreadable
                              * envelope): logged by the caller */
    uint64_t expired;        /* records dropped at the age bound (logged) */
    uint64_t full;           /* events not spooled: the count bound was reached (logged) */
    uint64_t bad;            /* unreadable files set aside as *.bad (logged) */
    uint64_t write_failures; /* events not spooled: the disk refused (logged with errno) */
    size_t count;            /* records held now */
} hilo_spool_stats_t;

/* Opens (creating it, mode 0700) the spool directory `dir`. max_events: records held at once
 * (put() refuses past it); max_age_ms: a record older than this at scan() is dropped (0 = no
 * age bound). NULL with the reason in err when the directory cannot be created or written. */
hilo_spool_t *hilo_spool_open(const char *dir, size_t max_events, int64_t max_age_ms, char *err, size_t errlen);
/* Accepts NULL; nulls the caller's pointer. The files stay. */
void hilo_spool_close(hilo_spool_t **self_p);

/* Writes one record (`data`, `len` bytes: a packed envelope) stamped `now_ms` (wall clock, Unix
 * ms) and makes it durable. HILO_OK with its id in *id (ids grow in write order); HILO_AGAIN
 * when max_events records are held (nothing written); HILO_ERR when the disk refused (logged). */
int hilo_spool_put(hilo_spool_t *self, const uint8_t *data, size_t len, int64_t now_ms, uint64_t *id);
/* Removes record `id` (the router acked it). HILO_ERR when there was no such record. */
int hilo_spool_remove(hilo_spool_t *self, uint64_t id);
/* Removes record `id` that will never be acked (refused for good, not an envelope); counted
 * apart. HILO_ERR when there was no such record. */
int hilo_spool_discard(hilo_spool_t *self, uint64_t id);

/* A record read back; `data` is valid only during the call. */
typedef void(hilo_spool_record_fn)(void *arg, uint64_t id, const uint8_t *data, size_t len, int64_t written_ms);
/* Reads every record, oldest first, and calls fn for each good one. A record older than
 * max_age_ms (by now_ms) is removed and logged; a file that is not a whole record (truncated,
 * garbage, wrong checksum) is renamed "<name>.bad" and logged, never read again; a temporary
 * file left by a crash mid-write is removed. Returns the number of good records. */
size_t hilo_spool_scan(hilo_spool_t *self, int64_t now_ms, hilo_spool_record_fn *fn, void *arg);

void hilo_spool_stats(const hilo_spool_t *self, hilo_spool_stats_t *out);
/* The directory, as given to open(). */
const char *hilo_spool_dir(const hilo_spool_t *self);

#endif
