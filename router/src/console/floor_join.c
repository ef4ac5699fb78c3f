/* floor_join.c — the supervisor floor's parts joined into one message by splicing JSON text:
 * the first part's floor loses its closing brace and gains "agents":{, each part's agents
 * object loses its braces and is appended (comma-separated), and the end closes both. Parsing
 * and re-encoding 20,000 agents every second would cost far more than this. Used by
 * supervisor.c (on_floor). */
#include "floor_join.h"

#include <string.h>

floor_join_rc_t console_floor_join_part(hilo_buf_t *msg, const char *agents, const char *rest) {
    size_t alen = agents ? strlen(agents) : 0;
    if (alen < 2 || agents[0] != '{' || !rest) return FLOOR_JOIN_BAD_PART;
    if (msg->len == 0) { /* the first part carries the floor */
        size_t rlen = strlen(rest);
        if (rlen < 2 || rest[rlen - 1] != '}') return FLOOR_JOIN_NO_FLOOR;
        hilo_buf_append(msg, rest, rlen - 1);
        /* A floor object with no member ("{}") needs no comma before "agents". */
        hilo_buf_printf(msg, "%s\"agents\":{", rlen > 2 ? "," : "");
    }
    if (alen > 2) { /* not "{}" */
        if (msg->data[msg->len - 1] != '{') hilo_buf_append(msg, ",", 1);
        hilo_buf_append(msg, agents + 1, alen - 2);
    }
    return FLOOR_JOIN_OK;
}

void console_floor_join_end(hilo_buf_t *msg) { hilo_buf_append(msg, "}}", 2); }
