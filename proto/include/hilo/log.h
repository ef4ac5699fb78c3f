/* log.h — structured (logfmt) log lines on stderr: ts=… level=… mod=… then the caller's
 * key=value pairs. One line per event, written with a single write(2) so processes sharing
 * a journal never interleave. When stderr is journald's stream (systemd's JOURNAL_STREAM names
 * its device:inode), a line is "<N>level=… mod=… …" instead: the syslog priority journald reads
 * (error 3, warn 4, info 6, debug 7) and no ts= (journald stamps every line). Message bodies and
 * secrets never go in logs (see docs). */
#ifndef HILO_LOG_H
#define HILO_LOG_H

typedef enum { HILO_LOG_DEBUG = 0, HILO_LOG_INFO, HILO_LOG_WARN, HILO_LOG_ERROR } hilo_log_level_t;

/* Lines below `level` are dropped. Default INFO. */
void hilo_log_set_level(hilo_log_level_t level);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int hilo_log_level_parse(const char *name);

/* `fmt` produces the key=value tail, by convention starting with event=<name>, e.g.
 * hilo_log(HILO_LOG_WARN, "ingress", "event=nack code=%s seq=%llu", code, seq). */
void hilo_log(hilo_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An outside value (a request path, a login id, a Hello field, a parser's complaint) as one
 * logfmt value: as it is when it is plain, else in double quotes with `"`, `\` and control
 * bytes escaped, cut at 200 bytes ("..." marks the cut). The result lives in a small ring of
 * per-thread buffers: use it in the same hilo_log call (at most 8 per call). NULL -> "-". */
const char *hilo_log_value(const char *s);

/* A phone number for a log line: the country code's first digit and the last four kept, the
 * rest masked ("+1******0142"); not a phone number -> hilo_log_value(). */
const char *hilo_log_phone(const char *e164);

/* A line from a library's own logging (libwebsockets): trailing newlines dropped, escaped as an
 * outside value (event=<module> msg=...), and at most 10 such lines a second per process — a
 * stranger who can make a library complain once per request must not be able to flood the log;
 * the next line let through says how many were dropped (suppressed=N). */
void hilo_log_library_line(hilo_log_level_t level, const char *module, const char *line);

/* A budget of log lines for an event a stranger can cause once per request (a refused header,
 * an unsigned webhook): at most HILO_LOG_LIMIT_PER_S lines a second through one limiter, the
 * next line let through ends with suppressed=N. The caller owns it, zero-initialised. */
#define HILO_LOG_LIMIT_PER_S 10
typedef struct {
    long long window_s;       /* the second being counted */
    unsigned in_window;       /* lines written in it */
    unsigned long suppressed; /* lines dropped since the last one written */
} hilo_log_limit_t;
void hilo_log_limited(hilo_log_limit_t *lim, hilo_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define hilo_log_debug(mod, ...) hilo_log(HILO_LOG_DEBUG, mod, __VA_ARGS__)
#define hilo_log_info(mod, ...) hilo_log(HILO_LOG_INFO, mod, __VA_ARGS__)
#define hilo_log_warn(mod, ...) hilo_log(HILO_LOG_WARN, mod, __VA_ARGS__)
#define hilo_log_error(mod, ...) hilo_log(HILO_LOG_ERROR, mod, __VA_ARGS__)

#endif
