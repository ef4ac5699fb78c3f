"""hilo_slot_guard — the suites' Redis as a one-node Redis Cluster, and a watch on every script.

The CI guard of ../shared/DESIGN.md "Keys on a Redis Cluster": with HILO_TEST_REDIS_CLUSTER=1 in
the environment, every RedisServer of hilo_harness runs with cluster-enabled yes and all 16,384
slots on its one node, so a MULTI or a command whose keys span two slots fails with CROSSSLOT, as
on a real cluster. The router's hiredis connection is standalone: with every slot on one node it
never gets MOVED.

Redis 7.0 (Debian 12) does not itself refuse a script that touches keys it did not declare, nor
keys of two slots that way (on a real cluster such a script breaks as soon as the slots live on
two nodes). So SlotGuard follows the server's MONITOR: each EVAL/EVALSHA/FCALL line is followed
by the commands its script ran ("lua" lines; a script is atomic, so nothing interleaves), and a
script whose declared and touched keys span more than one slot is an offence. A touched key it
did not declare, in the declared slot, is noted (undeclared) but is not an offence.

The scripts that offend today are listed, with the keys they touch, in slot_guard_known.txt
beside this file (docs/architecture.md "Keys on a Redis Cluster" has the same list): an offence
by a listed script whose every key matches one of its listed patterns is known (logged, not a
failure); any other is a failure, so a new script or a new key in an old one must be single-slot.

Used by hilo_harness.RedisServer (start/stop) and HiloTestCase (a test with an offence fails).
"""

import fnmatch
import glob
import hashlib
import os
import re
import socket
import threading
import time

from redis.crc import key_slot

ENV = "HILO_TEST_REDIS_CLUSTER"

SCRIPT_CALLS = {b"eval": 1, b"evalsha": 1, b"eval_ro": 1, b"evalsha_ro": 1, b"fcall": 1, b"fcall_ro": 1}

_LINE = re.compile(rb'^\+?(\d+\.\d+) \[(\d+) ([^\]]+)\] (.*)$')
_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESC = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b", b'"': b'"', b"\\": b"\\"}


KNOWN_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slot_guard_known.txt")


def load_known(path=KNOWN_PATH):
    """{script name: [key glob]} from slot_guard_known.txt ("name glob glob ..." per line)."""
    known = {}
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words:
                known.setdefault(words[0], []).extend(words[1:])
    return known


def script_names():
    """{sha1: file name} of the router's scripts as it embeds them (router/lua/*.lua)."""
    from hilo_harness import SOURCE_DIR, lua_script
    names = {}
    for path in glob.glob(os.path.join(SOURCE_DIR, "router", "lua", "*.lua")):
        names[hashlib.sha1(lua_script(path).encode()).hexdigest()] = os.path.basename(path)
    return names


def enabled():
    return os.environ.get(ENV) == "1"


def cluster_conf(bus_port):
    """The lines RedisServer adds to its redis.conf (the nodes file in its own directory). The
    cluster bus gets a port of its own choosing (by default Redis takes port + 10000, which may
    be anyone's: above 32767 the kernel hands out ephemeral ports)."""
    return ("cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 5000\n"
            "cluster-port %d\n" % bus_port)


def cluster_info(client, field):
    """One field of CLUSTER INFO, as text."""
    info = client.execute_command("CLUSTER", "INFO")
    if isinstance(info, dict):
        return str(info.get(field))
    m = re.search(r"^%s:(\S+)" % re.escape(field), info, re.M)
    return m.group(1) if m else None


def cluster_state(client):
    return cluster_info(client, "cluster_state")


def claim_all_slots(client, timeout=20):
    """Gives the one node every slot (once: the nodes file keeps them across restarts) and waits
    for cluster_state:ok."""
    if cluster_info(client, "cluster_slots_assigned") == "0":
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    deadline = time.monotonic() + timeout
    while True:
        state = cluster_state(client)
        if state == "ok":
            return
        if time.monotonic() > deadline:
            raise AssertionError("one-node cluster on port %s: cluster_state %s after %ss"
                                 % (client.connection_pool.connection_kwargs.get("port"), state, timeout))
        time.sleep(0.05)


def _unescape(raw):
    out, i = bytearray(), 0
    while i < len(raw):
        c = raw[i:i + 1]
        if c == b"\\" and i + 1 < len(raw):
            n = raw[i + 1:i + 2]
            if n == b"x" and i + 3 < len(raw):
                out += bytes([int(raw[i + 2:i + 4], 16)])
                i += 4
                continue
            out += _ESC.get(n, n)
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


def parse_line(line):
    """One MONITOR line as (source, [args as bytes]); source is b"lua" for a script's commands.
    None for anything else (+OK, blank)."""
    m = _LINE.match(line)
    if not m:
        return None
    return m.group(3), [_unescape(a) for a in _ARG.findall(m.group(4))]


class _KeySpecs:
    """Which arguments of a command are keys: COMMAND INFO's first/last/step, cached by name;
    COMMAND GETKEYS for commands whose keys move (XREAD, ZUNIONSTORE, ...) or sit behind a
    subcommand (XGROUP CREATE, XINFO STREAM, OBJECT ...)."""

    def __init__(self, client):
        self.client = client
        self.specs = {}

    def keys(self, args):
        name = args[0].lower()
        spec = self.specs.get(name)
        if spec is None:
            spec = self._spec(name)
            self.specs[name] = spec
        if spec == "none":
            return []
        if spec == "dynamic":
            try:
                return [k if isinstance(k, bytes) else k.encode()
                        for k in self.client.command_getkeys(*args)]
            except Exception:
                return []
        first, last, step = spec
        end = len(args) + last if last < 0 else last + 1
        return [args[i] for i in range(first, min(end, len(args)), step)]

    def _spec(self, name):
        try:
            info = self.client.execute_command("COMMAND", "INFO", name)
        except Exception:
            return "dynamic"
        entry = info[0] if isinstance(info, list) else info.get(name.decode()) if isinstance(info, dict) else None
        if not entry:
            return "dynamic"
        if isinstance(entry, dict):
            first, last, step = entry.get("first_key_pos"), entry.get("last_key_pos"), entry.get("step_count")
            flags = [f.decode() if isinstance(f, bytes) else f for f in entry.get("flags", [])]
            subs = entry.get("subcommands") or []
        else:
            first, last, step = entry[3], entry[4], entry[5]
            flags = [f.decode() if isinstance(f, bytes) else f for f in entry[2]]
            subs = entry[9] if len(entry) > 9 else []
        if "movablekeys" in flags or subs:
            return "dynamic"
        if not first:
            return "none"
        return (int(first), int(last), int(step) or 1)


class SlotGuard:
    """A thread reading the MONITOR of one redis-server; offences and undeclared keys are kept
    in lists (and appended to slot_guard.log in the server's directory)."""

    def __init__(self, port, auth=None, log_path=None):
        import redis
        self.port = port
        self.auth = auth
        self.log_path = log_path
        self.offences = []    # "script <name>: keys of N slots: ..." (not in slot_guard_known.txt)
        self.known = []       # the same, for offences slot_guard_known.txt lists
        self.undeclared = []  # "script <sha/name>: touched <key>, not declared"
        self._seen = set()
        kw = dict(host="127.0.0.1", port=port, socket_timeout=10)
        if auth:
            kw["username"], kw["password"] = auth
        self._specs = _KeySpecs(redis.Redis(**kw))
        self._marks = set()
        self._names = script_names()
        self._known = load_known()
        self._cond = threading.Condition()
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if auth:
            self._command(b"AUTH", auth[0].encode(), auth[1].encode())
        self._command(b"MONITOR")
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _command(self, *args):
        self._sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = self._sock.recv(1)
            if not chunk:
                raise AssertionError("slot guard: redis on port %d closed the connection" % self.port)
            reply += chunk
        if not reply.startswith(b"+"):
            raise AssertionError("slot guard: redis on port %d answered %r" % (self.port, reply))

    def _run(self):
        buf = b""
        script = None  # (name, declared keys, touched keys)
        try:
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\r\n")
                for line in lines:
                    parsed = parse_line(line)
                    if parsed is None:
                        continue
                    source, args = parsed
                    if not args:
                        continue
                    if source == b"lua":
                        if script is not None:
                            script[2].extend(self._specs.keys(args))
                        continue
                    if script is not None:
                        self._judge(*script)
                        script = None
                    name = args[0].lower()
                    if name in SCRIPT_CALLS and len(args) >= 3:
                        try:
                            n = int(args[2])
                        except ValueError:
                            n = 0
                        label = args[1]
                        if name in (b"eval", b"eval_ro"):  # named as EVALSHA would be, when known
                            sha = hashlib.sha1(args[1]).hexdigest()
                            label = sha.encode() if sha in self._names else args[1][:60]
                        script = (label, args[3:3 + n], [])
                    elif name == b"echo" and len(args) == 2 and args[1].startswith(b"hilo-slot-guard-"):
                        with self._cond:
                            self._marks.add(args[1])
                            self._cond.notify_all()
        except OSError:
            pass
        if script is not None:
            self._judge(*script)
        with self._cond:
            self._marks.add(None)
            self._cond.notify_all()

    def _judge(self, label, declared, touched):
        label = label.decode(errors="replace")
        label = self._names.get(label, label)
        slots = {key_slot(k) for k in list(declared) + touched}
        if len(slots) > 1:
            by_slot = {}
            for k in list(declared) + touched:
                by_slot.setdefault(key_slot(k), set()).add(k.decode(errors="replace"))
            text = "script %s: keys of %d slots: %s" % (
                label, len(slots), "; ".join(sorted(", ".join(sorted(v)) for v in by_slot.values())))
            globs = self._known.get(label)
            is_known = globs is not None and all(any(fnmatch.fnmatchcase(k, g) for g in globs)
                                                 for v in by_slot.values() for k in v)
            self._note(self.known if is_known else self.offences, text)
        declared_set = set(declared)
        for k in touched:
            if k not in declared_set:
                self._note(self.undeclared, "script %s: touched %s, not declared"
                           % (label, k.decode(errors="replace")))

    def _note(self, into, text):
        if text in self._seen:
            return
        self._seen.add(text)
        into.append(text)
        kind = "OFFENCE " if into is self.offences else "known " if into is self.known else "undeclared "
        line = kind + text + "\n"
        # HILO_SLOT_GUARD_LOG: one file for a whole run (the inventory of offenders), beside the
        # server's own log (removed with the work dir of a test that passed).
        for path in (self.log_path, os.environ.get("HILO_SLOT_GUARD_LOG")):
            if path:
                with open(path, "a") as f:
                    f.write(line)

    def sync(self, client, timeout=10):
        """Waits until the guard has read everything the server ran before this call (an ECHO
        mark through `client`); False when the server is gone or did not answer."""
        mark = b"hilo-slot-guard-%d" % time.monotonic_ns()
        try:
            client.echo(mark)
        except Exception:
            return False
        with self._cond:
            return self._cond.wait_for(lambda: mark in self._marks or None in self._marks, timeout)

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(10)
