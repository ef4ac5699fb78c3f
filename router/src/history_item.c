/* history_item.c — the history item JSON of an inbound message (see history_item.h). Written
 * by hand (hilo/json_write.h) rather than through a jansson tree: it is built for every
 * message on the inbound path. */
#include "hilo/history_item.h"

#include <math.h>

#include "hilo/json_write.h"

static const char *voice_event_name(int kind) {
    switch (kind) {
    case HILO_VOICE_CALL_START: return "call_start";
    case HILO_VOICE_GATHER: return "gather";
    case HILO_VOICE_CALL_END: return "call_end";
    case HILO_VOICE_AGENT_RINGING: return "agent_ringing";
    case HILO_VOICE_AGENT_CONNECTED: return "agent_connected";
    case HILO_VOICE_AGENT_NO_ANSWER: return "agent_no_answer";
    case HILO_VOICE_DEBTOR_DIALED: return "debtor_dialed";
    default: return "unknown";
    }
}

static void write_media(hilo_jobj_t *o, const hilo_envelope_t *e) {
    hilo_jobj_key(o, "media");
    hilo_buf_append(o->b, "[", 1);
    for (size_t i = 0; i < e->n_media; i++) {
        const hilo_media_t *m = e->media[i];
        if (i) hilo_buf_append(o->b, ",", 1);
        hilo_jobj_t mo;
        hilo_jobj_begin(&mo, o->b);
        hilo_jobj_str_opt(&mo, "id", m->id);
        hilo_jobj_str_opt(&mo, "url", m->url);
        hilo_jobj_str_opt(&mo, "mime", m->mime_type);
        hilo_jobj_str_opt(&mo, "caption", m->caption);
        hilo_jobj_str_opt(&mo, "filename", m->filename);
        hilo_jobj_end(&mo);
    }
    hilo_buf_append(o->b, "]", 1);
}

static void write_voice(hilo_jobj_t *o, const hilo_voice_event_t *v) {
    hilo_jobj_key(o, "voice");
    hilo_jobj_t vo;
    hilo_jobj_begin(&vo, o->b);
    hilo_jobj_str(&vo, "event", voice_event_name(v->kind));
    hilo_jobj_str_opt(&vo, "call_id", v->call_id);
    hilo_jobj_str_opt(&vo, "digits", v->digits);
    hilo_jobj_str_opt(&vo, "speech", v->speech);
    if (v->confidence > 0 && isfinite(v->confidence)) hilo_jobj_real(&vo, "confidence", v->confidence);
    hilo_jobj_str_opt(&vo, "status", v->call_status);
    if (v->duration_s) hilo_jobj_int(&vo, "duration_s", v->duration_s);
    hilo_jobj_end(&vo);
}

void hilo_history_item_inbound(hilo_buf_t *out, const hilo_envelope_t *e, const char *from, int64_t recv_ms) {
    hilo_jobj_t o;
    hilo_jobj_begin(&o, out);
    hilo_jobj_str(&o, "ch", hilo_channel_name(e->channel));
    hilo_jobj_str(&o, "dir", "in");
    hilo_jobj_str(&o, "kind", e->button ? "button" : e->voice ? "voice" : (!*e->text && e->n_media) ? "media" : "text");
    hilo_jobj_str_opt(&o, "pmid", e->provider_message_id);
    hilo_jobj_str_opt(&o, "from", from);
    hilo_jobj_str_opt(&o, "to", e->to);
    hilo_jobj_int(&o, "sent_ms", e->sent_at_ms);
    hilo_jobj_int(&o, "recv_ms", recv_ms);
    hilo_jobj_str_opt(&o, "name", e->contact_name);
    hilo_jobj_str_opt(&o, "text", e->text);
    if (e->n_media) write_media(&o, e);
    if (e->button) {
        hilo_jobj_key(&o, "button");
        hilo_jobj_t bo;
        hilo_jobj_begin(&bo, out);
        hilo_jobj_str_opt(&bo, "payload", e->button->payload);
        hilo_jobj_str_opt(&bo, "title", e->button->title);
        hilo_jobj_end(&bo);
    }
    if (e->voice) write_voice(&o, e->voice);
    hilo_jobj_end(&o);
}
