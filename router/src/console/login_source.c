/* login_source.c — the login's source address (login_source.h). Addresses are parsed with
 * inet_pton only; anything else in X-Forwarded-For (ports, "unknown", obfuscated names) is
 * malformed and stops the walk, so a client can never pick its own source by writing one. */
#include "login_source.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char a[16];     /* the address (4 bytes used for IPv4) */
} addr_t;

/* s[0..n) as an address; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4. */
static bool parse_addr(const char *s, size_t n, addr_t *out) {
    char buf[64];
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->a) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->a) != 1) return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->a, mapped, sizeof mapped) == 0) {
        memmove(out->a, out->a + 12, 4);
        memset(out->a + 4, 0, 12);
        out->family = AF_INET;
    } else {
        out->family = AF_INET6;
    }
    return true;
}

/* One list entry "addr" or "addr/bits" into *net and *bits; false when malformed. */
static bool parse_block(const char *s, size_t n, addr_t *net, int *bits) {
    const char *slash = memchr(s, '/', n);
    if (!parse_addr(s, slash ? (size_t)(slash - s) : n, net)) return false;
    int max = net->family == AF_INET ? 32 : 128;
    *bits = max;
    if (slash) {
        size_t m = n - (size_t)(slash - s) - 1;
        if (m == 0 || m > 3) return false;
        int b = 0;
        for (size_t i = 0; i < m; i++) {
            char c = slash[1 + i];
            if (c < '0' || c > '9') return false;
            b = b * 10 + (c - '0');
        }
        if (b > max) return false;
        *bits = b;
    }
    return true;
}

static bool in_block(const addr_t *a, const addr_t *net, int bits) {
    if (a->family != net->family) return false;
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a->a, net->a, (size_t)full) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a->a[full] & mask) == (net->a[full] & mask);
}

/* Walks a comma/space separated list. Without `a`: true when every entry parses, else false
 * with the first bad one in err. With `a`: true when `a` lies in one of the entries (malformed
 * entries match nothing; the list was checked when the config was read). */
static bool walk_list(const char *list, const addr_t *a, char *err, size_t errlen) {
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
        size_t n = (size_t)(e - p);
        addr_t net;
        int bits;
        bool ok = n > 0 && parse_block(p, n, &net, &bits);
        if (a && ok && in_block(a, &net, bits)) return true;
        if (!a && n > 0 && !ok) {
            snprintf(err, errlen, "'%.*s' is not an IP address or CIDR block", (int)(n > 64 ? 64 : n), p);
            return false;
        }
        p = e;
    }
    return !a;
}

bool hilo_login_trusted_list_ok(const char *list, char *err, size_t errlen) {
    return walk_list(list, NULL, err, errlen);
}

static bool trusted_addr(const addr_t *a, const char *trusted) { return walk_list(trusted, a, NULL, 0); }

static void format(const addr_t *a, char *out) {
    if (a->family == AF_INET) {
        inet_ntop(AF_INET, a->a, out, HILO_LOGIN_SOURCE_MAX);
        return;
    }
    addr_t net = *a; /* a /64: what one IPv6 host or site usually gets */
    memset(net.a + 8, 0, 8);
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, net.a, buf, sizeof buf);
    snprintf(out, HILO_LOGIN_SOURCE_MAX, "%s/64", buf);
}

bool hilo_login_source(const char *peer, const char *xff, const char *trusted, char *out) {
    addr_t cur;
    out[0] = 0;
    if (!peer || !parse_addr(peer, strlen(peer), &cur)) return false;
    if (xff && *xff && trusted && *trusted && trusted_addr(&cur, trusted)) {
        /* From the right: the nearest proxy appended the address it saw. */
        const char *end = xff + strlen(xff);
        while (end > xff) {
            const char *start = end;
            while (start > xff && start[-1] != ',') start--;
            addr_t hop;
            if (!parse_addr(start, (size_t)(end - start), &hop)) break;
            cur = hop;
            if (!trusted_addr(&cur, trusted)) break;
            end = start > xff ? start - 1 : xff;
        }
    }
    format(&cur, out);
    return true;
}
