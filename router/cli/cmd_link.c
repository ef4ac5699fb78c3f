/* cmd_link.c — `hilo link keygen|pubkey`: the connector link's CURVE keys (docs/protocol.md §2).
 * keygen writes a new secret-key file (mode 0600, never over an existing file) and prints the
 * public key, which goes into the router's link_keys (a connector's key) or the connectors'
 * link_server_key (the router's). Neither needs Redis. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "hilo/common.h"
#include "hilo/link_keys.h"

static const char usage_text[] =
    "usage: hilo link keygen <name> [--out FILE]   new key pair: the secret into FILE (default\n"
    "                                              <name>.key, mode 0600), the public key on stdout\n"
    "       hilo link pubkey FILE                  the public key of a secret-key file\n";

/* argv[0] is "keygen". */
static int keygen(int argc, char **argv) {
    const char *out = NULL;
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("link keygen", argc, argv, "", longopts)) != -1;) {
        if (c != 'o') {
            fputs(usage_text, stderr);
            return HILO_EXIT_USAGE;
        }
        out = optarg;
    }
    if (optind < argc - 1) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    const char *name = optind == argc - 1 ? argv[optind] : NULL;
    size_t n = name ? strlen(name) : 0;
    if (!n || n >= HILO_LINK_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
        fprintf(stderr, "hilo: link keygen: the name must be 1-63 letters, digits, '.', '_' or '-'\n");
        return HILO_EXIT_USAGE;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", out ? out : name);
    if (!out) strncat(path, ".key", sizeof path - strlen(path) - 1);
    char pub[41], sec[41], err[4200];
    if (hilo_link_keypair(pub, sec) != HILO_OK) {
        fprintf(stderr, "hilo: link keygen: this libzmq has no CURVE support (built without libsodium)\n");
        return HILO_EXIT_DATA;
    }
    int rc = hilo_link_write_secret_file(path, name, pub, sec, err, sizeof err);
    memset(sec, 0, sizeof sec);
    if (rc != HILO_OK) {
        fprintf(stderr, "hilo: link keygen: %s\n", err);
        return HILO_EXIT_DATA;
    }
    fprintf(stderr, "hilo: secret key of %s written to %s (mode 0600); public key:\n", name, path);
    printf("%s\n", pub);
    return HILO_EXIT_OK;
}

/* argv[0] is "pubkey". */
static int pubkey(int argc, char **argv) {
    hilo_opts_begin();
    if (hilo_opts_next("link pubkey", argc, argv, "", NULL) != -1 || optind != argc - 1) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    const char *path = argv[optind];
    char sec[41], pub[41], err[4200];
    if (hilo_link_read_secret_file(path, sec, err, sizeof err) != HILO_OK) {
        fprintf(stderr, "hilo: link pubkey: %s\n", err);
        return HILO_EXIT_DATA;
    }
    int rc = hilo_link_public_of(sec, pub);
    memset(sec, 0, sizeof sec);
    if (rc != HILO_OK) {
        fprintf(stderr, "hilo: link pubkey: %s: not a usable CURVE secret key\n", path);
        return HILO_EXIT_DATA;
    }
    printf("%s\n", pub);
    return HILO_EXIT_OK;
}

int hilo_cmd_link(hilo_cli_t *cli, int argc, char **argv) {
    (void)cli;
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0) return keygen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "pubkey") == 0) return pubkey(argc - 1, argv + 1);
    fputs(usage_text, stderr);
    return HILO_EXIT_USAGE;
}
