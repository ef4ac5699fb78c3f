/* cli.h — what every `hilo` subcommand shares: the settings read from the config file, one
 * synchronous Redis connection (opened on first use), the exit codes, and the lookup of a
 * debtor by id or phone. Created by main.c, passed to the commands (commands.h); it owns the
 * config, the connection and every reply helper's result until the caller frees it.
 * Failures are printed here, once, as "hilo: ..." on stderr; callers just return the code. */
#ifndef HILO_CLI_H
#define HILO_CLI_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hilo/reply.h" /* hilo_reply_field(): a field of an HGETALL reply */

#define HILO_EXIT_OK 0      /* done */
#define HILO_EXIT_DATA 1    /* unreadable file, bad CSV header, unknown debtor, refused input */
#define HILO_EXIT_CONFIG 2  /* the config file is broken (file:line: reason printed) */
#define HILO_EXIT_REDIS 3   /* Redis unreachable or failing */
#define HILO_EXIT_SCHEMA 4  /* Redis holds data of a schema version this hilo does not know (hilo migrate) */
#define HILO_EXIT_USAGE 64  /* bad command line (sysexits EX_USAGE) */

/* The config keys the CLI reads. Other sections of the file are the router's business. */
typedef struct {
    const char *host;        /* [redis] host (a path starting with '/' is a Unix socket) */
    int port;                /* [redis] port */
    const char *password;    /* [redis] password ("" = no AUTH), or what the password file held */
    const char *user;        /* the ACL user: [cli] redis_user, else [redis] user ("" = default) */
    char password_buf[256];  /* [cli] redis_password_file, else [redis] password_file */
    int db;                  /* [redis] db */
    int timeout_ms;          /* [redis] timeout_ms: connect and per-command timeout */
    const char *default_cc;  /* [identity] default_country_code ("" = none) */
    long history_max;        /* [router] history_max: the history stream cap */
    char compliance_dir[600]; /* [engine] compliance_dir, resolved against the config's folder */
    char strategies_dir[600]; /* [strategies] dir, resolved the same way */
    bool test_clock;         /* [engine] test_clock: the gate's "now" from hilo:test:now_ms */
    bool gate;               /* [engine] enabled: `hilo send` passes the compliance gate too */
    int sms_max_parts;       /* [sms] max_parts: the SMS connector's limit, which `hilo send` checks */
} hilo_cli_settings_t;

typedef struct hilo_cli hilo_cli_t;

/* Loads the config (path NULL = defaults and environment only) and reads the settings. On a
 * broken file or value returns NULL with "file:line: reason" in err. */
hilo_cli_t *hilo_cli_new(const char *config_path, char *err, size_t errlen);
void hilo_cli_destroy(hilo_cli_t **self_p);

const hilo_cli_settings_t *hilo_cli_settings(const hilo_cli_t *self);

/* Runs one command (connecting first when needed). Returns the reply, to free with
 * freeReplyObject(), or NULL after printing why: Redis unreachable, connection lost, or an
 * error reply. Either way NULL means "exit HILO_EXIT_REDIS". */
redisReply *hilo_cli_cmd(hilo_cli_t *self, const char *fmt, ...);
redisReply *hilo_cli_cmdv(hilo_cli_t *self, int argc, const char **argv, const size_t *argvlen);

/* A command being built; every argument is copied. Zero-initialize, then add. */
typedef struct {
    char **v;     /* arguments */
    size_t *len;  /* their lengths */
    int n;
} hilo_cli_args_t;
void hilo_cli_args_add(hilo_cli_args_t *a, const char *arg);
void hilo_cli_args_clear(hilo_cli_args_t *a); /* frees the arguments; `a` can be reused */

/* Sends cmds[0..n) in one round trip and returns their n replies in a new array (free with
 * hilo_cli_replies_free), error replies included: inside MULTI the caller judges them.
 * NULL after printing why when Redis is unreachable or the connection broke. Saves round trips
 * where they add up: the import writes each debtor in three. */
redisReply **hilo_cli_pipeline(hilo_cli_t *self, const hilo_cli_args_t *cmds, size_t n);
void hilo_cli_replies_free(redisReply **replies, size_t n);
/* hilo_cli_pipeline in two halves, for a caller that works on one batch's replies while Redis
 * answers the next: send writes the commands out at once; recv reads the n oldest replies owed
 * (in order). Same failures as above (false / NULL after printing why). */
bool hilo_cli_send(hilo_cli_t *self, const hilo_cli_args_t *cmds, size_t n);
/* The same without copies, for many small commands: append (argv is copied into the output
 * buffer at once), then flush; the replies are read with hilo_cli_recv. */
bool hilo_cli_append(hilo_cli_t *self, int argc, const char **argv, const size_t *argvlen);
bool hilo_cli_flush(hilo_cli_t *self);
/* Appends commands already in RESP (several at once: one copy into the output buffer instead of
 * one growth per command, which costs more than Redis's work for small commands). */
bool hilo_cli_append_resp(hilo_cli_t *self, const char *resp, size_t len);
redisReply **hilo_cli_recv(hilo_cli_t *self, size_t n);

/* Runs EVALSHA `argv` (argv[1] is the SHA of `body`), loading the script first when Redis
 * answers NOSCRIPT (a restart or SCRIPT FLUSH since SCRIPT LOAD). Same result as above. */
redisReply *hilo_cli_evalsha(hilo_cli_t *self, const char *body, int argc, const char **argv,
                             const size_t *argvlen);
/* SCRIPT LOAD body; the SHA goes into sha (41 bytes). Returns false after printing why. */
bool hilo_cli_script_load(hilo_cli_t *self, const char *body, char *sha);

/* Finds whom `arg` names: a debtor id known to Redis (imported or with a conversation), an
 * unidentified contact "u:<E.164>", or a phone number (normalized, then hilo:addr:, then the
 * unidentified contact u:<E.164> when it has a conversation). Writes the id into id (at least
 * 80 bytes). Returns HILO_EXIT_OK, HILO_EXIT_DATA (unknown, message printed) or HILO_EXIT_REDIS. */
int hilo_cli_resolve(hilo_cli_t *self, const char *arg, char *id, size_t idlen);

/* Opens an input file for reading (not a directory); "-" is standard input. NULL after printing
 * "hilo: cannot read PATH: reason" on stderr. */
FILE *hilo_cli_open_input(const char *path);
/* The input's name in messages (FILE:LINE: reason): "<stdin>" for "-", else path. */
const char *hilo_cli_input_name(const char *path);

#endif
