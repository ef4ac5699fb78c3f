/* log.c — logfmt lines on stderr. */
#include "hilo/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

void hilo_log(hilo_log_level_t level, const char *module, const char *fmt, ...) {
    if (level < min_level) return;
    char line[2048];
    char ts[32];
    hilo_iso_ms(hilo_now_ms(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s mod=%s ", ts, level_names[level], module);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2; /* truncated: keep the line a line */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
