/* bot_try.c — try a flow file from a terminal, without a router or Redis: each input line is
 * one turn; the bot's replies, buttons and actions are printed, and the state is kept
 * between turns as the router would keep it. For flow authors. Lines starting with '#'
 * are DTMF digits ("#4321"), '!' a button payload ("!balance"), "@sms"/"@voice"/"@whatsapp"
 * switch the channel, "@state" prints the stored state. The debtor is a fixed sample,
 * adjustable with HILO_BOT_TRY_* environment variables (see usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hilo/bot.h"
#include "hilo/common.h"

static const char *env(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FLOW\n  env: HILO_BOT_TRY_LANGUAGE (es), HILO_BOT_TRY_BALANCE (1234.56), "
                "HILO_BOT_TRY_LAST4 (4321), HILO_BOT_TRY_TODAY (today, UTC), HILO_BOT_TRY_UNKNOWN=1\n", argv[0]);
        return 2;
    }
    char err[512];
    hilo_flow_t *flow = hilo_flow_load(argv[1], err, sizeof err);
    if (!flow) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int64_t balance = 0;
    if (hilo_bot_parse_amount(env("HILO_BOT_TRY_BALANCE", "1234.56"), &balance) != HILO_OK) {
        fprintf(stderr, "HILO_BOT_TRY_BALANCE: not an amount\n");
        return 2;
    }
    hilo_bot_debtor_t debtor = {"d-100", "María Pérez", env("HILO_BOT_TRY_LAST4", "4321"), balance, "MXN", 45,
                                env("HILO_BOT_TRY_LANGUAGE", "es"), 0, "retail", "tok-example", 0};
    bool unknown = getenv("HILO_BOT_TRY_UNKNOWN") != NULL;
    hilo_bot_channel_t channel = HILO_BOT_CH_WHATSAPP;
    char *state = NULL, line[2048];
    printf("flow %s loaded; channel whatsapp. Type a turn.\n> ", argv[1]);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '@') {
            if (strcmp(line, "@state") == 0)
                printf("%s\n", state ? state : "(none)");
            else
                channel = hilo_bot_channel_parse(line + 1);
            printf("> ");
            fflush(stdout);
            continue;
        }
        hilo_bot_input_t in = {.channel = channel, .now_ms = hilo_now_ms(), .today = getenv("HILO_BOT_TRY_TODAY")};
        if (line[0] == '#')
            in.digits = line + 1;
        else if (line[0] == '!')
            in.button = line + 1;
        else
            in.text = line;
        hilo_bot_result_t *r = hilo_bot_turn(flow, unknown ? NULL : &debtor, state, &in);
        for (size_t i = 0; i < r->nreplies; i++) printf("bot: %s\n", r->replies[i]);
        for (size_t i = 0; i < r->nbuttons; i++) printf("  [%s] %s\n", r->buttons[i].id, r->buttons[i].title);
        char *json = hilo_bot_result_json(r);
        printf("  step=%s verified=%d handoff=%d result=%s\n> ", r->step, r->verified, r->handoff, json);
        fflush(stdout);
        free(json);
        free(state);
        state = hilo_xstrdup(r->state);
        hilo_bot_result_destroy(&r);
    }
    free(state);
    hilo_flow_destroy(&flow);
    return 0;
}
