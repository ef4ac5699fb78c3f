/* item.c — history item JSON of an inbound text message (see item.h). */
#include "item.h"

#include <jansson.h>
#include <stdlib.h>

#include "hilo/frame.h"

char *bench_item_json(const bench_msg_t *m, int64_t sent_ms, int64_t recv_ms) {
    json_t *o = json_object();
    json_object_set_new(o, "ch", json_string(hilo_channel_name(m->channel)));
    json_object_set_new(o, "dir", json_string("in"));
    json_object_set_new(o, "kind", json_string("text"));
    json_object_set_new(o, "pmid", json_string(m->pmid));
    json_object_set_new(o, "from", json_string(m->e164));
    json_object_set_new(o, "to", json_string(m->to));
    json_object_set_new(o, "sent_ms", json_integer(sent_ms));
    json_object_set_new(o, "recv_ms", json_integer(recv_ms));
    json_object_set_new(o, "text", json_stringn(m->text, m->text_len));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
