/* cli.c — settings, the Redis connection and debtor lookup shared by the subcommands. */
#include "cli.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "hilo/common.h"
#include "hilo/secret_file.h"
#include "hilo/config.h"
#include "hilo/keys.h"
#include "hilo/paths.h"
#include "hilo/phone.h"

struct hilo_cli {
    hilo_config_t *config;          /* owns the settings' strings */
    hilo_cli_settings_t settings;
    redisContext *redis;            /* NULL until the first command */
    bool redis_failed;              /* connecting failed once: do not retry (or print) again */
};

/* Redis ACL user of the CLI: [cli] redis_user / redis_password_file (the operator's own user,
 * deploy/quickstart.sh makes one), else the [redis] user / password / password_file the router
 * uses. A password file must be private (mode 0600). */
static int read_redis_user(hilo_cli_t *c) {
    hilo_cli_settings_t *s = &c->settings;
    const char *cli_user = NULL, *cli_file = NULL, *user = NULL, *file = NULL;
    if (hilo_config_str(c->config, "cli", "redis_user", "", &cli_user) ||
        hilo_config_str(c->config, "cli", "redis_password_file", "", &cli_file) ||
        hilo_config_str(c->config, "redis", "user", "", &user) ||
        hilo_config_str(c->config, "redis", "password_file", "", &file))
        return HILO_ERR;
    const char *sec = "redis", *key = "password_file";
    if (*cli_user || *cli_file) {
        user = cli_user;
        file = cli_file;
        sec = "cli";
        key = "redis_password_file";
        s->password = "";
    }
    s->user = user;
    if (*file) {
        char full[4096], err[4600];
        const char *path = hilo_config_path_of(c->config, file, full, sizeof full);
        if (hilo_secret_file_read(path, s->password_buf, sizeof s->password_buf, err, sizeof err) != HILO_OK)
            return hilo_config_reject(c->config, sec, key, err);
        s->password = s->password_buf;
    }
    return HILO_OK;
}

static int read_settings(hilo_cli_t *c) {
    hilo_cli_settings_t *s = &c->settings;
    long long port, db, timeout, hmax, sms_parts;
    /* No hilo_config_check_unused(): the file is shared with the router and the connectors,
     * whose keys the CLI does not read; the router validates the whole file. */
    if (hilo_config_str(c->config, "redis", "host", "127.0.0.1", &s->host) ||
        hilo_config_int(c->config, "redis", "port", 6379, 1, 65535, &port) ||
        hilo_config_str(c->config, "redis", "password", "", &s->password) ||
        hilo_config_int(c->config, "redis", "db", 0, 0, 1000000, &db) ||
        hilo_config_int(c->config, "redis", "timeout_ms", 3000, 1, 600000, &timeout) ||
        hilo_config_str(c->config, "identity", "default_country_code", "", &s->default_cc) ||
        hilo_config_int(c->config, "router", "history_max", 1000, 1, 100000000, &hmax) ||
        hilo_config_test_clock(c->config, &s->test_clock) ||
        hilo_config_bool(c->config, "engine", "enabled", false, &s->gate) ||
        /* The SMS connector's own default and bound (connectors/sms/adapter_sms.c), which
         * checks the value when it starts: a text it would refuse is refused before commit. */
        hilo_config_int(c->config, "sms", "max_parts", 3, 1, 8, &sms_parts) || read_redis_user(c))
        return HILO_ERR;
    s->port = (int)port;
    s->db = (int)db;
    s->timeout_ms = (int)timeout;
    s->history_max = (long)hmax;
    s->sms_max_parts = (int)sms_parts;
    return HILO_OK;
}

hilo_cli_t *hilo_cli_new(const char *config_path, char *err, size_t errlen) {
    hilo_cli_t *c = hilo_xcalloc(1, sizeof *c);
    c->config = hilo_config_load(config_path, err, errlen);
    if (!c->config) {
        free(c);
        return NULL;
    }
    /* The file is shared; each program checks its own keys (the router all of its sections),
     * and every one refuses a section none of them reads. */
    if (hilo_config_check_sections(c->config, NULL) != HILO_OK || read_settings(c) != HILO_OK) {
        snprintf(err, errlen, "%s", hilo_config_error(c->config));
        hilo_cli_destroy(&c);
        return NULL;
    }
    /* The compliance rule packs (hilo send checks its message against them), relative to the
     * config file's folder like the router resolves them. */
    const char *cdir = NULL;
    char def_cdir[sizeof c->settings.compliance_dir];
    hilo_paths_data("compliance", def_cdir, sizeof def_cdir); /* the installed rule packs */
    if (hilo_config_str(c->config, "engine", "compliance_dir", def_cdir, &cdir) != HILO_OK) {
        snprintf(err, errlen, "%s", hilo_config_error(c->config));
        hilo_cli_destroy(&c);
        return NULL;
    }
    /* The outbound strategies (`hilo strategy check|plan`), the same way. */
    const char *sdir = NULL;
    if (hilo_config_str(c->config, "strategies", "dir", "strategies", &sdir) != HILO_OK) {
        snprintf(err, errlen, "%s", hilo_config_error(c->config));
        hilo_cli_destroy(&c);
        return NULL;
    }
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    const char *dirs[2] = {cdir, sdir};
    char *outs[2] = {c->settings.compliance_dir, c->settings.strategies_dir};
    for (int i = 0; i < 2; i++) {
        if (dirs[i][0] == '/' || !config_path)
            snprintf(outs[i], sizeof c->settings.compliance_dir, "%s", dirs[i]);
        else
            snprintf(outs[i], sizeof c->settings.compliance_dir, "%.*s/%s", slash ? (int)(slash - config_path) : 1,
                     slash ? config_path : ".", dirs[i]);
    }
    return c;
}

void hilo_cli_destroy(hilo_cli_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_cli_t *c = *self_p;
    if (c->redis) redisFree(c->redis);
    hilo_config_destroy(&c->config);
    free(c);
    *self_p = NULL;
}

const hilo_cli_settings_t *hilo_cli_settings(const hilo_cli_t *c) { return &c->settings; }

static void where(const hilo_cli_t *c, char *buf, size_t n) {
    if (c->settings.host[0] == '/')
        snprintf(buf, n, "%s", c->settings.host);
    else
        snprintf(buf, n, "%s:%d", c->settings.host, c->settings.port);
}

/* Connects, authenticates and selects the database. Prints why and returns false on failure. */
static bool connect_redis(hilo_cli_t *c) {
    if (c->redis) return true;
    if (c->redis_failed) return false;
    const hilo_cli_settings_t *s = &c->settings;
    struct timeval tv = {s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000};
    char at[300];
    where(c, at, sizeof at);
    redisContext *r = s->host[0] == '/' ? redisConnectUnixWithTimeout(s->host, tv)
                                        : redisConnectWithTimeout(s->host, s->port, tv);
    if (!r || r->err) {
        fprintf(stderr, "hilo: cannot connect to Redis at %s: %s\n", at, r ? r->errstr : "out of memory");
        if (r) redisFree(r);
        c->redis_failed = true;
        return false;
    }
    redisSetTimeout(r, tv); /* a silent Redis must not hang an operator's terminal */
    for (int step = 0; step < 2; step++) {
        redisReply *rep = NULL;
        if (step == 0 && s->password[0] && s->user[0])
            rep = redisCommand(r, "AUTH %s %s", s->user, s->password); /* an ACL user (Redis 6+) */
        else if (step == 0 && s->password[0])
            rep = redisCommand(r, "AUTH %s", s->password);
        else if (step == 1 && s->db != 0)
            rep = redisCommand(r, "SELECT %d", s->db);
        else
            continue;
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "hilo: Redis at %s refused %s%s%s%s: %s\n", at, step == 0 ? "AUTH" : "SELECT",
                    step == 0 ? " (user " : "", step == 0 ? (s->user[0] ? s->user : "default") : "",
                    step == 0 ? ")" : "", rep ? rep->str : r->errstr);
            if (rep) freeReplyObject(rep);
            redisFree(r);
            c->redis_failed = true;
            return false;
        }
        freeReplyObject(rep);
    }
    c->redis = r;
    return true;
}

/* Turns a raw reply into the helpers' contract: NULL + message for anything that failed. */
static redisReply *checked(hilo_cli_t *c, redisReply *r, const char *what) {
    if (!r) {
        char at[300];
        where(c, at, sizeof at);
        fprintf(stderr, "hilo: Redis at %s: %s\n", at, c->redis->errstr[0] ? c->redis->errstr : "no reply");
        redisFree(c->redis); /* after an I/O error the context is unusable */
        c->redis = NULL;
        c->redis_failed = true;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "hilo: Redis refused %s: %s\n", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *hilo_cli_cmd(hilo_cli_t *c, const char *fmt, ...) {
    if (!connect_redis(c)) return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c->redis, fmt, ap);
    va_end(ap);
    char what[32];
    snprintf(what, sizeof what, "%.*s", (int)strcspn(fmt, " "), fmt);
    return checked(c, r, what);
}

redisReply *hilo_cli_cmdv(hilo_cli_t *c, int argc, const char **argv, const size_t *argvlen) {
    assert(argc > 0);
    if (!connect_redis(c)) return NULL;
    char what[32];
    snprintf(what, sizeof what, "%.*s", (int)(argvlen[0] < 31 ? argvlen[0] : 31), argv[0]);
    return checked(c, redisCommandArgv(c->redis, argc, argv, argvlen), what);
}

void hilo_cli_args_add(hilo_cli_args_t *a, const char *arg) {
    a->v = hilo_xrealloc(a->v, (size_t)(a->n + 1) * sizeof *a->v);
    a->len = hilo_xrealloc(a->len, (size_t)(a->n + 1) * sizeof *a->len);
    a->v[a->n] = hilo_xstrdup(arg);
    a->len[a->n++] = strlen(arg);
}

void hilo_cli_args_clear(hilo_cli_args_t *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    free(a->len);
    *a = (hilo_cli_args_t){0};
}

bool hilo_cli_append(hilo_cli_t *c, int argc, const char **argv, const size_t *argvlen) {
    assert(argc > 0);
    if (!connect_redis(c)) return false;
    return redisAppendCommandArgv(c->redis, argc, argv, argvlen) == REDIS_OK;
}

bool hilo_cli_append_resp(hilo_cli_t *c, const char *resp, size_t len) {
    if (!connect_redis(c)) return false;
    return redisAppendFormattedCommand(c->redis, resp, len) == REDIS_OK;
}

bool hilo_cli_flush(hilo_cli_t *c) {
    if (!c->redis) return false;
    /* Written now, so that Redis works on them while the caller does something else. */
    int done = 0;
    while (!done)
        if (redisBufferWrite(c->redis, &done) != REDIS_OK) {
            checked(c, NULL, NULL);
            return false;
        }
    return true;
}

bool hilo_cli_send(hilo_cli_t *c, const hilo_cli_args_t *cmds, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!hilo_cli_append(c, cmds[i].n, (const char **)cmds[i].v, cmds[i].len)) return false;
    return hilo_cli_flush(c);
}

redisReply **hilo_cli_recv(hilo_cli_t *c, size_t n) {
    if (!c->redis) return NULL;
    redisReply **replies = hilo_xcalloc(n ? n : 1, sizeof *replies);
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c->redis, &r) != REDIS_OK || !r) {
            hilo_cli_replies_free(replies, n);
            checked(c, NULL, NULL); /* prints, drops the broken connection */
            return NULL;
        }
        replies[i] = r;
    }
    return replies;
}

redisReply **hilo_cli_pipeline(hilo_cli_t *c, const hilo_cli_args_t *cmds, size_t n) {
    return hilo_cli_send(c, cmds, n) ? hilo_cli_recv(c, n) : NULL;
}

void hilo_cli_replies_free(redisReply **replies, size_t n) {
    if (!replies) return;
    for (size_t i = 0; i < n; i++)
        if (replies[i]) freeReplyObject(replies[i]);
    free(replies);
}

bool hilo_cli_script_load(hilo_cli_t *c, const char *body, char *sha) {
    redisReply *r = hilo_cli_cmd(c, "SCRIPT LOAD %s", body);
    if (!r) return false;
    bool ok = r->type == REDIS_REPLY_STRING && r->len == 40;
    if (ok)
        memcpy(sha, r->str, 41);
    else
        fprintf(stderr, "hilo: Redis answered SCRIPT LOAD with something else than a SHA1\n");
    freeReplyObject(r);
    return ok;
}

redisReply *hilo_cli_evalsha(hilo_cli_t *c, const char *body, int argc, const char **argv,
                             const size_t *argvlen) {
    if (!connect_redis(c)) return NULL;
    redisReply *r = redisCommandArgv(c->redis, argc, argv, argvlen);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        char sha[41];
        if (!hilo_cli_script_load(c, body, sha)) return NULL;
        r = redisCommandArgv(c->redis, argc, argv, argvlen); /* same SHA: the body did not change */
    }
    return checked(c, r, "EVALSHA");
}

/* 1 when the id has an imported record, a conversation or a history; 0 when not; -1 on error. */
static int known(hilo_cli_t *c, const char *id) {
    char debtor[HILO_KEY_MAX], conv[HILO_KEY_MAX], hist[HILO_KEY_MAX];
    if (hilo_key_debtor(debtor, sizeof debtor, id, HILO_KEY_DEBTOR) < 0 ||
        hilo_key_debtor(conv, sizeof conv, id, HILO_KEY_CONV) < 0 ||
        hilo_key_debtor(hist, sizeof hist, id, HILO_KEY_HIST) < 0)
        return 0;
    redisReply *r = hilo_cli_cmd(c, "EXISTS %s %s %s", debtor, conv, hist);
    if (!r) return -1;
    int found = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return found;
}

int hilo_cli_resolve(hilo_cli_t *c, const char *arg, char *id, size_t idlen) {
    bool plausible_id = hilo_debtor_id_valid(arg) || strncmp(arg, "u:", 2) == 0;
    if (plausible_id && strlen(arg) < idlen) {
        int k = known(c, arg);
        if (k < 0) return HILO_EXIT_REDIS;
        if (k) {
            snprintf(id, idlen, "%s", arg);
            return HILO_EXIT_OK;
        }
    }
    char e164[24];
    const char *why = NULL;
    if (strncmp(arg, "u:", 2) != 0 &&
        hilo_phone_normalize(arg, c->settings.default_cc, e164, sizeof e164, &why) == HILO_OK) {
        char addr[HILO_KEY_MAX];
        hilo_key_addr(addr, sizeof addr, e164);
        redisReply *r = hilo_cli_cmd(c, "GET %s", addr);
        if (!r) return HILO_EXIT_REDIS;
        if (r->type == REDIS_REPLY_STRING && r->len < idlen) {
            snprintf(id, idlen, "%s", r->str);
            freeReplyObject(r);
            return HILO_EXIT_OK;
        }
        freeReplyObject(r);
        char unidentified[32];
        snprintf(unidentified, sizeof unidentified, "u:%s", e164);
        int k = known(c, unidentified);
        if (k < 0) return HILO_EXIT_REDIS;
        if (k) {
            snprintf(id, idlen, "%s", unidentified);
            return HILO_EXIT_OK;
        }
        fprintf(stderr, "hilo: no debtor or contact with phone %s\n", e164);
        return HILO_EXIT_DATA;
    }
    fprintf(stderr, "hilo: unknown debtor '%s'\n", arg);
    return HILO_EXIT_DATA;
}

const char *hilo_cli_input_name(const char *path) { return strcmp(path, "-") == 0 ? "<stdin>" : path; }

FILE *hilo_cli_open_input(const char *path) {
    if (strcmp(path, "-") == 0) return stdin;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f); /* fopen() opens a directory; reading it would fail later, less clearly */
        f = NULL;
        errno = EISDIR;
    }
    if (!f) fprintf(stderr, "hilo: cannot read %s: %s\n", path, strerror(errno));
    return f;
}
