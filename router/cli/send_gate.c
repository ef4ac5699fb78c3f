/* send_gate.c — `hilo send` through the compliance gate. */
#include "send_gate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/compliance.h"
#include "hilo/freq_cap.h"
#include "hilo/keys.h"
#include "hilo/scripts.h"


int64_t hilo_send_gate_now(hilo_cli_t *cli) {
    if (!hilo_cli_settings(cli)->test_clock) return hilo_now_ms();
    redisReply *r = hilo_cli_cmd(cli, "GET %s", HILO_KEY_TEST_CLOCK);
    if (!r) return -1;
    int64_t now = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return now > 0 ? now : hilo_now_ms();
}

static const char *reply_field(const void *r, const char *field) { return hilo_reply_field(r, field); }

static void verdict_out(const hilo_verdict_t *v, hilo_send_verdict_t *out) {
    out->allowed = v->allowed;
    snprintf(out->reason, sizeof out->reason, "%s", hilo_reason_name(v->reason));
    snprintf(out->text, sizeof out->text, "%s", v->text);
    out->waitable = !v->allowed && hilo_reason_waitable(v->reason) && v->next_ms > 0;
}

/* The block, in the debtor's audit trail as the router writes it (engine.c). */
static int audit_block(hilo_cli_t *cli, const char *debtor_id, int channel, const hilo_verdict_t *v) {
    char key[HILO_KEY_MAX];
    hilo_key_debtor(key, sizeof key, debtor_id, HILO_KEY_AUDIT);
    json_t *j = json_object();
    json_object_set_new(j, "channel", json_string(hilo_channel_name(channel)));
    json_object_set_new(j, "reason", json_string(hilo_reason_name(v->reason)));
    json_object_set_new(j, "text", json_string(v->text));
    json_object_set_new(j, "by", json_string("cli"));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    const char *argv[] = {"XADD", key, "*", "ev", "blocked", "j", s};
    size_t lens[HILO_ARRAY_LEN(argv)];
    for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
    redisReply *r = hilo_cli_cmdv(cli, (int)HILO_ARRAY_LEN(argv), argv, lens);
    free(s);
    if (!r) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    return HILO_EXIT_OK;
}

int hilo_send_gate_check(hilo_cli_t *cli, const char *debtor_id, int channel, bool is_template,
                         const char *attempt_id, int64_t now_ms, hilo_send_verdict_t *out) {
    char err[600];
    const hilo_cli_settings_t *st = hilo_cli_settings(cli);
    hilo_compliance_t *gate = hilo_compliance_new(st->compliance_dir, NULL, err, sizeof err);
    if (!gate) {
        fprintf(stderr, "hilo: compliance rules ([engine] compliance_dir): %s\n", err);
        return HILO_EXIT_CONFIG;
    }
    int rc = HILO_EXIT_REDIS;
    char kdebtor[HILO_KEY_MAX], kconv[HILO_KEY_MAX];
    hilo_key_debtor(kdebtor, sizeof kdebtor, debtor_id, HILO_KEY_DEBTOR);
    hilo_key_debtor(kconv, sizeof kconv, debtor_id, HILO_KEY_CONV);
    redisReply *d = hilo_cli_cmd(cli, "HGETALL %s", kdebtor), *conv = d ? hilo_cli_cmd(cli, "HGETALL %s", kconv) : NULL;
    if (!d || !conv) goto done;
    hilo_attempt_t a;
    hilo_attempt_load_facts(&a, reply_field, d, conv);
    a.channel = channel;
    a.kind = is_template ? HILO_MSG_TEMPLATE : HILO_MSG_FREEFORM;
    a.reply = false; /* an operator's message is outreach, whatever the debtor wrote last */
    a.now_ms = now_ms;
    hilo_verdict_t v;
    hilo_compliance_check(gate, &a, &v);
    if (v.allowed && v.cap.limit > 0) {
        /* The cap last: it records the attempt, which a block by hours must not use up. */
        char sha[41];
        hilo_freq_cap_cmd_t cmd;
        if (!hilo_cli_script_load(cli, hilo_script_freq_cap, sha)) goto done;
        if (hilo_freq_cap_command(&cmd, sha, debtor_id, channel, v.cap, now_ms, attempt_id, err, sizeof err) !=
            HILO_OK) {
            fprintf(stderr, "hilo: frequency cap: %s\n", err);
            rc = HILO_EXIT_DATA;
            goto done;
        }
        redisReply *r = hilo_cli_evalsha(cli, hilo_script_freq_cap, cmd.argc, cmd.argv, cmd.argvlen);
        if (!r) goto done;
        hilo_freq_cap_verdict(r, channel, v.cap, &v);
        freeReplyObject(r);
    }
    verdict_out(&v, out);
    rc = v.allowed ? HILO_EXIT_OK : audit_block(cli, debtor_id, channel, &v);
done:
    if (d) freeReplyObject(d);
    if (conv) freeReplyObject(conv);
    hilo_compliance_destroy(&gate);
    return rc;
}
