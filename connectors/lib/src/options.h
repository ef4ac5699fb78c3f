/* options.h — a connector's command line (hilo-whatsapp, hilo-sms, hilo-voice): parsed by
 * hilo_connector_main() before anything is read or opened. --version and --help are answered
 * here; the rest is returned. */
#ifndef HILO_CONNECTOR_OPTIONS_H
#define HILO_CONNECTOR_OPTIONS_H

#include <stdbool.h>

#include "hilo/adapter.h"

typedef struct {
    const char *config;  /* -c FILE, NULL = none (defaults and the environment) */
    const char *section; /* -s SECTION: the channel's name or <channel>-<suffix> */
    const char *level;   /* -l LEVEL, NULL = the section's log_level */
    bool check_only;     /* --check-config: check, say what was checked, exit */
} hilo_connector_args_t;

/* Fills *args from argv. Returns -1 to go on, or the exit status when the program is done
 * (0 after --version or --help, 2 after a usage error, printed on stderr). */
int hilo_connector_args_parse(const hilo_adapter_ops_t *ops, int argc, char **argv, hilo_connector_args_t *args);

#endif
