/* cmd_thread.c — `hilo thread [--json] <debtor-id | phone>`: the debtor's whole cross-channel
 * history in stream order, one line per item (history_view.c), outbound items with their
 * delivery state; or, with --json, the stored items as JSON lines with the stream id added. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "history_view.h"
#include "options.h"
#include "text.h"

#define PAGE 500 /* XRANGE page size: a capped history is read in a few round trips */

typedef struct {
    hilo_cli_t *cli;
    bool json;
    redisReply *ostat; /* HGETALL ostat: outbound id -> status JSON */
    redisReply *out;   /* HKEYS out: outbound ids still pending */
} thread_t;

static bool pending(const thread_t *t, const char *oid) {
    for (size_t i = 0; t->out && i < t->out->elements; i++)
        if (t->out->element[i]->type == REDIS_REPLY_STRING && strcmp(t->out->element[i]->str, oid) == 0)
            return true;
    return false;
}

static void print_entry(const thread_t *t, const char *id, const char *raw, size_t rawlen) {
    json_t *item = raw ? json_loadb(raw, rawlen, 0, NULL) : NULL;
    if (!json_is_object(item)) { /* say so rather than hide it: the thread must look complete */
        json_decref(item);
        char when[40];
        hilo_iso_ms(strtoll(id, NULL, 10), when, sizeof when);
        if (t->json)
            printf("{\"id\":\"%s\",\"error\":\"unreadable item\"}\n", id);
        else
            printf("%s  (unreadable item %s)\n", when, id);
        return;
    }
    if (t->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(id));
        json_object_update(o, item);
        json_object_set_new(o, "id", json_string(id)); /* the stream id wins over a stored "id" */
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        char *delivery = NULL;
        const char *dir = json_string_value(json_object_get(item, "dir"));
        const char *oid = json_string_value(json_object_get(item, "oid"));
        if (dir && strcmp(dir, "out") == 0 && oid) {
            const char *status = hilo_reply_field(t->ostat, oid);
            if (status) delivery = hilo_history_delivery(status);
            if (!delivery && pending(t, oid)) delivery = hilo_xstrdup("pending");
        }
        char *line = hilo_history_line(strtoll(id, NULL, 10), item, delivery);
        puts(line);
        free(line);
        free(delivery);
    }
    json_decref(item);
}

/* Reads the stream page by page and prints each entry. Returns an exit code. */
static int print_history(thread_t *t, const char *hist) {
    char start[64] = "-";
    for (;;) {
        redisReply *r = hilo_cli_cmd(t->cli, "XRANGE %s %s + COUNT %d", hist, start, PAGE);
        if (!r) return HILO_EXIT_REDIS;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t i = 0; i < n; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            const char *id = e->element[0]->str;
            redisReply *kv = e->element[1];
            const char *raw = NULL;
            size_t rawlen = 0;
            for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2)
                if (kv->element[k]->type == REDIS_REPLY_STRING && strcmp(kv->element[k]->str, "j") == 0 &&
                    kv->element[k + 1]->type == REDIS_REPLY_STRING) {
                    raw = kv->element[k + 1]->str;
                    rawlen = kv->element[k + 1]->len;
                }
            print_entry(t, id, raw, rawlen);
            snprintf(start, sizeof start, "(%s", id); /* exclusive start: Redis >= 6.2 */
        }
        freeReplyObject(r);
        if (n < PAGE) return HILO_EXIT_OK;
    }
}

int hilo_cmd_thread(hilo_cli_t *cli, int argc, char **argv) {
    thread_t t = {.cli = cli};
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    bool bad = false;
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("thread", argc, argv, "", longopts)) != -1;) {
        if (c == 'j') t.json = true;
        else bad = true;
    }
    const char *who = optind == argc - 1 ? argv[optind] : NULL;
    if (!who || bad) {
        fprintf(stderr, "usage: hilo thread [--json] <debtor-id | phone>\n");
        return HILO_EXIT_USAGE;
    }
    char id[HILO_KEY_MAX];
    int rc = hilo_cli_resolve(cli, who, id, sizeof id);
    if (rc != HILO_EXIT_OK) return rc;

    char conv[HILO_KEY_MAX], debtor[HILO_KEY_MAX], hist[HILO_KEY_MAX], ostat[HILO_KEY_MAX], out[HILO_KEY_MAX];
    hilo_key_debtor(conv, sizeof conv, id, HILO_KEY_CONV);
    hilo_key_debtor(debtor, sizeof debtor, id, HILO_KEY_DEBTOR);
    hilo_key_debtor(hist, sizeof hist, id, HILO_KEY_HIST);
    hilo_key_debtor(ostat, sizeof ostat, id, HILO_KEY_OSTAT);
    hilo_key_debtor(out, sizeof out, id, HILO_KEY_OUT);

    redisReply *c = NULL, *name = NULL;
    rc = HILO_EXIT_REDIS;
    if (!t.json) {
        if (!(c = hilo_cli_cmd(cli, "HGET %s state", conv))) goto done;
        if (!(name = hilo_cli_cmd(cli, "HGET %s full_name", debtor))) goto done;
        if (!(t.ostat = hilo_cli_cmd(cli, "HGETALL %s", ostat))) goto done;
        if (!(t.out = hilo_cli_cmd(cli, "HKEYS %s", out))) goto done;
        const char *nm = name->type == REDIS_REPLY_STRING ? name->str
                         : strncmp(id, "u:", 2) == 0       ? "(unidentified contact)"
                                                           : "(not imported)";
        char *pname = hilo_text_printable(nm, strlen(nm), 60);
        char *pid = hilo_text_printable(id, strlen(id), 0);
        printf("debtor %s  name: %s  state: %s\n", pid, pname, c->type == REDIS_REPLY_STRING ? c->str : "none");
        free(pname);
        free(pid);
    }
    rc = print_history(&t, hist);
done:
    if (c) freeReplyObject(c);
    if (name) freeReplyObject(name);
    if (t.ostat) freeReplyObject(t.ostat);
    if (t.out) freeReplyObject(t.out);
    return rc;
}
