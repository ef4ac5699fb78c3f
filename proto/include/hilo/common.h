/* common.h — return codes and tiny helpers shared by every hilo module.
 * Included by everything; depends on nothing but libc. */
#ifndef HILO_COMMON_H
#define HILO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define HILO_OK 0      /* done */
#define HILO_ERR -1    /* failed; the object's err/errstr (or the caller's buffer) says why */
#define HILO_AGAIN -2  /* not now: retry later (backpressure, not connected) */

#define HILO_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Wall clock in Unix milliseconds. */
int64_t hilo_now_ms(void);
/* Unix ms as "2026-11-22T10:00:00.123Z" (UTC); out needs 32 bytes. For logs, files and
 * people; never parsed back by hilo. */
void hilo_iso_ms(int64_t ms, char *out, size_t outlen);
/* Monotonic clock in microseconds (latency measurement only). */
int64_t hilo_mono_us(void);

/* Exit with a message when memory runs out: a process that cannot allocate cannot do
 * anything useful, and checking every small allocation hides the real logic. */
void *hilo_xmalloc(size_t n);
void *hilo_xcalloc(size_t n, size_t size);
void *hilo_xrealloc(void *p, size_t n);
char *hilo_xstrdup(const char *s);
char *hilo_xstrndup(const char *s, size_t n);

#endif
