/* frame.h — the link protocol's wire unit (one serialized Frame per ZeroMQ message), with
 * short names for the generated protobuf-c types so that their naming stays here.
 * Used by the router's ingress and by every connector. Owns nothing but what it allocates:
 * a frame from hilo_frame_unpack() is freed with hilo_frame_free(). */
#ifndef HILO_FRAME_H
#define HILO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo_link.pb-c.h"

#define HILO_PROTO_MAJOR 1
#define HILO_PROTO_MINOR 4

typedef Hilo__Link__V1__Frame hilo_frame_t;
typedef Hilo__Link__V1__Hello hilo_hello_t;
typedef Hilo__Link__V1__Welcome hilo_welcome_t;
typedef Hilo__Link__V1__Envelope hilo_envelope_t;
typedef Hilo__Link__V1__Media hilo_media_t;
typedef Hilo__Link__V1__Button hilo_button_t;
typedef Hilo__Link__V1__VoiceEvent hilo_voice_event_t;
typedef Hilo__Link__V1__DeliveryReport hilo_delivery_t;
typedef Hilo__Link__V1__Ack hilo_ack_t;
typedef Hilo__Link__V1__Nack hilo_nack_t;
typedef Hilo__Link__V1__Outbound hilo_outbound_t;
typedef Hilo__Link__V1__Template hilo_template_t;
typedef Hilo__Link__V1__VoiceAction hilo_voice_action_t;
typedef Hilo__Link__V1__Heartbeat hilo_heartbeat_t;
typedef Hilo__Link__V1__Channel hilo_channel_t;

#define HILO_FRAME_INIT HILO__LINK__V1__FRAME__INIT
#define HILO_HELLO_INIT HILO__LINK__V1__HELLO__INIT
#define HILO_WELCOME_INIT HILO__LINK__V1__WELCOME__INIT
#define HILO_ENVELOPE_INIT HILO__LINK__V1__ENVELOPE__INIT
#define HILO_MEDIA_INIT HILO__LINK__V1__MEDIA__INIT
#define HILO_BUTTON_INIT HILO__LINK__V1__BUTTON__INIT
#define HILO_VOICE_EVENT_INIT HILO__LINK__V1__VOICE_EVENT__INIT
#define HILO_DELIVERY_INIT HILO__LINK__V1__DELIVERY_REPORT__INIT
#define HILO_ACK_INIT HILO__LINK__V1__ACK__INIT
#define HILO_NACK_INIT HILO__LINK__V1__NACK__INIT
#define HILO_OUTBOUND_INIT HILO__LINK__V1__OUTBOUND__INIT
#define HILO_TEMPLATE_INIT HILO__LINK__V1__TEMPLATE__INIT
#define HILO_VOICE_ACTION_INIT HILO__LINK__V1__VOICE_ACTION__INIT
#define HILO_HEARTBEAT_INIT HILO__LINK__V1__HEARTBEAT__INIT

/* Which body a frame carries. */
#define HILO_FRAME_HELLO HILO__LINK__V1__FRAME__BODY_HELLO
#define HILO_FRAME_WELCOME HILO__LINK__V1__FRAME__BODY_WELCOME
#define HILO_FRAME_ENVELOPE HILO__LINK__V1__FRAME__BODY_ENVELOPE
#define HILO_FRAME_ACK HILO__LINK__V1__FRAME__BODY_ACK
#define HILO_FRAME_NACK HILO__LINK__V1__FRAME__BODY_NACK
#define HILO_FRAME_OUTBOUND HILO__LINK__V1__FRAME__BODY_OUTBOUND
#define HILO_FRAME_HEARTBEAT HILO__LINK__V1__FRAME__BODY_HEARTBEAT

#define HILO_CHANNEL_UNSPECIFIED HILO__LINK__V1__CHANNEL__CHANNEL_UNSPECIFIED
#define HILO_CHANNEL_WHATSAPP HILO__LINK__V1__CHANNEL__CHANNEL_WHATSAPP
#define HILO_CHANNEL_SMS HILO__LINK__V1__CHANNEL__CHANNEL_SMS
#define HILO_CHANNEL_VOICE HILO__LINK__V1__CHANNEL__CHANNEL_VOICE
#define HILO_CHANNEL_MAX 4 /* one past the last known channel: size for per-channel arrays */

#define HILO_NACK_MALFORMED HILO__LINK__V1__NACK__CODE__CODE_MALFORMED
#define HILO_NACK_VERSION HILO__LINK__V1__NACK__CODE__CODE_VERSION
#define HILO_NACK_TOO_LARGE HILO__LINK__V1__NACK__CODE__CODE_TOO_LARGE
#define HILO_NACK_UNKNOWN_CHANNEL HILO__LINK__V1__NACK__CODE__CODE_UNKNOWN_CHANNEL
#define HILO_NACK_INVALID_UTF8 HILO__LINK__V1__NACK__CODE__CODE_INVALID_UTF8
#define HILO_NACK_INVALID HILO__LINK__V1__NACK__CODE__CODE_INVALID
#define HILO_NACK_HELLO_REQUIRED HILO__LINK__V1__NACK__CODE__CODE_HELLO_REQUIRED
#define HILO_NACK_UNAVAILABLE HILO__LINK__V1__NACK__CODE__CODE_UNAVAILABLE
#define HILO_NACK_FORBIDDEN HILO__LINK__V1__NACK__CODE__CODE_FORBIDDEN
#define HILO_NACK_GONE HILO__LINK__V1__NACK__CODE__CODE_GONE

#define HILO_VOICE_CALL_START HILO__LINK__V1__VOICE_EVENT__KIND__KIND_CALL_START
#define HILO_VOICE_GATHER HILO__LINK__V1__VOICE_EVENT__KIND__KIND_GATHER
#define HILO_VOICE_CALL_END HILO__LINK__V1__VOICE_EVENT__KIND__KIND_CALL_END
#define HILO_VOICE_AGENT_RINGING HILO__LINK__V1__VOICE_EVENT__KIND__KIND_AGENT_RINGING     /* 1.4 */
#define HILO_VOICE_AGENT_CONNECTED HILO__LINK__V1__VOICE_EVENT__KIND__KIND_AGENT_CONNECTED /* 1.4 */
#define HILO_VOICE_AGENT_NO_ANSWER HILO__LINK__V1__VOICE_EVENT__KIND__KIND_AGENT_NO_ANSWER /* 1.4 */
#define HILO_VOICE_DEBTOR_DIALED HILO__LINK__V1__VOICE_EVENT__KIND__KIND_DEBTOR_DIALED /* 1.4 click-to-call */

#define HILO_DELIVERY_SENT HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_SENT
#define HILO_DELIVERY_DELIVERED HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_DELIVERED
#define HILO_DELIVERY_READ HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_READ
#define HILO_DELIVERY_FAILED HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_FAILED
#define HILO_DELIVERY_RETURNED HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_RETURNED
#define HILO_DELIVERY_CALLING HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_CALLING
#define HILO_DELIVERY_UNKNOWN HILO__LINK__V1__DELIVERY_REPORT__STATE__STATE_UNKNOWN
#define HILO_DELIVERY_STATES 8 /* one past the last known state: size for per-state arrays */

#define HILO_VOICE_ACTION_SAY_GATHER HILO__LINK__V1__VOICE_ACTION__KIND__KIND_SAY_GATHER
#define HILO_VOICE_ACTION_SAY_HANGUP HILO__LINK__V1__VOICE_ACTION__KIND__KIND_SAY_HANGUP
#define HILO_VOICE_ACTION_DIAL HILO__LINK__V1__VOICE_ACTION__KIND__KIND_DIAL
#define HILO_VOICE_ACTION_ENQUEUE HILO__LINK__V1__VOICE_ACTION__KIND__KIND_ENQUEUE
#define HILO_VOICE_ACTION_CONNECT HILO__LINK__V1__VOICE_ACTION__KIND__KIND_CONNECT /* 1.4 */
#define HILO_VOICE_ACTION_BRIDGE HILO__LINK__V1__VOICE_ACTION__KIND__KIND_BRIDGE   /* 1.4 */

/* Serializes `f` (major/minor are set to ours when 0) into a malloc'd buffer. */
uint8_t *hilo_frame_pack(hilo_frame_t *f, size_t *len);
/* Parses one frame; NULL when the bytes are not a Frame. */
hilo_frame_t *hilo_frame_unpack(const uint8_t *buf, size_t len);
void hilo_frame_free(hilo_frame_t **f_p);

/* Walks every string field of the message, nested messages included. Returns false and names
 * the first invalid field in *field (static descriptor string) when one is not UTF-8. */
bool hilo_frame_strings_valid(const ProtobufCMessage *m, const char **field);

/* "whatsapp", "sms", "voice"; "unknown" otherwise. */
const char *hilo_channel_name(int channel);
/* The reverse; HILO_CHANNEL_UNSPECIFIED when unknown. */
int hilo_channel_parse(const char *name);
/* "MALFORMED", "VERSION", ... for logs and metrics. */
const char *hilo_nack_code_name(int code);
/* "sent", "delivered", "read", "failed", "returned", "calling", "unknown"; "unspecified" otherwise. */
const char *hilo_delivery_state_name(int state);

#endif
