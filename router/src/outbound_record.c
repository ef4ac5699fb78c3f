/* outbound_record.c — builds the commit_outbound.lua call for one outbound message. */
#include "hilo/outbound_record.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/utf8.h"

#define OID_MAX 48 /* "o" + 13 digits (until the year 2286) + "-" + 12 hex = 27, with room */
#define NSTR 12    /* owned strings behind argv (sha, keys, numbers, debtor id) */

struct hilo_outbound_record {
    char oid[OID_MAX];      /* outbound id */
    char *item;             /* history item JSON */
    char *text;             /* the spec's text */
    uint8_t *packed;        /* serialized Outbound */
    size_t packed_len;
    char *str[NSTR];        /* owned argv strings (sha, keys, numbers, ids) */
    const char **argv;      /* HILO_OUTBOUND_RECORD_ARGC entries */
    size_t *argvlen;
    const char **zargv;     /* EVAL <listing script> 0 debtor */
    size_t *zargvlen;
    const char **iargv;     /* ZADD <partition> 0 <debtor> */
    size_t *iargvlen;
};

/* The listing refresh: ZADD hilo:convs at Redis's own time (TIME), in milliseconds — the clock
 * the inbound commits' scores come from too (their history stream ids), so that the console's
 * activity read orders every router's writes alike. A constant body: Redis caches it. */
static const char listing_script[] =
    "local t = redis.call('TIME') "
    "return redis.call('ZADD', '" HILO_KEY_CONVS "', string.format('%d', t[1] * 1000 + math.floor(t[2] / 1000)), ARGV[1])";

/* "u:+<8..15 digits>": the id the router gives a sender no debtor owns. */
static int unidentified_id_valid(const char *id) {
    if (strncmp(id, "u:+", 3) != 0) return 0;
    size_t n = 0;
    for (const char *s = id + 3; *s; s++, n++)
        if (*s < '0' || *s > '9') return 0;
    return n >= 8 && n <= 15;
}

static int utf8_ok(const char *s) { return hilo_utf8_valid(s, strlen(s)); }

int hilo_outbound_spec_check(const hilo_outbound_spec_t *spec, const char **why) {
    assert(spec && why);
    if (!spec->debtor_id || !(hilo_debtor_id_valid(spec->debtor_id) || unidentified_id_valid(spec->debtor_id))) {
        *why = "invalid debtor id";
        return HILO_ERR;
    }
    if (spec->channel <= HILO_CHANNEL_UNSPECIFIED || spec->channel >= HILO_CHANNEL_MAX) {
        *why = "unknown channel";
        return HILO_ERR;
    }
    if (!spec->to || !*spec->to) {
        *why = "no address to send to";
        return HILO_ERR;
    }
    if (!spec->text || !*spec->text) {
        *why = "empty text";
        return HILO_ERR;
    }
    if (!spec->by || !*spec->by) {
        *why = "missing author (by)";
        return HILO_ERR;
    }
    if (!utf8_ok(spec->to) || !utf8_ok(spec->text) || !utf8_ok(spec->by) ||
        (spec->language && !utf8_ok(spec->language))) {
        *why = "text is not valid UTF-8";
        return HILO_ERR;
    }
    if (spec->template_name && *spec->template_name &&
        (spec->channel != HILO_CHANNEL_WHATSAPP || !utf8_ok(spec->template_name) || spec->nbuttons)) {
        *why = "templates are for WhatsApp, without buttons";
        return HILO_ERR;
    }
    if (spec->nbuttons > HILO_OUTBOUND_BUTTONS_MAX) {
        *why = "too many buttons";
        return HILO_ERR;
    }
    for (size_t i = 0; i < spec->nbuttons; i++) {
        const char *id = spec->button_ids[i], *title = spec->button_titles[i];
        if (!id || !*id || !title || !*title) {
            *why = "a button without id or title";
            return HILO_ERR;
        }
        if (!utf8_ok(id) || !utf8_ok(title)) {
            *why = "text is not valid UTF-8";
            return HILO_ERR;
        }
    }
    return HILO_OK;
}

/* Unpredictable bytes for the id's tail: two routers (or a router and the CLI) committing in the
 * same millisecond must not collide, and the id is the connector's idempotency key. */
static int random_bytes(unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        got += (size_t)r;
    }
    if (got == n) return HILO_OK;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC); /* kernels without getrandom(2) */
    if (fd < 0) return HILO_ERR;
    got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? HILO_OK : HILO_ERR;
}

static char *fmt_i64(int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return hilo_xstrdup(buf);
}

static char *debtor_key(const char *id, const char *part) {
    char buf[HILO_KEY_MAX];
    int n = hilo_key_debtor(buf, sizeof buf, id, part);
    assert(n > 0); /* ids are at most 64 characters: always fits */
    return hilo_xstrdup(buf);
}

static char *item_json(const hilo_outbound_record_t *r, const hilo_outbound_spec_t *spec, int64_t now_ms) {
    json_t *o = json_object();
    json_object_set_new(o, "ch", json_string(hilo_channel_name(spec->channel)));
    json_object_set_new(o, "dir", json_string("out"));
    int tpl = spec->template_name && *spec->template_name;
    json_object_set_new(o, "kind", json_string(tpl ? "template" : "text"));
    if (tpl) json_object_set_new(o, "template", json_string(spec->template_name));
    json_object_set_new(o, "oid", json_string(r->oid));
    json_object_set_new(o, "to", json_string(spec->to));
    json_object_set_new(o, "sent_ms", json_integer(now_ms));
    json_object_set_new(o, "recv_ms", json_integer(now_ms));
    json_object_set_new(o, "text", json_string(spec->text));
    json_object_set_new(o, "by", json_string(spec->by));
    if (spec->nbuttons) { /* the options the debtor was offered, for the thread and the console */
        json_t *b = json_array();
        for (size_t i = 0; i < spec->nbuttons; i++)
            json_array_append_new(b, json_pack("{s:s, s:s}", "payload", spec->button_ids[i], "title",
                                               spec->button_titles[i]));
        json_object_set_new(o, "buttons", b);
    }
    /* json_dumpb into our own buffer: freed with free() whatever allocator jansson was given. */
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t need = json_dumpb(o, NULL, 0, flags);
    char *s = NULL;
    if (need > 0) {
        s = hilo_xmalloc(need + 1);
        json_dumpb(o, s, need, flags);
        s[need] = '\0';
    }
    json_decref(o);
    return s;
}

/* How the gate at hand-off judges the message (lib/outbox.lua, router/src/dispatch.c). */
static char *dispatch_json(const hilo_outbound_spec_t *spec) {
    bool tpl = spec->template_name && *spec->template_name;
    json_t *o = json_pack("{s:s, s:b, s:b, s:s, s:b}", "by", spec->by, "bot", strcmp(spec->by, "bot") == 0, "reply",
                          spec->reply, "kind", tpl ? "template" : spec->optout_confirm ? "optout_confirm" : "freeform",
                          "wait", spec->wait_window);
    if (spec->strategy && *spec->strategy) json_object_set_new(o, "strat", json_string(spec->strategy));
    if (spec->bridge_from && *spec->bridge_from) json_object_set_new(o, "min_minor", json_integer(4));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void pack_outbound(hilo_outbound_record_t *r, const hilo_outbound_spec_t *spec, int64_t now_ms) {
    hilo_outbound_t o = HILO_OUTBOUND_INIT;
    /* protobuf-c only reads these; the casts drop const for its char * fields. */
    o.outbound_id = r->oid;
    o.channel = (hilo_channel_t)spec->channel;
    o.to = (char *)spec->to;
    o.debtor_id = (char *)spec->debtor_id;
    o.text = (char *)spec->text;
    o.language = (char *)(spec->language ? spec->language : "");
    o.created_ms = now_ms;
    o.reply_to_seq = spec->reply_to_seq;
    hilo_button_t buttons[HILO_OUTBOUND_BUTTONS_MAX], *bp[HILO_OUTBOUND_BUTTONS_MAX];
    for (size_t i = 0; i < spec->nbuttons; i++) {
        buttons[i] = (hilo_button_t)HILO_BUTTON_INIT;
        buttons[i].payload = (char *)spec->button_ids[i];
        buttons[i].title = (char *)spec->button_titles[i];
        bp[i] = &buttons[i];
    }
    o.n_buttons = spec->nbuttons;
    o.buttons = spec->nbuttons ? bp : NULL;
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    if (spec->bridge_from && *spec->bridge_from) {
        va.kind = HILO_VOICE_ACTION_BRIDGE;
        va.target = (char *)spec->bridge_from;
        o.voice = &va;
    }
    hilo_template_t tpl = HILO_TEMPLATE_INIT;
    if (spec->template_name && *spec->template_name) {
        tpl.name = (char *)spec->template_name;
        tpl.language = o.language;
        o.template_ = &tpl;
    }
    r->packed_len = hilo__link__v1__outbound__get_packed_size(&o);
    r->packed = hilo_xmalloc(r->packed_len);
    hilo__link__v1__outbound__pack(&o, r->packed);
}

hilo_outbound_record_t *hilo_outbound_record_new(const hilo_outbound_spec_t *spec, int64_t now_ms,
                                                 long history_max, const char *script_sha) {
    assert(spec && script_sha && history_max >= 1 && now_ms >= 0);
    const char *why;
    if (hilo_outbound_spec_check(spec, &why) != HILO_OK) return NULL;
    unsigned char rnd[6];
    if (random_bytes(rnd, sizeof rnd) != HILO_OK) return NULL;

    hilo_outbound_record_t *r = hilo_xcalloc(1, sizeof *r);
    snprintf(r->oid, sizeof r->oid, "o%013" PRId64 "-%02x%02x%02x%02x%02x%02x", now_ms, rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);
    r->text = hilo_xstrdup(spec->text);
    r->item = item_json(r, spec, now_ms);
    if (!r->item) {
        hilo_outbound_record_destroy(&r);
        return NULL;
    }
    pack_outbound(r, spec, now_ms);

    const char *channel = hilo_channel_name(spec->channel);
    char outbox[HILO_KEY_MAX], oq[HILO_KEY_MAX];
    int n = hilo_key_outbox(outbox, sizeof outbox, hilo_outbox_partition(spec->debtor_id), channel);
    assert(n > 0);
    n = hilo_key_debtor_channel(oq, sizeof oq, spec->debtor_id, HILO_KEY_OQ, channel);
    assert(n > 0);
    enum { SHA, CONV, HIST, OUT, OQ, ODISP, OUTBOX, NOW, HMAX, DEBTOR, DISP };
    r->str[SHA] = hilo_xstrdup(script_sha);
    r->str[CONV] = debtor_key(spec->debtor_id, HILO_KEY_CONV);
    r->str[HIST] = debtor_key(spec->debtor_id, HILO_KEY_HIST);
    r->str[OUT] = debtor_key(spec->debtor_id, HILO_KEY_OUT);
    r->str[OQ] = hilo_xstrdup(oq);
    r->str[ODISP] = debtor_key(spec->debtor_id, HILO_KEY_ODISP);
    r->str[OUTBOX] = hilo_xstrdup(outbox);
    r->str[NOW] = fmt_i64(now_ms);
    r->str[HMAX] = fmt_i64(history_max);
    r->str[DEBTOR] = hilo_xstrdup(spec->debtor_id);
    r->str[DISP] = dispatch_json(spec);

    const char *v[HILO_OUTBOUND_RECORD_ARGC] = {
        "EVALSHA",     r->str[SHA],  "5",      r->str[CONV],   r->str[HIST],
        r->str[OUT],   r->str[OQ],   r->str[ODISP], r->oid,    r->str[NOW],
        r->item,       r->str[HMAX], (const char *)r->packed, r->str[DEBTOR], channel,
        r->str[DISP]};
    r->argv = hilo_xcalloc(HILO_OUTBOUND_RECORD_ARGC, sizeof *r->argv);
    r->argvlen = hilo_xcalloc(HILO_OUTBOUND_RECORD_ARGC, sizeof *r->argvlen);
    for (int i = 0; i < HILO_OUTBOUND_RECORD_ARGC; i++) {
        r->argv[i] = v[i];
        /* argv[12] is binary protobuf: not NUL-terminated, may hold NUL bytes. */
        r->argvlen[i] = i == 12 ? r->packed_len : strlen(v[i]);
    }
    const char *iv[4] = {"ZADD", r->str[OUTBOX], "0", r->str[DEBTOR]};
    r->iargv = hilo_xcalloc(4, sizeof *r->iargv);
    r->iargvlen = hilo_xcalloc(4, sizeof *r->iargvlen);
    for (int i = 0; i < 4; i++) {
        r->iargv[i] = iv[i];
        r->iargvlen[i] = strlen(iv[i]);
    }

    r->zargv = hilo_xcalloc(4, sizeof *r->zargv);
    r->zargvlen = hilo_xcalloc(4, sizeof *r->zargvlen);
    const char *z[4] = {"EVAL", listing_script, "0", r->str[DEBTOR]};
    for (int i = 0; i < 4; i++) {
        r->zargv[i] = z[i];
        r->zargvlen[i] = strlen(z[i]);
    }
    return r;
}

void hilo_outbound_record_destroy(hilo_outbound_record_t **r_p) {
    if (!r_p || !*r_p) return;
    hilo_outbound_record_t *r = *r_p;
    free(r->item);
    free(r->text);
    free(r->packed);
    for (int i = 0; i < NSTR; i++) free(r->str[i]);
    free(r->argv);
    free(r->argvlen);
    free(r->zargv);
    free(r->zargvlen);
    free(r->iargv);
    free(r->iargvlen);
    free(r);
    *r_p = NULL;
}

int hilo_outbound_record_argv(const hilo_outbound_record_t *r, int *argc, const char ***argv,
                              const size_t **argvlen) {
    assert(r && argc && argv && argvlen);
    *argc = HILO_OUTBOUND_RECORD_ARGC;
    *argv = r->argv;
    *argvlen = r->argvlen;
    return HILO_OK;
}

int hilo_outbound_record_index_argv(const hilo_outbound_record_t *r, int *argc, const char ***argv,
                                    const size_t **argvlen) {
    assert(r && argc && argv && argvlen);
    *argc = 4;
    *argv = r->iargv;
    *argvlen = r->iargvlen;
    return HILO_OK;
}

const char *hilo_outbound_record_dispatch(const hilo_outbound_record_t *r) { return r->str[10]; }

int hilo_outbound_record_listing_argv(const hilo_outbound_record_t *r, int *argc, const char ***argv,
                                      const size_t **argvlen) {
    assert(r && argc && argv && argvlen);
    *argc = 4;
    *argv = r->zargv;
    *argvlen = r->zargvlen;
    return HILO_OK;
}

const uint8_t *hilo_outbound_record_payload(const hilo_outbound_record_t *r, size_t *len) {
    assert(r && len);
    *len = r->packed_len;
    return r->packed;
}

const char *hilo_outbound_record_text(const hilo_outbound_record_t *r) { return r->text; }

const char *hilo_outbound_record_id(const hilo_outbound_record_t *r) { return r->oid; }

const char *hilo_outbound_record_item(const hilo_outbound_record_t *r) { return r->item; }
