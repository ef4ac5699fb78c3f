/* metrics.c — Prometheus text exposition of the router's metrics. */
#include "metrics.h"

#include "hilo/tz.h"

static const double bounds[HILO_HIST_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,    0.025,  0.05,    0.1,    0.25,  0.5,   1.0};

void hilo_histogram_observe(hilo_histogram_t *h, double s) {
    int i = 0;
    while (i < HILO_HIST_BUCKETS && s > bounds[i]) i++;
    h->buckets[i]++;
    h->count++;
    h->sum_s += s;
}

static void histogram(hilo_buf_t *o, const char *name, const char *help, const hilo_histogram_t *h) {
    hilo_buf_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < HILO_HIST_BUCKETS; i++) {
        cum += h->buckets[i];
        hilo_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
    }
    cum += h->buckets[HILO_HIST_BUCKETS];
    hilo_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                    (unsigned long long)cum, name, h->sum_s, name, (unsigned long long)h->count);
}

static void per_channel(hilo_buf_t *o, const char *name, const char *type, const char *help,
                        const uint64_t v[HILO_CHANNEL_MAX]) {
    hilo_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (int c = 1; c < HILO_CHANNEL_MAX; c++)
        hilo_buf_printf(o, "%s{channel=\"%s\"} %llu\n", name, hilo_channel_name(c), (unsigned long long)v[c]);
}

static void calendar_end(const char *pack, const char *cc, int last_year, void *arg) {
    int64_t end = hilo_days_from_civil(last_year + 1, 1, 1) * 86400; /* 00:00 UTC after the last day */
    hilo_buf_printf(arg, "hilo_compliance_holidays_until_seconds{pack=\"%s\",calendar=\"%s\"} %lld\n", pack, cc,
                    (long long)end);
}

const char *const hilo_agent_state_names[HILO_AGENT_STATES] = {"available", "away", "offline", "disabled"};

/* A queue's name as a label value: \\, \" and \n escaped (the text format's rule). */
static void label_value(hilo_buf_t *o, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') hilo_buf_printf(o, "\\%c", *v);
        else if (*v == '\n') hilo_buf_printf(o, "\\n");
        else hilo_buf_printf(o, "%c", *v);
    }
}

static void queue_gauge(hilo_buf_t *o, const char *name, const char *help, const hilo_floor_gauges_t *f,
                        double (*value)(const hilo_floor_queue_t *)) {
    hilo_buf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < f->nqueues; i++) {
        hilo_buf_printf(o, "%s{queue=\"", name);
        label_value(o, f->queues[i].queue);
        hilo_buf_printf(o, "\"} %g\n", value(&f->queues[i]));
    }
}

static double q_waiting(const hilo_floor_queue_t *q) { return (double)q->waiting; }
static double q_oldest(const hilo_floor_queue_t *q) { return q->oldest_wait_s; }
static double q_breaching(const hilo_floor_queue_t *q) { return (double)q->sla_breaching; }
static double q_calls(const hilo_floor_queue_t *q) { return (double)q->calls_waiting; }

/* A day's verdicts per queue: {queue, result="met"|"breached"}. */
static void queue_verdicts(hilo_buf_t *o, const char *name, const char *help, const hilo_floor_gauges_t *f,
                           void (*of)(const hilo_floor_queue_t *, long *met, long *breached)) {
    hilo_buf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < f->nqueues; i++) {
        long v[2];
        of(&f->queues[i], &v[0], &v[1]);
        for (int r = 0; r < 2; r++) {
            hilo_buf_printf(o, "%s{queue=\"", name);
            label_value(o, f->queues[i].queue);
            hilo_buf_printf(o, "\",result=\"%s\"} %ld\n", r == 0 ? "met" : "breached", v[r]);
        }
    }
}

static void first_response(const hilo_floor_queue_t *q, long *met, long *breached) {
    *met = q->sla_met, *breached = q->sla_breached;
}

static void resolution(const hilo_floor_queue_t *q, long *met, long *breached) {
    *met = q->res_met, *breached = q->res_breached;
}

static void floor_render(hilo_buf_t *o, const hilo_floor_gauges_t *f) {
    hilo_buf_printf(o, "# HELP hilo_floor_sampled_timestamp_seconds When the floor's figures below were last read "
                       "from Redis (Unix time; every [console] floor_metrics_s).\n"
                       "# TYPE hilo_floor_sampled_timestamp_seconds gauge\nhilo_floor_sampled_timestamp_seconds %.3f\n",
                    (double)f->sampled_ms / 1000);
    hilo_buf_printf(o, "# HELP hilo_agents Agents' accounts by state (the same figure on every router).\n"
                       "# TYPE hilo_agents gauge\n");
    for (int s = 0; s < HILO_AGENT_STATES; s++)
        hilo_buf_printf(o, "hilo_agents{state=\"%s\"} %ld\n", hilo_agent_state_names[s], f->agents[s]);
    hilo_buf_printf(o, "# HELP hilo_calls_in_progress Callers put through to an agent whose call is still live.\n"
                       "# TYPE hilo_calls_in_progress gauge\nhilo_calls_in_progress %ld\n",
                    f->calls_in_progress);
    queue_gauge(o, "hilo_queue_waiting", "Conversations waiting in a queue for an agent.", f, q_waiting);
    queue_gauge(o, "hilo_queue_calls_waiting",
                "Callers on the line waiting in the queue (among its first 200 conversations).", f, q_calls);
    queue_gauge(o, "hilo_queue_oldest_wait_seconds", "The longest wait of a conversation in the queue now.", f,
                q_oldest);
    queue_gauge(o, "hilo_queue_sla_breaching", "Conversations awaiting a first reply past the queue's target now.", f,
                q_breaching);
    hilo_buf_printf(o, "# HELP hilo_queue_agents_free Agents with the queue's skill, available, with a free slot "
                       "on the channel.\n# TYPE hilo_queue_agents_free gauge\n");
    for (size_t i = 0; i < f->nqueues; i++)
        for (int c = 1; c < HILO_CHANNEL_MAX; c++) {
            hilo_buf_printf(o, "hilo_queue_agents_free{queue=\"");
            label_value(o, f->queues[i].queue);
            hilo_buf_printf(o, "\",channel=\"%s\"} %ld\n", hilo_channel_name(c), f->queues[i].free[c]);
        }
    queue_verdicts(o, "hilo_queue_sla_first_response",
                   "First responses today (business day) within the queue's target (met) or not (breached).", f,
                   first_response);
    queue_verdicts(o, "hilo_queue_sla_resolution",
                   "Resolutions today (business day): closed within the queue's resolution target (met) or not "
                   "(breached).",
                   f, resolution);
    hilo_buf_printf(o, "# HELP hilo_queue_sla_first_response_ratio Met / (met + breached) today; NaN before "
                       "the day's first verdict.\n# TYPE hilo_queue_sla_first_response_ratio gauge\n");
    for (size_t i = 0; i < f->nqueues; i++) {
        const hilo_floor_queue_t *q = &f->queues[i];
        hilo_buf_printf(o, "hilo_queue_sla_first_response_ratio{queue=\"");
        label_value(o, q->queue);
        if (q->sla_met + q->sla_breached == 0) hilo_buf_printf(o, "\"} NaN\n");
        else hilo_buf_printf(o, "\"} %.6f\n", (double)q->sla_met / (double)(q->sla_met + q->sla_breached));
    }
}

void hilo_metrics_render(const hilo_metrics_t *m, const hilo_metrics_gauges_t *g, hilo_buf_t *o) {
    per_channel(o, "hilo_envelopes_total", "counter", "Envelopes received from connectors.", m->envelopes);
    per_channel(o, "hilo_messages_in_total", "counter", "Inbound items committed to a history.", m->stored);
    per_channel(o, "hilo_dedupes_total", "counter", "Envelopes recognised as duplicates.", m->dedupes);
    hilo_buf_printf(o, "# HELP hilo_acks_total Acks sent to connectors.\n# TYPE hilo_acks_total counter\n"
                       "hilo_acks_total{duplicate=\"false\"} %llu\nhilo_acks_total{duplicate=\"true\"} %llu\n",
                    (unsigned long long)m->acks, (unsigned long long)m->acks_duplicate);
    hilo_buf_printf(o, "# HELP hilo_nacks_total Nacks sent to connectors, by reason code.\n"
                       "# TYPE hilo_nacks_total counter\n");
    for (int c = 1; c <= HILO_NACK_GONE; c++)
        hilo_buf_printf(o, "hilo_nacks_total{code=\"%s\"} %llu\n", hilo_nack_code_name(c),
                        (unsigned long long)m->nacks[c]);
    per_channel(o, "hilo_outbound_committed_total", "counter", "Outbound messages committed by this router.",
                m->outbound_committed);
    per_channel(o, "hilo_outbound_sent_total", "counter", "Outbound frames sent to connectors (re-sends included).",
                m->outbound_sent);
    per_channel(o, "hilo_outbound_cancelled_total", "counter",
                "Outbound messages never sent: refused by the gate at hand-off, or not handed off in time.",
                m->outbound_cancelled);
    per_channel(o, "hilo_outbound_waiting_total", "counter",
                "Times an outbound message was held for its next allowed window.", m->outbound_waiting);
    per_channel(o, "hilo_outbound_returned_total", "counter",
                "Outbound messages a connector gave back without handing them to the provider.",
                m->outbound_returned);
    per_channel(o, "hilo_outbound_paced_total", "counter",
                "Times an outbound message waited for a send slot of its sender's rate ([pacing]).",
                m->outbound_paced);
    per_channel(o, "hilo_outbound_unknown_total", "counter",
                "At-most-once messages whose fate is unknown (the provider was called, no outcome): never re-sent.",
                m->outbound_unknown);
    hilo_buf_printf(o, "# HELP hilo_delivery_reports_total Delivery reports, by channel and state.\n"
                       "# TYPE hilo_delivery_reports_total counter\n");
    for (int c = 1; c < HILO_CHANNEL_MAX; c++)
        for (int s = 1; s < HILO_DELIVERY_STATES; s++)
            hilo_buf_printf(o, "hilo_delivery_reports_total{channel=\"%s\",state=\"%s\"} %llu\n", hilo_channel_name(c),
                            hilo_delivery_state_name(s), (unsigned long long)m->delivery[c][s]);
    hilo_buf_printf(o, "# HELP hilo_link_auth_refused_total Link handshakes refused: a key not in link_keys.\n"
                       "# TYPE hilo_link_auth_refused_total counter\nhilo_link_auth_refused_total %llu\n",
                    (unsigned long long)m->link_auth_refused);
    hilo_buf_printf(o, "# HELP hilo_delivery_unmatched_total Delivery reports for no known outbound.\n"
                       "# TYPE hilo_delivery_unmatched_total counter\nhilo_delivery_unmatched_total %llu\n",
                    (unsigned long long)m->delivery_unmatched);
    hilo_buf_printf(o, "# HELP hilo_strategy_sends_total Strategy steps committed for sending by this router.\n"
                       "# TYPE hilo_strategy_sends_total counter\nhilo_strategy_sends_total %llu\n"
                       "# HELP hilo_strategy_looks_total Debtors' strategy places looked at by this router.\n"
                       "# TYPE hilo_strategy_looks_total counter\nhilo_strategy_looks_total %llu\n",
                    (unsigned long long)m->strategy_sends, (unsigned long long)m->strategy_looks);
    hilo_buf_printf(o, "# HELP hilo_connectors Connectors attached to this router.\n# TYPE hilo_connectors gauge\n");
    for (int c = 1; c < HILO_CHANNEL_MAX; c++)
        hilo_buf_printf(o, "hilo_connectors{channel=\"%s\"} %d\n", hilo_channel_name(c), g->connectors[c]);
    hilo_buf_printf(o,
                    "# HELP hilo_redis_up 1 when Redis is connected and the scripts are loaded.\n"
                    "# TYPE hilo_redis_up gauge\nhilo_redis_up %d\n"
                    "# HELP hilo_inflight Envelopes being committed.\n# TYPE hilo_inflight gauge\nhilo_inflight %ld\n"
                    "# HELP hilo_redis_reconnects_total Reconnections to Redis.\n"
                    "# TYPE hilo_redis_reconnects_total counter\nhilo_redis_reconnects_total %llu\n"
                    "# HELP hilo_redis_timeouts_total Times Redis stopped answering and was dropped.\n"
                    "# TYPE hilo_redis_timeouts_total counter\nhilo_redis_timeouts_total %llu\n",
                    g->redis_up ? 1 : 0, g->inflight, (unsigned long long)m->redis_reconnects,
                    (unsigned long long)m->redis_timeouts);
    hilo_buf_printf(o,
                    "# HELP hilo_reloads_total SIGHUP reloads of the bot flow and the compliance rule packs.\n"
                    "# TYPE hilo_reloads_total counter\nhilo_reloads_total{result=\"ok\"} %llu\n"
                    "hilo_reloads_total{result=\"failed\"} %llu\n",
                    (unsigned long long)m->reloads_ok, (unsigned long long)m->reloads_failed);
    hilo_buf_printf(o,
                    "# HELP hilo_turns_total Engine turns ended by this router, by result: applied, "
                    "already_applied (by this or another router), deferred (left pending for a sweep after "
                    "the retries), dropped (pending record unreadable).\n# TYPE hilo_turns_total counter\n"
                    "hilo_turns_total{result=\"applied\"} %llu\nhilo_turns_total{result=\"already_applied\"} %llu\n"
                    "hilo_turns_total{result=\"deferred\"} %llu\nhilo_turns_total{result=\"dropped\"} %llu\n"
                    "# HELP hilo_turn_retries_total Engine turn attempts retried after a Redis error, NOSCRIPT "
                    "or a conversation changed meanwhile.\n# TYPE hilo_turn_retries_total counter\n"
                    "hilo_turn_retries_total %llu\n"
                    "# HELP hilo_turns_resumed_total Pending engine turns taken up by this router's sweep.\n"
                    "# TYPE hilo_turns_resumed_total counter\nhilo_turns_resumed_total %llu\n",
                    (unsigned long long)m->turns_applied, (unsigned long long)m->turns_already_applied,
                    (unsigned long long)m->turns_deferred, (unsigned long long)m->turns_dropped,
                    (unsigned long long)m->turn_retries, (unsigned long long)m->turns_resumed);
    if (g->gate) {
        hilo_buf_printf(o, "# HELP hilo_compliance_holidays_until_seconds When a rule pack's holiday calendar ends "
                           "(Unix time, 00:00 UTC after its last day): from then on the pack blocks contact "
                           "with no_holiday_data.\n# TYPE hilo_compliance_holidays_until_seconds gauge\n");
        hilo_hours_each_calendar(hilo_compliance_hours(g->gate), calendar_end, o);
    }
    hilo_buf_printf(o,
                    "# HELP hilo_identity_cache_up 1 when the address -> debtor cache is in use.\n"
                    "# TYPE hilo_identity_cache_up gauge\nhilo_identity_cache_up %d\n"
                    "# HELP hilo_identity_cache_entries Addresses in the identity cache.\n"
                    "# TYPE hilo_identity_cache_entries gauge\nhilo_identity_cache_entries %zu\n"
                    "# HELP hilo_identity_cache_lookups_total Envelopes' address lookups while the cache was up.\n"
                    "# TYPE hilo_identity_cache_lookups_total counter\n"
                    "hilo_identity_cache_lookups_total{result=\"hit\"} %llu\n"
                    "hilo_identity_cache_lookups_total{result=\"miss\"} %llu\n"
                    "# HELP hilo_identity_cache_invalidations_total Cached addresses Redis said changed.\n"
                    "# TYPE hilo_identity_cache_invalidations_total counter\nhilo_identity_cache_invalidations_total %llu\n"
                    "# HELP hilo_identity_cache_drops_total Times the whole cache was dropped (subscription lost, flush).\n"
                    "# TYPE hilo_identity_cache_drops_total counter\nhilo_identity_cache_drops_total %llu\n"
                    "# HELP hilo_identity_cache_evictions_total Entries dropped to stay within [identity] cache_max.\n"
                    "# TYPE hilo_identity_cache_evictions_total counter\nhilo_identity_cache_evictions_total %llu\n",
                    g->identity_cache_live ? 1 : 0, g->identity_cache_entries, (unsigned long long)m->identity_hits,
                    (unsigned long long)m->identity_misses, (unsigned long long)m->identity_invalidated,
                    (unsigned long long)m->identity_drops, (unsigned long long)g->identity_cache_evicted);
    if (g->clock_known)
        hilo_buf_printf(o,
                        "# HELP hilo_clock_offset_seconds Redis's clock minus this router's (last check, every 10 s).\n"
                        "# TYPE hilo_clock_offset_seconds gauge\nhilo_clock_offset_seconds %.4f\n",
                        g->clock_offset_ms / 1000);
    if (g->floor) floor_render(o, g->floor);
    histogram(o, "hilo_redis_latency_seconds", "Round trip of one Redis command.", &m->redis_latency);
    histogram(o, "hilo_commit_latency_seconds", "Envelope received to ack sent.", &m->commit_latency);
}
