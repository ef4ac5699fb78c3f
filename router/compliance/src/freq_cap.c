/* freq_cap.c — EVALSHA argv for freq_cap.lua and its reply, as a verdict (see freq_cap.h). */
#include "hilo/freq_cap.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"

int hilo_freq_cap_command(hilo_freq_cap_cmd_t *cmd, const char *sha, const char *debtor_id, int channel,
                          hilo_cap_t cap, int64_t now_ms, const char *attempt_id, char *err, size_t errlen) {
    memset(cmd, 0, sizeof *cmd);
    if (!sha || strlen(sha) != 40 || strspn(sha, "0123456789abcdef") != 40) {
        snprintf(err, errlen, "freq_cap: bad script sha");
        return HILO_ERR;
    }
    if (channel <= HILO_CHANNEL_UNSPECIFIED || channel >= HILO_CHANNEL_MAX) {
        snprintf(err, errlen, "freq_cap: unknown channel %d", channel);
        return HILO_ERR;
    }
    if (cap.limit < 1 || cap.window_ms <= 0 || now_ms <= 0) {
        snprintf(err, errlen, "freq_cap: no cap to check (limit %d, window %" PRId64 " ms)", cap.limit,
                 cap.window_ms);
        return HILO_ERR;
    }
    if (!attempt_id || !*attempt_id || strlen(attempt_id) > HILO_FREQ_CAP_ID_MAX) {
        snprintf(err, errlen, "freq_cap: attempt id must be 1..%d bytes", HILO_FREQ_CAP_ID_MAX);
        return HILO_ERR;
    }
    char part[64];
    snprintf(part, sizeof part, "%s:%s", HILO_FREQ_CAP_KEY_PART, hilo_channel_name(channel));
    /* Unidentified contacts ("u:<E.164>") have keys too; anything else must be a debtor id. */
    bool id_ok = debtor_id && (hilo_debtor_id_valid(debtor_id) ||
                               (strncmp(debtor_id, "u:", 2) == 0 && hilo_debtor_id_valid(debtor_id + 2)));
    if (!id_ok || hilo_key_debtor(cmd->key, sizeof cmd->key, debtor_id, part) < 0) {
        snprintf(err, errlen, "freq_cap: bad debtor id");
        return HILO_ERR;
    }
    memcpy(cmd->sha, sha, 41);
    snprintf(cmd->num[0], sizeof cmd->num[0], "%" PRId64, now_ms);
    snprintf(cmd->num[1], sizeof cmd->num[1], "%" PRId64, cap.window_ms);
    snprintf(cmd->num[2], sizeof cmd->num[2], "%d", cap.limit);
    snprintf(cmd->id, sizeof cmd->id, "%s", attempt_id);
    const char *argv[HILO_FREQ_CAP_ARGC] = {"EVALSHA", cmd->sha, "1", cmd->key, cmd->num[0], cmd->num[1],
                                            cmd->num[2], cmd->id};
    for (int i = 0; i < HILO_FREQ_CAP_ARGC; i++) {
        cmd->argv[i] = argv[i];
        cmd->argvlen[i] = strlen(argv[i]);
    }
    cmd->argc = HILO_FREQ_CAP_ARGC;
    return HILO_OK;
}

static void fmt_window(int64_t ms, char *buf, size_t n) {
    if (ms % 86400000 == 0) snprintf(buf, n, "%" PRId64 "d", ms / 86400000);
    else if (ms % 3600000 == 0) snprintf(buf, n, "%" PRId64 "h", ms / 3600000);
    else if (ms % 60000 == 0) snprintf(buf, n, "%" PRId64 "m", ms / 60000);
    else snprintf(buf, n, "%" PRId64 "ms", ms);
}

int hilo_freq_cap_verdict(const struct redisReply *r, int channel, hilo_cap_t cap, hilo_verdict_t *out) {
    if (!r) {
        hilo_verdict_block(out, HILO_REASON_CAP_FAILED, "frequency cap not checked: no reply from Redis");
        return HILO_ERR;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        hilo_verdict_block(out, HILO_REASON_CAP_FAILED, "frequency cap not checked: %.200s",
                           r->str ? r->str : "");
        return HILO_ERR;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER || r->element[2]->type != REDIS_REPLY_INTEGER ||
        (r->element[0]->integer != 0 && r->element[0]->integer != 1)) {
        hilo_verdict_block(out, HILO_REASON_CAP_FAILED, "frequency cap not checked: unexpected script reply");
        return HILO_ERR;
    }
    if (r->element[0]->integer == 1) {
        hilo_verdict_allow(out);
        return HILO_OK;
    }
    char w[32];
    fmt_window(cap.window_ms, w, sizeof w);
    hilo_verdict_block(out, HILO_REASON_FREQUENCY_CAP, "%lld %s attempts in the last %s (cap: %d per %s)",
                       r->element[1]->integer, hilo_channel_name(channel), w, cap.limit, w);
    out->next_ms = r->element[2]->integer;
    return HILO_OK;
}
