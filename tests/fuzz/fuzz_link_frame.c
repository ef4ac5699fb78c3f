/* fuzz_link_frame.c — libFuzzer target for the link frame decoder: one input is the bytes of one
 * ZeroMQ message, as the router's link server (router/src/link_server.c) or a connector's link
 * client (connectors/lib/src/link_client.c) receives it. What follows the decode is what those
 * two do with a frame before anything reaches Redis or a socket:
 *  - hilo_frame_unpack (proto/src/frame.c, protobuf-c's decoder over hilo_link.proto);
 *  - the router's checks: protocol major, hilo_frame_strings_valid over every string, and for an
 *    envelope the phone normalisation of from/to (proto/src/phone.c);
 *  - the connector's use of an Outbound: every adapter's build_send (WhatsApp JSON, Twilio SMS
 *    split and form encoding, TwiML rendering and Calls.json) and the voice turn's reply;
 *  - a pack/unpack round trip: a decoded frame of known fields packs to bytes that decode and
 *    pack to the same bytes again (what one side packs, the other reads back unchanged).
 * The input is the raw frame; tests/fuzz/corpus/fuzz_link_frame/ holds frames of every body. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_adapters.h"
#include "hilo/adapter.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/phone.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_adapters_init();
    return 0;
}

/* The router's view of an envelope (inbound.c) without its Redis part. */
static void router_envelope(const hilo_envelope_t *e) {
    char addr[32];
    const char *why;
    (void)hilo_phone_normalize(e->from, "52", addr, sizeof addr, &why);
    (void)hilo_phone_normalize(e->to, NULL, addr, sizeof addr, &why);
    (void)hilo_channel_name((int)e->channel);
    if (e->delivery) (void)hilo_delivery_state_name((int)e->delivery->state);
}

/* The connector's view of an Outbound (connector.c → sender.c → adapter): each adapter builds
 * its send plan whatever the channel says, and the voice adapter renders it as a turn's reply. */
static void connector_outbound(const hilo_outbound_t *ob) {
    for (int i = 0; i < FUZZ_N_ADAPTERS; i++) {
        hilo_adapter_t *a = fuzz_adapter(i);
        hilo_send_plan_t plan;
        hilo_send_plan_init(&plan);
        if (hilo_adapter_build_send(a, ob, &plan) == HILO_OK && !plan.refused && plan.n_calls == 0) abort();
        hilo_send_plan_release(&plan);
    }
    hilo_http_response_t resp = {0};
    if (hilo_adapter_render_reply(fuzz_adapter(FUZZ_VOICE), ob, NULL, NULL, &resp) != HILO_OK || resp.status != 200)
        abort();
    hilo_http_response_clear(&resp);
}

/* True when m or a message inside it kept fields hilo_link.proto does not know. */
static bool has_unknown(const ProtobufCMessage *m) {
    if (m->n_unknown_fields) return true;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        const char *base = (const char *)m + fd->offset;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)base;
            for (size_t k = 0; k < n; k++)
                if (has_unknown(arr[k])) return true;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)base;
            if (sub && has_unknown(sub)) return true;
        }
    }
    return false;
}

/* pack(unpack(pack(f))) == pack(f): what one side packs the other reads back unchanged.
 * Only for frames made of known fields: those are what hilo packs (adapters build envelopes
 * field by field, the router builds outbounds from its records; nothing re-packs a received
 * frame). protobuf-c 1.4.1 keeps an unknown field numbered 0 when its tag is a multi-byte
 * varint, then packs it with a one-byte tag that its own decoder refuses. */
static void round_trip(hilo_frame_t *f) {
    if (has_unknown(&f->base)) return;
    size_t len1, len2;
    uint8_t *b1 = hilo_frame_pack(f, &len1);
    hilo_frame_t *g = hilo_frame_unpack(b1, len1);
    if (!g) abort();
    uint8_t *b2 = hilo_frame_pack(g, &len2);
    if (len1 != len2 || memcmp(b1, b2, len1) != 0) abort();
    hilo_frame_free(&g);
    free(b2);
    free(b1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hilo_frame_t *f = hilo_frame_unpack(data, size);
    if (!f) return 0;
    const char *field = NULL;
    bool strings_ok = hilo_frame_strings_valid(&f->base, &field);
    if (!strings_ok && !field) abort(); /* a refusal names its field */
    if (f->major == HILO_PROTO_MAJOR) {
        switch (f->body_case) {
        case HILO_FRAME_ENVELOPE:
            if (strings_ok) router_envelope(f->envelope); /* the router nacks invalid UTF-8 first */
            break;
        case HILO_FRAME_OUTBOUND:
            connector_outbound(f->outbound); /* the connector does not check UTF-8: the adapters do */
            break;
        case HILO_FRAME_NACK:
            (void)hilo_nack_code_name((int)f->nack->code);
            break;
        default:
            break;
        }
    }
    round_trip(f);
    hilo_frame_free(&f);
    return 0;
}
