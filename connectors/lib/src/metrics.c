/* metrics.c — counters and the Prometheus text rendering. */
#include "hilo/metrics.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

#define MAX_LABELS 128

typedef struct {
    char why[40];
    int status;
    uint64_t count;
} wh_t;

struct hilo_metrics {
    char labels[192];       /* channel="…",connector="…" (its instance name) */
    wh_t wh[MAX_LABELS];
    size_t nwh;
    char *buf;
    size_t len, cap;
    bool has_spool;         /* set_spool was called */
    hilo_spool_stats_t spool;
};

void hilo_metrics_set_spool(hilo_metrics_t *self, const hilo_spool_stats_t *spool) {
    self->spool = *spool;
    self->has_spool = true;
}

hilo_metrics_t *hilo_metrics_new(const char *channel, const char *instance) {
    hilo_metrics_t *m = hilo_xcalloc(1, sizeof *m);
    char inst[96];
    size_t o = 0;
    /* label values: keep it simple and safe, no quotes or backslashes */
    for (const char *p = instance ? instance : ""; *p && o + 1 < sizeof inst; p++)
        inst[o++] = (*p == '"' || *p == '\\' || *p == '\n') ? '_' : *p;
    inst[o] = '\0';
    /* "connector", not "instance": Prometheus sets "instance" to the scrape target itself. */
    snprintf(m->labels, sizeof m->labels, "channel=\"%s\",connector=\"%s\"", channel, inst);
    return m;
}

void hilo_metrics_destroy(hilo_metrics_t **self_p) {
    if (!self_p || !*self_p) return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

void hilo_metrics_webhook(hilo_metrics_t *m, const char *why, int status) {
    char clean[40];
    size_t o = 0;
    for (const char *p = why ? why : "none"; *p && o + 1 < sizeof clean; p++)
        clean[o++] = (isalnum((unsigned char)*p) || *p == '_') ? (char)tolower((unsigned char)*p) : '_';
    clean[o] = '\0';
    for (size_t i = 0; i < m->nwh; i++)
        if (m->wh[i].status == status && strcmp(m->wh[i].why, clean) == 0) {
            m->wh[i].count++;
            return;
        }
    if (m->nwh == MAX_LABELS) { /* a misbehaving adapter inventing labels: fold them */
        snprintf(clean, sizeof clean, "other");
        for (size_t i = 0; i < m->nwh; i++)
            if (m->wh[i].status == status && strcmp(m->wh[i].why, clean) == 0) {
                m->wh[i].count++;
                return;
            }
        m->nwh--; /* reuse the last slot */
    }
    wh_t *w = &m->wh[m->nwh++];
    snprintf(w->why, sizeof w->why, "%s", clean);
    w->status = status;
    w->count = 1;
}

static void put(hilo_metrics_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(hilo_metrics_t *m, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(m->buf + m->len, m->cap - m->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < m->cap - m->len) {
            m->len += (size_t)n;
            return;
        }
        m->cap = (m->cap + (size_t)n + 1) * 2;
        m->buf = hilo_xrealloc(m->buf, m->cap);
    }
}

static void counter(hilo_metrics_t *m, const char *name, const char *help, const char *extra, uint64_t v) {
    put(m, "# HELP %s %s\n# TYPE %s counter\n%s{%s%s} %" PRIu64 "\n", name, help, name, name, m->labels, extra, v);
}

static void gauge(hilo_metrics_t *m, const char *name, const char *help, uint64_t v) {
    put(m, "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %" PRIu64 "\n", name, help, name, name, m->labels, v);
}

const char *hilo_metrics_render(hilo_metrics_t *m, const hilo_link_stats_t *l, const hilo_sender_stats_t *s,
                                const hilo_webhook_server_stats_t *h, size_t waiting, size_t *len) {
    if (!m->buf) {
        m->cap = 8192;
        m->buf = hilo_xmalloc(m->cap);
    }
    m->len = 0;
    m->buf[0] = '\0';
    gauge(m, "hilo_connector_link_up", "1 when the router link has a Welcome and the router is not silent",
          l && l->up ? 1 : 0);
    put(m, "# HELP hilo_connector_webhooks_total Webhook requests answered, by result and HTTP status\n"
           "# TYPE hilo_connector_webhooks_total counter\n");
    for (size_t i = 0; i < m->nwh; i++)
        put(m, "hilo_connector_webhooks_total{%s,result=\"%s\",status=\"%d\"} %" PRIu64 "\n", m->labels, m->wh[i].why,
            m->wh[i].status, m->wh[i].count);
    gauge(m, "hilo_connector_webhooks_waiting", "Webhook requests waiting for an ack or a reply", waiting);
    if (h) {
        counter(m, "hilo_connector_http_requests_total", "HTTP requests received", "", h->requests);
        counter(m, "hilo_connector_http_too_large_total", "Requests refused with 413", "", h->too_large);
        counter(m, "hilo_connector_http_client_gone_total", "Clients that left before their answer", "", h->gone);
        counter(m, "hilo_connector_http_too_slow_total", "Requests closed: head or body not in within its time", "",
                h->too_slow);
        counter(m, "hilo_connector_http_header_too_large_total", "Requests refused with 431 (max_header)", "",
                h->head_too_large);
        counter(m, "hilo_connector_http_overloaded_total",
                "POSTs refused with 503 unread: max_buffered body bytes held already", "", h->overloaded);
    }
    if (l) {
        counter(m, "hilo_connector_envelopes_submitted_total", "Envelopes handed to the link", "", l->submitted);
        put(m, "# HELP hilo_connector_envelopes_total Envelopes finished, by result\n"
               "# TYPE hilo_connector_envelopes_total counter\n");
        put(m, "hilo_connector_envelopes_total{%s,result=\"acked\"} %" PRIu64 "\n", m->labels, l->acked);
        put(m, "hilo_connector_envelopes_total{%s,result=\"duplicate\"} %" PRIu64 "\n", m->labels, l->duplicates);
        put(m, "hilo_connector_envelopes_total{%s,result=\"nacked\"} %" PRIu64 "\n", m->labels, l->refused);
        put(m, "hilo_connector_envelopes_total{%s,result=\"expired\"} %" PRIu64 "\n", m->labels, l->expired);
        counter(m, "hilo_connector_dead_letters_total",
                "Envelopes refused for good and kept in the dead-letter file (also counted nacked)", "",
                l->dead_letters);
        counter(m, "hilo_connector_dead_letter_failures_total",
                "Envelopes refused for good that the dead-letter file could not take (answered 500)", "",
                l->dead_letter_failures);
        counter(m, "hilo_connector_envelope_nacks_retryable_total", "Retryable Nacks (envelope sent again later)", "",
                l->nacks_retryable);
        counter(m, "hilo_connector_envelopes_resent_total", "Envelopes sent again (ack timeout, new session)", "",
                l->resent);
        gauge(m, "hilo_connector_envelopes_pending", "Envelopes kept until acked", l->pending);
        counter(m, "hilo_connector_link_welcomes_total", "Welcomes received (sessions opened)", "", l->welcomes);
        counter(m, "hilo_connector_link_downs_total", "Sessions lost (router silent, hello required)", "", l->link_downs);
        counter(m, "hilo_connector_outbound_received_total", "Outbound frames received from the router", "",
                l->outbound_received);
    }
    if (s) {
        put(m, "# HELP hilo_connector_outbound_total Outbound messages finished, by result\n"
               "# TYPE hilo_connector_outbound_total counter\n");
        put(m, "hilo_connector_outbound_total{%s,result=\"sent\"} %" PRIu64 "\n", m->labels, s->sent);
        put(m, "hilo_connector_outbound_total{%s,result=\"failed\"} %" PRIu64 "\n", m->labels, s->failed);
        put(m, "hilo_connector_outbound_total{%s,result=\"returned\"} %" PRIu64 "\n", m->labels, s->returned);
        put(m, "hilo_connector_outbound_total{%s,result=\"unknown\"} %" PRIu64 "\n", m->labels, s->unknown);
        counter(m, "hilo_connector_outbound_expired_total",
                "Outbounds returned because the gate's decision expired before a provider call (also counted returned)",
                "", s->expired);
        counter(m, "hilo_connector_outbound_refused_total", "Outbounds the adapter refused (also counted failed)", "",
                s->refused);
        counter(m, "hilo_connector_outbound_retried_total", "Provider calls retried (429, 5xx, network)", "", s->retries);
        counter(m, "hilo_connector_outbound_replies_total", "Outbounds answered as a voice turn reply", "", s->replies);
        counter(m, "hilo_connector_outbound_duplicates_total", "Outbound copies ignored or re-reported", "",
                s->duplicates_in_progress + s->duplicates_done);
        gauge(m, "hilo_connector_outbound_jobs", "Outbounds being sent now", s->jobs);
    }
    if (m->has_spool) {
        const hilo_spool_stats_t *p = &m->spool;
        gauge(m, "hilo_connector_spool_events", "Call events in the spool: answered before the router's ack", p->count);
        counter(m, "hilo_connector_spool_written_total", "Call events written to the spool (synced before the answer)",
                "", p->written);
        counter(m, "hilo_connector_spool_delivered_total", "Spooled events removed once the router acked them", "",
                p->removed);
        put(m, "# HELP hilo_connector_spool_dropped_total Call events the spool lost or refused, by reason\n"
               "# TYPE hilo_connector_spool_dropped_total counter\n");
        put(m, "hilo_connector_spool_dropped_total{%s,reason=\"full\"} %" PRIu64 "\n", m->labels, p->full);
        put(m, "hilo_connector_spool_dropped_total{%s,reason=\"expired\"} %" PRIu64 "\n", m->labels, p->expired);
        put(m, "hilo_connector_spool_dropped_total{%s,reason=\"bad_record\"} %" PRIu64 "\n", m->labels, p->bad);
        put(m, "hilo_connector_spool_dropped_total{%s,reason=\"refused\"} %" PRIu64 "\n", m->labels, p->discarded);
        put(m, "hilo_connector_spool_dropped_total{%s,reason=\"write_failed\"} %" PRIu64 "\n", m->labels,
            p->write_failures);
    }
    if (len) *len = m->len;
    return m->buf;
}
