/* link_keys.h — the keys of the authenticated connector link (ZeroMQ CURVE, docs/protocol.md §2):
 * key pairs (`hilo link keygen`), secret-key files that must not be readable by group or others,
 * and the router's allowlist of connector public keys ("<z85 key> <channel>[,<channel>] <name>"
 * lines in a file or in every file of a directory). Used by the router (link_server.c), the
 * connectors (link_client.c) and the CLI; knows nothing of either. Keys are Z85 text, 40
 * characters (32 bytes). Errors are written into the caller's buffer. */
#ifndef HILO_LINK_KEYS_H
#define HILO_LINK_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define HILO_LINK_KEY_Z85 40       /* characters of a Z85 CURVE key */
#define HILO_LINK_NAME_MAX 64      /* a connector's name in the allowlist (its key group) */

/* A fresh key pair (public, secret), each HILO_LINK_KEY_Z85 characters + NUL. HILO_OK, or
 * HILO_ERR when this libzmq has no CURVE (built without libsodium). */
int hilo_link_keypair(char public_z85[41], char secret_z85[41]);
/* The public key of a secret key. HILO_ERR when `secret_z85` is not a valid key. */
int hilo_link_public_of(const char *secret_z85, char public_z85[41]);
/* Whether `s` is exactly one Z85 key (40 characters of the Z85 alphabet). */
bool hilo_link_key_valid(const char *s);

/* Reads a secret-key file: one line with the Z85 secret key ('#' lines ignored). Refuses a file
 * that group or others may read or write ("chmod 600"), that is not a regular file, or that
 * holds anything else. HILO_OK, or HILO_ERR with the reason (naming the file) in err. */
int hilo_link_read_secret_file(const char *path, char secret_z85[41], char *err, size_t errlen);
/* Writes a new secret-key file (mode 0600, never over an existing file): a comment with `name`
 * and the public key, then the secret key. HILO_OK or HILO_ERR with the reason in err. */
int hilo_link_write_secret_file(const char *path, const char *name, const char *public_z85,
                                const char *secret_z85, char *err, size_t errlen);

/* The router's allowlist. */
typedef struct hilo_link_allow hilo_link_allow_t;

/* Reads `path`, a file or a directory (each regular file in it not starting with '.'). Lines:
 * "<z85 public key> <channel>[,<channel>...] <name>", '#' comments and blank lines ignored;
 * channels are whatsapp, sms, voice. A malformed line, a key listed twice or an empty list is
 * an error "file:line: reason". NULL with err set on failure. */
hilo_link_allow_t *hilo_link_allow_load(const char *path, char *err, size_t errlen);
void hilo_link_allow_destroy(hilo_link_allow_t **self_p);
int hilo_link_allow_count(const hilo_link_allow_t *self);
/* The entry of `public_z85`: its name (valid until destroy) and its channels as a bitmask
 * (bit 1 << HILO_CHANNEL_*), or NULL when the key is not listed. */
const char *hilo_link_allow_find(const hilo_link_allow_t *self, const char *public_z85, unsigned *channels);

#endif
