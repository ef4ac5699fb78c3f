/* schema.c — judging the schema version stored in Redis (hilo/schema.h). */
#include "hilo/schema.h"

#include <stdio.h>
#include <string.h>

#include "hilo/keys.h"

long hilo_schema_parse(const char *s, size_t len) {
    if (len == 0 || len > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 ? v : -1;
}

bool hilo_schema_is_data_key(const char *key, size_t len) {
    static const char test_prefix[] = "hilo:test:";
    if (len < 5 || memcmp(key, "hilo:", 5) != 0) return false;
    if (len == strlen(HILO_KEY_SCHEMA) && memcmp(key, HILO_KEY_SCHEMA, len) == 0) return false;
    return !(len >= sizeof test_prefix - 1 && memcmp(key, test_prefix, sizeof test_prefix - 1) == 0);
}

hilo_schema_state_t hilo_schema_judge(long stored, bool has_data) {
    if (stored < 0) return HILO_SCHEMA_BROKEN;
    if (stored == 0 && !has_data) return HILO_SCHEMA_FRESH;
    if (stored == 0) stored = HILO_SCHEMA_OLDEST;
    if (stored == HILO_SCHEMA_VERSION) return HILO_SCHEMA_CURRENT;
    return stored < HILO_SCHEMA_VERSION ? HILO_SCHEMA_OLDER : HILO_SCHEMA_NEWER;
}

void hilo_schema_refusal(char *buf, size_t n, long stored) {
    if (stored < 0)
        snprintf(buf, n, "Redis key %s holds no schema version number: look at it (HGETALL %s) before anything "
                         "writes",
                 HILO_KEY_SCHEMA, HILO_KEY_SCHEMA);
    else if (stored > HILO_SCHEMA_VERSION)
        snprintf(buf, n, "Redis holds data of schema version %ld, newer than this hilo knows (%d): run the hilo "
                         "version that wrote it, or a newer one",
                 stored, HILO_SCHEMA_VERSION);
    else
        snprintf(buf, n, "Redis holds data of schema version %ld%s, older than this hilo's %d: run `hilo migrate` "
                         "first (docs/operations.md, Upgrading)",
                 stored ? stored : (long)HILO_SCHEMA_OLDEST, stored ? "" : " (written before schema versions)",
                 HILO_SCHEMA_VERSION);
}
