/* tz.h — debtor-local time from an IANA zone name, without touching the process-global TZ.
 * Reads the TZif files of /usr/share/zoneinfo (version 2+ 64-bit data, and the footer's POSIX
 * TZ rule for instants after the last transition). Used by hours.c; usable by anyone.
 * A hilo_tzdb_t caches the zones it loaded and owns them: a hilo_tz_t pointer stays valid until
 * the db is destroyed. Lookups are thread-safe (a mutex guards the cache; zones are immutable). */
#ifndef HILO_TZ_H
#define HILO_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HILO_TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define HILO_TZ_NAME_MAX 64 /* longest zone name accepted (the longest in tzdata is ~32) */

typedef struct hilo_tzdb hilo_tzdb_t;
typedef struct hilo_tz hilo_tz_t;

/* Broken-down local time. */
typedef struct {
    int year, month, day;    /* month 1..12, day 1..31 */
    int hour, minute, second;
    int wday;                /* 0 = Sunday .. 6 = Saturday */
    int32_t utoff;           /* seconds east of UTC */
    bool dst;                /* daylight saving time in effect */
    char abbr[8];            /* "EST", "-05"; may be truncated */
} hilo_tm_t;

/* dir == NULL means HILO_TZ_DEFAULT_DIR. Never fails (zones are read on first use). */
hilo_tzdb_t *hilo_tzdb_new(const char *dir);
void hilo_tzdb_destroy(hilo_tzdb_t **self_p);

/* The zone called `name` ("America/Bogota"), loaded on first use and cached. Returns NULL and
 * writes the reason into err when the name is not a valid zone name or its file is missing or
 * malformed; failures are cached too, so a bad name in the portfolio costs one file read. */
const hilo_tz_t *hilo_tzdb_get(hilo_tzdb_t *self, const char *name, char *err, size_t errlen);

/* Parses TZif bytes (tests, or zones from elsewhere). The result is owned by the caller and
 * freed with hilo_tz_free(). NULL with err set when malformed. */
hilo_tz_t *hilo_tz_parse(const char *name, const uint8_t *data, size_t len, char *err, size_t errlen);
void hilo_tz_free(hilo_tz_t **tz_p);

const char *hilo_tz_name(const hilo_tz_t *tz);
/* Local time at Unix second t. */
void hilo_tz_local(const hilo_tz_t *tz, int64_t t, hilo_tm_t *out);
/* The Unix second of local wall time y-m-d h:mi:s. A time that does not exist (spring-forward
 * gap) is moved forward by the gap, as mktime does; an ambiguous time (fall-back) gives the
 * earlier instant. */
int64_t hilo_tz_utc(const hilo_tz_t *tz, int y, int m, int d, int h, int mi, int s);

/* "HH:MM" (exactly 5 bytes of s[0..n), 00:00..24:00) as minutes after midnight, or -1: the
 * clock times of the rule packs' contact hours and the strategies' step windows. */
int hilo_tz_minutes(const char *s, size_t n);

/* Calendar arithmetic (proleptic Gregorian): days since 1970-01-01 and back, weekday. */
int64_t hilo_days_from_civil(int y, int m, int d);
void hilo_civil_from_days(int64_t days, int *y, int *m, int *d);
int hilo_weekday(int64_t days); /* 0 = Sunday */
bool hilo_date_valid(int y, int m, int d);

#endif
