/* main.c — hilo-router: reads the config, starts the router, runs until SIGTERM/SIGINT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hilo/build_info.h"
#include "hilo/config.h"
#include "hilo/log.h"
#include "engine.h"
#include "rconfig.h"
#include "router.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: hilo-router [-c FILE] [--check-config]\n"
            "  -c FILE          config file (default: $HILO_CONFIG; none = built-in defaults)\n"
            "  --check-config   validate the config and the files it names, say what was\n"
            "                   checked, and exit (0 = valid, 2 = invalid)\n"
            "  --version        print the version and exit\n"
            "Any key can be overridden by the environment: HILO_<SECTION>_<KEY>.\n");
}

int main(int argc, char **argv) {
    const char *path = getenv("HILO_CONFIG");
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("hilo-router %s\n", HILO_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    char err[512];
    hilo_config_t *cfg = hilo_config_load(path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "hilo-router: config: %s\n", err);
        return 2;
    }
    hilo_router_config_t rc;
    static const char *sections[] = {"router", "redis", "identity", "engine", "console", "strategies"};
    /* The file is shared: a section no hilo program reads is a typo ([consol]) whose keys would
     * silently be defaults. */
    int ok = hilo_config_check_sections(cfg, NULL) == 0 && hilo_router_config_load(cfg, path, &rc) == 0;
    for (size_t i = 0; ok && i < sizeof sections / sizeof *sections; i++)
        ok = hilo_config_check_unused(cfg, sections[i]) == 0;
    if (!ok) {
        fprintf(stderr, "hilo-router: config: %s\n", hilo_config_error(cfg));
        hilo_config_destroy(&cfg);
        return 2;
    }
    /* The engine's own files are configuration too: a bad flow or rule pack stops the start
     * (and fails --check-config) the same way, with its file and line. */
    if (rc.engine && hilo_engine_check_files(&rc, err, sizeof err) != 0) {
        fprintf(stderr, "hilo-router: config: %s\n", err);
        hilo_config_destroy(&cfg);
        return 2;
    }
    if (check_only) {
        char full[1024];
        printf("hilo-router: config %s is valid\n", path ? path : "(defaults)");
        printf("  sections: [router] [redis] [identity] [engine] [console] [strategies] (every key known),"
               " no unknown section\n");
        printf("  link: %s (%s)\n", rc.link_bind, rc.link_curve ? "CURVE, allowlist read" : "no authentication");
        printf("  console assets: %s\n", hilo_router_config_path(&rc, rc.console_assets_dir, full, sizeof full));
        if (rc.engine) {
            printf("  bot flow: %s (loaded)\n", hilo_router_config_path(&rc, rc.flow_path, full, sizeof full));
            printf("  rule packs: %s (loaded)\n", hilo_router_config_path(&rc, rc.compliance_dir, full, sizeof full));
        } else {
            printf("  engine: off (flow and rule packs not read)\n");
        }
        hilo_config_destroy(&cfg);
        return 0;
    }
    hilo_log_set_level(hilo_log_level_parse(rc.log_level));
    /* Every console websocket and connector link is a descriptor: use all the process may. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    hilo_router_t *r = hilo_router_new(&rc);
    if (!r) {
        hilo_config_destroy(&cfg);
        return 1;
    }
    int status = hilo_router_run(r);
    hilo_router_destroy(&r);
    hilo_log_info("router", "event=stopped");
    hilo_config_destroy(&cfg);
    return status;
}
