/* cmd_conversations.c — `hilo conversations [--limit N] [--json]`: the conversation listing,
 * newest activity first (ZSET hilo:convs), with each debtor's name, state, last channel, last
 * activity and message counts from its conv hash; with --json one conversation per line. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/utf8.h"
#include "options.h"
#include "text.h"

#define DEFAULT_LIMIT 50

/* The channel of the most recent message either way: commit_inbound.lua records last_channel,
 * commit_outbound.lua last_out_channel. */
static const char *last_channel(const redisReply *conv) {
    const char *in = hilo_reply_field(conv, "last_channel");
    const char *out = hilo_reply_field(conv, "last_out_channel");
    const char *in_ms = hilo_reply_field(conv, "last_in_ms");
    const char *out_ms = hilo_reply_field(conv, "last_out_ms");
    if (in && out) return strtoll(out_ms ? out_ms : "0", NULL, 10) > strtoll(in_ms ? in_ms : "0", NULL, 10) ? out : in;
    return in ? in : out ? out : "-";
}

static void cell(const char *s, size_t width, size_t max) {
    char *p = hilo_text_printable(s, strlen(s), max);
    hilo_text_pad(stdout, p, width);
    free(p);
    fputs("  ", stdout);
}

static long long count(const char *s) { return s ? strtoll(s, NULL, 10) : 0; }

/* One conversation as a JSON line (--json): stable field names, docs/operations.md. */
static void row_json(const char *id, const char *name, const redisReply *conv, long long last_ms) {
    const char *state = hilo_reply_field(conv, "state"), *channel = last_channel(conv);
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I}", "debtor", id, "name", name, "state", state,
                          "channel", strcmp(channel, "-") == 0 ? NULL : channel, "last_activity_ms", (json_int_t)last_ms,
                          "msgs_in", (json_int_t)count(hilo_reply_field(conv, "msgs_in")), "msgs_out",
                          (json_int_t)count(hilo_reply_field(conv, "msgs_out")));
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) puts(line);
    free(line);
    json_decref(o);
}

static const char usage_text[] =
    "usage: hilo conversations [--limit N] [--json]   (N from 1 to 1000000, default 50)\n";

int hilo_cmd_conversations(hilo_cli_t *cli, int argc, char **argv) {
    long limit = DEFAULT_LIMIT;
    bool json = false, bad = false;
    static const struct option longopts[] = {
        {"limit", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    hilo_opts_begin();
    for (int c; !bad && (c = hilo_opts_next("conversations", argc, argv, "", longopts)) != -1;) {
        if (c == 'n') bad = !hilo_opts_long("conversations", "--limit", optarg, 1, 1000000, &limit);
        else if (c == 'j') json = true;
        else bad = true;
    }
    if (bad || optind != argc) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    redisReply *list = hilo_cli_cmd(cli, "ZREVRANGE %s 0 %ld WITHSCORES", HILO_KEY_CONVS, limit - 1);
    if (!list) return HILO_EXIT_REDIS;
    if (list->elements == 0) {
        if (json) {
            freeReplyObject(list);
            return HILO_EXIT_OK;
        }
        puts("(no conversations)");
        freeReplyObject(list);
        return HILO_EXIT_OK;
    }
    size_t idw = strlen("DEBTOR");
    for (size_t i = 0; i + 1 < list->elements; i += 2) {
        size_t w = hilo_utf8_chars(list->element[i]->str);
        if (w > idw) idw = w < 24 ? w : 24;
    }
    if (!json) {
        cell("DEBTOR", idw, 0);
        cell("NAME", 24, 0);
        cell("STATE", 10, 0);
        cell("CHANNEL", 8, 0);
        cell("LAST ACTIVITY", 24, 0);
        printf("%6s  %6s\n", "IN", "OUT");
    }

    int rc = HILO_EXIT_OK;
    for (size_t i = 0; i + 1 < list->elements; i += 2) {
        const char *id = list->element[i]->str;
        long long last = strtoll(list->element[i + 1]->str, NULL, 10);
        char conv[HILO_KEY_MAX], debtor[HILO_KEY_MAX];
        if (hilo_key_debtor(conv, sizeof conv, id, HILO_KEY_CONV) < 0 ||
            hilo_key_debtor(debtor, sizeof debtor, id, HILO_KEY_DEBTOR) < 0)
            continue; /* not one of ours: ids are at most 64 characters */
        redisReply *c = hilo_cli_cmd(cli, "HGETALL %s", conv);
        redisReply *n = c ? hilo_cli_cmd(cli, "HGET %s full_name", debtor) : NULL;
        if (!c || !n) {
            if (c) freeReplyObject(c);
            rc = HILO_EXIT_REDIS;
            break;
        }
        if (json) {
            row_json(id, n->type == REDIS_REPLY_STRING ? n->str : NULL, c, last);
            freeReplyObject(c);
            freeReplyObject(n);
            continue;
        }
        const char *name = n->type == REDIS_REPLY_STRING ? n->str : strncmp(id, "u:", 2) == 0 ? "(unidentified)" : "-";
        const char *state = hilo_reply_field(c, "state");
        const char *in = hilo_reply_field(c, "msgs_in"), *out = hilo_reply_field(c, "msgs_out");
        char when[40];
        hilo_iso_ms(last, when, sizeof when);
        cell(id, idw, 24);
        cell(name, 24, 24);
        cell(state ? state : "-", 10, 10);
        cell(last_channel(c), 8, 8);
        cell(when, 24, 0);
        printf("%6s  %6s\n", in ? in : "0", out ? out : "0");
        freeReplyObject(c);
        freeReplyObject(n);
    }
    freeReplyObject(list);
    return rc;
}
