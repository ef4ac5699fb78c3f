/* cmd_send.c — `hilo send <debtor-id> <channel> <text>`: commits an outbound message the way the
 * router commits a bot or agent reply (outbound_record.h + commit_outbound.lua, then the listing
 * index); a router with a connector for the channel then claims and sends it. Prints the id.
 * A text longer than the channel carries is refused first (text_fits). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/outbound_record.h"
#include "hilo/provider.h"
#include "hilo/scripts.h"
#include "hilo/twilio.h"
#include "hilo/whatsapp.h"
#include "send_gate.h"

/* A text longer than the channel carries would be committed, then refused by the connector
 * ("too_long") after the fact: say so now, counting as the connector counts (the providers
 * library). SMS: the parts hilo_twilio_sms_parts cuts it into, at most the SMS connector's
 * [sms] max_parts; WhatsApp: 4096 characters of text (a template sends no text). Prints why and
 * returns false when the text does not fit. */
static bool text_fits(hilo_cli_t *cli, const char *id, int channel, const char *text, bool template_) {
    if (channel == HILO_CHANNEL_SMS) {
        size_t parts = hilo_twilio_sms_parts(text), chars = hilo_twilio_sms_chars(text);
        int max = hilo_cli_settings(cli)->sms_max_parts;
        if (parts == 0) {
            fprintf(stderr, "hilo: not sent to %s on sms: the text is only whitespace\n", id);
            return false;
        }
        if (parts > (size_t)max) {
            fprintf(stderr,
                    "hilo: not sent to %s on sms: text too long: %zu characters need %zu SMS parts of at most %d "
                    "characters, the SMS connector sends at most %d ([sms] max_parts)\n",
                    id, chars, parts, HILO_TWILIO_SMS_MAX, max);
            return false;
        }
    } else if (channel == HILO_CHANNEL_WHATSAPP && !template_) {
        size_t chars = hilo_provider_utf8_chars(text, strlen(text));
        if (chars > HILO_WHATSAPP_TEXT_MAX) {
            fprintf(stderr, "hilo: not sent to %s on whatsapp: text too long: %zu characters, the limit is %d\n", id,
                    chars, HILO_WHATSAPP_TEXT_MAX);
            return false;
        }
    }
    return true;
}

/* Where to send: the address the debtor last used on that channel (conv addr:<channel>), else
 * the first imported phone, else, for an unidentified contact, the phone in its id. */
static int find_address(hilo_cli_t *cli, const char *id, const char *channel, char *to, size_t tolen,
                        char *lang, size_t langlen) {
    char conv[HILO_KEY_MAX], debtor[HILO_KEY_MAX];
    hilo_key_debtor(conv, sizeof conv, id, HILO_KEY_CONV);
    hilo_key_debtor(debtor, sizeof debtor, id, HILO_KEY_DEBTOR);
    redisReply *a = hilo_cli_cmd(cli, "HGET %s addr:%s", conv, channel);
    if (!a) return HILO_EXIT_REDIS;
    redisReply *d = hilo_cli_cmd(cli, "HMGET %s phones language", debtor);
    if (!d) {
        freeReplyObject(a);
        return HILO_EXIT_REDIS;
    }
    to[0] = lang[0] = '\0';
    if (a->type == REDIS_REPLY_STRING && a->len > 0) {
        snprintf(to, tolen, "%s", a->str);
    } else if (d->type == REDIS_REPLY_ARRAY && d->elements == 2 && d->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(to, tolen, "%.*s", (int)strcspn(d->element[0]->str, ";"), d->element[0]->str);
    } else if (strncmp(id, "u:", 2) == 0) {
        snprintf(to, tolen, "%s", id + 2);
    }
    if (d->type == REDIS_REPLY_ARRAY && d->elements == 2 && d->element[1]->type == REDIS_REPLY_STRING)
        snprintf(lang, langlen, "%s", d->element[1]->str);
    freeReplyObject(a);
    freeReplyObject(d);
    if (!to[0]) {
        fprintf(stderr, "hilo: no address for %s on %s: no conversation on that channel and no phone\n", id,
                channel);
        return HILO_EXIT_DATA;
    }
    return HILO_EXIT_OK;
}

int hilo_cmd_send(hilo_cli_t *cli, int argc, char **argv) {
    const char *template_name = NULL; /* --template NAME: a WhatsApp template; text = its preview */
    bool wait_window = false;         /* --wait-window: wait for the next allowed time at hand-off */
    static const struct option longopts[] = {
        {"template", required_argument, NULL, 't'},
        {"wait-window", no_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    bool bad = false;
    hilo_opts_begin();
    /* '+': the options come before the operands, so that a text may start with '-'. */
    for (int c; (c = hilo_opts_next("send", argc, argv, "+", longopts)) != -1;) {
        if (c == 't') template_name = optarg;
        else if (c == 'w') wait_window = true;
        else bad = true;
    }
    /* From here argv[1..3] are the operands, as before. */
    argv += optind - 1;
    argc -= optind - 1;
    if (bad || argc != 4) {
        fprintf(stderr, "usage: hilo send [--template NAME] [--wait-window] <debtor-id> <whatsapp|sms|voice> <text>\n");
        return HILO_EXIT_USAGE;
    }
    int channel = hilo_channel_parse(argv[2]);
    if (channel == HILO_CHANNEL_UNSPECIFIED) {
        fprintf(stderr, "hilo: unknown channel '%s' (whatsapp, sms or voice)\n", argv[2]);
        return HILO_EXIT_USAGE;
    }
    char id[HILO_KEY_MAX], to[128], lang[32];
    int rc = hilo_cli_resolve(cli, argv[1], id, sizeof id);
    if (rc != HILO_EXIT_OK) return rc;
    rc = find_address(cli, id, argv[2], to, sizeof to, lang, sizeof lang);
    if (rc != HILO_EXIT_OK) return rc;

    hilo_outbound_spec_t spec = {
        .debtor_id = id, .channel = channel, .to = to, .text = argv[3], .by = "cli", .language = lang,
        .template_name = template_name, .wait_window = wait_window};
    const char *why;
    if (hilo_outbound_spec_check(&spec, &why) != HILO_OK) {
        fprintf(stderr, "hilo: cannot send to %s: %s\n", id, why);
        return HILO_EXIT_DATA;
    }
    if (!text_fits(cli, id, channel, argv[3], template_name != NULL)) return HILO_EXIT_DATA;
    char sha[41];
    if (!hilo_cli_script_load(cli, hilo_script_commit_outbound, sha)) return HILO_EXIT_REDIS;
    /* One clock for the gate and the commit: the test clock under [engine] test_clock. */
    int64_t now = hilo_send_gate_now(cli);
    if (now < 0) return HILO_EXIT_REDIS;
    hilo_outbound_record_t *rec = hilo_outbound_record_new(&spec, now, hilo_cli_settings(cli)->history_max, sha);
    if (!rec) {
        fprintf(stderr, "hilo: cannot build the outbound message (no random bytes for its id?)\n");
        return HILO_EXIT_DATA;
    }
    if (hilo_cli_settings(cli)->gate) {
        /* Where the engine runs, its compliance gate applies to the operator too (send_gate.h). */
        hilo_send_verdict_t gv;
        rc = hilo_send_gate_check(cli, id, channel, template_name != NULL, hilo_outbound_record_id(rec), now, &gv);
        if (rc == HILO_EXIT_OK && !gv.allowed && wait_window && gv.waitable) {
            /* Refused for the hour, the day or the cap: committed anyway, the gate at hand-off
             * holds it until it is allowed. */
            fprintf(stderr, "hilo: %s on %s waits: %s: %s\n", id, argv[2], gv.reason, gv.text);
        } else if (rc == HILO_EXIT_OK && !gv.allowed) {
            fprintf(stderr, "hilo: not sent to %s on %s: blocked by the compliance gate: %s: %s\n", id, argv[2],
                    gv.reason, gv.text);
            rc = HILO_EXIT_DATA;
        }
        if (rc != HILO_EXIT_OK) {
            hilo_outbound_record_destroy(&rec);
            return rc;
        }
    }
    int n;
    const char **v;
    const size_t *len;
    /* The mark in the dispatch index first, then the message (a crash between the two leaves a
     * mark with nothing behind it, which the routers' sweep removes). */
    hilo_outbound_record_index_argv(rec, &n, &v, &len);
    redisReply *r = hilo_cli_cmdv(cli, n, v, len);
    rc = HILO_EXIT_REDIS;
    if (r) {
        freeReplyObject(r);
        hilo_outbound_record_argv(rec, &n, &v, &len);
        r = hilo_cli_evalsha(cli, hilo_script_commit_outbound, n, v, len);
    }
    if (r) {
        /* The mark again: a router's sweep that found the queue empty between the first mark and
         * the commit may have removed it. */
        freeReplyObject(r);
        hilo_outbound_record_index_argv(rec, &n, &v, &len);
        r = hilo_cli_cmdv(cli, n, v, len);
    }
    if (r) {
        freeReplyObject(r);
        hilo_outbound_record_listing_argv(rec, &n, &v, &len);
        if ((r = hilo_cli_cmdv(cli, n, v, len))) {
            freeReplyObject(r);
            printf("%s\n", hilo_outbound_record_id(rec));
            rc = HILO_EXIT_OK;
        }
    }
    hilo_outbound_record_destroy(&rec);
    return rc;
}
