/* dead_letter.c — the dead-letter file: one JSON line per envelope the router refused for good,
 * appended with O_APPEND and synced (fdatasync) before the caller may answer the webhook 2xx.
 * Refusals are rare (a bug or an unexpected provider payload), so the file is opened and closed
 * for each record: a rotated (renamed) file is never written to again. */
#include "hilo/dead_letter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hilo/buf.h"
#include "hilo/common.h"
#include "hilo/json_write.h"
#include "hilo/log.h"
#include "hilo/utf8.h"

#define MOD "dead_letter"

struct hilo_dead_letter {
    char *path;
    char *connector;
};

static int open_append(const char *path) {
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* The records hold debtors' phone numbers and texts: owner only. A new file gets 0600 from
 * open_append(); one an older install left wider (a group-readable umask, a copy) is tightened
 * here, once at start, with a warning — the file is ours, the narrower mode cannot break a
 * reader that is not its owner's. Failing to tighten (not our file) is logged, not fatal: the
 * records are still better written than lost. docs/security.md, "Files". */
static void tighten(int fd, const char *path) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !(st.st_mode & 077)) return;
    unsigned was = (unsigned)(st.st_mode & 07777);
    if (fchmod(fd, 0600) != 0) {
        int e = errno;
        hilo_log_warn(MOD, "event=dead_letter_mode_loose path=%s mode=%04o error=%s", hilo_log_value(path), was,
                      hilo_log_value(strerror(e)));
        return;
    }
    hilo_log_warn(MOD, "event=dead_letter_mode_tightened path=%s mode=%04o now=0600", hilo_log_value(path), was);
}

hilo_dead_letter_t *hilo_dead_letter_open(const char *path, const char *connector, char *err, size_t errlen) {
    int fd = path && path[0] ? open_append(path) : -1;
    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s' for appending: %s", path ? path : "",
                 path && path[0] ? strerror(errno) : "empty path");
        return NULL;
    }
    tighten(fd, path);
    close(fd);
    hilo_dead_letter_t *d = hilo_xcalloc(1, sizeof *d);
    d->path = hilo_xstrdup(path);
    d->connector = hilo_xstrdup(connector ? connector : "");
    return d;
}

void hilo_dead_letter_close(hilo_dead_letter_t **self_p) {
    if (!self_p || !*self_p) return;
    free((*self_p)->path);
    free((*self_p)->connector);
    free(*self_p);
    *self_p = NULL;
}

/* A field from outside as JSON text: invalid UTF-8 and control characters made harmless (the
 * exact bytes are in "envelope"). */
static void put_clean(hilo_jobj_t *o, const char *key, const char *value) {
    if (!value || !value[0]) return;
    char clean[512];
    hilo_utf8_clean_copy(clean, sizeof clean, value);
    hilo_jobj_str(o, key, clean);
}

static const char *kind_of(const hilo_envelope_t *e) {
    if (e->delivery) return "delivery";
    if (e->voice) return "voice";
    if (e->button) return "button";
    if (e->n_media) return "media";
    return "text";
}

static void render(const hilo_dead_letter_t *d, hilo_buf_t *b, const hilo_envelope_t *e, const char *code,
                   const char *reason) {
    hilo_jobj_t o;
    hilo_jobj_begin(&o, b);
    char ts[32];
    hilo_iso_ms(hilo_now_ms(), ts, sizeof ts);
    hilo_jobj_str(&o, "ts", ts);
    put_clean(&o, "connector", d->connector);
    put_clean(&o, "channel", hilo_channel_name(e->channel));
    hilo_jobj_int(&o, "seq", (int64_t)e->seq);
    put_clean(&o, "code", code);
    put_clean(&o, "reason", reason);
    put_clean(&o, "kind", kind_of(e));
    put_clean(&o, "provider_message_id", e->provider_message_id);
    put_clean(&o, "from", e->from);
    put_clean(&o, "to", e->to);
    if (e->delivery) put_clean(&o, "outbound_id", e->delivery->outbound_id);
    /* The whole envelope, as sent: base64 of the packed protobuf Envelope (unknown fields kept). */
    size_t len = hilo__link__v1__envelope__get_packed_size(e);
    uint8_t *packed = hilo_xmalloc(len ? len : 1);
    hilo__link__v1__envelope__pack(e, packed);
    char *b64 = hilo_xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)b64, packed, (int)len);
    hilo_jobj_strn(&o, "envelope", b64, n > 0 ? (size_t)n : 0);
    free(b64);
    free(packed);
    hilo_jobj_end(&o);
    hilo_buf_append(b, "\n", 1);
}

int hilo_dead_letter_write(hilo_dead_letter_t *d, const hilo_envelope_t *env, const char *code, const char *reason) {
    hilo_buf_t b = HILO_BUF_INIT;
    render(d, &b, env, code, reason);
    int fd = open_append(d->path);
    int rc = HILO_ERR;
    const char *step = "open";
    if (fd >= 0) {
        struct stat st;
        off_t before = fstat(fd, &st) == 0 ? st.st_size : -1;
        size_t off = 0;
        step = "write";
        while (off < b.len) {
            ssize_t w = write(fd, b.data + off, b.len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off < b.len && off > 0 && before >= 0) {
            /* A partial line (disk full) would spoil the next record too: take it back. */
            int saved = errno;
            if (ftruncate(fd, before) != 0) hilo_log_error(MOD, "event=dead_letter_truncate_failed path=\"%s\"", d->path);
            errno = saved ? saved : ENOSPC;
        }
        if (off == b.len) {
            step = "fdatasync";
            if (fdatasync(fd) == 0) rc = HILO_OK;
        }
        int saved = errno;
        if (close(fd) != 0 && rc == HILO_OK) {
            step = "close";
            rc = HILO_ERR;
        } else {
            errno = saved;
        }
    }
    if (rc != HILO_OK)
        hilo_log_error(MOD, "event=dead_letter_failed path=\"%s\" step=%s errno=\"%s\" seq=%llu", d->path, step,
                       strerror(errno), (unsigned long long)env->seq);
    hilo_buf_free(&b);
    return rc;
}
