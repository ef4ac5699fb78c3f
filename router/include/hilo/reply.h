/* reply.h — reading hiredis replies of the data model: a field of a hash as HGETALL (or a
 * script returning one) answers it. Used by the daemon (router/src) and the CLI (router/cli);
 * knows nothing of either. The strings returned live as long as the reply. */
#ifndef HILO_REPLY_H
#define HILO_REPLY_H

#include <hiredis/hiredis.h>

/* The value of `field` in a flat [field, value, field, value...] array reply, or NULL (absent,
 * not a string, or r is not an array). */
const char *hilo_reply_field(const redisReply *r, const char *field);

#endif
