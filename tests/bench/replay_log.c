/* replay_log.c — hilo-replay-log: a bare hiredis client that sends Redis a command stream captured
 * with MONITOR, in the captured order, pipelined (--window commands in flight), and times it. The
 * limit a router is measured against when its Redis commands are not fixed in advance (the
 * strategy runner's: tests/bench/strategy_sends.py): the same commands, with nothing in between.
 *
 *   hilo-replay-log --port P --log FILE [--window N] [--skip-prefix hilo:test:]
 *
 * FILE: MONITOR's lines, `<time> [<db> <client>] "ARG" "ARG" ...`, each argument quoted and
 * escaped as Redis prints it (\" \\ \n \r \t \a \b \xHH). Lines that are not commands (+OK), and
 * the commands scripts ran (`[0 lua]`: their EVALSHA is replayed), and blocking reads (XREAD, BLPOP...:
 * waits for events, not work) are left out. Prints one JSON line: commands, errors (error replies; counted, not fatal), seconds,
 * commands per second. */
#include <ctype.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hiredis/hiredis.h>

typedef struct {
    char **v;
    size_t *len;
    int n;
} cmd_t;

static int hexval(int c) { return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10; }

/* Parses one MONITOR line into c; false when it is not a command. */
static bool parse(const char *line, cmd_t *c) {
    const char *p = strchr(line, ']');
    if (!p) return false;
    if (p - line >= 4 && strncmp(p - 4, " lua", 4) == 0) return false; /* run by a script: not sent */
    p++;
    c->n = 0;
    size_t cap = 0;
    while (*p) {
        while (*p == ' ') p++;
        if (*p != '"') break;
        p++;
        size_t blen = strlen(p) + 1, k = 0;
        char *buf = malloc(blen);
        while (*p && *p != '"') {
            if (*p == '\\' && p[1]) {
                p++;
                switch (*p) {
                case 'n': buf[k++] = '\n'; break;
                case 'r': buf[k++] = '\r'; break;
                case 't': buf[k++] = '\t'; break;
                case 'a': buf[k++] = '\a'; break;
                case 'b': buf[k++] = '\b'; break;
                case 'x':
                    if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                        buf[k++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
                        p += 2;
                    }
                    break;
                default: buf[k++] = *p;
                }
                p++;
            } else {
                buf[k++] = *p++;
            }
        }
        if (*p == '"') p++;
        if ((size_t)c->n == cap) {
            cap = cap ? cap * 2 : 16;
            c->v = realloc(c->v, cap * sizeof *c->v);
            c->len = realloc(c->len, cap * sizeof *c->len);
        }
        c->v[c->n] = buf;
        c->len[c->n++] = k;
    }
    return c->n > 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int port = 6379, window = 256;
    const char *path = NULL, *skip = NULL;
    static const struct option opts[] = {{"port", required_argument, 0, 'p'},
                                         {"log", required_argument, 0, 'l'},
                                         {"window", required_argument, 0, 'w'},
                                         {"skip-prefix", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "p:l:w:s:", opts, NULL)) != -1;) {
        if (o == 'p') port = atoi(optarg);
        else if (o == 'l') path = optarg;
        else if (o == 'w') window = atoi(optarg);
        else if (o == 's') skip = optarg;
        else return 64;
    }
    if (!path || window < 1) {
        fprintf(stderr, "usage: hilo-replay-log --port P --log FILE [--window N] [--skip-prefix P]\n");
        return 64;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    /* Everything parsed first: the timing is Redis's work and the client's sending alone. */
    cmd_t *cmds = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        cmd_t c = {0};
        if (!parse(line, &c)) continue;
        /* A blocking read (the console's event stream) is a wait, not work: on one pipelined
         * connection it would stall every command behind it. */
        bool drop = strcasecmp(c.v[0], "MONITOR") == 0 || strcasecmp(c.v[0], "XREAD") == 0 ||
                    strcasecmp(c.v[0], "XREADGROUP") == 0 || strcasecmp(c.v[0], "BLPOP") == 0 ||
                    strcasecmp(c.v[0], "BRPOP") == 0 || strcasecmp(c.v[0], "BZPOPMIN") == 0 ||
                    (skip && c.n > 1 && strncmp(c.v[1], skip, strlen(skip)) == 0);
        if (drop) {
            for (int i = 0; i < c.n; i++) free(c.v[i]);
            free(c.v);
            free(c.len);
            continue;
        }
        if (n == cap) cmds = realloc(cmds, (cap = cap ? cap * 2 : 4096) * sizeof *cmds);
        cmds[n++] = c;
    }
    free(line);
    fclose(f);
    redisContext *rc = redisConnect("127.0.0.1", port);
    if (!rc || rc->err) {
        fprintf(stderr, "hilo-replay-log: cannot connect: %s\n", rc ? rc->errstr : "no memory");
        return 1;
    }
    long errors = 0;
    size_t sent = 0, done = 0;
    double t0 = now_s();
    while (done < n) {
        while (sent < n && sent - done < (size_t)window) {
            redisAppendCommandArgv(rc, cmds[sent].n, (const char **)cmds[sent].v, cmds[sent].len);
            sent++;
        }
        redisReply *r;
        if (redisGetReply(rc, (void **)&r) != REDIS_OK) {
            fprintf(stderr, "hilo-replay-log: %s\n", rc->errstr);
            return 1;
        }
        if (r->type == REDIS_REPLY_ERROR) errors++;
        freeReplyObject(r);
        done++;
    }
    double secs = now_s() - t0;
    printf("{\"commands\":%zu,\"errors\":%ld,\"seconds\":%.3f,\"per_second\":%.0f}\n", n, errors, secs,
           secs > 0 ? (double)n / secs : 0.0);
    redisFree(rc);
    return 0;
}
