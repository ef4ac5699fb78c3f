/* flow_queues.c — the queues a loaded flow can send conversations to: every language of the
 * flow times every escalation topic and portfolio rule topic ("<language>.<topic>", the skill
 * bot.c names when it escalates). The supervisor's admin view lists them with their agents
 * (router/src/console/admin.c, through hilo_engine_queues). Read-only over the flow. */
#include <stdio.h>

#include "flow_int.h"
#include "hilo/bot_flow.h"

static void each_topic(const hilo_flow_t *f, const bot_escalation_t *e, int n, hilo_flow_queue_fn fn, void *arg) {
    char q[BOT_NAME_MAX * 2 + 16];
    for (int i = 0; i < n; i++)
        for (int l = 0; l < f->nlangs; l++) {
            snprintf(q, sizeof q, "%s.%s", f->langs[l].code, e[i].topic);
            fn(q, e[i].name, arg);
        }
}

void hilo_flow_queues(const hilo_flow_t *f, hilo_flow_queue_fn fn, void *arg) {
    if (!f || !fn) return;
    each_topic(f, f->escs, f->nescs, fn, arg);
    each_topic(f, f->pfrules, f->npfrules, fn, arg);
}
