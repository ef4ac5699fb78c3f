"""hilo_harness — real processes for hilo's Python test suites (integration, e2e, fault, ...).

Everything runs on 127.0.0.1 with free ports, in a temporary directory, and is killed when the
test process exits (atexit, and PR_SET_PDEATHSIG so that even a SIGKILLed test leaves nothing
behind). Runs under Debian's /usr/bin/python3 (python3-zmq, python3-redis, python3-protobuf);
ctest sets HILO_BUILD_DIR, HILO_SOURCE_DIR and PYTHONPATH (tests/lib + the generated
`hilo_link_pb2`).

Pieces:
    free_port()                  a free TCP port on 127.0.0.1
    wait_until(pred, timeout, what)   bounded polling with a clear assertion message
    RedisServer(workdir)         redis-server (AOF everysec); stop/kill/restart/freeze/client
    Router(redis, workdir)       hilo-router with a generated config; kill9/stop/restart/freeze/
                                 metrics/healthz/log_lines
    run_cli(config, *args)       the `hilo` operator CLI (cli_path() is None when not built)
    import_debtors(config, workdir, rows)   `hilo import-debtors` of a generated CSV
    seed_debtor(r, id, phones)   writes a debtor like `hilo import-debtors` does (no CLI needed)
    history(r, debtor_id)        the debtor's thread: [(stream id, item dict)]
    RawLink(endpoint)            a bare DEALER for hand-made (bad) frames
    LinkKeys(dir)                CURVE keys for a router's link: its own, and link_keys entries
                                 (every Router has one: the link authenticates as in production)
    HiloTestCase                 unittest base: a work dir per test, log tails on failure
The reference connector is in hilo_connector.py (Connector).

Example:
    class T(HiloTestCase):
        def test_x(self):
            redis = self.redis()                  # started, stopped at cleanup
            router = self.router(redis)           # started and ready
            c = self.connector(router, "sms")     # session open
            seq = c.send_envelope(provider_message_id="m1", from_="+16505551234", text="hi")
            self.assertEqual(c.wait_result(seq, 10).kind, "ack")
"""

import atexit
import configparser
import ctypes
import datetime
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zoneinfo

import zmq

import hilo_link_pb2 as pb
import hilo_slot_guard
from hilo_connector import CHANNELS, Connector, MAJOR, MINOR, channel_value, curve_client

SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("HILO_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
# HILO_INSTALLED_PREFIX: run the programs installed under that prefix (e.g. an unpacked .deb's
# usr/: sbin/hilo-router, bin/hilo, sbin/hilo-<channel>) instead of the build tree's, against the
# same harness (tests/integration/test_deb.py does, for one end-to-end suite).
INSTALLED_PREFIX = os.environ.get("HILO_INSTALLED_PREFIX")
if INSTALLED_PREFIX:
    ROUTER_BIN = os.path.join(INSTALLED_PREFIX, "sbin", "hilo-router")
    CLI_BIN = os.path.join(INSTALLED_PREFIX, "bin", "hilo")
    sys.stderr.write("hilo_harness: the programs under %s\n" % INSTALLED_PREFIX)
else:
    ROUTER_BIN = os.path.join(BUILD_DIR, "router", "hilo-router")
    CLI_BIN = os.path.join(BUILD_DIR, "router", "cli", "hilo")
REDIS_BIN = shutil.which("redis-server") or "/usr/bin/redis-server"

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_used_ports = set()

# Ports come from below the kernel's ephemeral range (ip_local_port_range, 32768-60999 on
# Debian): between free_port() and the process that binds it, the kernel may hand an ephemeral
# port to anyone (a bind to port 0, an outgoing connection) but never one from this range.
_PORT_LOW, _PORT_HIGH = 20000, 32767
_port_rng = random.Random(os.getpid() ^ time.time_ns())


OUTBOX_PARTITIONS = 8  # router/include/hilo/keys.h HILO_OUTBOX_PARTITIONS


TEST_CLOCK_KEY = "hilo:test:now_ms"
# Tuesday 2026-11-24 10:00 in America/New_York (seed_debtor's zone; not a holiday there): a test
# that sends collector-initiated messages runs its router with [engine] test_clock = true and
# this clock (use_workday_clock), so the compliance gate's contact hours pass whatever the real
# time of day is.
WORKDAY_10AM_MS = int(datetime.datetime(2026, 11, 24, 10, 0,
                                        tzinfo=zoneinfo.ZoneInfo("America/New_York")).timestamp() * 1000)
TEST_CLOCK_OVERRIDES = {"engine": {"test_clock": "true"}}


SCHEMA_KEY = "hilo:{schema}"  # router/include/hilo/keys.h HILO_KEY_SCHEMA


def schema_version():
    """HILO_SCHEMA_VERSION of router/include/hilo/schema.h: the data model this build runs."""
    with open(os.path.join(SOURCE_DIR, "router", "include", "hilo", "schema.h")) as f:
        return int(re.search(r"#define HILO_SCHEMA_VERSION (\d+)", f.read()).group(1))


def use_workday_clock(r):
    """Sets the test clock to WORKDAY_10AM_MS (the router needs TEST_CLOCK_OVERRIDES)."""
    r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS))


def lua_script(path):
    """A router/lua script as the router embeds it (router/lua/embed.cmake): each
    "-- @include NAME.lua" line replaced by router/lua/lib/NAME.lua."""
    with open(path) as f:
        body = f.read()
    for inc in re.findall(r"-- @include ([a-z_]+\.lua)", body):
        with open(os.path.join(os.path.dirname(path), "lib", inc)) as f:
            body = body.replace("-- @include " + inc, f.read())
    return body


def commit_strategy_step(r, debtor_id, phone, oid, text, channel="sms", strategy="demo"):
    """Commits outbound `oid` as the strategy runner (router/src/strategy_run.c) commits a step:
    commit_outbound.lua with a dispatch state carrying "strat", the conv field `strat` naming the
    message (state out: router/lua/lib/strategy_state.lua), the debtor marked in the dispatch
    index before and after. The gate judges it as collector-initiated free text."""
    now = int(time.time() * 1000)
    ob = pb.Outbound(outbound_id=oid, channel=channel_value(channel), to=phone, debtor_id=debtor_id, text=text,
                     created_ms=now)
    item = json.dumps({"ch": channel, "dir": "out", "kind": "text", "text": text, "oid": oid, "ms": now,
                       "by": "strategy:" + strategy})
    disp = json.dumps({"by": "strategy:" + strategy, "bot": False, "reply": False, "kind": "freeform",
                       "wait": False, "strat": strategy})
    old = r.hget(debtor_key(debtor_id, "conv"), "strat") or ""
    field = "out|%s|all|A|first||0|%d|%s|||1" % (strategy, now, oid)
    keys = [debtor_key(debtor_id, p) for p in ("conv", "hist", "out", "oq:" + channel, "odisp")]
    script = lua_script(os.path.join(SOURCE_DIR, "router", "lua", "commit_outbound.lua"))
    r.zadd(outbox_key(debtor_id, channel), {debtor_id: 0})
    res = r.eval(script, len(keys), *keys, oid, now, item, 1000, ob.SerializeToString(), debtor_id, channel, disp,
                 old, field)
    if res in (0, -1):
        raise AssertionError("commit_outbound.lua answered %r for %s" % (res, oid))
    r.zadd(outbox_key(debtor_id, channel), {debtor_id: 0})


def outbox_partition(debtor_id):
    """The dispatch index partition of a debtor, as router/src/keys.c computes it (FNV-1a)."""
    h = 2166136261
    for b in debtor_id.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % OUTBOX_PARTITIONS


def outbox_key(debtor_id, channel):
    """hilo:{p:<n>}:outbox:<channel>: the debtor's partition of the channel's dispatch index."""
    return "hilo:{p:%d}:outbox:%s" % (outbox_partition(debtor_id), channel)


def self_signed_cert(workdir):
    """(key path, cert path): a throwaway self-signed certificate for 127.0.0.1 in workdir."""
    key, crt = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    return key, crt


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now, that this process has not handed
    out before, and that the kernel will not hand out as an ephemeral port meanwhile."""
    for _ in range(200):
        port = _port_rng.randint(_PORT_LOW, _PORT_HIGH)
        if port in _used_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _used_ports.add(port)
        return port
    raise RuntimeError("no free port in %d-%d" % (_PORT_LOW, _PORT_HIGH))


def wait_until(pred, timeout, what, interval=0.05):
    """Calls pred() until it returns a truthy value (returned) or `timeout` seconds pass; then
    fails with "timed out after Ns waiting for <what>" (what may be a callable giving the text,
    evaluated at failure time, e.g. to show the last observed value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            text = what() if callable(what) else what
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, text))
        time.sleep(interval)


SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")


def sanitizer_reports(text):
    """Lines of AddressSanitizer / UndefinedBehaviorSanitizer / LeakSanitizer reports in a
    process's output (builds with -DHILO_SANITIZE=ON)."""
    return [l for l in text.splitlines() if SANITIZER.search(l)]


def tail(path, lines=40):
    """The last lines of a file, for failure messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Processes: every child in its own process group, killed at exit
# ---------------------------------------------------------------------------------------------

_children = set()
_children_lock = threading.Lock()
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _preexec_pdeathsig():
    # SIGKILL the child when the thread that forked it dies (the test process, even SIGKILLed).
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(args, log_path, env=None, cwd=None):
    """Starts `args` in a new process group, stdout+stderr appended to log_path. The process is
    killed when the test process exits."""
    log = open(log_path, "ab")
    # PDEATHSIG follows the forking *thread*: only use it from the main thread.
    preexec = _preexec_pdeathsig if threading.current_thread() is threading.main_thread() else None
    try:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                             cwd=cwd, start_new_session=True, preexec_fn=preexec)
    finally:
        log.close()
    with _children_lock:
        _children.add(p)
    return p


def terminate(p, sig=signal.SIGTERM, timeout=15):
    """Sends `sig` to the process group of p and waits; SIGKILL if it does not exit in time.
    Returns the exit status."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(10)
    else:
        # the leader is gone; make sure nothing of its group is left
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    with _children_lock:
        _children.discard(p)
    return p.returncode


@atexit.register
def _kill_all_children():
    with _children_lock:
        procs = list(_children)
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(5)
        except Exception:
            pass


def _sigterm_exit(signum, frame):
    # ctest sends SIGTERM on timeout: run the atexit cleanup.
    sys.exit(128 + signum)


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _sigterm_exit)


def _clean_env():
    """The environment for our daemons: HILO_<SECTION>_<KEY> variables override config keys, so
    none may leak in from the caller (except the two path variables of ctest)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HILO_") or k in ("HILO_BUILD_DIR", "HILO_SOURCE_DIR")}
    return env


# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

class RedisServer:
    """A real redis-server on a free 127.0.0.1 port, data in `workdir`/redis (AOF everysec, no
    RDB snapshots). restart() keeps the port and the directory, so the AOF is reloaded.
    acl=True: the ACL users of deploy/lib/redis_users.sh (the quickstart's), the default user
    off; their password files are in self.secrets (redis-hilo-router.pass, ...), and client()
    logs in as an admin user of the test's own.
    stamp_schema=True: the first start on an empty directory writes this build's schema version
    (hilo:{schema}), as the first router or `hilo import-debtors` does on a fresh Redis: the
    suites seed today's data layout directly, also before any router has started (a Redis with
    hilo data and no version would be data older than schema versions, which a router refuses).
    tests/integration/test_schema_migrate.py starts without it."""

    def __init__(self, workdir, port=None, unix_socket=False, acl=False, stamp_schema=True):
        self.stamp_schema = stamp_schema
        self.dir = os.path.join(workdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.log_path = os.path.join(self.dir, "redis.log")
        self.conf_path = os.path.join(self.dir, "redis.conf")
        # A unix socket too, when asked: in a short directory of its own (a socket path is
        # limited to 107 bytes; test work dirs carry the test's name).
        self.socket = None
        if unix_socket:
            sock_dir = tempfile.mkdtemp(prefix="hilo-rs-")
            self.socket = os.path.join(sock_dir, "redis.sock")
        with open(self.conf_path, "w") as f:
            f.write("bind 127.0.0.1\nport %d\nprotected-mode no\ndir %s\n"
                    "appendonly yes\nappendfsync everysec\nsave \"\"\ndaemonize no\n"
                    "logfile \"\"\nloglevel notice\n" % (self.port, self.dir))
            if self.socket:
                f.write("unixsocket %s\nunixsocketperm 700\n" % self.socket)
            if hilo_slot_guard.enabled():
                f.write(hilo_slot_guard.cluster_conf(free_port()))
        self.secrets = None
        self.admin = None
        if acl:
            self.secrets = os.path.join(workdir, "redis-secrets")
            self.admin = ("hilo-admin", "admin-%d" % random.getrandbits(64))
            env = dict(_clean_env(), HILO_REDIS_ADMIN_PASSWORD=self.admin[1])
            subprocess.run(["bash", os.path.join(SOURCE_DIR, "deploy", "lib", "redis_users.sh"), self.secrets],
                           check=True, env=env, timeout=30)
            with open(self.conf_path, "a") as f:
                f.write("aclfile %s\n" % os.path.join(self.secrets, "users.acl"))
        self.proc = None
        self.guards = []  # hilo_slot_guard.SlotGuard per start, under HILO_TEST_REDIS_CLUSTER=1

    def start(self, timeout=20):
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        fresh = not any(n.startswith(("appendonly", "dump")) for n in os.listdir(self.dir))
        self.proc = spawn([REDIS_BIN, self.conf_path], self.log_path, env=_clean_env())
        self.wait_ready(timeout)
        if hilo_slot_guard.enabled():
            hilo_slot_guard.claim_all_slots(self.client(), timeout)
            self.guards.append(hilo_slot_guard.SlotGuard(self.port, self.admin,
                                                         os.path.join(self.dir, "slot_guard.log")))
        if fresh and self.stamp_schema:
            self.client().hset(SCHEMA_KEY, mapping={"version": schema_version(), "by": "hilo_harness"})
        return self

    def wait_ready(self, timeout=20):
        def ping():
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s:\n%s"
                                     % (self.proc.returncode, tail(self.log_path)))
            try:
                return self.client(socket_timeout=1).ping()
            except Exception:
                return False
        wait_until(ping, timeout, lambda: "redis on port %d to answer PING\n%s"
                   % (self.port, tail(self.log_path)))

    def stop(self):
        """SIGTERM: Redis flushes and fsyncs the AOF, then exits."""
        return terminate(self.proc, signal.SIGTERM)

    def kill(self):
        """SIGKILL: what was written to the AOF (everysec: not yet fsynced, but in the page
        cache) survives; nothing else runs."""
        return terminate(self.proc, signal.SIGKILL)

    def restart(self, timeout=30):
        self.stop()
        return self.start(timeout)

    def freeze(self):
        """SIGSTOP: connections stay open, nothing is answered (a hung Redis)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def slot_offences(self):
        """Scripts that touched keys of more than one slot (hilo_slot_guard), since the first
        start; [] when the guard is off."""
        if self.guards and self.running():
            self.guards[-1].sync(self.client())
        return [o for g in self.guards for o in g.offences]

    def client(self, **kw):
        import redis
        kw.setdefault("socket_timeout", 10)
        if self.admin and "username" not in kw:
            kw["username"], kw["password"] = self.admin
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, **kw)


# ---------------------------------------------------------------------------------------------
# Router
# ---------------------------------------------------------------------------------------------

def read_conf(path):
    """An INI file as {section: {key: value}} (comments dropped, order kept)."""
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None,
                                   comment_prefixes=("#", ";"), strict=False)
    cp.optionxform = str
    cp.read(path)
    return {s: dict(cp.items(s)) for s in cp.sections()}


def write_conf(path, conf):
    with open(path, "w") as f:
        for section, items in conf.items():
            f.write("[%s]\n" % section)
            for k, v in items.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")


class Metrics(dict):
    """/metrics as {'name{label="v",...}': value} (the series text as the router prints it),
    plus value(name, **labels): the sum of the series of `name` whose labels include the given
    ones (0.0 when there is none)."""

    _line = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
    _label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    @classmethod
    def parse(cls, text):
        m = cls()
        m.series = []  # (name, {labels}, value)
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            g = cls._line.match(line)
            if not g:
                continue
            try:
                value = float(g.group(3))
            except ValueError:
                continue
            labels = dict(cls._label.findall(g.group(2) or ""))
            m[g.group(1) + (g.group(2) or "")] = value
            m.series.append((g.group(1), labels, value))
        return m

    def value(self, name, **labels):
        want = {k: str(v) for k, v in labels.items()}
        return sum(v for n, l, v in self.series
                   if n == name and all(l.get(k) == x for k, x in want.items()))

    def has(self, name):
        return any(n == name for n, _, _ in self.series)


def write_secret(path, text):
    """A file only its owner may read (mode 0600), as the router and connectors require."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


class LinkKeys:
    """The CURVE keys of one router's link (docs/protocol.md §2), generated with pyzmq: the
    router's key pair (secret in `router_key_file`), and one key per connector name in the
    allowlist file `allow_file` ("<public> <channels> <name>" lines). By default: "<channel>-test"
    for each channel (the reference connectors and the C connectors of that channel: one group)
    and "raw-test" for every channel (RawLink). add() lists more before the router starts."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        pub, sec = zmq.curve_keypair()
        self.router_public, self.router_secret = pub.decode(), sec.decode()
        self.router_key_file = write_secret(os.path.join(directory, "router.key"), self.router_secret)
        self.allow_file = os.path.join(directory, "link_keys")
        self.keys = {}  # name -> (public, secret, channels)
        for ch in CHANNELS:
            self.add("%s-test" % ch, [ch])
        self.add("raw-test", list(CHANNELS))

    def add(self, name, channels, listed=True):
        """A new key pair named `name` allowed for `channels` (listed=False: not in the
        allowlist, a stranger's key). Returns (public, secret)."""
        pub, sec = (k.decode() for k in zmq.curve_keypair())
        self.keys[name] = (pub, sec, list(channels))
        if listed:
            with open(self.allow_file, "a") as f:
                f.write("%s %s %s\n" % (pub, ",".join(channels), name))
        return pub, sec

    def secret_file(self, name):
        """The secret key of `name` in a file of mode 0600 (a connector's link_secret_key_file)."""
        return write_secret(os.path.join(self.dir, "%s.key" % name), self.keys[name][1])

    def client(self, name):
        """Keyword arguments for Connector / RawLink: server_key and secret_key."""
        return {"server_key": self.router_public, "secret_key": self.keys[name][1]}

    def connector_conf(self, channel, name=None):
        """A connector section's keys for the C connectors."""
        name = name or "%s-test" % channel
        return {"link_auth": "curve", "link_server_key": self.router_public,
                "link_secret_key_file": self.secret_file(name)}


class Router:
    """One hilo-router process. The config is deploy/hilo.conf with the test's values: link and
    HTTP on free 127.0.0.1 ports, the given Redis, a unique instance name, log_level info, the
    conversation engine off, and then `overrides` ({section: {key: value}}, e.g.
    {"engine": {"enabled": "true"}}). restart() keeps the ports and the config.
    clock_offset_s: the router's wall clock runs this many seconds off (Debian's libfaketime;
    monotonic time is left alone), as on a host whose clock is not synchronised.
    env: extra environment variables for the router process (e.g. systemd's NOTIFY_SOCKET and
    WATCHDOG_USEC), added to the cleaned environment at every start.
    link_auth: "curve" (the default, as in production: self.keys is the LinkKeys of its link, and
    HiloTestCase.connector() / raw_link() use them) or "none" ([router] link_auth = none)."""

    def __init__(self, redis, workdir, name="router-1", overrides=None, binary=None, clock_offset_s=None,
                 env=None, link_auth="curve"):
        self.redis = redis
        self.name = name
        self.clock_offset_s = clock_offset_s
        self.env = dict(env or {})
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.binary = binary or ROUTER_BIN
        self.link_port = free_port()
        self.http_port = free_port()
        self.link = "tcp://127.0.0.1:%d" % self.link_port
        self.conf_path = os.path.join(self.dir, "hilo.conf")
        self.log_path = os.path.join(self.dir, "router.log")
        deploy = os.path.join(SOURCE_DIR, "deploy")
        conf = read_conf(os.path.join(deploy, "hilo.conf"))
        # Relative paths in the example config are relative to deploy/; ours lives elsewhere.
        for items in conf.values():
            for k, v in items.items():
                if v and not v.startswith("/") and "://" not in v and os.path.exists(os.path.join(deploy, v)):
                    items[k] = os.path.join(deploy, v)
                elif k in ("dead_letter_file", "spool_dir") and v.startswith("/var/lib/hilo/"):
                    items[k] = os.path.join(self.dir, os.path.basename(v))  # connectors started on it
        # The router's own words to debtors ([messages]: acknowledgements, waiting, closing) only
        # where a test asks for them (tests/integration/test_system_messages.py): elsewhere they
        # would be outbound messages every test of replies, dispatch and history must count.
        conf.pop("messages", None)
        conf.setdefault("redis", {}).update({"host": "127.0.0.1", "port": str(redis.port)})
        conf.setdefault("router", {}).update({
            "instance": name, "link_bind": self.link, "http_bind": "127.0.0.1",
            "http_port": str(self.http_port), "log_level": "info"})
        self.keys = None
        if link_auth == "curve":
            self.keys = LinkKeys(os.path.join(self.dir, "keys"))
            conf["router"].update({"link_auth": "curve", "link_secret_key_file": self.keys.router_key_file,
                                   "link_keys": self.keys.allow_file})
        else:
            conf["router"]["link_auth"] = link_auth
            for k in ("link_secret_key_file", "link_keys"):
                conf["router"].pop(k, None)
        if "engine" in conf:
            # The conversation engine (bot, escalation) is off unless a test turns it on: these
            # suites check the link and the storage, and a bot reply would add outbound items.
            conf["engine"]["enabled"] = "false"
        # No outbound strategies run unless a test gives its own [strategies] dir.
        conf.setdefault("strategies", {})["dir"] = ""
        # Pacing (per-sender rate limits at hand-off) is lifted unless a test turns it on: the
        # suites send bursts from the connectors' default senders and check other things.
        conf.setdefault("pacing", {})["enabled"] = "false"
        for section, items in (overrides or {}).items():
            conf.setdefault(section, {}).update({k: str(v) for k, v in items.items()})
        self.conf = conf
        write_conf(self.conf_path, conf)
        self.proc = None
        self.starts = 0

    def start(self, wait=True, timeout=30):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError("%s is not built: cmake --build %s --target hilo-router"
                                 % (self.binary, BUILD_DIR))
        assert self.proc is None or self.proc.poll() is not None, "router already running"
        with open(self.log_path, "ab") as f:
            f.write(("--- harness: start #%d of %s ---\n" % (self.starts + 1, self.name)).encode())
        args, env = [self.binary, "-c", self.conf_path], _clean_env()
        env.update(self.env)
        if self.clock_offset_s is not None:
            # libfaketime preloaded into the router itself (the `faketime` command would fork,
            # and signals would reach the wrapper, not the router).
            libs = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
            if not libs:
                raise AssertionError("libfaketime is not installed (Debian package faketime)")
            env["LD_PRELOAD"] = libs[0]
            env["FAKETIME"] = "%+ds" % self.clock_offset_s
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            # libfaketime is preloaded ahead of an ASan build's runtime.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
        self.proc = spawn(args, self.log_path, env=env, cwd=self.dir)
        self.starts += 1
        if wait:
            self.wait_ready(timeout)
        return self

    def http_get(self, path, timeout=5):
        """(status, body text) of GET http://127.0.0.1:<http_port><path>; (None, error) when the
        connection fails."""
        url = "http://127.0.0.1:%d%s" % (self.http_port, path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as e:
            return None, str(e)

    def healthz(self):
        return self.http_get("/healthz")[0]

    def wait_health(self, status, timeout):
        """Waits until /healthz answers `status` (e.g. 503 while Redis is down)."""
        last = [None]

        def check():
            self.assert_running()
            last[0] = self.http_get("/healthz", timeout=2)
            return last[0][0] == status
        wait_until(check, timeout, lambda: "%s /healthz == %s (last: %r)\n%s"
                   % (self.name, status, last[0], tail(self.log_path)))

    def wait_ready(self, timeout=30):
        self.wait_health(200, timeout)

    def assert_running(self):
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError("%s is not running (exit status %s):\n%s" % (
                self.name, self.proc and self.proc.returncode, tail(self.log_path)))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        return terminate(self.proc, signal.SIGKILL)

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit status (SIGKILL after `timeout`)."""
        return terminate(self.proc, signal.SIGTERM, timeout)

    def restart(self, wait=True, timeout=30):
        self.stop()
        return self.start(wait, timeout)

    def freeze(self):
        """SIGSTOP: the router stays connected but silent (a hung process)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def metrics(self):
        status, body = self.http_get("/metrics")
        if status != 200:
            raise AssertionError("%s /metrics: %s %s" % (self.name, status, body[:200]))
        return Metrics.parse(body)

    def sanitizer_reports(self):
        """Lines of sanitizer reports in the log (builds with -DHILO_SANITIZE=ON)."""
        return sanitizer_reports(self.log())

    def stop_and_check(self):
        """Stops the router (SIGTERM) and fails when it did not exit with status 0 or its log
        has a sanitizer report. The cleanup HiloTestCase registers for every router."""
        was_running = self.running()
        status = self.stop()
        reports = self.sanitizer_reports()
        if reports:
            raise AssertionError("%s: sanitizer report in %s:\n%s" % (self.name, self.log_path,
                                                                     "\n".join(reports[:20])))
        if was_running and status != 0:
            raise AssertionError("%s: exit status %s after SIGTERM (want 0):\n%s"
                                 % (self.name, status, tail(self.log_path)))

    def log(self):
        """The whole log (every start of this router), "" before the first start."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, *needles):
        """Log lines containing every one of `needles`."""
        return [l for l in self.log().splitlines() if all(n in l for n in needles)]


# ---------------------------------------------------------------------------------------------
# The operator CLI and Redis data helpers
# ---------------------------------------------------------------------------------------------

def cli_path():
    """The `hilo` CLI binary, or None when it is not built."""
    return CLI_BIN if os.access(CLI_BIN, os.X_OK) else None


def run_cli(config, *args, timeout=30, check=True, input=None):
    """Runs `hilo -c <config> <args...>` (standard input: `input`, else none); returns the
    CompletedProcess (text). check=True fails with the output when the exit status is not 0."""
    cmd = [CLI_BIN, "-c", config] + [str(a) for a in args]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL if input is None else None, input=input, capture_output=True,
                       text=True, timeout=timeout, env=_clean_env())
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\nstdout: %s\nstderr: %s"
                             % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def debtor_key(debtor_id, part):
    return "hilo:{d:%s}:%s" % (debtor_id, part)


def seed_debtor(r, debtor_id, phones, pipe=None, **fields):
    """Writes a debtor the way `hilo import-debtors` does (docs/architecture.md): the record
    hash, the identity map entry of every phone (already E.164) and the debtor set."""
    p = pipe or r.pipeline(transaction=False)
    record = {"debtor_id": debtor_id, "full_name": fields.pop("full_name", "Test " + debtor_id),
              "phones": ";".join(phones), "balance": "100.00", "currency": "USD",
              "days_past_due": "30", "timezone": "America/New_York", "language": "en",
              "country": "US"}
    record.update({k: str(v) for k, v in fields.items()})
    p.hset(debtor_key(debtor_id, "debtor"), mapping=record)
    for phone in phones:
        p.set("hilo:addr:%s" % phone, debtor_id)
    p.sadd("hilo:debtors", debtor_id)
    if pipe is None:
        p.execute()


CSV_COLUMNS = ("debtor_id", "full_name", "phones", "email", "document_last4", "balance", "currency",
               "days_past_due", "timezone", "language", "country")


def import_debtors(config, workdir, rows):
    """Imports debtors with `hilo -c <config> import-debtors <csv>` (the CLI must be built:
    see cli_path()). rows: dicts with the CSV_COLUMNS keys (phones as a list or ';'-joined);
    missing columns get plausible values. Returns the CompletedProcess."""
    import csv
    path = os.path.join(workdir, "debtors-%d.csv" % int(time.time() * 1000))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for row in rows:
            d = {"full_name": "Test " + row["debtor_id"], "email": "", "document_last4": "1234",
                 "balance": "100.00", "currency": "USD", "days_past_due": "30",
                 "timezone": "America/New_York", "language": "en", "country": "US"}
            d.update(row)
            if not isinstance(d["phones"], str):
                d["phones"] = ";".join(d["phones"])
            w.writerow([d[c] for c in CSV_COLUMNS])
    return run_cli(config, "import-debtors", path)


def history(r, debtor_id):
    """The debtor's thread in order: [(stream id, item dict)]."""
    return [(eid, json.loads(f["j"])) for eid, f in r.xrange(debtor_key(debtor_id, "hist"))]


# ---------------------------------------------------------------------------------------------
# A bare link, for hand-made frames
# ---------------------------------------------------------------------------------------------

class RawLink:
    """A DEALER without any protocol logic: send arbitrary bytes, read frames. Heartbeats from
    the router are counted and skipped by recv()."""

    def __init__(self, endpoint, server_key=None, secret_key=None):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if server_key:
            curve_client(self.sock, server_key, secret_key)
        self.sock.connect(endpoint)
        self.heartbeats = 0

    def send_bytes(self, data):
        self.sock.send(data)

    def send(self, **body):
        """Sends Frame(major=1, minor=0, **body); returns the bytes sent."""
        data = pb.Frame(major=MAJOR, minor=MINOR, **body).SerializeToString()
        self.sock.send(data)
        return data

    def recv(self, timeout=10):
        """The next non-heartbeat Frame, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
                return None
            f = pb.Frame()
            f.ParseFromString(self.sock.recv())
            if f.WhichOneof("body") == "heartbeat":
                self.heartbeats += 1
                continue
            return f

    def expect(self, body, timeout=10):
        """Receives the next frame and asserts it carries `body` ("ack", "nack", ...)."""
        f = self.recv(timeout)
        if f is None:
            raise AssertionError("no %s within %.1fs" % (body, timeout))
        if f.WhichOneof("body") != body:
            raise AssertionError("expected %s, got %s" % (body, f))
        return getattr(f, body)

    def hello(self, channel, instance="raw", timeout=10):
        """Hello and its Welcome (returned)."""
        self.send(hello=pb.Hello(channel=channel_value(channel), instance=instance,
                                 software="hilo_harness.RawLink"))
        return self.expect("welcome", timeout)

    def close(self):
        self.sock.close(0)


def channel_name(channel):
    """"sms", pb.CHANNEL_SMS or 2 -> "sms"."""
    v = channel_value(channel)
    return next(name for name, value in CHANNELS.items() if value == v)


def envelope(seq, channel, pmid, from_, text="", **kw):
    """A pb.Envelope with the usual fields (sent_at_ms = now)."""
    e = pb.Envelope(seq=seq, channel=channel_value(channel), provider_message_id=pmid, text=text,
                    sent_at_ms=int(time.time() * 1000), **kw)
    setattr(e, "from", from_)
    return e


# ---------------------------------------------------------------------------------------------
# unittest base class
# ---------------------------------------------------------------------------------------------

class HiloTestCase(unittest.TestCase):
    """A work directory per test (under $HILO_TEST_TMPDIR or the system temp dir; removed on
    success, kept and printed on failure), processes and connectors stopped at cleanup (a router
    must exit 0 on SIGTERM and its log must have no sanitizer report), and the tail of every log
    printed when a test fails."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="hilo-%s-" % self._testMethodName,
                                        dir=os.environ.get("HILO_TEST_TMPDIR"))
        self._logs = []

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for name, path in getattr(self, "_logs", []):
                sys.stderr.write("\n----- %s (%s), last lines -----\n%s\n" % (name, path, tail(path, 60)))
            sys.stderr.write("work dir kept: %s\n" % getattr(self, "workdir", "?"))
        elif getattr(self, "workdir", None):
            shutil.rmtree(self.workdir, ignore_errors=True)
        return result

    def redis(self, unix_socket=False, acl=False, stamp_schema=True):
        r = RedisServer(self.workdir, unix_socket=unix_socket, acl=acl, stamp_schema=stamp_schema).start()
        self.addCleanup(r.stop)
        if hilo_slot_guard.enabled():
            self.addCleanup(self._no_slot_offences, r)
        if r.socket:
            self.addCleanup(shutil.rmtree, os.path.dirname(r.socket), True)
        self._logs.append(("redis", r.log_path))
        return r

    def _no_slot_offences(self, r):
        offences = r.slot_offences()
        # What the server refused itself (CROSSSLOT: a command or MULTI declaring keys of two
        # slots) never reaches MONITOR: the programs' logs say it.
        for name, path in self._logs:
            if name != "redis":
                offences += ["%s: %s" % (name, line.strip()[:300]) for line in tail(path, 100000).splitlines()
                             if "CROSSSLOT" in line or "non local key" in line][:5]
        if offences:
            raise AssertionError("HILO_TEST_REDIS_CLUSTER: %d access(es) to keys of more than one slot "
                                 "(%s):\n  %s" % (len(offences), os.path.join(r.dir, "slot_guard.log"),
                                                   "\n  ".join(offences)))

    def deny_keys(self, redis, *patterns):
        """A Redis fault: only keys matching `patterns` (ACL key patterns) allowed to the default
        user, until allow_all_keys (also a cleanup). Checked by Redis for every key a command or
        a script's redis.call touches: NOPERM, nothing written."""
        redis.client().execute_command("ACL", "SETUSER", "default", "resetkeys", *patterns)
        self.addCleanup(self.allow_all_keys, redis)

    def allow_all_keys(self, redis):
        try:
            if redis.running():
                redis.client().execute_command("ACL", "SETUSER", "default", "allkeys")
        except Exception:
            pass

    def router(self, redis, name="router-1", overrides=None, start=True, clock_offset_s=None, env=None,
               link_auth="curve"):
        rt = Router(redis, self.workdir, name=name, overrides=overrides, clock_offset_s=clock_offset_s, env=env,
                    link_auth=link_auth)
        self._logs.append((name, rt.log_path))
        self.addCleanup(rt.stop_and_check)
        if start:
            rt.start()
        return rt

    def connector(self, router_or_endpoint, channel, instance=None, wait=True, key=None, **kw):
        """A reference connector, session open (wait). With a Router whose link authenticates,
        it uses the router's key "<channel>-test" (or `key`, a name in router.keys)."""
        endpoint = getattr(router_or_endpoint, "link", router_or_endpoint)
        keys = getattr(router_or_endpoint, "keys", None)
        if keys is not None and "server_key" not in kw:
            kw.update(keys.client(key or "%s-test" % channel_name(channel)))
        c = Connector(endpoint, channel, instance=instance or "%s-test" % channel, **kw).start()
        self.addCleanup(c.close)
        if wait and not c.wait_session(15):
            raise AssertionError("connector %s got no Welcome from %s within 15s"
                                 % (c.instance, endpoint))
        return c

    def raw_link(self, router_or_endpoint, key="raw-test"):
        """A RawLink; to a Router whose link authenticates, with its key `key` (None: none)."""
        keys = getattr(router_or_endpoint, "keys", None)
        auth = keys.client(key) if keys is not None and key else {}
        link = RawLink(getattr(router_or_endpoint, "link", router_or_endpoint), **auth)
        self.addCleanup(link.close)
        return link
