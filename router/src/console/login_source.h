/* login_source.h — who is logging in, as an address the login budgets can be charged to: the
 * peer's address, or, when the peer is one of `[console] trusted_proxies`, the client address
 * that proxy wrote in X-Forwarded-For. IPv6 clients are counted per /64 (one host usually
 * holds a whole /64). Pure: no router, no Redis; called by auth.c and by rconfig.c (checking
 * the list). */
#ifndef HILO_LOGIN_SOURCE_H
#define HILO_LOGIN_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#define HILO_LOGIN_SOURCE_MAX 64 /* the longest source text, NUL included */

/* true when `list` (comma/space separated addresses and CIDR blocks, IPv4 or IPv6; "" = none)
 * parses; else false with the first bad entry in err. */
bool hilo_login_trusted_list_ok(const char *list, char *err, size_t errlen);

/* The source of a request into out (HILO_LOGIN_SOURCE_MAX bytes): peer is the connection's
 * address as text, xff the X-Forwarded-For header ("" or NULL when absent), trusted the
 * `trusted_proxies` list. Walking X-Forwarded-For from its right end (the entry the nearest
 * proxy appended), each trusted hop hands over to the entry before it; the first untrusted
 * address is the source. A malformed entry stops the walk at the last hop that wrote it. The
 * header is ignored unless the peer itself is trusted. false when peer is not an address. */
bool hilo_login_source(const char *peer, const char *xff, const char *trusted, char *out);

#endif
