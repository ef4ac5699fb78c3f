/* item.c — history item JSON of an inbound text message (see item.h): the router's own
 * writer (router/src/history_item.c) fed the envelope the load generator sends. */
#include "item.h"

#include "hilo/history_item.h"

char *bench_item_json(const bench_msg_t *m, int64_t sent_ms, int64_t recv_ms) {
    hilo_envelope_t e = HILO__LINK__V1__ENVELOPE__INIT;
    e.channel = m->channel;
    e.provider_message_id = (char *)m->pmid;
    e.to = (char *)m->to;
    e.sent_at_ms = sent_ms;
    e.text = (char *)m->text;
    hilo_buf_t b = HILO_BUF_INIT;
    hilo_history_item_inbound(&b, &e, m->e164, recv_ms);
    return b.data;
}
