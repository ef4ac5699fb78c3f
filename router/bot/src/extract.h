/* extract.h — reading amounts, dates, digits and option numbers out of a debtor's words
 * (internal to router/bot). Pure functions over text: the turn engine calls them, and the
 * unit tests pin them down. Dates are days since 1970-01-01 (proleptic Gregorian); "today"
 * always comes from the caller, so nothing here reads a clock. */
#ifndef HILO_BOT_EXTRACT_H
#define HILO_BOT_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How "05/12" reads when both numbers could be the month: day first or month first. */
typedef enum { BOT_DMY = 0, BOT_MDY } bot_date_order_t;

int32_t bot_days_from_civil(int y, int m, int d);
void bot_civil_from_days(int32_t days, int *y, int *m, int *d);
int bot_days_in_month(int y, int m);
bool bot_date_valid(int y, int m, int d);
int bot_weekday(int32_t days); /* 0 = Monday … 6 = Sunday */
/* "YYYY-MM-DD" → 0, or -1 when malformed or not a real day. */
int bot_date_parse(const char *iso, int32_t *days);
void bot_date_iso(int32_t days, char out[11]);
/* The month's name in a language the bot knows ("es": "diciembre", "en": "December"),
 * NULL otherwise. */
const char *bot_month_name(const char *lang, int month);

/* An amount written with optional thousands and decimal separators: "1.234,56", "1,234.56",
 * "150", "150,5". A last separator followed by 1–2 digits is the decimal one; by 3 digits,
 * a thousands one. Returns 0, or -1 when s is not such a number. */
int bot_money_parse(const char *s, int64_t *cents);

typedef struct {
    bool has_amount;      /* an amount was found */
    int64_t amount_cents; /* the amount */
    bool full;            /* no amount, but "todo"/"the full amount": the whole balance */
    bool has_date;        /* a date was found */
    int32_t date;         /* the date */
    bool bad_date;        /* something date-like that is not a real day (31/02) */
} bot_promise_text_t;

/* "pago 200 el 15/12", "I can pay $150 on December 3", "200 mañana", "en 5 días",
 * "el viernes", "fin de mes". A date without a year is this year's, unless that is more
 * than half a year gone (then next year's). */
void bot_extract_promise(const char *text, bot_date_order_t order, int32_t today,
                         bot_promise_text_t *out);

/* Every digit, typed or spoken ("cuatro tres dos uno", "4-3-2-1"), in order, into out.
 * Returns how many digits there were (even when out was too small for them all). */
int bot_extract_digits(const char *text, char *out, size_t outlen);

/* A chosen option: "2", "opción 2", "la segunda", "option two" → 2; -1 when the text is
 * anything more than a number and filler words. */
int bot_extract_option(const char *text);

/* A count of instalments: "6 cuotas", "12 months", "seis meses" → 6 / 12; -1 when none. */
int bot_extract_count(const char *text);

#endif
