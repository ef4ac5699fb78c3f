/* freq_cap.h — the C side of router/lua/freq_cap.lua (hilo_script_freq_cap): builds the
 * EVALSHA argv for one attempt and turns the script's reply into a verdict. No I/O: the router
 * sends the command on its own connection (redisAsyncCommandArgv) and passes the reply back.
 * The command struct owns the strings its argv points to: keep it alive, and unmoved, until the
 * command is sent. */
#ifndef HILO_FREQ_CAP_H
#define HILO_FREQ_CAP_H

#include <stddef.h>
#include <stdint.h>

#include "hilo/verdict.h"

struct redisReply; /* hiredis */

#define HILO_FREQ_CAP_ARGC 8       /* EVALSHA sha 1 key now window limit attempt */
#define HILO_FREQ_CAP_KEY_PART "contacts" /* hilo:{d:ID}:contacts:<channel> */
#define HILO_FREQ_CAP_ID_MAX 128   /* longest attempt id */

typedef struct {
    int argc;
    const char *argv[HILO_FREQ_CAP_ARGC];
    size_t argvlen[HILO_FREQ_CAP_ARGC];
    char sha[41];
    char key[256];
    char num[3][24];               /* now, window, limit */
    char id[HILO_FREQ_CAP_ID_MAX + 1];
} hilo_freq_cap_cmd_t;

/* Fills *cmd with EVALSHA <sha> 1 hilo:{d:<debtor_id>}:contacts:<channel> <now_ms>
 * <cap.window_ms> <cap.limit> <attempt_id>. `attempt_id` must be unique per attempt (the
 * outbound id): the script is idempotent on it. Returns HILO_ERR with err set on a bad debtor
 * id, channel, cap (limit < 1), sha or attempt id. */
int hilo_freq_cap_command(hilo_freq_cap_cmd_t *cmd, const char *sha, const char *debtor_id, int channel,
                          hilo_cap_t cap, int64_t now_ms, const char *attempt_id, char *err, size_t errlen);

/* Reads the script's reply (valid only during the hiredis callback) into *out: allowed, or
 * blocked with frequency_cap and next_ms = when the oldest counted attempt ages out.
 * A NULL, error or malformed reply fails closed: blocked with cap_check_failed, and HILO_ERR
 * is returned so the caller can log it (and retry, e.g. after NOSCRIPT). */
int hilo_freq_cap_verdict(const struct redisReply *reply, int channel, hilo_cap_t cap, hilo_verdict_t *out);

#endif
