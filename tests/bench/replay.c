/* replay.c — hilo-replay: the limit the router is measured against. A bare hiredis client
 * (async, on a libuv loop, like the router) that sends exactly the router's per-message Redis
 * commands (router/src/inbound.c) for the same generated messages (gen.h), with a fixed
 * number of messages in flight:
 *
 *   GET hilo:addr:<E.164>                                  -> debtor id, or nil -> "u:<E.164>"
 *   once that reply is in:
 *   EVALSHA <commit_inbound> 4 <conv> <hist> <seen> <audit> <ch>:<pmid> <now> <item> <max> <window> <ch> <addr> <0|1>
 *   once that reply is in (and it says "stored"), without waiting for its reply:
 *   ZADD hilo:convs <now> <debtor id>
 *
 * A message is done at the EVALSHA reply — the moment the router sends its Ack — and the
 * next one starts. Prints one JSON line. Also preloads the debtor portfolio (--preload) for
 * the benchmark and the memory runs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <uv.h>

#include "gen.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/scripts.h"
#include "item.h"

typedef struct {
    const char *host;      /* Redis address */
    int port;
    uint64_t messages;     /* messages to replay */
    uint32_t window;       /* messages in flight at once */
    long long history_max; /* ARGV[4], [router] history_max */
    long long dedupe_ms;   /* ARGV[5], [router] dedupe_window_s * 1000 */
    uint64_t first;        /* number of the first message (continue an earlier run) */
    bench_gen_t gen;
} opts_t;

typedef struct slot slot_t;

typedef struct {
    opts_t o;
    redisAsyncContext *ac;
    char sha[41];          /* SHA1 of commit_inbound.lua */
    uint64_t next;         /* next message number to start */
    uint64_t done;         /* messages whose EVALSHA reply came back */
    uint64_t zadds;        /* ZADD replies (or messages that needed none) */
    uint64_t stored;       /* script said stored */
    uint64_t duplicates;   /* script said duplicate */
    uint64_t errors;       /* error replies */
    int64_t t0_us;         /* first command */
    int64_t t1_us;         /* last reply */
    int64_t *lat;          /* per message: GET sent -> EVALSHA reply (us) */
    slot_t *slots;         /* window slots */
} replay_t;

struct slot {
    replay_t *r;
    uint64_t i;            /* message number */
    int64_t start_us;
    bench_msg_t m;
    char debtor[HILO_DEBTOR_ID_MAX + BENCH_PHONE_MAX + 4]; /* resolved id, or u:<E.164> */
};

static void start_message(replay_t *r, slot_t *s);

static void on_zadd(redisAsyncContext *ac, void *reply, void *privdata) {
    replay_t *r = privdata;
    redisReply *rep = reply;
    if (!rep || rep->type == REDIS_REPLY_ERROR) r->errors++;
    if (++r->zadds == r->o.messages) redisAsyncDisconnect(ac);
}

static void on_eval(redisAsyncContext *ac, void *reply, void *privdata) {
    slot_t *s = privdata;
    replay_t *r = s->r;
    redisReply *rep = reply;
    int64_t now = hilo_mono_us();
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_INTEGER) {
        if (r->errors++ == 0)
            fprintf(stderr, "hilo-replay: EVALSHA: %s\n", rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply");
        r->zadds++; /* no ZADD for this one */
    } else if (rep->element[0]->integer == 0) {
        r->stored++;
        char ts[24];
        snprintf(ts, sizeof ts, "%lld", (long long)hilo_now_ms());
        const char *argv[] = {"ZADD", HILO_KEY_CONVS, ts, s->debtor};
        size_t argl[] = {4, strlen(HILO_KEY_CONVS), strlen(ts), strlen(s->debtor)};
        redisAsyncCommandArgv(ac, on_zadd, r, 4, argv, argl);
    } else {
        r->duplicates++;
        r->zadds++;
    }
    r->lat[s->i - r->o.first] = now - s->start_us;
    r->done++;
    r->t1_us = now;
    if (r->next < r->o.first + r->o.messages) start_message(r, s);
    if (r->zadds == r->o.messages) redisAsyncDisconnect(ac);
}

static void on_get(redisAsyncContext *ac, void *reply, void *privdata) {
    slot_t *s = privdata;
    replay_t *r = s->r;
    redisReply *rep = reply;
    char *debtor = s->debtor;
    int unidentified = 0;
    if (rep && rep->type == REDIS_REPLY_STRING && rep->len > 0 && rep->len <= HILO_DEBTOR_ID_MAX) {
        memcpy(debtor, rep->str, rep->len);
        debtor[rep->len] = '\0';
    } else {
        if (rep && rep->type == REDIS_REPLY_ERROR) r->errors++;
        snprintf(debtor, sizeof s->debtor, "u:%s", s->m.e164);
        unidentified = 1;
    }
    char conv[HILO_KEY_MAX], hist[HILO_KEY_MAX], seen[HILO_KEY_MAX], audit[HILO_KEY_MAX];
    hilo_key_debtor(audit, sizeof audit, debtor, HILO_KEY_AUDIT);
    hilo_key_debtor(conv, sizeof conv, debtor, HILO_KEY_CONV);
    hilo_key_debtor(hist, sizeof hist, debtor, HILO_KEY_HIST);
    hilo_key_debtor(seen, sizeof seen, debtor, HILO_KEY_SEEN);
    const char *ch = hilo_channel_name(s->m.channel);
    char member[BENCH_ID_MAX + 16], now[24], hmax[24], dwin[24];
    snprintf(member, sizeof member, "%s:%s", ch, s->m.pmid);
    int64_t now_ms = hilo_now_ms();
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(hmax, sizeof hmax, "%lld", r->o.history_max);
    snprintf(dwin, sizeof dwin, "%lld", r->o.dedupe_ms);
    char *item = bench_item_json(&s->m, now_ms, now_ms);
    const char *argv[] = {"EVALSHA", r->sha, "4", conv, hist, seen, audit, member, now, item, hmax, dwin, ch,
                          s->m.e164, unidentified ? "1" : "0"};
    size_t argl[HILO_ARRAY_LEN(argv)];
    for (size_t k = 0; k < HILO_ARRAY_LEN(argv); k++) argl[k] = strlen(argv[k]);
    redisAsyncCommandArgv(ac, on_eval, s, (int)HILO_ARRAY_LEN(argv), argv, argl);
    free(item);
}

static void start_message(replay_t *r, slot_t *s) {
    s->i = r->next++;
    bench_gen_message(&r->o.gen, s->i, &s->m);
    s->start_us = hilo_mono_us();
    char key[HILO_KEY_MAX];
    int n = hilo_key_addr(key, sizeof key, s->m.e164);
    const char *argv[] = {"GET", key};
    size_t argl[] = {3, (size_t)n};
    redisAsyncCommandArgv(r->ac, on_get, s, 2, argv, argl);
}

static void on_connect(const redisAsyncContext *ac, int status) {
    if (status != REDIS_OK) {
        fprintf(stderr, "hilo-replay: connect: %s\n", ac->errstr);
        exit(1);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    if (status != REDIS_OK) fprintf(stderr, "hilo-replay: disconnected: %s\n", ac->errstr);
}

/* Blocking helpers for the set-up steps. */
static redisContext *sync_connect(const opts_t *o) {
    redisContext *c = redisConnect(o->host, o->port);
    if (!c || c->err) {
        fprintf(stderr, "hilo-replay: connect %s:%d: %s\n", o->host, o->port, c ? c->errstr : "out of memory");
        exit(1);
    }
    return c;
}

static void load_script(redisContext *c, char sha[41]) {
    redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", hilo_script_commit_inbound);
    if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        fprintf(stderr, "hilo-replay: SCRIPT LOAD failed: %s\n", rep && rep->str ? rep->str : c->errstr);
        exit(1);
    }
    memcpy(sha, rep->str, 41);
    freeReplyObject(rep);
}

/* The portfolio as the CSV import writes it: identity map, debtor record, debtor set. */
static void preload(const opts_t *o) {
    redisContext *c = sync_connect(o);
    const uint32_t batch = 1000;
    for (uint32_t d = 0; d < o->gen.debtors;) {
        uint32_t end = d + batch < o->gen.debtors ? d + batch : o->gen.debtors;
        for (uint32_t k = d; k < end; k++) {
            char id[BENCH_ID_MAX], phone[BENCH_PHONE_MAX], key[HILO_KEY_MAX], akey[HILO_KEY_MAX];
            bench_debtor_id(k, id, sizeof id);
            bench_debtor_phone(k, phone, sizeof phone);
            hilo_key_debtor(key, sizeof key, id, HILO_KEY_DEBTOR);
            hilo_key_addr(akey, sizeof akey, phone);
            char balance[32], dpd[16], last4[8];
            snprintf(balance, sizeof balance, "%u.%02u", 100 + (k * 7919u) % 9000u, k % 100u);
            snprintf(dpd, sizeof dpd, "%u", 30 + k % 150u);
            snprintf(last4, sizeof last4, "%04u", (k * 31u) % 10000u);
            redisAppendCommand(c, "SET %s %s", akey, id);
            redisAppendCommand(c,
                               "HSET %s full_name %s phones %s email %s document_last4 %s balance %s "
                               "currency USD days_past_due %s timezone America/New_York language %s country US",
                               key, k % 2 ? "María José Fernández" : "Robert Johnson", phone,
                               k % 2 ? "mjf@example.com" : "rjohnson@example.com", last4, balance, dpd,
                               k % 3 ? "es" : "en");
            redisAppendCommand(c, "SADD %s %s", HILO_KEY_DEBTORS, id);
        }
        for (uint32_t k = d; k < end; k++)
            for (int j = 0; j < 3; j++) {
                redisReply *rep;
                if (redisGetReply(c, (void **)&rep) != REDIS_OK || rep->type == REDIS_REPLY_ERROR) {
                    fprintf(stderr, "hilo-replay: preload failed: %s\n", rep ? rep->str : c->errstr);
                    exit(1);
                }
                freeReplyObject(rep);
            }
        d = end;
    }
    redisFree(c);
}

static void usage(void) {
    fprintf(stderr,
            "usage: hilo-replay [--host H] [--port P] [--seed S] [--tag T] [--debtors K] [--round-robin]\n"
            "                   [--unknown-pm N] [--whatsapp W --sms S]\n"
            "                   (--preload | --messages M [--first I] [--window W] [--history-max N]\n"
            "                    [--dedupe-window-ms MS])\n");
    exit(2);
}

int main(int argc, char **argv) {
    opts_t o = {.host = "127.0.0.1", .port = 6379, .messages = 0, .window = 1000,
                .history_max = 1000, .dedupe_ms = 604800000LL, .first = 0};
    bench_gen_defaults(&o.gen);
    int do_preload = 0;
    static const struct option lo[] = {
        {"host", 1, 0, 'h'},        {"port", 1, 0, 'p'},       {"seed", 1, 0, 's'},
        {"tag", 1, 0, 't'},         {"debtors", 1, 0, 'k'},    {"round-robin", 0, 0, 'r'},
        {"unknown-pm", 1, 0, 'u'},  {"whatsapp", 1, 0, 'W'},   {"sms", 1, 0, 'S'},
        {"preload", 0, 0, 'P'},     {"messages", 1, 0, 'm'},   {"first", 1, 0, 'f'},
        {"window", 1, 0, 'w'},      {"history-max", 1, 0, 'H'}, {"dedupe-window-ms", 1, 0, 'D'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h': o.host = optarg; break;
        case 'p': o.port = atoi(optarg); break;
        case 's': o.gen.seed = strtoull(optarg, NULL, 10); break;
        case 't': o.gen.tag = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'k': o.gen.debtors = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': o.gen.assign = BENCH_ASSIGN_ROUND_ROBIN; break;
        case 'u': o.gen.unknown_pm = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'W': o.gen.wa_weight = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'S': o.gen.sms_weight = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'P': do_preload = 1; break;
        case 'm': o.messages = strtoull(optarg, NULL, 10); break;
        case 'f': o.first = strtoull(optarg, NULL, 10); break;
        case 'w': o.window = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'H': o.history_max = atoll(optarg); break;
        case 'D': o.dedupe_ms = atoll(optarg); break;
        default: usage();
        }
    }
    if (do_preload) {
        int64_t t0 = hilo_mono_us();
        preload(&o);
        printf("{\"preload\":%u,\"elapsed_s\":%.3f}\n", o.gen.debtors, (double)(hilo_mono_us() - t0) / 1e6);
        return 0;
    }
    if (o.messages == 0 || o.window == 0) usage();
    if (o.window > o.messages) o.window = (uint32_t)o.messages;

    replay_t r = {.o = o, .next = o.first};
    redisContext *sc = sync_connect(&o);
    load_script(sc, r.sha);
    redisFree(sc);

    uv_loop_t *loop = uv_default_loop();
    r.ac = redisAsyncConnect(o.host, o.port);
    if (!r.ac || r.ac->err) {
        fprintf(stderr, "hilo-replay: async connect: %s\n", r.ac ? r.ac->errstr : "out of memory");
        return 1;
    }
    redisLibuvAttach(r.ac, loop);
    redisAsyncSetConnectCallback(r.ac, on_connect);
    redisAsyncSetDisconnectCallback(r.ac, on_disconnect);
    r.lat = hilo_xcalloc(o.messages, sizeof *r.lat);
    r.slots = hilo_xcalloc(o.window, sizeof *r.slots);
    r.t0_us = hilo_mono_us();
    for (uint32_t k = 0; k < o.window; k++) {
        r.slots[k].r = &r;
        start_message(&r, &r.slots[k]);
    }
    uv_run(loop, UV_RUN_DEFAULT);

    double secs = (double)(r.t1_us - r.t0_us) / 1e6;
    char lat[256];
    bench_latency_json(r.lat, r.done, lat, sizeof lat);
    printf("{\"tool\":\"hilo-replay\",\"messages\":%llu,\"window\":%u,\"debtors\":%u,\"elapsed_s\":%.3f,"
           "\"rate\":%.0f,\"stored\":%llu,\"duplicates\":%llu,\"errors\":%llu,\"lat_us\":%s}\n",
           (unsigned long long)r.done, o.window, o.gen.debtors, secs, secs > 0 ? (double)r.done / secs : 0.0,
           (unsigned long long)r.stored, (unsigned long long)r.duplicates, (unsigned long long)r.errors, lat);
    free(r.lat);
    free(r.slots);
    uv_loop_close(loop);
    return r.done == o.messages && r.errors == 0 ? 0 : 1;
}
