/* log.c — logfmt lines on stderr; on journald's stream (under systemd) each line starts with its
 * syslog priority "<N>" and leaves the time to journald. */
#include "hilo/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/common.h"

static hilo_log_level_t min_level = HILO_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

void hilo_log_set_level(hilo_log_level_t level) { min_level = level; }

int hilo_log_level_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    return -1;
}

#define VALUE_MAX 200 /* bytes of an outside value kept in a line */
#define VALUE_RING 8

static char *ring_slot(void) {
    static _Thread_local char ring[VALUE_RING][VALUE_MAX * 4 + 8];
    static _Thread_local unsigned next;
    return ring[next++ % VALUE_RING];
}

const char *hilo_log_value(const char *s) {
    if (!s) return "-";
    bool plain = *s != '\0';
    for (const unsigned char *p = (const unsigned char *)s; *p && plain; p++)
        plain = *p > ' ' && *p != 0x7f && *p != '"' && *p != '=' && *p != '\\';
    size_t len = strlen(s);
    if (plain && len <= VALUE_MAX) return s;
    char *out = ring_slot(), *o = out;
    *o++ = '"';
    size_t i = 0;
    for (; s[i] && i < VALUE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < ' ' || c == 0x7f) {
            o += sprintf(o, "\\x%02x", c);
        } else {
            *o++ = (char)c;
        }
    }
    if (s[i]) o += sprintf(o, "...");
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *hilo_log_phone(const char *e164) {
    size_t n = e164 ? strlen(e164) : 0;
    bool phone = n >= 8 && n <= 16 && e164[0] == '+';
    for (size_t i = 1; phone && i < n; i++) phone = e164[i] >= '0' && e164[i] <= '9';
    if (!phone) return hilo_log_value(e164);
    char *out = ring_slot();
    for (size_t i = 0; i < n; i++) out[i] = i < 2 || i >= n - 4 ? e164[i] : '*';
    out[n] = '\0';
    return out;
}

/* Control bytes in a line (a value that slipped past hilo_log_value) are written as \xNN, so
 * that nothing from outside can end a line and forge the next one. Returns the new length
 * (at most cap; what does not fit is cut). */
static bool is_control(char c) { return (unsigned char)c < ' ' || c == 0x7f; }

static size_t escape_controls(char *line, size_t len, size_t cap) {
    size_t first = 0;
    while (first < len && !is_control(line[first])) first++;
    if (first == len) return len;
    char out[4096];
    size_t o = 0;
    for (size_t i = first; i < len && o + 4 <= sizeof out; i++) {
        if (is_control(line[i])) o += (size_t)snprintf(out + o, 5, "\\x%02x", (unsigned char)line[i]);
        else out[o++] = line[i];
    }
    if (first + o > cap) o = cap - first;
    memcpy(line + first, out, o);
    return first + o;
}

#define LIBRARY_LINES_PER_S 10

void hilo_log_library_line(hilo_log_level_t level, const char *module, const char *line) {
    static _Thread_local int64_t window_s;
    static _Thread_local unsigned in_window;
    static _Thread_local unsigned long suppressed;
    int64_t now_s = hilo_mono_us() / 1000000;
    if (now_s != window_s) {
        window_s = now_s;
        in_window = 0;
    }
    if (in_window >= LIBRARY_LINES_PER_S) {
        suppressed++;
        return;
    }
    in_window++;
    char msg[VALUE_MAX + 1];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) n--;
    snprintf(msg, sizeof msg, "%.*s", (int)n, line);
    if (suppressed)
        hilo_log(level, module, "event=%s msg=%s suppressed=%lu", module, hilo_log_value(msg), suppressed);
    else
        hilo_log(level, module, "event=%s msg=%s", module, hilo_log_value(msg));
    suppressed = 0;
}

void hilo_log_limited(hilo_log_limit_t *lim, hilo_log_level_t level, const char *module, const char *fmt, ...) {
    if (level < min_level) return;
    long long now_s = (long long)(hilo_mono_us() / 1000000);
    if (now_s != lim->window_s) {
        lim->window_s = now_s;
        lim->in_window = 0;
    }
    if (lim->in_window >= HILO_LOG_LIMIT_PER_S) {
        lim->suppressed++;
        return;
    }
    lim->in_window++;
    char tail[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    if (lim->suppressed)
        hilo_log(level, module, "%s suppressed=%lu", tail, lim->suppressed);
    else
        hilo_log(level, module, "%s", tail);
    lim->suppressed = 0;
}

/* True when stderr is the stream JOURNAL_STREAM names ("<device>:<inode>", systemd.exec(5)). */
static bool stderr_is_journal(void) {
    const char *v = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char end;
    struct stat st;
    if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2) return false;
    return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

/* Decided at the first line: 1 journald's stream, 0 anything else. stderr is not re-pointed
 * after start, and two threads deciding at once decide the same. */
static int on_journal = -1;

static bool to_journal(void) {
    int v = __atomic_load_n(&on_journal, __ATOMIC_RELAXED);
    if (v < 0) {
        v = stderr_is_journal();
        __atomic_store_n(&on_journal, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* sd-daemon.h's SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR. */
static const char *priorities[] = {"<7>", "<6>", "<4>", "<3>"};

void hilo_log(hilo_log_level_t level, const char *module, const char *fmt, ...) {
    if (level < min_level) return;
    char line[2048];
    int n;
    if (to_journal()) {
        n = snprintf(line, sizeof line, "%slevel=%s mod=%s ", priorities[level], level_names[level], module);
    } else {
        char ts[32];
        hilo_iso_ms(hilo_now_ms(), ts, sizeof ts);
        n = snprintf(line, sizeof line, "ts=%s level=%s mod=%s ", ts, level_names[level], module);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2; /* truncated: keep the line a line */
    len = escape_controls(line, len, sizeof line - 2);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
