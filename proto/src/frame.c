/* frame.c — pack/unpack of link frames and their validation helpers. */
#include "hilo/frame.h"

#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/utf8.h"

uint8_t *hilo_frame_pack(hilo_frame_t *f, size_t *len) {
    if (f->major == 0) {
        f->major = HILO_PROTO_MAJOR;
        f->minor = HILO_PROTO_MINOR;
    }
    *len = hilo__link__v1__frame__get_packed_size(f);
    uint8_t *buf = hilo_xmalloc(*len);
    hilo__link__v1__frame__pack(f, buf);
    return buf;
}

hilo_frame_t *hilo_frame_unpack(const uint8_t *buf, size_t len) {
    return hilo__link__v1__frame__unpack(NULL, len, buf);
}

void hilo_frame_free(hilo_frame_t **f_p) {
    if (!f_p || !*f_p) return;
    hilo__link__v1__frame__free_unpacked(*f_p, NULL);
    *f_p = NULL;
}

static bool str_ok(const char *s, const ProtobufCFieldDescriptor *fd, const char **field) {
    if (s && !hilo_utf8_valid(s, strlen(s))) {
        *field = fd->name;
        return false;
    }
    return true;
}

bool hilo_frame_strings_valid(const ProtobufCMessage *m, const char **field) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        const char *base = (const char *)m + fd->offset;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* Only the member that is set may be read. */
            uint32_t which = *(const uint32_t *)((const char *)m + fd->quantifier_offset);
            if (which != fd->id) continue;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
            if (fd->type == PROTOBUF_C_TYPE_STRING) {
                char *const *arr = *(char *const *const *)base;
                for (size_t k = 0; k < n; k++)
                    if (!str_ok(arr[k], fd, field)) return false;
            } else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)base;
                for (size_t k = 0; k < n; k++)
                    if (!hilo_frame_strings_valid(arr[k], field)) return false;
            }
            continue;
        }
        if (fd->type == PROTOBUF_C_TYPE_STRING) {
            if (!str_ok(*(const char *const *)base, fd, field)) return false;
        } else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)base;
            if (sub && !hilo_frame_strings_valid(sub, field)) return false;
        }
    }
    return true;
}

static const char *channel_names[HILO_CHANNEL_MAX] = {"unknown", "whatsapp", "sms", "voice"};

const char *hilo_channel_name(int channel) {
    return channel > 0 && channel < HILO_CHANNEL_MAX ? channel_names[channel] : "unknown";
}

int hilo_channel_parse(const char *name) {
    for (int i = 1; i < HILO_CHANNEL_MAX; i++)
        if (strcmp(name, channel_names[i]) == 0) return i;
    return HILO_CHANNEL_UNSPECIFIED;
}

const char *hilo_nack_code_name(int code) {
    static const char *names[] = {"UNSPECIFIED", "MALFORMED", "VERSION", "TOO_LARGE", "UNKNOWN_CHANNEL",
                                  "INVALID_UTF8", "INVALID", "HELLO_REQUIRED", "UNAVAILABLE", "FORBIDDEN", "GONE"};
    return code >= 0 && (size_t)code < HILO_ARRAY_LEN(names) ? names[code] : "UNSPECIFIED";
}

const char *hilo_delivery_state_name(int state) {
    static const char *names[] = {"unspecified", "sent", "delivered", "read", "failed", "returned",
                                  "calling", "unknown"};
    return state >= 0 && (size_t)state < HILO_ARRAY_LEN(names) ? names[state] : "unspecified";
}
