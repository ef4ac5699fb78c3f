"""CURVE keys for the link (docs/protocol.md §2.1): reading a connector's secret-key file the way
the router and the C connectors read theirs, and deriving a public key.

A key file is what `hilo link keygen NAME --out FILE` writes: `#` comment lines, then one line
with the 40-character Z85 secret key. It must be a regular file that neither the group nor
others may read (mode 0600 or stricter): a secret anyone on the host may read is no secret, so
such a file is refused with the chmod that fixes it.
"""

import os
import stat

import zmq

Z85_KEY_LEN = 40  # a 32-byte Curve25519 key in Z85 text
_Z85_ALPHABET = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


class LinkKeyError(ValueError):
    """A key (or key file) that cannot be used; the message says which and why."""


def _check_z85(key, what):
    if isinstance(key, bytes):
        try:
            key = key.decode("ascii")
        except UnicodeDecodeError:
            raise LinkKeyError("%s is not Z85 text" % what) from None
    if not isinstance(key, str) or len(key) != Z85_KEY_LEN:
        raise LinkKeyError("%s must be %d characters of Z85 text (have %s)"
                        % (what, Z85_KEY_LEN, len(key) if isinstance(key, str) else type(key).__name__))
    bad = sorted(set(c for c in key if c not in _Z85_ALPHABET))
    if bad:
        raise LinkKeyError("%s is not Z85 text (it has %s)" % (what, " ".join(repr(c) for c in bad[:5])))
    return key


def read_secret_key(path):
    """The Z85 secret key (str) in the key file `path`. Raises LinkKeyError naming the file and the
    reason: missing, not a regular file, readable by group or others, no value line, more than
    one, or not a 40-character Z85 key."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise LinkKeyError("%s: cannot open the secret key file: %s" % (path, e.strerror)) from None
    with os.fdopen(fd, "r", encoding="ascii", errors="replace") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise LinkKeyError("%s: not a regular file" % path)
        if st.st_mode & 0o077:
            raise LinkKeyError("%s: the secret file has mode %04o: group and others must have no access (chmod 600 %s)"
                            % (path, stat.S_IMODE(st.st_mode), path))
        values = [line.strip() for line in f if line.strip() and not line.strip().startswith("#")]
    if len(values) != 1:
        raise LinkKeyError("%s: %s" % (path, "no value in it" if not values else "more than one value line"))
    return _check_z85(values[0], "%s: the secret key" % path)


def public_key(secret_key):
    """The Z85 public key (str) of a Z85 secret key: what the router operator lists in link_keys."""
    secret_key = _check_z85(secret_key, "the secret key")
    return zmq.curve_public(secret_key.encode("ascii")).decode("ascii")


def check_key(key, what):
    """`key` as a Z85 str, or LinkKeyError naming `what`."""
    return _check_z85(key, what)
