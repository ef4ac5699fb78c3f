/* messages.h — what the router says to a debtor by itself, so that nobody is left in silence
 * (docs/console-protocol.md, "System messages"): [messages] of hilo.conf, one text per kind, per
 * language, optionally per queue. Read by rconfig.c; router/src/console/system_msg.c picks the
 * text and sends it through the gate at hand-off. Pure: no I/O after load; the texts point into
 * the config, which the router keeps for its life. */
#ifndef HILO_MESSAGES_H
#define HILO_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "hilo/config.h"
#include "hilo/tz.h"

#define HILO_MESSAGES_MAX 128   /* [messages] text lines */
#define HILO_MESSAGES_HOURS_MAX 64 /* [messages] hours lines */

typedef enum {
    HILO_MSG_ACK,        /* a person's queue has the conversation (the bot had not said so) */
    HILO_MSG_WAITING,    /* in a queue with no agent of it available */
    HILO_MSG_AFTER_HOURS, /* in a queue outside its hours */
    HILO_MSG_CLOSING,    /* the agent closed the conversation */
    HILO_MSG_CSAT,       /* the satisfaction question after the close (answered 1 to 5) */
    HILO_MSG_KINDS
} hilo_sysmsg_kind_t;

typedef struct {
    int kind;            /* hilo_sysmsg_kind_t */
    char queue[65];      /* "" for every queue */
    char lang[16];       /* the debtor's language (es, en, ...) */
    const char *text;    /* what is said (UTF-8, not empty) */
} hilo_message_t;

typedef struct {
    char queue[65];      /* "" for every queue without its own line */
    int days;            /* bit 0 = Sunday .. bit 6 = Saturday */
    int open_min, close_min; /* minutes after local midnight: open from, closed from */
} hilo_queue_hours_t;

typedef struct {
    hilo_message_t m[HILO_MESSAGES_MAX];
    int n;
    hilo_queue_hours_t hours[HILO_MESSAGES_HOURS_MAX];
    int nhours;
    const char *default_language; /* [messages] default_language: when the debtor's has no text */
} hilo_messages_t;

/* Reads [messages]: default_language (default "es"); <kind>.<lang> or <kind>.<queue>.<lang> =
 * text, kind one of ack, waiting, after_hours, closing, csat; hours or hours.<queue> =
 * [<day>-<day> ]HH:MM-HH:MM (days mon..sun; in [console] business_day_zone; without a line a
 * queue is always open). HILO_ERR with file:line for anything else. */
int hilo_messages_load(hilo_config_t *c, hilo_messages_t *out);

/* The text of `kind` for a conversation in `queue` (NULL or "": none) in `lang` (NULL: the
 * default): the queue's own line in that language, else every queue's, else the same in the
 * default language. NULL when none is configured: nothing is said. */
const char *hilo_messages_text(const hilo_messages_t *m, int kind, const char *queue, const char *lang);

/* Whether `queue` is open at now_ms in zone tz (NULL = UTC): its own hours line, else the
 * [messages] hours line, else always. */
bool hilo_messages_open(const hilo_messages_t *m, const char *queue, const hilo_tz_t *tz, int64_t now_ms);

/* "ack", "waiting", "after_hours", "closing", "csat". */
const char *hilo_messages_kind_name(int kind);

#endif
