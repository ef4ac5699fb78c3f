/* phone.c — E.164 normalizer. */
#include "hilo/phone.h"

#include <string.h>
#include <strings.h>

#include "hilo/common.h"

int hilo_phone_normalize(const char *in, const char *default_cc, char *out, size_t outlen, const char **why) {
    static const char *prefixes[] = {"whatsapp:", "tel:", "sip:"};
    const char *s = in;
    const char *end = in + strlen(in);
    for (size_t i = 0; i < HILO_ARRAY_LEN(prefixes); i++)
        if (strncasecmp(s, prefixes[i], strlen(prefixes[i])) == 0) {
            s += strlen(prefixes[i]);
            if (i == 2) { /* sip:+1650…@host;params — the user part only */
                const char *at = strchr(s, '@');
                if (at) end = at;
            }
            break;
        }
    while (s < end && *s == ' ') s++;
    int international = 0;
    if (s < end && *s == '+') {
        international = 1;
        s++;
    } else if (end - s >= 2 && s[0] == '0' && s[1] == '0') {
        international = 1;
        s += 2;
    }
    char digits[32];
    size_t n = 0;
    for (; s < end; s++) {
        if (*s >= '0' && *s <= '9') {
            if (n >= 20) {
                *why = "too many digits";
                return HILO_ERR;
            }
            digits[n++] = *s;
        } else if (*s == ' ' || *s == '-' || *s == '.' || *s == '(' || *s == ')') {
            continue;
        } else {
            *why = "unexpected character in phone number";
            return HILO_ERR;
        }
    }
    digits[n] = '\0';
    const char *cc = "";
    if (!international && n <= 10) {
        if (!default_cc || !*default_cc) {
            *why = "national number and no default country code";
            return HILO_ERR;
        }
        cc = default_cc;
    }
    size_t total = strlen(cc) + n;
    if (total < 8 || total > 15) {
        *why = "E.164 numbers have 8 to 15 digits";
        return HILO_ERR;
    }
    if (digits[0] == '0' && !*cc) {
        *why = "country code cannot start with 0";
        return HILO_ERR;
    }
    if (total + 2 > outlen) {
        *why = "output buffer too small";
        return HILO_ERR;
    }
    out[0] = '+';
    memcpy(out + 1, cc, strlen(cc));
    memcpy(out + 1 + strlen(cc), digits, n + 1);
    return HILO_OK;
}
