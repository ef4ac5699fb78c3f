/* watchdog.c — sd_notify from the loop: READY=1, STOPPING=1 and the WATCHDOG=1 pings
 * (watchdog.h). libsystemd's sd_notify is one sendmsg(2) on a datagram socket, non-blocking in
 * practice: the notify socket is systemd's, always read. A failed send is logged once and the
 * pings go on: systemd acts on missing pings, and a log line per ping would flood the journal. */
#include "hilo/watchdog.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "hilo/common.h"
#include "hilo/log.h"

#define MOD "watchdog"

struct hilo_watchdog {
    uv_timer_t timer;       /* the pings; first member: the close callback frees the whole */
    const char *name;       /* caller's process name, for log lines (static string) */
    uint64_t interval_ms;   /* half of $WATCHDOG_USEC; 0 = watchdog off */
    bool timer_init;        /* timer initialised on the loop (watchdog on) */
    bool stopping;          /* STOPPING=1 sent */
    bool send_failed;       /* a notice failed already: logged once */
};

/* One notice; false when it could not be sent (a missing $NOTIFY_SOCKET is not a failure). */
static bool notify(hilo_watchdog_t *w, const char *state) {
    int rc = sd_notify(0, state);
    if (rc >= 0) return true;
    if (!w->send_failed)
        hilo_log_warn(MOD, "event=notify_failed process=%s errno=%d msg=\"%s\"", w->name, -rc, strerror(-rc));
    w->send_failed = true;
    return false;
}

static void on_ping(uv_timer_t *t) { notify((hilo_watchdog_t *)t->data, "WATCHDOG=1"); }

static void on_closed(uv_handle_t *h) { free(h->data); }

hilo_watchdog_t *hilo_watchdog_new(uv_loop_t *loop, const char *name) {
    hilo_watchdog_t *w = hilo_xcalloc(1, sizeof *w);
    w->name = name;
    uint64_t usec = 0;
    /* > 0 only when $WATCHDOG_USEC is set and $WATCHDOG_PID is unset or our pid. The variables
     * stay in the environment (unset_environment 0): nothing here forks. */
    int on = sd_watchdog_enabled(0, &usec);
    if (on < 0) hilo_log_warn(MOD, "event=watchdog_env_invalid process=%s errno=%d", name, -on);
    if (on > 0 && usec > 0) {
        w->interval_ms = usec / 2000;
        if (w->interval_ms == 0) w->interval_ms = 1;
        uv_timer_init(loop, &w->timer);
        w->timer.data = w;
        uv_unref((uv_handle_t *)&w->timer); /* the pings alone never keep a process running */
        w->timer_init = true;
    }
    return w;
}

void hilo_watchdog_ready(hilo_watchdog_t *self) {
    if (!self) return;
    notify(self, self->interval_ms ? "READY=1\nWATCHDOG=1" : "READY=1");
    if (self->timer_init) {
        uv_timer_start(&self->timer, on_ping, self->interval_ms, self->interval_ms);
        hilo_log_info(MOD, "event=watchdog_on process=%s ping_ms=%llu", self->name,
                      (unsigned long long)self->interval_ms);
    }
}

void hilo_watchdog_stopping(hilo_watchdog_t *self) {
    if (!self || self->stopping) return;
    self->stopping = true;
    notify(self, "STOPPING=1");
}

uint64_t hilo_watchdog_interval_ms(const hilo_watchdog_t *self) { return self ? self->interval_ms : 0; }

void hilo_watchdog_destroy(hilo_watchdog_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_watchdog_t *w = *self_p;
    *self_p = NULL;
    if (!w->timer_init) {
        free(w);
        return;
    }
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_closed);
}
