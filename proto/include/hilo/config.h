/* config.h — the one config file (INI: [section] and key = value lines) with environment
 * overrides for secrets. Every process (router, connectors, CLI) reads its keys through this.
 * A bad value or an unknown key is an error that names file:line and the reason; start-up
 * stops on it. Errors live on the object: hilo_config_error(). */
#ifndef HILO_CONFIG_H
#define HILO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hilo_config hilo_config_t;

/* Loads `path`. On failure returns NULL and writes "path:line: reason" into err.
 * path == NULL gives an empty config (defaults and environment only). */
hilo_config_t *hilo_config_load(const char *path, char *err, size_t errlen);
void hilo_config_destroy(hilo_config_t **self_p);

/* The last error, "file:line: [section] key: reason", or "" when none. */
const char *hilo_config_error(const hilo_config_t *self);

/* Getters. The environment variable HILO_<SECTION>_<KEY> (upper case, every character that is
 * not a letter or digit as '_') overrides the file. A missing key gives `def`. They return
 * HILO_OK, or HILO_ERR with the error set. *out from _str stays valid until destroy. */
int hilo_config_str(hilo_config_t *self, const char *section, const char *key, const char *def,
                    const char **out);
int hilo_config_int(hilo_config_t *self, const char *section, const char *key, long long def,
                    long long min, long long max, long long *out);
int hilo_config_bool(hilo_config_t *self, const char *section, const char *key, bool def, bool *out);

/* Writes the name of the environment variable that overrides [section] key, e.g.
 * HILO_WHATSAPP_APP_SECRET, into buf (truncated to n). For error messages that tell an
 * operator where a secret goes. */
void hilo_config_env_name(const char *section, const char *key, char *buf, size_t n);

/* Marks the value of [section] key as invalid for `why` (e.g. "must be tcp:// or ipc://"):
 * sets the error with file:line (or "from environment") and returns HILO_ERR. For checks the
 * typed getters cannot make. */
int hilo_config_reject(hilo_config_t *self, const char *section, const char *key, const char *why);

/* Reads [engine] test_clock: true only in a build configured with -DHILO_TEST_CLOCK=ON; there
 * "now" for the gate, the engine, commits and sweeps may come from the Redis key
 * hilo:test:now_ms. Any other build refuses test_clock = true with file:line ("this build
 * cannot move its clock"). Returns HILO_OK or HILO_ERR with the error set. */
int hilo_config_test_clock(hilo_config_t *self, bool *out);
/* Whether this build accepts [engine] test_clock. */
bool hilo_config_test_clock_allowed(void);

/* `path` resolved against the config file's directory unless it is absolute (or there is no
 * file), into buf; returns buf. */
const char *hilo_config_path_of(const hilo_config_t *self, const char *path, char *buf, size_t n);

/* Calls fn for each section whose name starts with `prefix` (file order). */
void hilo_config_each_section(const hilo_config_t *self, const char *prefix,
                              void (*fn)(const char *section, void *arg), void *arg);

/* Calls fn for each key of [section] in the file, in file order (environment overrides of keys
 * the file does not have are not listed). For sections whose keys are names chosen by the
 * operator ([pacing] sms.15005550006, [costs] sms.US): the caller reads each with a getter. */
void hilo_config_each_key(const hilo_config_t *self, const char *section,
                          void (*fn)(const char *key, void *arg), void *arg);

/* Fails on the first key in the file (in a section whose name starts with `prefix`) that no
 * getter asked for: a typo must not silently fall back to a default. Call it after reading
 * all keys. */
int hilo_config_check_unused(hilo_config_t *self, const char *prefix);

/* Fails on the first section of the file that no hilo program reads, "file:line: [name]: unknown
 * section (did you mean [x]?)" (the suggestion when a known name is close). Known: the router's
 * [router] [redis] [identity] [engine] [console] [strategies] [pacing] [costs] [sla] [reports]
 * [messages], the CLI's [cli], and the
 * connectors' [whatsapp] [sms] [voice] with their instance sections [<channel>-<suffix>]
 * (e.g. [sms-2], read by `hilo-sms -s sms-2`). Every program calls it: the file is shared.
 * own_channel (or NULL): a connector's adapter name, whose sections are known too (a connector
 * built on connectors/lib for another channel, in a file of its own). */
int hilo_config_check_sections(hilo_config_t *self, const char *own_channel);
bool hilo_config_known_section(const char *name);
/* Whether `name` is a section a connector of `channel` ("sms") may read: the channel itself or
 * channel-<suffix>. */
bool hilo_config_connector_section(const char *name, const char *channel);

#endif
