/* phonelib.h — the C face of libphonenumber (Google's C++ library, Debian's libphonenumber-dev):
 * parse a number in a country's context, say whether it is possible and valid, format it E.164.
 * The only C++ in hilo (proto/src/phonelib.cc); phone.c, which holds hilo's own rules on top
 * (prefixes, WhatsApp's spellings), is its one caller. Pure: no I/O, no allocation the caller
 * sees; every function may be called from any thread (libphonenumber's PhoneNumberUtil is a
 * thread-safe singleton, built on first use: the first call costs a few milliseconds). */
#ifndef HILO_PHONELIB_H
#define HILO_PHONELIB_H

#ifdef __cplusplus
extern "C" {
#endif

/* Why a parse failed (libphonenumber's ErrorType and ValidationResult, in one list). */
typedef enum {
    HILO_PHONELIB_OK = 0,
    HILO_PHONELIB_NOT_A_NUMBER,          /* no digits where a number should be */
    HILO_PHONELIB_BAD_COUNTRY_CODE,      /* "+" followed by no known calling code, or a national
                                          * number with no (known) country to read it in */
    HILO_PHONELIB_TOO_SHORT,             /* shorter than any number of its country */
    HILO_PHONELIB_TOO_LONG,              /* longer than any number of its country */
    HILO_PHONELIB_INVALID_LENGTH,        /* between lengths its country uses, none of them */
    HILO_PHONELIB_LOCAL_ONLY,            /* dialable only inside its area: the area code is missing */
    HILO_PHONELIB_FAILED,                /* the library threw (out of memory): not a verdict */
} hilo_phonelib_err_t;

/* What a number is, when it is valid (libphonenumber's PhoneNumberType). */
typedef enum {
    HILO_PHONELIB_UNKNOWN = 0,
    HILO_PHONELIB_FIXED_LINE,
    HILO_PHONELIB_MOBILE,
    HILO_PHONELIB_FIXED_OR_MOBILE, /* the country's ranges do not tell (US, CA, MX...) */
    HILO_PHONELIB_OTHER,           /* toll free, premium, VoIP, pager, UAN, voicemail... */
} hilo_phonelib_type_t;

typedef struct {
    int country_code;          /* calling code: 52 */
    char e164[20];             /* "+525512345678" (E.164 has at most 15 digits) */
    char region[3];            /* "MX"; "" when no one region's ranges hold it */
    int possible;              /* 1: its length is one its country's full numbers use */
    hilo_phonelib_err_t why_impossible; /* when not possible: TOO_SHORT, TOO_LONG, ... */
    int valid;                 /* 1: in a range its country has assigned (the library's metadata) */
    hilo_phonelib_type_t type; /* meaningful when valid */
} hilo_phonelib_number_t;

/* Parses `text` (digits, separators, "+" in front for an international number) as a number of
 * `region` (ISO 3166-1 alpha-2, "PE"; NULL or "" = none: only "+..." numbers parse). Fills *out
 * and returns HILO_PHONELIB_OK when the text is a number at all — possible and valid are then
 * the caller's to judge — else the reason (out is zeroed). With `check_valid` 0, valid, type and
 * region are left 0/"" and not computed: matching the number against its country's ranges is
 * most of a parse's cost (about 40 %), and the router's inbound path needs only "possible". */
hilo_phonelib_err_t hilo_phonelib_parse(const char *text, const char *region, int check_valid,
                                        hilo_phonelib_number_t *out);

/* The calling code of a region ("MX" -> 52), 0 when the library does not know the region. */
int hilo_phonelib_country_code(const char *region);

/* The main region of a calling code (1 -> "US", 52 -> "MX") into out[3]; 0 when none (out ""),
 * 1 when found. */
int hilo_phonelib_main_region(int country_code, char out[3]);

/* A short English phrase for an error ("too short"). Static. */
const char *hilo_phonelib_strerror(hilo_phonelib_err_t err);

#ifdef __cplusplus
}
#endif

#endif
