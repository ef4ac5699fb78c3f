/* options.c — a connector's command line (see options.h). */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "hilo/build_info.h"
#include "hilo/config.h"

static void usage(FILE *f, const hilo_adapter_ops_t *ops) {
    fprintf(f,
            "usage: hilo-%s [-c FILE] [-s SECTION] [-l LEVEL] [--check-config]\n"
            "  -c FILE         config file (INI); without it: defaults and HILO_<SECTION>_<KEY> variables\n"
            "  -s SECTION      config section to read: %s (the default) or %s-<suffix> for another\n"
            "                  instance, e.g. %s-2\n"
            "  -l LEVEL        log level: debug, info, warn, error (overrides log_level)\n"
            "  --check-config  check the config and the section, say what was checked, and exit\n"
            "                  (0 = valid, 2 = invalid); nothing is opened or created\n"
            "  --version       print the version and exit\n"
            "  -h, --help      this text\n",
            ops->name, ops->name, ops->name, ops->name);
}

int hilo_connector_args_parse(const hilo_adapter_ops_t *ops, int argc, char **argv, hilo_connector_args_t *args) {
    static const struct option longs[] = {
        {"check-config", no_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *args = (hilo_connector_args_t){.section = ops->name};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:s:l:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': args->config = optarg; break;
        case 's': args->section = optarg; break;
        case 'l': args->level = optarg; break;
        case 'C': args->check_only = true; break;
        case 'V': printf("hilo-%s %s\n", ops->name, HILO_VERSION); return 0;
        case 'h': usage(stdout, ops); return 0;
        default: usage(stderr, ops); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr, ops);
        return 2;
    }
    /* The router and the other programs know a connector's section by its name alone
     * (hilo_config_check_sections): another name would be refused by all of them. */
    if (!hilo_config_connector_section(args->section, ops->name)) {
        fprintf(stderr, "hilo-%s: -s %s: a %s connector's section is [%s] or [%s-<suffix>] (e.g. %s-2)\n", ops->name,
                args->section, ops->name, ops->name, ops->name, ops->name);
        return 2;
    }
    return -1;
}
