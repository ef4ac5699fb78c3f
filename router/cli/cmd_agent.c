/* cmd_agent.c — `hilo agent add|list|passwd|disable|enable|logout`: console accounts (agents and supervisors) in
 * Redis: hilo:agent:<id> (name, role, skills, cap:<channel>, pwhash = libsodium Argon2id
 * string), hilo:agents (the set of ids) and hilo:skill:<skill> (agents per skill, read by
 * route_offer.lua). Passwords come from stdin (first line) or --password-env VAR, never from
 * the command line. A password change, a role change (add on an existing account), disable and
 * logout revoke every session of the agent at once (revoke(), router/src/console/auth.c). */
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "options.h"
#include "text.h"
#include "hilo/common.h"

#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define PASSWORD_MIN 8

static const char usage_text[] =
    "usage: hilo agent add <id> --name NAME [--role agent|supervisor] [--skills S1,S2]\n"
    "                      [--capacity whatsapp=3,sms=3,voice=1] [--phone +E164|sip:ADDR] [--password-env VAR]\n"
    "       hilo agent passwd <id> [--password-env VAR]\n"
    "       hilo agent list [--json]      (--json: one account per line)\n"
    "       hilo agent disable <id>       no more logins; every session ends, open consoles close\n"
    "       hilo agent enable <id>\n"
    "       hilo agent logout <id>        every session of the agent ends, open consoles close\n"
    "The password is read from $VAR, else from the first line of stdin (at least 8 characters).\n"
    "--phone: where the agent takes calls (a voice offer they accept rings it).\n";

/* An agent's phone: +E.164 (7 to 15 digits) or a sip:/sips: address of 5..128 printable ASCII
 * characters without spaces, quotes or angle brackets (it goes into TwiML and a URL). */
static bool phone_ok(const char *s) {
    size_t n = strlen(s);
    if (s[0] == '+') return n >= 8 && n <= 16 && strspn(s + 1, "0123456789") == n - 1;
    if (strncmp(s, "sip:", 4) != 0 && strncmp(s, "sips:", 5) != 0) return false;
    if (n < 5 || n > 128) return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p > '~' || strchr("\"'<>&", *p)) return false;
    return true;
}

static bool token_ok(const char *s, size_t n) { return n >= 1 && n <= 64 && strspn(s, ID_CHARS) >= n; }

static bool list_ok(const char *s) {
    if (!*s) return true;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, ",");
        if (!token_ok(p, n)) return false;
        p += n;
        if (*p == ',') p++;
    }
    return true;
}

/* Reads the password into buf; false after printing why. */
static bool read_password(const char *env, char *buf, size_t n) {
    if (env) {
        const char *v = getenv(env);
        if (!v) {
            fprintf(stderr, "hilo: agent: $%s is not set\n", env);
            return false;
        }
        snprintf(buf, n, "%s", v);
    } else if (!fgets(buf, (int)n, stdin)) {
        fprintf(stderr, "hilo: agent: no password on stdin\n");
        return false;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    if (strlen(buf) < PASSWORD_MIN) {
        fprintf(stderr, "hilo: agent: the password must have at least %d characters\n", PASSWORD_MIN);
        return false;
    }
    return true;
}

static bool hash_password(const char *pw, char out[crypto_pwhash_STRBYTES]) {
    if (sodium_init() < 0 ||
        crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) !=
            0) {
        fprintf(stderr, "hilo: agent: password hashing failed (out of memory?)\n");
        return false;
    }
    return true;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ends every session of `id`: a new session generation (so that a login that was checking the
 * old password meanwhile is void too), the session keys deleted, and a `revoke` event on which
 * every router closes the agent's open sockets. HILO_EXIT_OK or HILO_EXIT_REDIS. */
static int revoke(hilo_cli_t *cli, const char *id, const char *why) {
    redisReply *r = hilo_cli_cmd(cli, "HINCRBY hilo:agent:%s sgen 1", id);
    if (!r) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    redisReply *set = hilo_cli_cmd(cli, "SMEMBERS hilo:agent:%s:sessions", id);
    if (!set) return HILO_EXIT_REDIS;
    for (size_t i = 0; set->type == REDIS_REPLY_ARRAY && i < set->elements; i++) {
        if (set->element[i]->type != REDIS_REPLY_STRING) continue;
        if (!(r = hilo_cli_cmd(cli, "DEL hilo:session:%s", set->element[i]->str))) {
            freeReplyObject(set);
            return HILO_EXIT_REDIS;
        }
        freeReplyObject(r);
    }
    size_t n = set->type == REDIS_REPLY_ARRAY ? set->elements : 0;
    freeReplyObject(set);
    if (!(r = hilo_cli_cmd(cli, "DEL hilo:agent:%s:sessions", id))) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    if (!(r = hilo_cli_cmd(cli, "XADD hilo:console:events MAXLEN ~ 10000 * k revoke a %s d %s", id, why)))
        return HILO_EXIT_REDIS;
    freeReplyObject(r);
    printf("sessions of %s revoked (%zu)\n", id, n);
    return HILO_EXIT_OK;
}

/* 1 when hilo:agent:<id> exists, 0 when not (message printed), -1 when Redis failed. */
static int agent_exists(hilo_cli_t *cli, const char *id) {
    redisReply *r = hilo_cli_cmd(cli, "EXISTS hilo:agent:%s", id);
    if (!r) return -1;
    bool exists = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    if (!exists) fprintf(stderr, "hilo: agent: no agent '%s'\n", id);
    return exists ? 1 : 0;
}

/* `agent disable|enable|logout <id>` (argv[0] is the verb). */
static int cmd_state(hilo_cli_t *cli, int argc, char **argv) {
    const char *op = argv[0];
    char cmd[32];
    snprintf(cmd, sizeof cmd, "agent %s", op);
    hilo_opts_begin();
    bool bad = hilo_opts_next(cmd, argc, argv, "", NULL) != -1;
    const char *id = !bad && optind == argc - 1 ? argv[optind] : NULL;
    if (!id || !token_ok(id, strlen(id))) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    int e = agent_exists(cli, id);
    if (e != 1) return e < 0 ? HILO_EXIT_REDIS : HILO_EXIT_DATA;
    redisReply *r = NULL;
    if (strcmp(op, "disable") == 0)
        r = hilo_cli_cmd(cli, "HSET hilo:agent:%s disabled 1 updated_ms %lld", id, now_ms());
    else if (strcmp(op, "enable") == 0)
        r = hilo_cli_cmd(cli, "HDEL hilo:agent:%s disabled", id);
    else
        return revoke(cli, id, "logged out by an operator");
    if (!r) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    printf("agent %s %sd\n", id, op);
    return strcmp(op, "disable") == 0 ? revoke(cli, id, "account disabled") : HILO_EXIT_OK;
}

static int cmd_add(hilo_cli_t *cli, int argc, char **argv) {
    const char *id = NULL, *name = NULL, *role = "agent", *skills = "", *capacity = "whatsapp=3,sms=3,voice=1",
               *env = NULL, *phone = NULL;
    static const struct option longopts[] = {
        {"phone", required_argument, NULL, 'P'},
        {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},
        {"skills", required_argument, NULL, 's'},
        {"capacity", required_argument, NULL, 'c'},
        {"password-env", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("agent add", argc, argv, "", longopts)) != -1;) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'r': role = optarg; break;
        case 's': skills = optarg; break;
        case 'c': capacity = optarg; break;
        case 'p': env = optarg; break;
        case 'P': phone = optarg; break;
        default: fputs(usage_text, stderr); return HILO_EXIT_USAGE;
        }
    }
    if (phone && !phone_ok(phone)) {
        fprintf(stderr, "hilo: agent: --phone: +E.164 (e.g. +15551230001) or a sip: address, got '%s'\n", phone);
        return HILO_EXIT_USAGE;
    }
    if (optind == argc - 1) id = argv[optind];
    if (!id || !name || !*name || optind != argc - 1) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    if (!token_ok(id, strlen(id))) {
        fprintf(stderr, "hilo: agent: id '%s': 1..64 of [A-Za-z0-9._-]\n", id);
        return HILO_EXIT_USAGE;
    }
    if (strcmp(role, "agent") != 0 && strcmp(role, "supervisor") != 0) {
        fprintf(stderr, "hilo: agent: --role must be agent or supervisor\n");
        return HILO_EXIT_USAGE;
    }
    if (!list_ok(skills)) {
        fprintf(stderr, "hilo: agent: --skills: comma-separated names of [A-Za-z0-9._-]\n");
        return HILO_EXIT_USAGE;
    }
    long cap[3] = {0, 0, 0};
    static const char *const chans[3] = {"whatsapp", "sms", "voice"};
    for (const char *p = capacity; *p;) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        int c = -1;
        for (int k = 0; eq && k < 3; k++)
            if ((size_t)(eq - p) == strlen(chans[k]) && strncmp(p, chans[k], (size_t)(eq - p)) == 0) c = k;
        char *end;
        long v = eq ? strtol(eq + 1, &end, 10) : -1;
        if (c < 0 || v < 0 || v > 100 || end != p + n) {
            fprintf(stderr, "hilo: agent: --capacity: channel=N pairs (whatsapp, sms, voice; 0..100), got '%.*s'\n",
                    (int)n, p);
            return HILO_EXIT_USAGE;
        }
        cap[c] = v;
        p += n;
        if (*p == ',') p++;
    }
    char pw[1100], hash[crypto_pwhash_STRBYTES];
    if (!read_password(env, pw, sizeof pw)) return HILO_EXIT_DATA;
    bool hashed = hash_password(pw, hash);
    sodium_memzero(pw, sizeof pw);
    if (!hashed) return HILO_EXIT_DATA;

    /* An existing account gets a new password (and maybe a new role): its sessions end. */
    redisReply *r = hilo_cli_cmd(cli, "EXISTS hilo:agent:%s", id);
    if (!r) return HILO_EXIT_REDIS;
    bool existed = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    /* Skills the agent leaves: out of those routing sets. */
    r = hilo_cli_cmd(cli, "HGET hilo:agent:%s skills", id);
    if (!r) return HILO_EXIT_REDIS;
    if (r->type == REDIS_REPLY_STRING && *r->str) {
        char *old = hilo_xstrdup(r->str);
        for (char *s = strtok(old, ","); s; s = strtok(NULL, ",")) {
            redisReply *x = hilo_cli_cmd(cli, "SREM hilo:skill:%s %s", s, id);
            if (!x) {
                free(old);
                freeReplyObject(r);
                return HILO_EXIT_REDIS;
            }
            freeReplyObject(x);
        }
        free(old);
    }
    freeReplyObject(r);
    r = hilo_cli_cmd(cli, "HSET hilo:agent:%s name %s role %s skills %s cap:whatsapp %ld cap:sms %ld cap:voice %ld "
                          "pwhash %s updated_ms %lld",
                     id, name, role, skills, cap[0], cap[1], cap[2], hash, now_ms());
    if (!r) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    if (phone) {
        if (!(r = hilo_cli_cmd(cli, "HSET hilo:agent:%s phone %s", id, phone))) return HILO_EXIT_REDIS;
        freeReplyObject(r);
    }
    if (!(r = hilo_cli_cmd(cli, "SADD hilo:agents %s", id))) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    char *sk = hilo_xstrdup(skills);
    for (char *s = strtok(sk, ","); s; s = strtok(NULL, ",")) {
        if (!(r = hilo_cli_cmd(cli, "SADD hilo:skill:%s %s", s, id))) {
            free(sk);
            return HILO_EXIT_REDIS;
        }
        freeReplyObject(r);
    }
    free(sk);
    printf("agent %s (%s): skills %s; capacity whatsapp=%ld sms=%ld voice=%ld\n", id, role, *skills ? skills : "-",
           cap[0], cap[1], cap[2]);
    return existed ? revoke(cli, id, "account changed") : HILO_EXIT_OK;
}

static int cmd_passwd(hilo_cli_t *cli, int argc, char **argv) {
    const char *env = NULL;
    static const struct option longopts[] = {{"password-env", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("agent passwd", argc, argv, "", longopts)) != -1;) {
        if (c != 'p') {
            fputs(usage_text, stderr);
            return HILO_EXIT_USAGE;
        }
        env = optarg;
    }
    const char *id = optind == argc - 1 ? argv[optind] : NULL;
    if (!id || !token_ok(id, strlen(id))) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    int e = agent_exists(cli, id);
    if (e != 1) return e < 0 ? HILO_EXIT_REDIS : HILO_EXIT_DATA;
    redisReply *r;
    char pw[1100], hash[crypto_pwhash_STRBYTES];
    if (!read_password(env, pw, sizeof pw)) return HILO_EXIT_DATA;
    bool hashed = hash_password(pw, hash);
    sodium_memzero(pw, sizeof pw);
    if (!hashed) return HILO_EXIT_DATA;
    if (!(r = hilo_cli_cmd(cli, "HSET hilo:agent:%s pwhash %s updated_ms %lld", id, hash, now_ms())))
        return HILO_EXIT_REDIS;
    freeReplyObject(r);
    printf("password of %s changed\n", id);
    return revoke(cli, id, "password changed");
}

/* One account as a JSON line (--json): stable field names, documented in docs/operations.md. */
/* Field k of an HMGET reply, NULL when absent. */
static const char *field_at(const redisReply *a, size_t k) {
    return a->type == REDIS_REPLY_ARRAY && k < a->elements && a->element[k]->type == REDIS_REPLY_STRING
               ? a->element[k]->str
               : NULL;
}

/* One account as a JSON line (--json): stable field names, documented in docs/operations.md.
 * `a` is HMGET role name skills cap:whatsapp cap:sms cap:voice disabled. */
static void list_json(const char *id, const redisReply *a, const char *state) {
    json_t *skills = json_array();
    const char *sk_field = field_at(a, 2);
    char *sk = hilo_xstrdup(sk_field ? sk_field : "");
    for (char *s = strtok(sk, ","); s; s = strtok(NULL, ",")) json_array_append_new(skills, json_string(s));
    free(sk);
    json_t *cap = json_object();
    static const char *const chans[3] = {"whatsapp", "sms", "voice"};
    for (size_t k = 0; k < 3; k++) {
        const char *v = field_at(a, 3 + k);
        json_object_set_new(cap, chans[k], v ? json_integer(strtol(v, NULL, 10)) : json_null());
    }
    const char *disabled = field_at(a, 6);
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s, s:o, s:o, s:b}", "id", id, "name", field_at(a, 1), "role",
                          field_at(a, 0), "state", state, "skills", skills, "capacity", cap, "disabled",
                          disabled && strcmp(disabled, "1") == 0);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) puts(line);
    free(line);
    json_decref(o);
}

/* The text listing's columns. */
enum { COL_ID, COL_ROLE, COL_STATE, COL_NAME, COL_SKILLS, COL_CAP, NCOLS };
static const char *const col_head[NCOLS] = {"ID", "ROLE", "STATE", "NAME", "SKILLS", "CAPACITY w/s/v"};

typedef struct {
    char *cell[NCOLS]; /* printable copies (hilo_text_printable) */
} list_row_t;

/* The rows (in id order), each column as wide as its widest cell in terminal columns (a name with
 * accents or CJK characters lines up like an ASCII one: text.h), two spaces between columns.
 * Names come from whoever ran `agent add`: printed through hilo_text_printable. */
static void list_text(list_row_t *rows, size_t n) {
    size_t w[NCOLS];
    for (int k = 0; k < NCOLS; k++) w[k] = strlen(col_head[k]);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < NCOLS; k++) {
            size_t cw = hilo_text_width(rows[i].cell[k]);
            if (cw > w[k]) w[k] = cw;
        }
    for (int k = 0; k < NCOLS; k++) {
        if (k == NCOLS - 1) fputs(col_head[k], stdout);
        else hilo_text_pad(stdout, col_head[k], w[k] + 2);
    }
    fputc('\n', stdout);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < NCOLS; k++) {
            if (k == NCOLS - 1) fputs(rows[i].cell[k], stdout);
            else hilo_text_pad(stdout, rows[i].cell[k], w[k] + 2);
        }
        fputc('\n', stdout);
    }
}

static int reply_by_str(const void *a, const void *b) {
    const redisReply *x = *(redisReply *const *)a, *y = *(redisReply *const *)b;
    return strcmp(x->type == REDIS_REPLY_STRING ? x->str : "", y->type == REDIS_REPLY_STRING ? y->str : "");
}

static char *printable(const char *s) { return hilo_text_printable(s ? s : "-", strlen(s ? s : "-"), 0); }

/* `agent list [--json]` (argv[0] is "list"). */
static int cmd_list(hilo_cli_t *cli, int argc, char **argv) {
    bool json = false, bad = false;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("agent list", argc, argv, "", longopts)) != -1;) {
        if (c == 'j') json = true;
        else bad = true;
    }
    if (bad || optind != argc) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    redisReply *ids = hilo_cli_cmd(cli, "SMEMBERS hilo:agents");
    if (!ids) return HILO_EXIT_REDIS;
    size_t nids = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0, nrows = 0;
    if (nids) qsort(ids->element, nids, sizeof *ids->element, reply_by_str); /* by id, text and --json alike */
    list_row_t *rows = hilo_xcalloc(nids ? nids : 1, sizeof *rows);
    int rc = HILO_EXIT_OK;
    for (size_t i = 0; i < nids; i++) {
        if (ids->element[i]->type != REDIS_REPLY_STRING) continue;
        const char *id = ids->element[i]->str;
        redisReply *a =
            hilo_cli_cmd(cli, "HMGET hilo:agent:%s role name skills cap:whatsapp cap:sms cap:voice disabled", id);
        redisReply *l = a ? hilo_cli_cmd(cli, "HGET hilo:agent:%s:live state", id) : NULL;
        if (!a || !l) {
            if (a) freeReplyObject(a);
            rc = HILO_EXIT_REDIS;
            break;
        }
        const char *state = l->type == REDIS_REPLY_STRING ? l->str : "offline";
        if (json) {
            list_json(id, a, state);
        } else {
            char cap[96];
            snprintf(cap, sizeof cap, "%s/%s/%s", field_at(a, 3) ? field_at(a, 3) : "-",
                     field_at(a, 4) ? field_at(a, 4) : "-", field_at(a, 5) ? field_at(a, 5) : "-");
            list_row_t *r = &rows[nrows++];
            r->cell[COL_ID] = printable(id);
            r->cell[COL_ROLE] = printable(field_at(a, 0));
            r->cell[COL_STATE] = printable(state);
            r->cell[COL_NAME] = printable(field_at(a, 1));
            r->cell[COL_SKILLS] = printable(field_at(a, 2) && *field_at(a, 2) ? field_at(a, 2) : "-");
            r->cell[COL_CAP] = printable(cap);
        }
        freeReplyObject(a);
        freeReplyObject(l);
    }
    if (!json && rc == HILO_EXIT_OK) list_text(rows, nrows);
    for (size_t i = 0; i < nrows; i++)
        for (int k = 0; k < NCOLS; k++) free(rows[i].cell[k]);
    free(rows);
    freeReplyObject(ids);
    return rc;
}

int hilo_cmd_agent(hilo_cli_t *cli, int argc, char **argv) {
    /* Each verb parses its own arguments: argv[0] is the verb. */
    if (argc >= 2 && strcmp(argv[1], "add") == 0) return cmd_add(cli, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "passwd") == 0) return cmd_passwd(cli, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0) return cmd_list(cli, argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "disable") == 0 || strcmp(argv[1], "enable") == 0 ||
                      strcmp(argv[1], "logout") == 0))
        return cmd_state(cli, argc - 1, argv + 1);
    fputs(usage_text, stderr);
    return HILO_EXIT_USAGE;
}
