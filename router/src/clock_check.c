/* clock_check.c — see clock_check.h. */
#include "clock_check.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "hilo/common.h"
#include "hilo/log.h"

#define CHECK_MS 10000
#define WARN_REPEAT 60 /* while skewed, the warning again every this many checks (10 min) */

struct hilo_clock_check {
    hilo_router_ctx_t *ctx;
    uv_timer_t timer;
    bool asking, closed, known;
    double sent_us;    /* this router's wall clock when TIME was sent (µs) */
    double offset_ms;  /* the last reading */
    long skewed_checks; /* checks in a row past the limit (0: in sync) */
};

static double wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void on_time(redisReply *r, void *arg) {
    hilo_clock_check_t *c = arg;
    c->asking = false;
    double got_us = wall_us();
    if (c->closed || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
        return; /* Redis gone or not answering TIME: the next check tries again */
    double redis_us = strtod(r->element[0]->str, NULL) * 1e6 + strtod(r->element[1]->str, NULL);
    c->offset_ms = (redis_us - (c->sent_us + got_us) / 2) / 1e3;
    c->known = true;
    double rtt_ms = (got_us - c->sent_us) / 1e3;
    if (fabs(c->offset_ms) > HILO_CLOCK_SKEW_WARN_MS) {
        if (c->skewed_checks++ % WARN_REPEAT == 0)
            hilo_log_warn("clock", "event=clock_skew offset_ms=%.0f rtt_ms=%.1f limit_ms=%d effect=\"offer deadlines, "
                                   "agent presence and history times from this router disagree with the others'; "
                                   "keep the routers' clocks in sync (NTP)\"",
                          c->offset_ms, rtt_ms, HILO_CLOCK_SKEW_WARN_MS);
    } else {
        if (c->skewed_checks > 0)
            hilo_log_info("clock", "event=clock_in_sync offset_ms=%.0f rtt_ms=%.1f", c->offset_ms, rtt_ms);
        c->skewed_checks = 0;
    }
}

static void on_timer(uv_timer_t *t) {
    hilo_clock_check_t *c = t->data;
    if (c->closed || c->asking || !hilo_store_ready(c->ctx->store)) return;
    c->sent_us = wall_us();
    if (hilo_store_command(c->ctx->store, on_time, c, "TIME") == HILO_OK) c->asking = true;
}

hilo_clock_check_t *hilo_clock_check_new(hilo_router_ctx_t *ctx) {
    hilo_clock_check_t *c = hilo_xcalloc(1, sizeof *c);
    c->ctx = ctx;
    uv_timer_init(ctx->loop, &c->timer);
    c->timer.data = c;
    return c;
}

void hilo_clock_check_start(hilo_clock_check_t *c) { uv_timer_start(&c->timer, on_timer, 1000, CHECK_MS); }

static void on_closed(uv_handle_t *h) { free(h->data); }

void hilo_clock_check_destroy(hilo_clock_check_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_clock_check_t *c = *self_p;
    c->closed = true;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_closed);
    *self_p = NULL;
}

bool hilo_clock_check_offset(const hilo_clock_check_t *c, double *offset_ms) {
    if (!c || !c->known) return false;
    *offset_ms = c->offset_ms;
    return true;
}
