/* floor_join.h — joins the parts of the supervisor's floor (floor_stats.lua returns the floor
 * in parts of about 500 agents) into the one "floor" message of docs/console-protocol.md:
 * {...rest of the floor..., "agents": {part 1's agents, part 2's agents, ...}}. Called by
 * supervisor.c; pure string work on a caller-owned hilo_buf_t, no Redis, no sockets. */
#ifndef HILO_CONSOLE_FLOOR_JOIN_H
#define HILO_CONSOLE_FLOOR_JOIN_H

#include "hilo/buf.h"

typedef enum {
    FLOOR_JOIN_OK = 0,
    FLOOR_JOIN_BAD_PART,  /* agents is not a JSON object's text, or rest is NULL */
    FLOOR_JOIN_NO_FLOOR,  /* first part (msg empty) whose rest is not an object's text */
} floor_join_rc_t;

/* Adds one part to msg. agents: this part's agents as a JSON object ("{}" when none); rest:
 * the floor without "agents" as a JSON object on the first part (msg->len == 0), ignored
 * (but must not be NULL) on the others. On an error msg is left unchanged. The objects are
 * spliced as text, not parsed: floor_stats.lua encodes them with cjson. */
floor_join_rc_t console_floor_join_part(hilo_buf_t *msg, const char *agents, const char *rest);
/* Closes the "agents" object and the message after the last part (msg then holds it whole). */
void console_floor_join_end(hilo_buf_t *msg);

#endif
