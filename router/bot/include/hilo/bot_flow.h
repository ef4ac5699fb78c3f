/* bot_flow.h — the collections bot's flow file: intents (phrases per language), reply
 * templates, steps, rules and escalations, read from a text file (docs/bot-flow.md) so that
 * the flow can be edited without a rebuild. The router loads one flow at start (and on
 * reload) and hands it to every hilo_bot_turn(); a loaded flow is read-only, so one flow
 * may serve many conversations and threads at once. A bad file is refused whole with
 * "path:line: reason". The flow owns everything it allocated; free it with destroy. */
#ifndef HILO_BOT_FLOW_H
#define HILO_BOT_FLOW_H

#include <stddef.h>

typedef struct hilo_flow hilo_flow_t;

/* Reads and checks `path`. On failure returns NULL and writes "path:line: reason" into err
 * (line 0 when the file cannot be read at all). */
hilo_flow_t *hilo_flow_load(const char *path, char *err, size_t errlen);

/* The same from a buffer already in memory (`name` stands for the path in messages). */
hilo_flow_t *hilo_flow_parse(const char *name, const char *text, size_t len, char *err,
                             size_t errlen);

/* Accepts NULL; nulls the caller's pointer. */
void hilo_flow_destroy(hilo_flow_t **self_p);

/* Every queue the flow can escalate to ("<language>.<topic>", one call per language and
 * escalation or portfolio rule, so a queue comes once per escalation naming its topic), with
 * the escalation's name. The strings are valid only during the call. */
typedef void (*hilo_flow_queue_fn)(const char *queue, const char *escalation, void *arg);
void hilo_flow_queues(const hilo_flow_t *f, hilo_flow_queue_fn fn, void *arg);

#endif
