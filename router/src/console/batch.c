/* batch.c — the console's Redis helper: a batch of pipelined commands whose replies are
 * converted to JSON (hiredis replies die with their callback) and handed over together to one
 * callback; EVALSHA of the console's own scripts, reloaded after NOSCRIPT. Used by every
 * file of router/src/console/. */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/buf.h"
#include "hilo/common.h"
#include "hilo/log.h"

/* --- reading replies ------------------------------------------------------------------ */

const char *jstr(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

bool res_ok(const json_t *r) { return r && !(json_is_object(r) && json_object_get(r, "error")); }

json_t *res_hash(const json_t *r) {
    json_t *o = json_object();
    if (!json_is_array(r)) return o;
    for (size_t i = 0; i + 1 < json_array_size(r); i += 2) {
        const char *f = json_string_value(json_array_get(r, i));
        if (f) json_object_set(o, f, json_array_get(r, i + 1));
    }
    return o;
}

json_t *console_reply_json(const redisReply *r) {
    if (!r) return NULL;
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: {
        json_t *s = json_stringn(r->str, r->len); /* NULL for bytes that are not UTF-8 */
        return s ? s : json_null();
    }
    case REDIS_REPLY_INTEGER: return json_integer(r->integer);
    case REDIS_REPLY_NIL: return json_null();
    case REDIS_REPLY_ERROR: return json_pack("{s:s%}", "error", r->str, r->len);
    case REDIS_REPLY_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < r->elements; i++) {
            json_t *e = console_reply_json(r->element[i]);
            json_array_append_new(a, e ? e : json_null());
        }
        return a;
    }
    default: return json_null();
    }
}

/* --- batches -------------------------------------------------------------------------- */

#define BATCH_MAX 64

struct batch {
    hilo_console_t *k;
    conn_t *conn;
    batch_fn fn;
    void *arg;
    void (*free_arg)(void *); /* frees arg when fn is not called (the router is closing) */
    int sent, got;
    bool running;
    json_t *res[BATCH_MAX];
    int script[BATCH_MAX];           /* script index per command, -1 for none */
};

static void batch_finish(batch_t *b) {
    hilo_console_t *k = b->k;
    if (!k->ctx->closing) {
        /* A script unknown to Redis (restart, SCRIPT FLUSH): load ours again for next time. */
        for (int i = 0; i < b->sent; i++) {
            const char *e = b->res[i] && json_is_object(b->res[i]) ? jstr(b->res[i], "error") : NULL;
            if (e && strncmp(e, "NOSCRIPT", 8) == 0 && b->script[i] >= 0) {
                const char *argv[3] = {"SCRIPT", "LOAD", k->scripts[b->script[i]].body};
                hilo_store_argv(k->ctx->store, NULL, NULL, 3, argv, NULL);
            }
        }
        b->fn(k, b->conn, b->res, b->sent, b->arg);
    } else if (b->free_arg) {
        b->free_arg(b->arg);
    }
    for (int i = 0; i < b->sent; i++) json_decref(b->res[i]);
    if (b->conn) conn_unref(b->conn);
    free(b);
}

typedef struct {
    batch_t *b;
    int i;
} slot_t;

static void on_batch_reply(redisReply *r, void *arg) {
    slot_t *s = arg;
    batch_t *b = s->b;
    b->res[s->i] = console_reply_json(r);
    free(s);
    if (++b->got == b->sent && b->running) batch_finish(b);
}

batch_t *batch_new(hilo_console_t *k, conn_t *conn, batch_fn fn, void *arg, void (*free_arg)(void *)) {
    batch_t *b = hilo_xcalloc(1, sizeof *b);
    b->k = k;
    b->conn = conn;
    b->fn = fn;
    b->arg = arg;
    b->free_arg = free_arg;
    if (conn) conn_ref(conn);
    return b;
}

void batch_argv(batch_t *b, int argc, const char **argv, const size_t *lens) {
    if (b->sent == BATCH_MAX) abort(); /* programmer error */
    int i = b->sent++;
    b->script[i] = -1;
    slot_t *s = hilo_xmalloc(sizeof *s);
    *s = (slot_t){b, i};
    if (hilo_store_argv(b->k->ctx->store, on_batch_reply, s, argc, argv, lens) != HILO_OK) {
        free(s);
        b->got++;
    }
}

/* A tiny command formatter: fmt is split on spaces into arguments; inside each, %s and %lld
 * are replaced by the next vararg (values may contain spaces: they stay one argument); any
 * other % conversion is a programming error and aborts. */
void batch_cmd(batch_t *b, const char *fmt, ...) {
    enum { MAXARGS = 24 };
    const char *argv[MAXARGS];
    size_t lens[MAXARGS];
    hilo_buf_t bufs[MAXARGS];
    memset(bufs, 0, sizeof bufs);
    int argc = 0;
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p && argc < MAXARGS;) {
        while (*p == ' ') p++;
        if (!*p) break;
        hilo_buf_t *o = &bufs[argc];
        for (; *p && *p != ' '; p++) {
            if (p[0] == '%' && p[1] == 's') {
                const char *v = va_arg(ap, const char *);
                hilo_buf_append(o, v, strlen(v));
                p++;
            } else if (strncmp(p, "%lld", 4) == 0) {
                hilo_buf_printf(o, "%lld", va_arg(ap, long long));
                p += 3;
            } else if (p[0] == '%') {
                /* A conversion this formatter does not know would shift every later vararg. */
                hilo_log_error("console", "event=bad_command_format fmt=\"%s\"", fmt);
                abort();
            } else {
                hilo_buf_append(o, p, 1);
            }
        }
        if (!o->data) hilo_buf_append(o, "", 0);
        argv[argc] = o->data;
        lens[argc] = o->len;
        argc++;
    }
    va_end(ap);
    batch_argv(b, argc, argv, lens);
    for (int i = 0; i < argc; i++) hilo_buf_free(&bufs[i]);
}

void batch_script(batch_t *b, int script, int nargs, const char **args) {
    const char *argv[16];
    argv[0] = "EVALSHA";
    argv[1] = b->k->scripts[script].sha;
    argv[2] = "0";
    for (int i = 0; i < nargs && i < 13; i++) argv[3 + i] = args[i];
    batch_argv(b, 3 + nargs, argv, NULL);
    b->script[b->sent - 1] = script;
}

void batch_mark_script(batch_t *b, int script) { b->script[b->sent - 1] = script; }

void batch_free_json(void *json) { json_decref(json); }

void batch_run(batch_t *b) {
    b->running = true;
    if (b->got == b->sent) batch_finish(b);
}
