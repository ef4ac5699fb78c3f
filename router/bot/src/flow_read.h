/* flow_read.h — the flow file's syntax (internal to router/bot): "[type name]" sections of
 * "key = value" lines, '#' comment lines, every item remembering its line for errors.
 * flow.c gives the sections their meaning. */
#ifndef HILO_BOT_FLOW_READ_H
#define HILO_BOT_FLOW_READ_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *key;
    char *value; /* trimmed; may be empty */
    int line;
    bool used;   /* the loader read it: what is left unused is an unknown key */
} bot_kv_t;

typedef struct {
    char *type; /* "step" */
    char *name; /* "menu", or "" for [flow] and [rules] */
    int line;
    bot_kv_t *kv;
    int nkv;
} bot_sect_t;

typedef struct {
    bot_sect_t *s;
    int n;
} bot_doc_t;

/* Returns 0, or -1 with "name:line: reason" in err. */
int bot_doc_parse(const char *name, const char *text, size_t len, bot_doc_t *doc, char *err, size_t errlen);
void bot_doc_free(bot_doc_t *doc);

#endif
