/* pack.h — rule packs and holiday calendars as parsed from deploy/compliance/ (format in
 * docs/compliance.md). Private to router/compliance: hours.c owns them, compliance.c reads a
 * pack's policy fields. Everything here is immutable after loading. */
#ifndef HILO_COMPLIANCE_PACK_H
#define HILO_COMPLIANCE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/frame.h"
#include "hilo/tz.h"
#include "hilo/verdict.h"

#define HILO_PACK_SPANS 4  /* time ranges per day */
#define HILO_PACK_ZONES 16 /* fallback zones per pack */
#define HILO_PACK_LANGS 8  /* first-contact disclosure phrases per pack (one per language) */

typedef struct {
    int16_t from, to; /* minutes after local midnight, [from, to), to <= 1440 */
} hilo_span_t;

typedef struct {
    hilo_span_t span[HILO_PACK_SPANS];
    int n; /* 0 = closed all day */
} hilo_dayhours_t;

typedef struct {
    char cc[3];           /* "CO" */
    char *path;           /* for messages */
    int32_t *dates;       /* yyyymmdd, ascending (duplicates allowed: two feasts one day) */
    char **names;         /* holiday name per date */
    size_t n;
    int first_year, last_year; /* years the file covers */
} hilo_calendar_t;

typedef struct {
    char *id;                     /* file stem: "co_ley_2300" */
    char *name;                   /* "Colombia Ley 2300 de 2023" */
    char *source;                 /* legal citation */
    char holidays_cc[3];          /* calendar to use, "" = holidays are ordinary days */
    const hilo_calendar_t *cal;   /* resolved by hours.c from holidays_cc */
    hilo_dayhours_t days[HILO_CHANNEL_MAX][7]; /* [channel][weekday, 0 = Sunday]; [0] = all channels */
    hilo_dayhours_t holiday[HILO_CHANNEL_MAX]; /* hours on a public holiday */
    char **zones;                 /* fallback zones when the debtor's is unknown */
    size_t nzones;
    bool replies_outside_hours;   /* a reply in a debtor-started exchange ignores the hours */
    hilo_cap_t caps[HILO_CHANNEL_MAX];   /* per-channel cap overrides ... */
    bool cap_set[HILO_CHANNEL_MAX];      /* ... when set (limit 0 = explicitly uncapped) */
    int64_t after_phone_conversation_ms; /* no collector-initiated call this long after a phone
                                            conversation with the debtor; 0 = no such rule */
    /* Content and consent rules for collector-initiated messages, read by strategy checks
     * (hilo_compliance_pack_rules); the gate itself does not read message text. */
    char *optout_notice;          /* "STOP | BAJA": one of these words in every electronic message */
    char *disclosure[HILO_PACK_LANGS];      /* first-contact disclosure phrase ... */
    char disclosure_lang[HILO_PACK_LANGS][8]; /* ... per language ("" = any language) */
    size_t ndisclosure;
    bool consent[HILO_CHANNEL_MAX];      /* the channel needs the debtor's recorded consent */
} hilo_pack_t;

/* Parses one pack file; zone names in `timezones` are checked against tzdb. HILO_ERR with
 * "path:line: reason" in err. On success *out owns its strings (hilo_pack_clear). */
int hilo_pack_parse(const char *path, const char *id, hilo_tzdb_t *tzdb, hilo_pack_t *out, char *err,
                    size_t errlen);
void hilo_pack_clear(hilo_pack_t *p);

/* Parses holidays/<CC>.txt: "YYYY-MM-DD name" lines. */
int hilo_calendar_parse(const char *path, const char *cc, hilo_calendar_t *out, char *err, size_t errlen);
void hilo_calendar_clear(hilo_calendar_t *c);
/* The holiday's name, or NULL when the date is an ordinary day. */
const char *hilo_calendar_find(const hilo_calendar_t *c, int y, int m, int d);

/* Value parsers shared with compliance.c. Each returns HILO_OK or HILO_ERR with why set. */
int hilo_parse_duration(const char *s, int64_t *ms, char *why, size_t whylen); /* "30m", "7d" */
int hilo_parse_cap(const char *s, hilo_cap_t *cap, char *why, size_t whylen);  /* "7/7d", "none" */
int hilo_parse_bool(const char *s, bool *out, char *why, size_t whylen);       /* yes/no */

/* The pack that applies to `country` (hours.c), NULL when the mapping says block. */
struct hilo_hours;
const hilo_pack_t *hilo_hours_find_pack(const struct hilo_hours *h, const char *country);

/* Calls fn for every country mapped in compliance.conf, with its pack id (NULL = block). */
void hilo_hours_each_country(const struct hilo_hours *h, void (*fn)(const char *cc, const char *pack_id, void *arg),
                             void *arg);

/* "08:00-12:00, 14:00-18:00" or "closed" for messages. */
void hilo_dayhours_format(const hilo_dayhours_t *h, char *buf, size_t n);

#endif
