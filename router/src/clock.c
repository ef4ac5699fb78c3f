/* clock.c — "now" for the router's decisions: the test clock when [engine] test_clock is on. */
#include "clock.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "hilo/common.h"
#include "hilo/keys.h"

typedef struct {
    hilo_clock_fn fn;
    void *arg;
} clock_req_t;

int64_t hilo_clock_from_reply(const redisReply *r) {
    if (r && r->type == REDIS_REPLY_STRING) {
        long long v = strtoll(r->str, NULL, 10);
        if (v > 0) return v;
    }
    return hilo_now_ms();
}

static void on_clock(redisReply *r, void *arg) {
    clock_req_t req = *(clock_req_t *)arg;
    free(arg);
    req.fn(req.arg, r ? hilo_clock_from_reply(r) : -1);
}

int hilo_clock_read(hilo_router_ctx_t *ctx, hilo_clock_fn fn, void *arg) {
    if (!ctx->cfg->test_clock) {
        fn(arg, hilo_now_ms());
        return HILO_OK;
    }
    clock_req_t *req = hilo_xcalloc(1, sizeof *req);
    req->fn = fn;
    req->arg = arg;
    if (hilo_store_command(ctx->store, on_clock, req, "GET %s", HILO_KEY_TEST_CLOCK) != HILO_OK) {
        free(req);
        return HILO_ERR;
    }
    return HILO_OK;
}
