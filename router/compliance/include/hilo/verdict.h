/* verdict.h — the answer of every compliance check: allowed or blocked, a stable reason code
 * (for metrics, the supervisor view and tests) and a human sentence (for the agent and logs).
 * Shared by hours.h, freq_cap.h and compliance.h. A verdict is a plain value the caller owns;
 * it holds no pointers except to static strings. */
#ifndef HILO_VERDICT_H
#define HILO_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

/* Stable reason codes. Their names (hilo_reason_name) are part of the console protocol and of
 * the metrics labels: add new ones at the end, never rename. */
typedef enum {
    HILO_REASON_OK = 0,           /* "ok" */
    HILO_REASON_INVALID,          /* "invalid_request": unknown channel, missing clock, ... */
    HILO_REASON_DNC,              /* "do_not_contact": the debtor's dnc flag */
    HILO_REASON_OPTED_OUT,        /* "opted_out": opt-out on this channel */
    HILO_REASON_NO_RULE_PACK,     /* "no_rule_pack": no pack for the country, default = block */
    HILO_REASON_UNKNOWN_TIMEZONE, /* "unknown_timezone": no usable zone for the debtor */
    HILO_REASON_NO_HOLIDAY_DATA,  /* "no_holiday_data": the calendar does not cover the date */
    HILO_REASON_HOLIDAY,          /* "holiday": public holiday, closed by the pack */
    HILO_REASON_CLOSED_DAY,       /* "closed_day": a weekday the pack closes (Sunday, ...) */
    HILO_REASON_OUTSIDE_HOURS,    /* "outside_contact_hours" */
    HILO_REASON_WHATSAPP_WINDOW,  /* "whatsapp_window": free-form outside 24 h, template needed */
    HILO_REASON_FREQUENCY_CAP,    /* "frequency_cap": too many attempts in the rolling window */
    HILO_REASON_CAP_FAILED,       /* "cap_check_failed": bad/no reply from the cap script */
    HILO_REASON_RECENT_CONVERSATION, /* "recent_phone_conversation": no call within the pack's pause
                                        after a phone conversation (Reg F 1006.14(b)(2)(ii)) */
    HILO_REASON_COUNT             /* number of codes */
} hilo_reason_t;

/* A rolling frequency cap: at most `limit` collector-initiated attempts per `window_ms`.
 * limit == 0 means "no cap step": nothing to run. */
typedef struct {
    int limit;         /* attempts allowed in the window; 0 = no cap */
    int64_t window_ms; /* rolling window length */
} hilo_cap_t;

typedef struct {
    bool allowed;         /* the message may go out (after the cap step, see compliance.h) */
    hilo_reason_t reason; /* why; HILO_REASON_OK when allowed */
    char text[320];       /* human reason, UTF-8, no message content or personal data */
    int64_t next_ms;      /* earliest Unix ms when the same attempt may pass; 0 = unknown */
    hilo_cap_t cap;       /* when allowed: the cap the caller must still check (limit 0: none) */
} hilo_verdict_t;

/* "ok", "outside_contact_hours", ...; "unknown" for an out-of-range value. */
const char *hilo_reason_name(hilo_reason_t reason);

/* Fills *v as blocked with `reason` and a printf-formatted text (truncated to fit). */
void hilo_verdict_block(hilo_verdict_t *v, hilo_reason_t reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True for the refusals that time lifts (contact hours, a closed day or holiday, the frequency
 * cap, the pause after a phone conversation): a message asked to "wait for the next allowed window" waits for next_ms instead of being
 * cancelled. Opt-outs, do-not-contact, the WhatsApp window and missing data never wait. */
bool hilo_reason_waitable(hilo_reason_t reason);

/* Fills *v as allowed (reason ok, empty text, no cap). */
void hilo_verdict_allow(hilo_verdict_t *v);

#endif
