/* watchdog.h — systemd readiness, stop and liveness notices (sd_notify) for a daemon whose work
 * runs on one libuv loop. The router (router/src/router.c) and the connectors' shared main
 * (connectors/lib/src/connector.c) each own one, on their one loop. It owns a timer handle that
 * sends WATCHDOG=1 every half of $WATCHDOG_USEC: because the pings run on the loop, a loop that
 * freezes stops them and systemd (WatchdogSec= in deploy/systemd/) restarts the process.
 * Outside systemd ($NOTIFY_SOCKET unset) every call does nothing. */
#ifndef HILO_WATCHDOG_H
#define HILO_WATCHDOG_H

#include <stdint.h>

#include <uv.h>

typedef struct hilo_watchdog hilo_watchdog_t;

/* Reads $WATCHDOG_USEC / $WATCHDOG_PID (sd_watchdog_enabled) and, when the watchdog is on for
 * this process, prepares the timer on `loop` (not started yet, and not keeping the loop alive
 * by itself). Never NULL. `name` goes into log lines ("router", "connector"). */
hilo_watchdog_t *hilo_watchdog_new(uv_loop_t *loop, const char *name);

/* READY=1 (the process serves now: its sockets listen) and the first ping; starts the timer. */
void hilo_watchdog_ready(hilo_watchdog_t *self);

/* STOPPING=1, once (later calls do nothing). The pings go on until destroy: systemd's stop
 * timeout (TimeoutStopSec=) governs the stop from here. */
void hilo_watchdog_stopping(hilo_watchdog_t *self);

/* The interval between pings in ms (half of $WATCHDOG_USEC); 0 when the watchdog is off. */
uint64_t hilo_watchdog_interval_ms(const hilo_watchdog_t *self);

/* Closes the timer; the memory is freed by the close callback, so the loop must run once more
 * (both callers run it until it is empty). Accepts NULL; nulls the caller's pointer. */
void hilo_watchdog_destroy(hilo_watchdog_t **self_p);

#endif
