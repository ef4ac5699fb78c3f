/* conf_file.h — for the unit tests of the router's config sections (test_sla.c,
 * test_messages.c, test_pacing_costs.c): a config file written from a string, and a section's
 * refusal checked for its FILE:LINE. Include after cmocka.h. Each test file owns the temporary file it names. */
#ifndef HILO_TEST_CONF_FILE_H
#define HILO_TEST_CONF_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/config.h"

/* The config `text` in a new file (its name in path); fails the test when it does not parse. */
static inline hilo_config_t *conf_file(const char *text, char *path, size_t n) {
    snprintf(path, n, "/tmp/hilo-test-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[512];
    hilo_config_t *c = hilo_config_load(path, err, sizeof err);
    if (!c) fail_msg("%s", err);
    return c;
}

/* load(c) must refuse `text` with "<file>:<want>" in the config's error. */
static inline void conf_refused(const char *text, int (*load)(hilo_config_t *c), const char *want) {
    char path[64], line[600];
    hilo_config_t *c = conf_file(text, path, sizeof path);
    assert_int_equal(load(c), HILO_ERR);
    snprintf(line, sizeof line, "%s:%s", path, want);
    if (!strstr(hilo_config_error(c), line)) fail_msg("%s: wanted %s", hilo_config_error(c), line);
    hilo_config_destroy(&c);
    unlink(path);
}

#endif
