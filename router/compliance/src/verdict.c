/* verdict.c — reason names and verdict constructors (see verdict.h). */
#include "hilo/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hilo/utf8.h"

static const char *const names[HILO_REASON_COUNT] = {
    [HILO_REASON_OK] = "ok",
    [HILO_REASON_INVALID] = "invalid_request",
    [HILO_REASON_DNC] = "do_not_contact",
    [HILO_REASON_OPTED_OUT] = "opted_out",
    [HILO_REASON_NO_RULE_PACK] = "no_rule_pack",
    [HILO_REASON_UNKNOWN_TIMEZONE] = "unknown_timezone",
    [HILO_REASON_NO_HOLIDAY_DATA] = "no_holiday_data",
    [HILO_REASON_HOLIDAY] = "holiday",
    [HILO_REASON_CLOSED_DAY] = "closed_day",
    [HILO_REASON_OUTSIDE_HOURS] = "outside_contact_hours",
    [HILO_REASON_WHATSAPP_WINDOW] = "whatsapp_window",
    [HILO_REASON_FREQUENCY_CAP] = "frequency_cap",
    [HILO_REASON_CAP_FAILED] = "cap_check_failed",
    [HILO_REASON_RECENT_CONVERSATION] = "recent_phone_conversation",
};

const char *hilo_reason_name(hilo_reason_t reason) {
    return (int)reason >= 0 && reason < HILO_REASON_COUNT && names[reason] ? names[reason] : "unknown";
}

bool hilo_reason_waitable(hilo_reason_t reason) {
    return reason == HILO_REASON_OUTSIDE_HOURS || reason == HILO_REASON_CLOSED_DAY || reason == HILO_REASON_HOLIDAY ||
           reason == HILO_REASON_FREQUENCY_CAP || reason == HILO_REASON_RECENT_CONVERSATION;
}

void hilo_verdict_block(hilo_verdict_t *v, hilo_reason_t reason, const char *fmt, ...) {
    memset(v, 0, sizeof *v);
    v->allowed = false;
    v->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v->text, sizeof v->text, fmt, ap);
    va_end(ap);
    /* Texts carry UTF-8 (pack and holiday names) and end up in JSON for the console: when cut,
     * drop a trailing incomplete sequence rather than emit invalid UTF-8. */
    if (n >= (int)sizeof v->text) v->text[hilo_utf8_complete(v->text, sizeof v->text - 1)] = '\0';
}

void hilo_verdict_allow(hilo_verdict_t *v) {
    memset(v, 0, sizeof *v);
    v->allowed = true;
    v->reason = HILO_REASON_OK;
}
