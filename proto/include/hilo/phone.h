/* phone.h — turns the many spellings of a phone number into one E.164 string, so that a
 * WhatsApp wa_id ("16505551234"), an SMS From ("+16505551234"), a Twilio "whatsapp:+1650…"
 * address and a caller id all name the same debtor. Pure: no I/O, no allocation. */
#ifndef HILO_PHONE_H
#define HILO_PHONE_H

#include <stddef.h>

/* Normalizes `in` into `out` as "+<digits>" (8 to 15 digits, E.164).
 * Accepted: optional "whatsapp:", "tel:", "sip:" prefixes (a SIP address keeps only its user
 * part), an optional '+' or international "00" prefix, and the separators space - . ( ).
 * A number without '+'/"00" of at most 10 digits is national: `default_cc` (country calling
 * code digits, e.g. "1", "57"; NULL or "" = none) is put in front, and without one it is an
 * error. Longer numbers are taken as international already (a wa_id has no '+').
 * Returns HILO_OK, or HILO_ERR with a reason in `why` (static string) when it is not a phone. */
int hilo_phone_normalize(const char *in, const char *default_cc, char *out, size_t outlen, const char **why);

#endif
