/* phone.h — turns the many spellings of a phone number into one canonical E.164 string, so that
 * a WhatsApp wa_id ("5215512345678"), an SMS From ("+525512345678"), a Twilio
 * "whatsapp:+52…" address, a caller id and a portfolio's "55 1234 5678" (country MX) all name
 * the same debtor. Numbers are parsed, checked and formatted by libphonenumber (phonelib.h);
 * this module adds hilo's own rules on top: the prefixes providers put in front, how bare digits
 * are read, and WhatsApp's spellings (docs/protocol.md §8 lists them all). Called by the router
 * (every inbound address), the CLI (import, any command given a phone) and the migration.
 * Pure apart from the optional cache below: no I/O. */
#ifndef HILO_PHONE_H
#define HILO_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#define HILO_PHONE_MAX 20       /* room for any E.164 string: '+', at most 15 digits, NUL */
#define HILO_REPLY_ADDR_MAX 32  /* room for any hilo_phone_reply_address(): "whatsapp:+" 20 digits */

/* Flags of hilo_phone_parse(). */
#define HILO_PHONE_WA_ID 0x1u /* bare digits are international (a WhatsApp id), never national */
#define HILO_PHONE_VALID 0x2u /* the number must be valid (in a range its country assigned), not
                               * only possible (of a length its country uses) */

/* Parses `in` into `out` as canonical E.164 ("+525512345678").
 * Spelling: an optional "whatsapp:", "tel:" or "sip:" prefix (a SIP address keeps only its user
 * part), then '+' or "00" for an international number, digits, and the separators space - . ( ).
 * International numbers go through WhatsApp's rules (Mexico's "521" mobile prefix, Argentina's
 * "15" kept next to the mobile "9") and then the library. Bare digits (no '+', no "00") are read
 * both as a national number of `region` (ISO 3166-1 alpha-2, e.g. "PE"; NULL or "" = the main
 * region of `default_cc`, the calling code digits "1", "57"; neither = international only) and
 * as an international one; the valid reading wins, the national one first; without
 * HILO_PHONE_VALID a possible national reading is taken when neither is valid (an international
 * reading of bare digits must be valid: most digit runs are a possible number somewhere).
 * Returns HILO_OK, or HILO_ERR with a reason in `why` (a static English phrase). */
int hilo_phone_parse(const char *in, const char *region, const char *default_cc, unsigned flags, char *out,
                     size_t outlen, const char **why);

/* hilo_phone_parse(in, NULL, default_cc, 0, ...): a provider's or an operator's number, where a
 * possible number is enough (the library's metadata may lag a country's new ranges). */
int hilo_phone_normalize(const char *in, const char *default_cc, char *out, size_t outlen, const char **why);

/* The address to send to, for a debtor who wrote from `in` (canonical form `e164`): `in` itself
 * when it is a plain spelling — an optional "whatsapp:" prefix, an optional '+', 6 to 20 digits
 * and nothing else — since that is the id the provider knows the debtor by (WhatsApp's wa_id
 * "5215512345678" for a Mexican mobile), else `e164`. Returns false when neither fits `out`. */
bool hilo_phone_reply_address(const char *in, const char *e164, char *out, size_t outlen);

/* A cache of hilo_phone_parse() results for the router's inbound path, where the same senders
 * come again and again and the library costs 10-20 µs a parse: a two-way set-associative table
 * of `slots` (rounded up to a power of two) inputs of up to 47 bytes, each with its flags and
 * result.
 * Only successes are kept; a different default_cc than the one cached under empties it. */
typedef struct hilo_phone_cache hilo_phone_cache_t;

hilo_phone_cache_t *hilo_phone_cache_new(size_t slots);
void hilo_phone_cache_destroy(hilo_phone_cache_t **self_p);
/* hilo_phone_parse(in, NULL, default_cc, flags, ...) through the cache. */
int hilo_phone_cache_parse(hilo_phone_cache_t *self, const char *in, const char *default_cc, unsigned flags,
                           char *out, size_t outlen, const char **why);
/* Lookups answered from the cache, and all lookups, since it was made. */
void hilo_phone_cache_stats(const hilo_phone_cache_t *self, unsigned long long *hits, unsigned long long *lookups);

#endif
