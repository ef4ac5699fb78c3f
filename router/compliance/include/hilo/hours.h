/* hours.h — contact hours by jurisdiction. Rule packs (deploy/compliance/<id>.pack) say which
 * local hours of which weekdays a debtor may be contacted, and what happens on public holidays
 * (deploy/compliance/holidays/<CC>.txt). The gate (compliance.h) calls hilo_hours_check() with
 * the debtor's country and IANA zone; it can also be used alone. A hilo_hours_t owns its packs,
 * calendars and zone cache; checks are thread-safe (the zone cache locks itself). */
#ifndef HILO_HOURS_H
#define HILO_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/verdict.h"

typedef struct hilo_hours hilo_hours_t;

/* Loads every <dir>/<id>.pack file and the holiday calendars the packs name
 * (<dir>/holidays/<CC>.txt); zoneinfo_dir NULL = /usr/share/zoneinfo. On failure NULL, with
 * "file:line: reason" in err.
 * No country is mapped yet: every country gets the default (block) until hilo_hours_map(). */
hilo_hours_t *hilo_hours_load(const char *dir, const char *zoneinfo_dir, char *err, size_t errlen);
void hilo_hours_destroy(hilo_hours_t **self_p);

/* Maps a country (ISO 3166-1 alpha-2, any case) to pack `pack_id`; pack_id NULL or "block"
 * blocks all contact for that country. country "default" sets the fallback for unmapped
 * countries (initially "block"). HILO_ERR with err set when the pack does not exist. */
int hilo_hours_map(hilo_hours_t *self, const char *country, const char *pack_id, char *err, size_t errlen);

/* Is `now_ms` inside contact hours for a debtor of `country` in zone `tz` (IANA name), for a
 * message on `channel` (HILO_CHANNEL_*, frame.h; packs may have per-channel hours)?
 * An empty or unknown tz falls back to the pack's `timezones` list, and then the time must be
 * inside hours in every one of them (the debtor could be in any). Returns out->allowed; when
 * blocked, out->next_ms is the next time the hours open (0 when not found within 15 days). */
bool hilo_hours_check(const hilo_hours_t *self, const char *country, const char *tz, int64_t now_ms,
                      int channel, hilo_verdict_t *out);

/* Calls fn for every loaded pack that closes or shortens contact on holidays from a calendar
 * (holidays/<CC>.txt): the pack's id, the calendar's country code and the last year the
 * calendar covers, to 31 December. After that year the pack blocks with no_holiday_data, so an
 * operator must be told long before (the router's /metrics, docs/compliance.md). */
typedef void (*hilo_hours_calendar_fn)(const char *pack_id, const char *cc, int last_year, void *arg);
void hilo_hours_each_calendar(const hilo_hours_t *self, hilo_hours_calendar_fn fn, void *arg);

#endif
