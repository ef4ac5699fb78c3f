/* tz.c — TZif (RFC 8536) reader, POSIX TZ rules, and the zone cache.
 *
 * Why not setenv("TZ") + localtime_r: TZ is process-global, so two debtors in two zones checked
 * from two threads (or one thread and a library that calls localtime) race, and tzset() rereads
 * files behind our back. Reading the TZif file ourselves gives an immutable table per zone. */
#include "hilo/tz.h"

#include <ctype.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/common.h"
#include "lines.h"

#define TZIF_MAX_BYTES (1 << 20) /* real files are < 4 KB; refuse anything absurd */
#define TZDB_MAX_MISSES 256      /* cached failures, so a flood of bad names stays bounded */

typedef struct {
    int32_t utoff; /* seconds east of UTC */
    bool dst;
    char abbr[8];
} ttype_t;

/* One POSIX TZ rule date: Jn (1..365, Feb 29 never counted), n (0..365), or Mm.w.d. */
typedef struct {
    char kind;    /* 'J', 'N' or 'M' */
    int a, b, c;  /* J/N: a = day; M: a = month, b = week (1..5), c = weekday (0 = Sunday) */
    int32_t secs; /* local time of day of the change, may be negative or > 24 h (TZif v3) */
} rdate_t;

typedef struct {
    ttype_t std, dst;
    bool has_dst;
    rdate_t start, end; /* DST starts at `start` (standard time), ends at `end` (DST time) */
} rule_t;

struct hilo_tz {
    char *name;
    int64_t *trans;  /* transition instants, Unix seconds, strictly ascending */
    uint8_t *idx;    /* type index in effect from trans[i] */
    size_t ntrans;
    ttype_t *types;
    size_t ntypes;
    rule_t rule;     /* footer rule for instants at or after the last transition */
    bool has_rule;
};

typedef struct {
    char *name;
    hilo_tz_t *tz;   /* NULL: a cached failure, see err */
    char *err;
} slot_t;

struct hilo_tzdb {
    char *dir;
    pthread_mutex_t lock; /* guards slots; zones themselves are immutable once built */
    slot_t *slots;
    size_t n, cap, misses;
};

/* ---- calendar ---------------------------------------------------------------------------- */

/* Day counting over 400-year eras (146097 days each), with March as the first month so that the
 * leap day falls at the end of the counted year. The technique is H. Hinnant's well-known
 * "days_from_civil"; written here from the arithmetic, valid for any int year. */
int hilo_tz_minutes(const char *s, size_t n) {
    if (n != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    if (h > 24 || m > 59 || (h == 24 && m != 0)) return -1;
    return h * 60 + m;
}

int64_t hilo_days_from_civil(int y, int m, int d) {
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                                   /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 from March 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* 0..146096 */
    return era * 146097 + doe - 719468;                             /* 719468: 0000-03-01 .. 1970-01-01 */
}

void hilo_civil_from_days(int64_t days, int *y, int *m, int *d) {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int hilo_weekday(int64_t days) {
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m) {
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

bool hilo_date_valid(int y, int m, int d) {
    return m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* ---- POSIX TZ strings (the TZif footer) --------------------------------------------------- */

static bool parse_abbr(const char **sp, char out[8]) {
    const char *s = *sp, *b, *e;
    if (*s == '<') {
        b = ++s;
        while (*s && *s != '>') {
            if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                  *s == '+' || *s == '-'))
                return false;
            s++;
        }
        if (*s != '>') return false;
        e = s++;
    } else {
        b = s;
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) s++;
        e = s;
    }
    if (e - b < 3) return false;
    size_t n = (size_t)(e - b) < 7 ? (size_t)(e - b) : 7;
    memcpy(out, b, n);
    out[n] = '\0';
    *sp = s;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh; returns seconds (sign applied). */
static bool parse_hms(const char **sp, int maxh, int32_t *out) {
    const char *s = *sp;
    int sign = 1;
    if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
    long v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*s != ':') break;
            s++;
        }
        if (*s < '0' || *s > '9') return false;
        long x = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3) x = x * 10 + (*s++ - '0'), digits++;
        v[i] = x;
    }
    if (v[0] > maxh || v[1] > 59 || v[2] > 59) return false;
    *out = (int32_t)(sign * (v[0] * 3600 + v[1] * 60 + v[2]));
    *sp = s;
    return true;
}

static bool parse_num(const char **sp, int lo, int hi, int *out) {
    const char *s = *sp;
    if (*s < '0' || *s > '9') return false;
    long x = 0;
    while (*s >= '0' && *s <= '9' && x <= hi) x = x * 10 + (*s++ - '0');
    if (x < lo || x > hi) return false;
    *out = (int)x;
    *sp = s;
    return true;
}

static bool parse_rdate(const char **sp, rdate_t *r) {
    const char *s = *sp;
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!parse_num(&s, 1, 365, &r->a)) return false;
    } else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!parse_num(&s, 1, 12, &r->a) || *s++ != '.' || !parse_num(&s, 1, 5, &r->b) || *s++ != '.' ||
            !parse_num(&s, 0, 6, &r->c))
            return false;
    } else {
        r->kind = 'N';
        if (!parse_num(&s, 0, 365, &r->a)) return false;
    }
    r->secs = 2 * 3600;
    if (*s == '/' && (s++, !parse_hms(&s, 167, &r->secs))) return false;
    *sp = s;
    return true;
}

static bool parse_rule(const char *s, rule_t *r) {
    memset(r, 0, sizeof *r);
    int32_t off;
    if (!parse_abbr(&s, r->std.abbr) || !parse_hms(&s, 24, &off)) return false;
    r->std.utoff = -off; /* POSIX offsets are west-positive */
    if (!*s) return true;
    if (!parse_abbr(&s, r->dst.abbr)) return false;
    r->has_dst = true;
    r->dst.dst = true;
    r->dst.utoff = r->std.utoff + 3600;
    if (*s != ',' && *s) {
        if (!parse_hms(&s, 24, &off)) return false;
        r->dst.utoff = -off;
    }
    /* A DST name without rules leaves the dates to the implementation; tzdata never writes
     * one, so refuse it rather than guess. */
    if (*s++ != ',' || !parse_rdate(&s, &r->start) || *s++ != ',' || !parse_rdate(&s, &r->end)) return false;
    return *s == '\0';
}

/* Local-time second of the year's change date (relative to the year's 00:00 local). */
static int64_t rdate_secs(const rdate_t *r, int year) {
    int64_t yday;
    if (r->kind == 'J')
        yday = r->a - 1 + (is_leap(year) && r->a >= 60);
    else if (r->kind == 'N')
        yday = r->a;
    else {
        int64_t first = hilo_days_from_civil(year, r->a, 1);
        int wd1 = hilo_weekday(first);
        int mday = 1 + (r->c - wd1 + 7) % 7 + 7 * (r->b - 1);
        while (mday > month_days(year, r->a)) mday -= 7; /* week 5 = the last such weekday */
        yday = first + mday - 1 - hilo_days_from_civil(year, 1, 1);
    }
    return yday * 86400 + r->secs;
}

static const ttype_t *rule_type(const rule_t *r, int64_t t) {
    if (!r->has_dst) return &r->std;
    int y, m, d;
    hilo_civil_from_days(floor_div(t + r->std.utoff, 86400), &y, &m, &d);
    int64_t y0 = hilo_days_from_civil(y, 1, 1) * 86400;
    int64_t start = y0 + rdate_secs(&r->start, y) - r->std.utoff; /* UTC of the change */
    int64_t end = y0 + rdate_secs(&r->end, y) - r->dst.utoff;
    bool dst = start < end ? (t >= start && t < end)      /* northern: DST inside the year */
                           : !(t >= end && t < start);    /* southern: DST spans new year */
    return dst ? &r->dst : &r->std;
}

/* ---- TZif ---------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
} rd_t;

static bool take(rd_t *r, size_t n, const uint8_t **out) {
    if (r->left < n) return false;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static int64_t be64(const uint8_t *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

typedef struct {
    uint8_t version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} hdr_t;

static bool read_header(rd_t *r, hdr_t *h) {
    const uint8_t *p;
    if (!take(r, 44, &p) || memcmp(p, "TZif", 4) != 0) return false;
    h->version = p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return true;
}

static size_t block_size(const hdr_t *h, size_t tsize) {
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

hilo_tz_t *hilo_tz_parse(const char *name, const uint8_t *data, size_t len, char *err, size_t errlen) {
    rd_t r = {data, len};
    hdr_t h;
    const uint8_t *p;
    hilo_tz_t *tz = hilo_xcalloc(1, sizeof *tz);
    tz->name = hilo_xstrdup(name);
    if (!read_header(&r, &h)) FAIL("%s: not a TZif file", name);
    if (h.version < '2') FAIL("%s: TZif version 1 (no 64-bit data) is not supported", name);
    /* Skip the 32-bit block; the second header describes the 64-bit one. */
    if (h.timecnt > 100000 || h.typecnt > 256 || h.charcnt > 10000 || h.leapcnt > 10000 ||
        !take(&r, block_size(&h, 4), &p) || !read_header(&r, &h))
        FAIL("%s: truncated TZif data", name);
    if (h.typecnt == 0 || h.typecnt > 256 || h.timecnt > 100000 || h.charcnt == 0 || h.charcnt > 10000 ||
        (h.isstdcnt && h.isstdcnt != h.typecnt) || (h.isutcnt && h.isutcnt != h.typecnt))
        FAIL("%s: bad TZif counts", name);
    /* Leap-second ("right/") zones count TAI-like seconds; our clock is POSIX time. */
    if (h.leapcnt) FAIL("%s: zones with leap seconds are not supported", name);
    if (r.left < block_size(&h, 8)) FAIL("%s: truncated TZif data", name);

    tz->ntrans = h.timecnt;
    tz->trans = hilo_xcalloc(h.timecnt + 1, sizeof *tz->trans);
    tz->idx = hilo_xcalloc(h.timecnt + 1, 1);
    take(&r, (size_t)h.timecnt * 8, &p);
    for (size_t i = 0; i < h.timecnt; i++) {
        tz->trans[i] = be64(p + 8 * i);
        if (i && tz->trans[i] <= tz->trans[i - 1]) FAIL("%s: transitions out of order", name);
    }
    take(&r, h.timecnt, &p);
    for (size_t i = 0; i < h.timecnt; i++) {
        if (p[i] >= h.typecnt) FAIL("%s: bad type index", name);
        tz->idx[i] = p[i];
    }
    const uint8_t *types = NULL, *chars = NULL;
    take(&r, (size_t)h.typecnt * 6, &types);
    take(&r, h.charcnt, &chars);
    tz->ntypes = h.typecnt;
    tz->types = hilo_xcalloc(h.typecnt, sizeof *tz->types);
    for (size_t i = 0; i < h.typecnt; i++) {
        const uint8_t *t = types + 6 * i;
        int32_t off = (int32_t)be32(t);
        if (off < -25 * 3600 || off > 26 * 3600 || t[4] > 1 || t[5] >= h.charcnt)
            FAIL("%s: bad local time type %zu", name, i);
        tz->types[i].utoff = off;
        tz->types[i].dst = t[4];
        size_t n = strnlen((const char *)chars + t[5], h.charcnt - t[5]);
        if (n > 7) n = 7;
        memcpy(tz->types[i].abbr, chars + t[5], n);
    }
    take(&r, h.isstdcnt + h.isutcnt, &p);
    /* Footer: "\n<POSIX TZ string>\n" (may be empty). */
    if (r.left >= 2 && r.p[0] == '\n') {
        const uint8_t *nl = memchr(r.p + 1, '\n', r.left - 1);
        if (!nl) FAIL("%s: unterminated TZ footer", name);
        size_t n = (size_t)(nl - r.p - 1);
        if (n > 0) {
            char footer[128];
            if (n >= sizeof footer) FAIL("%s: TZ footer too long", name);
            memcpy(footer, r.p + 1, n);
            footer[n] = '\0';
            if (!parse_rule(footer, &tz->rule)) FAIL("%s: unsupported TZ footer '%s'", name, footer);
            tz->has_rule = true;
        }
    }
    return tz;
fail:
    hilo_tz_free(&tz);
    return NULL;
}

void hilo_tz_free(hilo_tz_t **tz_p) {
    if (!tz_p || !*tz_p) return;
    hilo_tz_t *tz = *tz_p;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->types);
    free(tz);
    *tz_p = NULL;
}

const char *hilo_tz_name(const hilo_tz_t *tz) { return tz->name; }

static const ttype_t *type_at(const hilo_tz_t *tz, int64_t t) {
    if (tz->ntrans == 0) return tz->has_rule ? rule_type(&tz->rule, t) : &tz->types[0];
    if (t < tz->trans[0]) return &tz->types[0]; /* RFC 8536: before the first transition, type 0 */
    if (t >= tz->trans[tz->ntrans - 1] && tz->has_rule) return rule_type(&tz->rule, t);
    size_t lo = 0, hi = tz->ntrans; /* largest i with trans[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t) lo = mid; else hi = mid;
    }
    return &tz->types[tz->idx[lo]];
}

void hilo_tz_local(const hilo_tz_t *tz, int64_t t, hilo_tm_t *out) {
    const ttype_t *ty = type_at(tz, t);
    int64_t local = t + ty->utoff;
    int64_t days = floor_div(local, 86400);
    int64_t sod = local - days * 86400;
    memset(out, 0, sizeof *out);
    hilo_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(sod / 3600);
    out->minute = (int)(sod / 60 % 60);
    out->second = (int)(sod % 60);
    out->wday = hilo_weekday(days);
    out->utoff = ty->utoff;
    out->dst = ty->dst;
    memcpy(out->abbr, ty->abbr, sizeof out->abbr);
}

int64_t hilo_tz_utc(const hilo_tz_t *tz, int y, int m, int d, int h, int mi, int s) {
    int64_t local = hilo_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
    /* The offsets in force a day before and a day after bracket any one transition (real zones
     * never change twice within two days). Try the earlier offset first: it gives the earlier
     * instant of an ambiguous time, and the forward-moved instant for a gap. */
    int32_t before = type_at(tz, local - 86400)->utoff, after = type_at(tz, local + 86400)->utoff;
    if (type_at(tz, local - before)->utoff == before) return local - before;
    if (type_at(tz, local - after)->utoff == after) return local - after;
    return local - before; /* in a gap: wall time + gap */
}

/* ---- the cache ------------------------------------------------------------------------------- */

hilo_tzdb_t *hilo_tzdb_new(const char *dir) {
    hilo_tzdb_t *db = hilo_xcalloc(1, sizeof *db);
    db->dir = hilo_xstrdup(dir ? dir : HILO_TZ_DEFAULT_DIR);
    pthread_mutex_init(&db->lock, NULL);
    return db;
}

void hilo_tzdb_destroy(hilo_tzdb_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_tzdb_t *db = *self_p;
    for (size_t i = 0; i < db->n; i++) {
        free(db->slots[i].name);
        free(db->slots[i].err);
        hilo_tz_free(&db->slots[i].tz);
    }
    free(db->slots);
    pthread_mutex_destroy(&db->lock);
    free(db->dir);
    free(db);
    *self_p = NULL;
}

/* Zone names come from the portfolio CSV: only "Area/Location" shapes, so a name can never
 * climb out of the zoneinfo directory. */
static bool name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > HILO_TZ_NAME_MAX) return false;
    const char *comp = name;
    for (const char *s = name;; s++) {
        if (*s == '/' || *s == '\0') {
            if (s == comp || *comp == '.' || *comp == '-') return false; /* empty, ".", "..", "-x" */
            if (!*s) return true;
            comp = s + 1;
        } else if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                     *s == '_' || *s == '-' || *s == '+' || *s == '.')) {
            return false;
        }
    }
}

static hilo_tz_t *load_file(const char *dir, const char *name, char *err, size_t errlen) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "unknown time zone '%s' (%s)", name, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > TZIF_MAX_BYTES) {
        close(fd);
        snprintf(err, errlen, "unknown time zone '%s' (not a zone file)", name);
        return NULL;
    }
    size_t len = (size_t)st.st_size, got = 0;
    uint8_t *buf = hilo_xmalloc(len);
    while (got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    hilo_tz_t *tz = got == len ? hilo_tz_parse(name, buf, len, err, errlen) : NULL;
    if (got != len) snprintf(err, errlen, "%s: short read", path);
    free(buf);
    return tz;
}

const hilo_tz_t *hilo_tzdb_get(hilo_tzdb_t *db, const char *name, char *err, size_t errlen) {
    if (!name || !name_valid(name)) {
        char shown[HILO_TZ_NAME_MAX + 1];
        hilo_lines_printable(shown, sizeof shown, name);
        snprintf(err, errlen, "invalid time zone name '%s'", shown);
        return NULL;
    }
    pthread_mutex_lock(&db->lock);
    for (size_t i = 0; i < db->n; i++)
        if (strcmp(db->slots[i].name, name) == 0) {
            const hilo_tz_t *tz = db->slots[i].tz;
            if (!tz) snprintf(err, errlen, "%s", db->slots[i].err);
            pthread_mutex_unlock(&db->lock);
            return tz;
        }
    /* Loaded under the lock: a first use costs one small file read, and holding the lock keeps
     * two threads from loading (and caching) the same zone twice. */
    char why[256] = "";
    hilo_tz_t *tz = load_file(db->dir, name, why, sizeof why);
    if (tz || db->misses < TZDB_MAX_MISSES) {
        if (db->n == db->cap) {
            db->cap = db->cap ? db->cap * 2 : 16;
            db->slots = hilo_xrealloc(db->slots, db->cap * sizeof *db->slots);
        }
        db->slots[db->n++] = (slot_t){hilo_xstrdup(name), tz, tz ? NULL : hilo_xstrdup(why)};
        if (!tz) db->misses++;
    }
    pthread_mutex_unlock(&db->lock);
    if (!tz) snprintf(err, errlen, "%s", why);
    return tz;
}
