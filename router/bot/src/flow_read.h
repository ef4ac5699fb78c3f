/* flow_read.h — the flow file's syntax (internal to router/bot): the shared section format of
 * hilo/sections.h under the bot's historical names. flow.c gives the sections their meaning. */
#ifndef HILO_BOT_FLOW_READ_H
#define HILO_BOT_FLOW_READ_H

#include "hilo/sections.h"

typedef hilo_sect_kv_t bot_kv_t;
typedef hilo_sect_t bot_sect_t;
typedef hilo_sect_doc_t bot_doc_t;

#define bot_doc_parse hilo_sections_parse
#define bot_doc_free hilo_sections_free

#endif
