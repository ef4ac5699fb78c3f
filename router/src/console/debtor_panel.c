/* debtor_panel.c — what the debtor panel shows beyond the record's known fields (views.c puts
 * them in the "conv" message): the portfolio's own columns, kept by the import as attr:<name>
 * (notes, product, branch...), and the dispositions agents recorded earlier, read from the audit
 * entries the conversation already reads. docs/console-protocol.md, "conv". */
#include <string.h>

#include "console_int.h"

#define PORTFOLIO_MAX 30        /* attr:* columns shown */
#define PORTFOLIO_VALUE_MAX 500 /* bytes of each value shown */
#define WRAPUPS_MAX 10

/* The columns an import kept beyond the known ones ("attr:<name>": notes, product, branch...),
 * as {name: value}. */
json_t *console_portfolio_attrs(const json_t *debtor) {
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)debtor, k, v) {
        if (strncmp(k, "attr:", 5) != 0 || !json_is_string(v) || json_object_size(out) >= PORTFOLIO_MAX) continue;
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (n > PORTFOLIO_VALUE_MAX) {
            n = PORTFOLIO_VALUE_MAX;
            while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* a character boundary */
        }
        json_object_set_new(out, k + 5, json_stringn(s, n));
    }
    return out;
}

/* The dispositions recorded on this debtor, newest first, from the audit entries read for the
 * conversation (XREVRANGE): [{code, by, ms, comment, amount_cents, due, callback_at, callback_tz}]. */
json_t *console_earlier_wrapups(const json_t *audit) {
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(audit, i, e) {
        if (json_array_size(out) >= WRAPUPS_MAX) break;
        const json_t *f = json_array_get(e, 1);
        const char *ev = NULL, *j = NULL;
        for (size_t x = 0; x + 1 < json_array_size(f); x += 2) {
            const char *name = json_string_value(json_array_get(f, x));
            if (name && strcmp(name, "ev") == 0) ev = json_string_value(json_array_get(f, x + 1));
            if (name && strcmp(name, "j") == 0) j = json_string_value(json_array_get(f, x + 1));
        }
        if (!ev || strcmp(ev, "disposition") != 0 || !j) continue;
        json_t *d = json_loads(j, 0, NULL);
        if (!json_is_object(d)) {
            json_decref(d);
            continue;
        }
        json_t *w = json_object();
        const char *keep[] = {"code", "by", "ms", "comment", "amount_cents", "due", "callback_at", "callback_tz"};
        for (size_t x = 0; x < sizeof keep / sizeof *keep; x++)
            if (json_object_get(d, keep[x])) json_object_set(w, keep[x], json_object_get(d, keep[x]));
        json_array_append_new(out, w);
        json_decref(d);
    }
    return out;
}
