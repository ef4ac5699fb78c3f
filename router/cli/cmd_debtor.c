/* cmd_debtor.c — `hilo debtor [--json] <debtor-id | phone>`: the imported portfolio record,
 * known columns in their usual order, then the attr: columns, then anything else (imported_ms);
 * with --json the same fields as one JSON object (values as stored: strings), "id" first. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "debtor_schema.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "options.h"
#include "text.h"

/* One field: a line, or (out not NULL: --json) a member of out. */
static void show(json_t *out, const char *field, const char *value) {
    if (out) {
        json_object_set_new(out, field, json_string(value));
        return;
    }
    char *f = hilo_text_printable(field, strlen(field), 40);
    char *v = hilo_text_printable(value, strlen(value), 0);
    hilo_text_pad(stdout, f, 16);
    printf("  %s\n", v);
    free(f);
    free(v);
}

static bool known_column(const char *field) {
    for (const char *const *c = hilo_debtor_columns; *c; c++)
        if (strcmp(*c, field) == 0) return true;
    return false;
}

int hilo_cmd_debtor(hilo_cli_t *cli, int argc, char **argv) {
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    bool json = false, bad = false;
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("debtor", argc, argv, "", longopts)) != -1;) {
        if (c == 'j') json = true;
        else bad = true;
    }
    if (bad || optind != argc - 1) {
        fprintf(stderr, "usage: hilo debtor [--json] <debtor-id | phone>\n");
        return HILO_EXIT_USAGE;
    }
    char id[HILO_KEY_MAX], key[HILO_KEY_MAX];
    int rc = hilo_cli_resolve(cli, argv[optind], id, sizeof id);
    if (rc != HILO_EXIT_OK) return rc;
    hilo_key_debtor(key, sizeof key, id, HILO_KEY_DEBTOR);
    redisReply *r = hilo_cli_cmd(cli, "HGETALL %s", key);
    if (!r) return HILO_EXIT_REDIS;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        fprintf(stderr, "hilo: %s has no imported portfolio record\n", id);
        freeReplyObject(r);
        return HILO_EXIT_DATA;
    }
    const char *v;
    json_t *out = json ? json_pack("{s:s}", "id", id) : NULL;
    if (!hilo_reply_field(r, "debtor_id")) show(out, "debtor_id", id);
    for (const char *const *c = hilo_debtor_columns; *c; c++)
        if ((v = hilo_reply_field(r, *c))) show(out, *c, v);
    for (int pass = 0; pass < 2; pass++) /* attr: columns, then the rest */
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const char *f = r->element[i]->str;
            bool attr = strncmp(f, "attr:", 5) == 0;
            if (known_column(f) || attr != (pass == 0)) continue;
            if (strcmp(f, "imported_ms") == 0 && !json) {
                char when[40], both[80];
                hilo_iso_ms(strtoll(r->element[i + 1]->str, NULL, 10), when, sizeof when);
                snprintf(both, sizeof both, "%s (%s)", r->element[i + 1]->str, when);
                show(out, f, both);
            } else {
                show(out, f, r->element[i + 1]->str);
            }
        }
    if (json) {
        char *line = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) puts(line);
        free(line);
        json_decref(out);
    }
    freeReplyObject(r);
    return HILO_EXIT_OK;
}
