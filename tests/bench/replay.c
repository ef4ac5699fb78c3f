/* replay.c — hilo-replay: the limit the router is measured against. A bare hiredis client
 * (async, on a libuv loop, like the router) that sends exactly the router's per-message Redis
 * commands (router/src/inbound.c) for the same generated messages (gen.h), with a fixed
 * number of messages in flight:
 *
 *   MGET hilo:addr:<E.164> ...      one key per message -> debtor id, or nil -> "u:<E.164>"
 *                                   (not for an address answered before: the router's
 *                                   identity cache, router/src/identity_cache.c)
 *   once that reply is in:
 *   EVALSHA <commit_inbound> 6N <conv> <hist> <seen> <audit> <turnq> <turns> ...
 *           <now> <max> <window> <ch>:<pmid> <item> <ch> <from> <0|1> "" "" ...
 *           (no engine turn: the router measured runs with the engine off)
 *   once that reply is in, for the messages stored, without waiting for its reply:
 *   ZADD hilo:convs <history stream id's ms> <debtor id> ...
 *
 * batched as the router batches them: the messages started in one loop turn share one MGET,
 * those whose identity is known in one loop turn share one EVALSHA (at most --batch each);
 * while an MGET is out, no message skips it (the router keeps each sender's order so).
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
#include "hilo/schema.h"
#include "hilo/scripts.h"
#include "identity_table.h"
#include "item.h"

typedef struct {
    const char *host;      /* Redis address; starting with '/': its unix socket */
    int port;
    uint64_t messages;     /* messages to replay */
    uint32_t window;       /* messages in flight at once */
    long long history_max; /* ARGV[4], [router] history_max */
    long long dedupe_ms;   /* ARGV[5], [router] dedupe_window_s * 1000 */
    uint64_t first;        /* number of the first message (continue an earlier run) */
    size_t batch;          /* messages per MGET / EVALSHA, [router] commit_batch_max */
    bench_gen_t gen;
} opts_t;

typedef struct slot slot_t;

#define BATCH_LIMIT 1024 /* the largest [router] commit_batch_max */

typedef struct {
    opts_t o;
    redisAsyncContext *ac;
    char sha[41];          /* SHA1 of commit_inbound.lua */
    uint64_t next;         /* next message number to start */
    uint64_t done;         /* messages whose EVALSHA reply came back */
    uint64_t stored;       /* script said stored */
    uint64_t duplicates;   /* script said duplicate */
    uint64_t errors;       /* error replies */
    int64_t t0_us;         /* first command */
    int64_t t1_us;         /* last reply */
    int64_t *lat;          /* per message: GET sent -> EVALSHA reply (us) */
    slot_t *slots;         /* window slots */
    uv_check_t check;      /* flushes the queues after each loop turn's I/O */
    slot_t **get_q;        /* waiting for the next MGET */
    size_t n_get;
    slot_t **commit_q;     /* identity known, waiting for the next EVALSHA */
    size_t n_commit;
    long gets_out;         /* MGETs sent and not answered */
    hilo_identity_table_t ids; /* answers kept, as the router's identity cache keeps them */
} replay_t;

struct slot {
    replay_t *r;
    uint64_t i;            /* message number */
    int64_t start_us;
    bench_msg_t m;
    char debtor[HILO_DEBTOR_ID_MAX + BENCH_PHONE_MAX + 4]; /* resolved id, or u:<E.164> */
    char member[BENCH_ID_MAX + 16];                        /* dedupe member <ch>:<pmid> */
    int unidentified;
};

static void start_message(replay_t *r, slot_t *s);

static void on_zadd(redisAsyncContext *ac, void *reply, void *privdata) {
    replay_t *r = privdata;
    redisReply *rep = reply;
    if (!rep || rep->type == REDIS_REPLY_ERROR) r->errors++;
    (void)ac;
}

/* The slots of one MGET or one EVALSHA. */
typedef struct {
    replay_t *r;
    size_t n;
    slot_t *slots[];
} batch_t;

static batch_t *batch_take(replay_t *r, slot_t **queue, size_t *n) {
    batch_t *b = hilo_xmalloc(sizeof *b + *n * sizeof b->slots[0]);
    b->r = r;
    b->n = *n;
    memcpy(b->slots, queue, *n * sizeof b->slots[0]);
    *n = 0;
    return b;
}

static void wake(replay_t *r);

static void on_eval(redisAsyncContext *ac, void *reply, void *privdata) {
    batch_t *b = privdata;
    replay_t *r = b->r;
    redisReply *rep = reply;
    int64_t now = hilo_mono_us();
    bool ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 * b->n;
    for (size_t i = 0; ok && i < b->n; i++) ok = rep->element[2 * i]->type == REDIS_REPLY_INTEGER;
    if (!ok && r->errors++ == 0)
        fprintf(stderr, "hilo-replay: EVALSHA: %s\n", rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply");
    /* One ZADD hilo:convs for the batch's stored messages, as the router sends it: each
     * score the millisecond part of the message's history stream id. */
    const char *zargv[2 + 2 * BATCH_LIMIT];
    size_t zargl[2 + 2 * BATCH_LIMIT];
    int zargc = 2;
    zargv[0] = "ZADD";
    zargv[1] = HILO_KEY_CONVS;
    for (size_t i = 0; i < b->n; i++) {
        slot_t *s = b->slots[i];
        const redisReply *id = ok ? rep->element[2 * i + 1] : NULL;
        if (ok && rep->element[2 * i]->integer != 1 && id->type == REDIS_REPLY_STRING) { /* 0 or 2: stored */
            r->stored++;
            zargl[zargc] = strspn(id->str, "0123456789");
            zargv[zargc++] = id->str;
            zargl[zargc] = strlen(s->debtor);
            zargv[zargc++] = s->debtor;
        } else if (ok) {
            r->duplicates++;
        }
    }
    zargl[0] = 4;
    zargl[1] = strlen(HILO_KEY_CONVS);
    if (zargc > 2) redisAsyncCommandArgv(ac, on_zadd, r, zargc, zargv, zargl);
    for (size_t i = 0; i < b->n; i++) {
        slot_t *s = b->slots[i];
        r->lat[s->i - r->o.first] = now - s->start_us;
        r->done++;
        if (r->next < r->o.first + r->o.messages) start_message(r, s);
    }
    r->t1_us = now;
    free(b);
    if (r->done == r->o.messages) {
        uv_check_stop(&r->check);
        redisAsyncDisconnect(ac);
    }
}

/* One EVALSHA of commit_inbound.lua for the queued messages, laid out as the router does. */
static void flush_commits(replay_t *r) {
    if (r->n_commit == 0) return;
    batch_t *b = batch_take(r, r->commit_q, &r->n_commit);
    size_t argc = 6 + 13 * b->n;
    const char **argv = hilo_xmalloc(argc * sizeof *argv);
    size_t *argl = hilo_xmalloc(argc * sizeof *argl);
    char *keys = hilo_xmalloc(6 * b->n * HILO_KEY_MAX);
    char **items = hilo_xcalloc(b->n, sizeof *items);
    char nkeys[24], now[24], hmax[24], dwin[24];
    int64_t now_ms = hilo_now_ms();
    snprintf(nkeys, sizeof nkeys, "%zu", 6 * b->n);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(hmax, sizeof hmax, "%lld", r->o.history_max);
    snprintf(dwin, sizeof dwin, "%lld", r->o.dedupe_ms);
    argv[0] = "EVALSHA";
    argv[1] = r->sha;
    argv[2] = nkeys;
    static const char *const suffix[6] = {HILO_KEY_CONV, HILO_KEY_HIST, HILO_KEY_SEEN, HILO_KEY_AUDIT,
                                          HILO_KEY_TURNQ, HILO_KEY_TURNS};
    size_t a = 3 + 6 * b->n;
    argv[a] = now;
    argv[a + 1] = hmax;
    argv[a + 2] = dwin;
    for (size_t i = 0; i < b->n; i++) {
        slot_t *s = b->slots[i];
        for (size_t k = 0; k < 6; k++) {
            char *key = keys + (6 * i + k) * HILO_KEY_MAX;
            hilo_key_debtor(key, HILO_KEY_MAX, s->debtor, suffix[k]);
            argv[3 + 6 * i + k] = key;
        }
        const char *ch = hilo_channel_name(s->m.channel);
        snprintf(s->member, sizeof s->member, "%s:%s", ch, s->m.pmid);
        items[i] = bench_item_json(&s->m, now_ms, now_ms);
        const char **m = argv + a + 3 + 7 * i;
        m[0] = s->member;
        m[1] = items[i];
        m[2] = ch;
        m[3] = s->m.from; /* the sender as received: where the router's replies go (a plain spelling) */
        m[4] = s->unidentified ? "1" : "0";
        m[5] = ""; /* no engine turn */
        m[6] = "";
    }
    for (size_t k = 0; k < argc; k++) argl[k] = strlen(argv[k]);
    redisAsyncCommandArgv(r->ac, on_eval, b, (int)argc, argv, argl);
    for (size_t i = 0; i < b->n; i++) free(items[i]);
    free(items);
    free(keys);
    free(argv);
    free(argl);
}

static void queue_commit(replay_t *r, slot_t *s) {
    r->commit_q[r->n_commit++] = s;
    if (r->n_commit == r->o.batch) flush_commits(r);
    wake(r);
}

static void on_get(redisAsyncContext *ac, void *reply, void *privdata) {
    batch_t *b = privdata;
    replay_t *r = b->r;
    redisReply *rep = reply;
    bool ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == b->n;
    if (!ok) r->errors++;
    r->gets_out--;
    for (size_t i = 0; i < b->n; i++) {
        slot_t *s = b->slots[i];
        const redisReply *e = ok ? rep->element[i] : NULL;
        if (e && e->type == REDIS_REPLY_STRING && e->len > 0 && e->len <= HILO_DEBTOR_ID_MAX) {
            memcpy(s->debtor, e->str, e->len);
            s->debtor[e->len] = '\0';
            s->unidentified = 0;
            hilo_identity_table_put(&r->ids, s->m.e164, s->debtor);
        } else {
            snprintf(s->debtor, sizeof s->debtor, "u:%s", s->m.e164);
            s->unidentified = 1;
            if (e && e->type == REDIS_REPLY_NIL) hilo_identity_table_put(&r->ids, s->m.e164, NULL);
        }
        queue_commit(r, s);
    }
    free(b);
    (void)ac;
}

/* Cached addresses go to the commit queue; one MGET for the others. */
static void flush_gets(replay_t *r) {
    if (r->n_get == 0) return;
    if (r->gets_out == 0) {
        size_t keep = 0;
        for (size_t i = 0; i < r->n_get; i++) {
            slot_t *s = r->get_q[i];
            const char *debtor;
            if (keep == 0 && hilo_identity_table_get(&r->ids, s->m.e164, &debtor)) {
                if (debtor)
                    snprintf(s->debtor, sizeof s->debtor, "%s", debtor);
                else
                    snprintf(s->debtor, sizeof s->debtor, "u:%s", s->m.e164);
                s->unidentified = debtor == NULL;
                queue_commit(r, s);
            } else {
                r->get_q[keep++] = s;
            }
        }
        r->n_get = keep;
        if (keep == 0) return;
    }
    r->gets_out++;
    batch_t *b = batch_take(r, r->get_q, &r->n_get);
    const char *argv[1 + BATCH_LIMIT];
    size_t argl[1 + BATCH_LIMIT];
    char keys[BATCH_LIMIT][HILO_KEY_MAX];
    argv[0] = "MGET";
    argl[0] = 4;
    for (size_t i = 0; i < b->n; i++) {
        argl[1 + i] = (size_t)hilo_key_addr(keys[i], sizeof keys[i], b->slots[i]->m.e164);
        argv[1 + i] = keys[i];
    }
    redisAsyncCommandArgv(r->ac, on_get, b, (int)(1 + b->n), argv, argl);
}

/* After each loop turn's I/O, as the router's inbound stage does. */
static void on_check(uv_check_t *h) {
    replay_t *r = h->data;
    flush_gets(r);
    flush_commits(r);
    if (r->n_get == 0 && r->n_commit == 0) uv_check_stop(h);
}

static void wake(replay_t *r) {
    if (!uv_is_active((uv_handle_t *)&r->check)) uv_check_start(&r->check, on_check);
}

static void start_message(replay_t *r, slot_t *s) {
    s->i = r->next++;
    bench_gen_message(&r->o.gen, s->i, &s->m);
    s->start_us = hilo_mono_us();
    r->get_q[r->n_get++] = s;
    if (r->n_get == r->o.batch) flush_gets(r);
    wake(r);
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
    redisContext *c = o->host[0] == '/' ? redisConnectUnix(o->host) : redisConnect(o->host, o->port);
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
    /* The portfolio is in today's layout: stamped so, as `hilo import-debtors` would (a router
     * refuses hilo data without a schema version, docs/operations.md "Upgrading"). */
    redisReply *rep = redisCommand(c, "HSET %s version %d by hilo-replay", HILO_KEY_SCHEMA, HILO_SCHEMA_VERSION);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "hilo-replay: preload failed: %s\n", rep ? rep->str : c->errstr);
        exit(1);
    }
    freeReplyObject(rep);
    redisFree(c);
}

static void usage(void) {
    fprintf(stderr,
            "usage: hilo-replay [--host H|SOCKET_PATH] [--port P] [--seed S] [--tag T] [--debtors K] [--round-robin]\n"
            "                   [--unknown-pm N] [--whatsapp W --sms S]\n"
            "                   (--preload | --messages M [--first I] [--window W] [--history-max N]\n"
            "                    [--dedupe-window-ms MS] [--batch B])\n");
    exit(2);
}

int main(int argc, char **argv) {
    opts_t o = {.host = "127.0.0.1", .port = 6379, .messages = 0, .window = 1000,
                .history_max = 1000, .dedupe_ms = 604800000LL, .first = 0, .batch = 32};
    bench_gen_defaults(&o.gen);
    int do_preload = 0;
    static const struct option lo[] = {
        {"host", 1, 0, 'h'},        {"port", 1, 0, 'p'},       {"seed", 1, 0, 's'},
        {"tag", 1, 0, 't'},         {"debtors", 1, 0, 'k'},    {"round-robin", 0, 0, 'r'},
        {"unknown-pm", 1, 0, 'u'},  {"whatsapp", 1, 0, 'W'},   {"sms", 1, 0, 'S'},
        {"preload", 0, 0, 'P'},     {"messages", 1, 0, 'm'},   {"first", 1, 0, 'f'},
        {"window", 1, 0, 'w'},      {"history-max", 1, 0, 'H'}, {"dedupe-window-ms", 1, 0, 'D'},
        {"batch", 1, 0, 'b'},       {0, 0, 0, 0}};
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
        case 'b': o.batch = (size_t)strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (do_preload) {
        int64_t t0 = hilo_mono_us();
        preload(&o);
        printf("{\"preload\":%u,\"elapsed_s\":%.3f}\n", o.gen.debtors, (double)(hilo_mono_us() - t0) / 1e6);
        return 0;
    }
    if (o.messages == 0 || o.window == 0 || o.batch == 0 || o.batch > BATCH_LIMIT) usage();
    if (o.window > o.messages) o.window = (uint32_t)o.messages;

    replay_t r = {.o = o, .next = o.first};
    redisContext *sc = sync_connect(&o);
    load_script(sc, r.sha);
    redisFree(sc);

    uv_loop_t *loop = uv_default_loop();
    r.ac = o.host[0] == '/' ? redisAsyncConnectUnix(o.host) : redisAsyncConnect(o.host, o.port);
    if (!r.ac || r.ac->err) {
        fprintf(stderr, "hilo-replay: async connect: %s\n", r.ac ? r.ac->errstr : "out of memory");
        return 1;
    }
    redisLibuvAttach(r.ac, loop);
    redisAsyncSetConnectCallback(r.ac, on_connect);
    redisAsyncSetDisconnectCallback(r.ac, on_disconnect);
    uv_check_init(loop, &r.check);
    r.check.data = &r;
    r.get_q = hilo_xcalloc(o.batch, sizeof *r.get_q);
    r.commit_q = hilo_xcalloc(o.batch, sizeof *r.commit_q);
    hilo_identity_table_init(&r.ids, 200000); /* [identity] cache_max */
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
    free(r.get_q);
    free(r.commit_q);
    uv_close((uv_handle_t *)&r.check, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return r.done == o.messages && r.errors == 0 ? 0 : 1;
}
