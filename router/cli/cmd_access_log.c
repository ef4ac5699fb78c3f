/* cmd_access_log.c — `hilo access-log --debtor ID | --agent ID [--limit N] [--json]`: who opened
 * which debtor's record in the console, newest first, from the streams the router writes
 * (hilo:{d:<id>}:access, hilo:{a:<id>}:access; router/src/console/access_log.c). With both
 * options, the debtor's entries by that person. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "hilo/common.h"
#include "text.h"

static const char usage_text[] =
    "usage: hilo access-log --debtor ID [--agent ID] [--limit N] [--json]\n"
    "       hilo access-log --agent ID [--limit N] [--json]\n";

/* The value of `field` in a stream entry's field list, or "". */
static const char *entry_field(const redisReply *fields, const char *field) {
    for (size_t i = 0; fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, field) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1]->str;
    return "";
}

int hilo_cmd_access_log(hilo_cli_t *cli, int argc, char **argv) {
    const char *debtor = NULL, *agent = NULL;
    long limit = 100;
    int json = 0;
    static const struct option longopts[] = {
        {"debtor", required_argument, NULL, 'd'},
        {"agent", required_argument, NULL, 'a'},
        {"limit", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    bool bad = false;
    hilo_opts_begin();
    for (int c; !bad && (c = hilo_opts_next("access-log", argc, argv, "", longopts)) != -1;) {
        switch (c) {
        case 'd': debtor = optarg; break;
        case 'a': agent = optarg; break;
        case 'n': bad = !hilo_opts_long("access-log", "--limit", optarg, 1, 100000, &limit); break;
        case 'j': json = 1; break;
        default: bad = true;
        }
    }
    if (bad || optind != argc || (!debtor && !agent) || (debtor && (!*debtor || strchr(debtor, '}'))) ||
        (agent && (!*agent || strchr(agent, '}')))) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    redisReply *r = debtor ? hilo_cli_cmd(cli, "XREVRANGE hilo:{d:%s}:access + - COUNT %ld", debtor, limit)
                           : hilo_cli_cmd(cli, "XREVRANGE hilo:{a:%s}:access + - COUNT %ld", agent, limit);
    if (!r) return HILO_EXIT_REDIS;
    if (!json) printf("%-24s %-20s %-11s %s\n", "WHEN (UTC)", "WHO", "ROLE", "DEBTOR");
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
        const char *a = entry_field(e->element[1], "a"), *role = entry_field(e->element[1], "r");
        const char *d = entry_field(e->element[1], "d"), *ms = entry_field(e->element[1], "ms");
        if (debtor && agent && strcmp(a, agent) != 0) continue;
        char *pa = hilo_text_printable(a, strlen(a), 64), *pd = hilo_text_printable(d, strlen(d), 64);
        if (json) {
            printf("{\"ms\":%lld,\"agent\":\"%s\",\"role\":\"%s\",\"debtor\":\"%s\"}\n", strtoll(ms, NULL, 10), pa,
                   strcmp(role, "supervisor") == 0 ? "supervisor" : "agent", pd);
        } else {
            char when[40];
            hilo_iso_ms(strtoll(ms, NULL, 10), when, sizeof when);
            printf("%-24s %-20s %-11s %s\n", when, pa, role, pd);
        }
        free(pa);
        free(pd);
    }
    freeReplyObject(r);
    return HILO_EXIT_OK;
}
