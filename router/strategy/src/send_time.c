/* send_time.c — when a strategy's step can go out: its own window, then the compliance gate's
 * hours in the debtor's zone (hilo/strategy.h, hilo_strategy_send_time). */
#include <stdio.h>

#include "hilo/strategy.h"
#include "strategy_int.h"

#define GATE_TRIES 32 /* times a step is moved to the gate's next allowed time */

int64_t hilo_strategy_send_time(const hilo_compliance_t *gate, const hilo_strategy_facts_t *f, const hilo_tz_t *tz,
                                const hilo_strategy_step_t *step, int64_t due_ms, hilo_strategy_excl_t *why,
                                char *detail, size_t detaillen) {
    return hilo_strategy_send_time_on(gate, f, tz, step, hilo_strategy_step_channel(step), due_ms, why, detail,
                                      detaillen);
}

int64_t hilo_strategy_send_time_on(const hilo_compliance_t *gate, const hilo_strategy_facts_t *f, const hilo_tz_t *tz,
                                   const hilo_strategy_step_t *step, int channel, int64_t due_ms,
                                   hilo_strategy_excl_t *why, char *detail, size_t detaillen) {
    if (detaillen) detail[0] = '\0';
    int64_t t = due_ms;
    for (int i = 0; i < GATE_TRIES; i++) {
        t = hilo_strategy_window_next(step, tz, t);
        if (t < 0) break;
        hilo_attempt_t a;
        hilo_attempt_load_facts(&a, f->get, f->debtor, f->conv);
        a.channel = channel;
        a.kind = hilo_strategy_step_template(step) ? HILO_MSG_TEMPLATE : HILO_MSG_FREEFORM;
        a.now_ms = t;
        hilo_verdict_t v;
        if (hilo_compliance_check(gate, &a, &v)) return t;
        if (!hilo_reason_waitable(v.reason) || v.next_ms <= t) {
            *why = HILO_EXCL_GATE;
            if (detaillen) snprintf(detail, detaillen, "%s", hilo_reason_name(v.reason));
            return -1;
        }
        t = v.next_ms;
    }
    *why = HILO_EXCL_NO_WINDOW;
    return -1;
}
