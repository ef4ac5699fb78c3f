/* phone.c — phone numbers to canonical E.164: hilo's rules on top of libphonenumber (phonelib.h).
 *
 * Why a library and not hand rules: the old hand rules ("at most 10 digits is national, more is
 * international") could not know that Mexico's "+52 1 55…" and "+52 55…" are one mobile, that a
 * Peruvian "01 4567890" is Lima's area code 1 behind the trunk prefix 0, or that Argentina's
 * "011 15 1234-5678" is "+54 9 11 1234 5678"; every country's trunk prefixes, lengths and ranges
 * are data that libphonenumber keeps, and Debian keeps libphonenumber.
 *
 * What stays ours (docs/protocol.md §8):
 *   - the spellings providers send: "whatsapp:", "tel:", "sip:user@host" prefixes, "00" for '+';
 *   - how bare digits are read (a WhatsApp id is always international; otherwise national in the
 *     row's or the configured country first, the valid reading winning);
 *   - WhatsApp's spellings, applied to every international number before the library sees it:
 *       MX  "52 1 XXXXXXXXXX" -> "52 XXXXXXXXXX": wa_ids of Mexican mobiles keep the "1" that
 *           Mexico retired in 2019 (libphonenumber 8.12 strips it too; the rule pins it);
 *       AR  "54 9 <area> 15 <number>" -> "54 9 <area> <number>": the domestic mobile prefix 15
 *           written next to the international mobile 9; the library refuses that spelling.
 *           ("54 <area> 15 <number>" and the national "0<area> 15 <number>" the library itself
 *           reads as the mobile "+54 9 <area> <number>".)
 * Changing a rule changes identity keys (hilo:addr:<E.164>): `hilo migrate-addresses` must then
 * be run (docs/operations.md). */
#include "hilo/phone.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "hilo/phonelib.h"

#define DIGITS_MAX 20 /* more digits than any spelling of an E.164 number has, with 00 and 15 */

/* The digits of a spelling, and whether it said it is international. HILO_ERR with `why`. */
static int spelling(const char *in, char *digits, size_t *nd, bool *intl, const char **why) {
    static const char *prefixes[] = {"whatsapp:", "tel:", "sip:"};
    const char *s = in;
    const char *end = in + strlen(in);
    for (size_t i = 0; i < HILO_ARRAY_LEN(prefixes); i++)
        if (strncasecmp(s, prefixes[i], strlen(prefixes[i])) == 0) {
            s += strlen(prefixes[i]);
            if (i == 2) { /* sip:+1650…@host;params — the user part only */
                const char *at = strchr(s, '@');
                if (at) end = at;
            }
            break;
        }
    while (s < end && *s == ' ') s++;
    *intl = false;
    if (s < end && *s == '+') {
        *intl = true;
        s++;
    } else if (end - s >= 2 && s[0] == '0' && s[1] == '0') {
        *intl = true;
        s += 2;
    }
    size_t n = 0;
    for (; s < end; s++) {
        if (*s >= '0' && *s <= '9') {
            if (n >= DIGITS_MAX) {
                *why = "too many digits";
                return HILO_ERR;
            }
            digits[n++] = *s;
        } else if (*s != ' ' && *s != '-' && *s != '.' && *s != '(' && *s != ')') {
            *why = "unexpected character in phone number";
            return HILO_ERR;
        }
    }
    digits[n] = '\0';
    if (n == 0) {
        *why = "no digits";
        return HILO_ERR;
    }
    *nd = n;
    return HILO_OK;
}

/* Parses "+<digits>" after WhatsApp's spellings (the header comment). */
static hilo_phonelib_err_t parse_international(const char *digits, size_t n, int check_valid,
                                               hilo_phonelib_number_t *num) {
    char text[DIGITS_MAX + 2];
    text[0] = '+';
    memcpy(text + 1, digits, n + 1);
    /* MX: 52 1 + ten digits -> 52 + ten digits. */
    if (n == 13 && strncmp(digits, "521", 3) == 0) memmove(text + 3, text + 4, n - 2);
    hilo_phonelib_err_t err = hilo_phonelib_parse(text, NULL, check_valid, num);
    /* AR: 54 9 <area of 2-4 digits> 15 <the rest: 10 digits in all with the area>. */
    if (n == 15 && strncmp(digits, "549", 3) == 0 && !(err == HILO_PHONELIB_OK && num->valid)) {
        for (size_t area = 2; area <= 4; area++) {
            const char *p = digits + 3 + area;
            if (p[0] != '1' || p[1] != '5') continue;
            char alt[DIGITS_MAX + 2];
            snprintf(alt, sizeof alt, "+549%.*s%s", (int)area, digits + 3, p + 2);
            hilo_phonelib_number_t m;
            if (hilo_phonelib_parse(alt, NULL, 1, &m) == HILO_PHONELIB_OK && m.valid && m.type == HILO_PHONELIB_MOBILE) {
                *num = m;
                return HILO_PHONELIB_OK;
            }
        }
    }
    return err;
}

/* Why a reading is not good enough, NULL when it is. */
static const char *verdict(hilo_phonelib_err_t err, const hilo_phonelib_number_t *num, unsigned flags) {
    if (err != HILO_PHONELIB_OK) return hilo_phonelib_strerror(err);
    if (!num->possible) return hilo_phonelib_strerror(num->why_impossible);
    if ((flags & HILO_PHONE_VALID) && !num->valid) return "not a valid number in its country";
    return NULL;
}

static int emit(const hilo_phonelib_number_t *num, char *out, size_t outlen, const char **why) {
    size_t len = strlen(num->e164);
    if (len + 1 > outlen) {
        *why = "output buffer too small";
        return HILO_ERR;
    }
    memcpy(out, num->e164, len + 1);
    return HILO_OK;
}

int hilo_phone_parse(const char *in, const char *region, const char *default_cc, unsigned flags, char *out,
                     size_t outlen, const char **why) {
    char digits[DIGITS_MAX + 1];
    size_t n;
    bool intl;
    if (spelling(in, digits, &n, &intl, why) != HILO_OK) return HILO_ERR;
    hilo_phonelib_number_t num;
    if (intl || (flags & HILO_PHONE_WA_ID)) {
        hilo_phonelib_err_t err = parse_international(digits, n, (flags & HILO_PHONE_VALID) != 0, &num);
        if ((*why = verdict(err, &num, flags))) return HILO_ERR;
        return emit(&num, out, outlen, why);
    }

    /* Bare digits: the country to read them in. */
    char reg[3] = "";
    if (region && *region) {
        if (strlen(region) != 2 || hilo_phonelib_country_code(region) == 0) {
            *why = "unknown country (want an ISO 3166-1 alpha-2 code, e.g. PE)";
            return HILO_ERR;
        }
        memcpy(reg, region, 3);
    } else if (default_cc && *default_cc) {
        char *end;
        long cc = strtol(default_cc, &end, 10);
        if (*end || cc <= 0 || cc > 999 || !hilo_phonelib_main_region((int)cc, reg)) {
            *why = "default country code is no country's";
            return HILO_ERR;
        }
    }
    hilo_phonelib_number_t intl_num;
    hilo_phonelib_err_t intl_err = parse_international(digits, n, 1, &intl_num);
    /* The international reading of bare digits must be valid, never only possible: nearly any
     * run of digits is a possible number of the country its first digits happen to name
     * ("6502530000" would be Singapore's +65 0253 0000). */
    bool intl_valid = intl_err == HILO_PHONELIB_OK && intl_num.valid && intl_num.possible;
    if (!*reg) { /* no country: international or nothing */
        if (intl_valid) return emit(&intl_num, out, outlen, why);
        *why = "national number and no default country code";
        return HILO_ERR;
    }
    hilo_phonelib_err_t nat_err = hilo_phonelib_parse(digits, reg, 1, &num);
    bool nat_valid = nat_err == HILO_PHONELIB_OK && num.valid && num.possible;
    if (nat_valid) return emit(&num, out, outlen, why);
    if (intl_valid) return emit(&intl_num, out, outlen, why);
    if (!(flags & HILO_PHONE_VALID) && nat_err == HILO_PHONELIB_OK && num.possible)
        return emit(&num, out, outlen, why);
    *why = verdict(nat_err, &num, flags);
    if (!*why) *why = "not a valid number in its country";
    return HILO_ERR;
}

int hilo_phone_normalize(const char *in, const char *default_cc, char *out, size_t outlen, const char **why) {
    return hilo_phone_parse(in, NULL, default_cc, 0, out, outlen, why);
}

bool hilo_phone_reply_address(const char *in, const char *e164, char *out, size_t outlen) {
    const char *s = in;
    if (strncasecmp(s, "whatsapp:", 9) == 0) s += 9;
    if (*s == '+') s++;
    size_t digits = strspn(s, "0123456789");
    const char *use = s[digits] == '\0' && digits >= 6 && digits <= 20 ? in : e164;
    size_t len = strlen(use);
    if (len + 1 > outlen) return false;
    memcpy(out, use, len + 1);
    return true;
}

/* ---- the cache ---------------------------------------------------------------------------- */

#define CACHE_IN_MAX 47

typedef struct {
    char in[CACHE_IN_MAX + 1];  /* the spelling as given; "" = empty slot */
    char out[HILO_PHONE_MAX];   /* its E.164 */
    unsigned flags;             /* the flags it was parsed with */
} slot_t;

struct hilo_phone_cache {
    slot_t *slots;              /* two-way set-associative: pairs of slots */
    size_t mask;                /* slots - 1 */
    char cc[8];                 /* the default_cc the entries were parsed with */
    unsigned long long hits;    /* lookups answered here */
    unsigned long long lookups; /* all lookups */
};

hilo_phone_cache_t *hilo_phone_cache_new(size_t slots) {
    size_t n = 16;
    while (n < slots && n < ((size_t)1 << 24)) n <<= 1;
    hilo_phone_cache_t *c = hilo_xcalloc(1, sizeof *c);
    c->slots = hilo_xcalloc(n, sizeof *c->slots);
    c->mask = n - 1;
    return c;
}

void hilo_phone_cache_destroy(hilo_phone_cache_t **self_p) {
    if (!self_p || !*self_p) return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

static size_t cache_hash(const char *s, size_t len, unsigned flags) {
    uint64_t h = 1469598103934665603ull ^ flags; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

int hilo_phone_cache_parse(hilo_phone_cache_t *c, const char *in, const char *default_cc, unsigned flags,
                           char *out, size_t outlen, const char **why) {
    c->lookups++;
    const char *cc = default_cc ? default_cc : "";
    if (strcmp(cc, c->cc) != 0) { /* the configuration changed: every entry may read otherwise */
        memset(c->slots, 0, (c->mask + 1) * sizeof *c->slots);
        snprintf(c->cc, sizeof c->cc, "%s", cc);
    }
    size_t len = strlen(in);
    if (len == 0 || len > CACHE_IN_MAX) return hilo_phone_parse(in, NULL, default_cc, flags, out, outlen, why);
    /* Two-way: an input may sit in either slot of its pair; a new one replaces the pair's
     * slot picked by another bit of the hash (as good as LRU here, and no bookkeeping). */
    size_t h = cache_hash(in, len, flags);
    slot_t *pair = &c->slots[h & c->mask & ~(size_t)1];
    slot_t *s = &pair[0];
    if (!(s->flags == flags && strcmp(s->in, in) == 0)) s = &pair[1];
    if (s->flags == flags && strcmp(s->in, in) == 0) {
        size_t olen = strlen(s->out);
        if (olen + 1 > outlen) {
            *why = "output buffer too small";
            return HILO_ERR;
        }
        memcpy(out, s->out, olen + 1);
        c->hits++;
        return HILO_OK;
    }
    if (hilo_phone_parse(in, NULL, default_cc, flags, out, outlen, why) != HILO_OK) return HILO_ERR;
    s = &pair[!pair[0].in[0] ? 0 : !pair[1].in[0] ? 1 : (h >> 40) & 1];
    if (strlen(out) < sizeof s->out) {
        memcpy(s->in, in, len + 1);
        memcpy(s->out, out, strlen(out) + 1);
        s->flags = flags;
    }
    return HILO_OK;
}

void hilo_phone_cache_stats(const hilo_phone_cache_t *c, unsigned long long *hits, unsigned long long *lookups) {
    *hits = c->hits;
    *lookups = c->lookups;
}
