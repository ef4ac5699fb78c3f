/* keys.c — Redis key names. */
#include "hilo/keys.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int fit(int len, size_t n) { return len < 0 || (size_t)len >= n ? -1 : len; }

int hilo_key_debtor(char *buf, size_t n, const char *debtor_id, const char *part) {
    return fit(snprintf(buf, n, "hilo:{d:%s}:%s", debtor_id, part), n);
}

int hilo_key_addr(char *buf, size_t n, const char *address) {
    return fit(snprintf(buf, n, HILO_KEY_ADDR_PREFIX "%s", address), n);
}

int hilo_outbox_partition(const char *debtor_id) {
    uint32_t h = 2166136261u; /* FNV-1a: stable across routers, builds and the CLI */
    for (const unsigned char *s = (const unsigned char *)debtor_id; *s; s++) h = (h ^ *s) * 16777619u;
    return (int)(h % HILO_OUTBOX_PARTITIONS);
}

int hilo_key_outbox(char *buf, size_t n, int partition, const char *channel) {
    return fit(snprintf(buf, n, "hilo:{p:%d}:outbox:%s", partition, channel), n);
}

int hilo_key_debtor_channel(char *buf, size_t n, const char *debtor_id, const char *part, const char *channel) {
    return fit(snprintf(buf, n, "hilo:{d:%s}:%s:%s", debtor_id, part, channel), n);
}

int hilo_key_queue(char *buf, size_t n, const char *skill) {
    return fit(snprintf(buf, n, "hilo:queue:%s", skill), n);
}

int hilo_key_pmid(char *buf, size_t n, const char *channel, const char *provider_id) {
    return fit(snprintf(buf, n, "hilo:pmid:%s:%s", channel, provider_id), n);
}

int hilo_turn_partition(const char *debtor_id) {
    uint32_t h = 2166136261u;
    for (const char *c = debtor_id; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    return (int)(h % HILO_TURN_PARTITIONS);
}

int hilo_key_turn_index(char *buf, size_t n, int partition) {
    return fit(snprintf(buf, n, "hilo:{p:%d}:turns", partition), n);
}

/* 1..max of [A-Za-z0-9._:+-]: what a hash tag and an index member can hold safely. */
static bool name_valid(const char *id, size_t max) {
    size_t len = strlen(id);
    if (len == 0 || len > max) return false;
    for (const char *s = id; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

bool hilo_debtor_id_valid(const char *id) {
    return strncmp(id, "u:", 2) != 0 && name_valid(id, HILO_DEBTOR_ID_MAX);
}

bool hilo_opt_cell_name_valid(const char *cell) { return name_valid(cell, 120); }

int hilo_key_opt_model(char *buf, size_t n, const char *cell) {
    return fit(snprintf(buf, n, "hilo:{o:%s}:model", cell), n);
}

int hilo_key_sched(char *buf, size_t n, int partition) {
    return fit(snprintf(buf, n, "hilo:{p:%d}:sched", partition), n);
}

int hilo_key_pacing(char *buf, size_t n, const char *channel, const char *sender) {
    if (*sender == '+') sender++;
    return fit(snprintf(buf, n, "hilo:{pace:%s:%s}", channel, sender), n);
}

int hilo_key_strategy(char *buf, size_t n, const char *strategy, const char *part) {
    return fit(snprintf(buf, n, "hilo:{s:%s}:%s", strategy, part), n);
}
