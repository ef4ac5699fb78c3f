"""connectors_stack — the whole hilo system as real processes for the end-to-end connector suites
(tests/e2e/test_connectors_*.py): redis-server, hilo-router (hilo_harness), the three reference
connectors (hilo-whatsapp, hilo-sms, hilo-voice from $HILO_BUILD_DIR) and the provider sandbox
(connectors/sandbox/sandbox.py) standing in for Meta, Twilio and the debtor's phone. Everything
on 127.0.0.1, free ports, a work dir per test; nothing is faked but the providers.

    class T(ConnectorStackCase):
        def test_x(self):
            self.start_stack(engine=True)               # redis, router, sandbox, 3 connectors
            self.seed("D1", "+16505551234")
            r = self.sandbox.send("whatsapp", "+16505551234", "hola")
            self.assertEqual(r["status"], 200)

The connectors read one generated config: the [whatsapp]/[sms]/[voice] sections of
deploy/hilo.conf with the test's ports, link endpoint, public_url and api_base (the sandbox),
then the test's overrides. The sandbox reads the same file, so secrets agree by construction.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from hilo_harness import (BUILD_DIR, INSTALLED_PREFIX, SOURCE_DIR, HiloTestCase, Metrics, debtor_key, free_port,
                          history, read_conf, sanitizer_reports, seed_debtor, spawn, tail, terminate,
                          wait_until, write_conf)

CHANNELS = ("whatsapp", "sms", "voice")
SANDBOX_PY = os.path.join(SOURCE_DIR, "connectors", "sandbox", "sandbox.py")
FLOW = os.path.join(SOURCE_DIR, "deploy", "flows", "collections.flow")
COMPLIANCE = os.path.join(SOURCE_DIR, "deploy", "compliance")
WEBHOOK_PATH = {"whatsapp": "/webhooks/whatsapp", "sms": "/webhooks/twilio/sms",
                "voice": "/webhooks/twilio/voice"}


def connector_bin(channel):
    if INSTALLED_PREFIX:
        return os.path.join(INSTALLED_PREFIX, "sbin", "hilo-" + channel)
    return os.path.join(BUILD_DIR, "connectors", channel, "hilo-" + channel)


def http(method, url, body=None, headers=None, timeout=20):
    """One HTTP request: (status, headers dict, body bytes, elapsed seconds). status None and the
    error text as body when the connection failed."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read(), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read(), time.monotonic() - t0
    except (urllib.error.URLError, OSError) as e:
        return None, {}, str(e).encode(), time.monotonic() - t0


# ---------------------------------------------------------------------------------------------
# Provider signatures, written from the providers' documentation (tests sign their own webhooks)
# ---------------------------------------------------------------------------------------------

def meta_signature(app_secret, body):
    """X-Hub-Signature-256: 'sha256=' + hex HMAC-SHA256(app secret, raw body)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature: base64 HMAC-SHA1(auth token, URL + every name+value, sorted by name,
    then value for a repeated name — the providers' vector T7)."""
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def parse_twiml(text):
    """A TwiML document → (root element, [(verb, attrs, text)] of its top-level verbs). Fails the
    caller's assertion (ValueError) when it is not a <Response>."""
    root = ET.fromstring(text)
    if root.tag != "Response":
        raise ValueError("TwiML root is <%s>, not <Response>" % root.tag)
    return root, [(v.tag, dict(v.attrib), (v.text or "").strip()) for v in root]


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------

class Sandbox:
    """connectors/sandbox/sandbox.py on a free port (read from its first stdout line)."""

    def __init__(self, workdir, conf_path, webhooks, extra_args=()):
        self.log_path = os.path.join(workdir, "sandbox.log")
        self.args = ["/usr/bin/python3", SANDBOX_PY, "--port", "0", "--config", conf_path,
                     "--whatsapp-webhook", webhooks["whatsapp"], "--sms-webhook", webhooks["sms"],
                     "--voice-webhook", webhooks["voice"], "--status-delay-ms", "20-50", "--quiet"]
        self.args += list(extra_args)
        self.proc = None
        self.port = None

    def start(self, timeout=20):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        self.proc = spawn(self.args, self.log_path, env=env)

        def port():
            if self.proc.poll() is not None:
                raise AssertionError("sandbox exited with %s:\n%s" % (self.proc.returncode, tail(self.log_path)))
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                m = re.search(r"sandbox: listening on http://[0-9.]+:(\d+)/", f.read())
            return int(m.group(1)) if m else None
        self.port = wait_until(port, timeout, lambda: "the sandbox to listen\n" + tail(self.log_path))
        self.base = "http://127.0.0.1:%d" % self.port
        return self

    def stop(self):
        return terminate(self.proc, signal.SIGTERM, 10)

    def api(self, method, path, obj=None, timeout=30):
        body = json.dumps(obj).encode() if obj is not None else None
        status, _, data, _ = http(method, self.base + path, body,
                                  {"Content-Type": "application/json"} if body else {}, timeout)
        if status is None or status >= 500:
            raise AssertionError("sandbox %s %s: %s %s" % (method, path, status, data[:300]))
        return status, json.loads(data.decode()) if data else None

    def ok(self, method, path, obj=None, timeout=30):
        status, out = self.api(method, path, obj, timeout)
        if status != 200:
            raise AssertionError("sandbox %s %s: %s %s" % (method, path, status, out))
        return out

    def send(self, channel, from_, text, **kw):
        return self.ok("POST", "/_sandbox/send", dict(channel=channel, text=text, **{"from": from_}, **kw))

    def call(self, from_):
        return self.ok("POST", "/_sandbox/call", {"from": from_})

    def input(self, sid, **kw):
        return self.ok("POST", "/_sandbox/call/%s/input" % sid, kw)

    def hangup(self, sid):
        return self.api("POST", "/_sandbox/call/%s/hangup" % sid)[1]

    def phone(self, e164):
        return self.ok("GET", "/_sandbox/phone/" + urllib.parse.quote(e164, safe=""))

    def outbound_items(self, e164, channel=None):
        return [i for i in self.phone(e164)["items"]
                if i["dir"] == "out" and (channel is None or i["channel"] == channel)]

    def calls(self, api=None):
        return self.ok("GET", "/_sandbox/calls" + ("?api=" + api if api else ""))

    def events(self, **q):
        return self.ok("GET", "/_sandbox/events" + ("?" + urllib.parse.urlencode(q) if q else ""))

    def fail(self, **rule):
        return self.ok("POST", "/_sandbox/fail", rule)


# ---------------------------------------------------------------------------------------------
# A connector process
# ---------------------------------------------------------------------------------------------

class ConnectorProc:
    """One hilo-<channel> process reading the stack's config. `port` is its webhook port (url()
    and base); /healthz and /metrics are on its metrics port (metrics_bind:metrics_port of its
    section, read from the config when it starts: admin_url())."""

    def __init__(self, channel, workdir, conf_path, port, env=None):
        self.channel = channel
        self.conf_path = conf_path
        self.port = port
        self.base = "http://127.0.0.1:%d" % port
        self.metrics_port = None
        self.log_path = os.path.join(workdir, "%s.log" % channel)
        self.env = env or {}
        self.proc = None

    def read_metrics_port(self):
        sec = read_conf(self.conf_path).get(self.channel, {})
        if not sec.get("metrics_port") or sec["metrics_port"] == "0":
            raise AssertionError("[%s] of %s has no metrics_port: connector_conf() sets one" % (self.channel,
                                                                                              self.conf_path))
        return int(sec["metrics_port"])

    def start(self, wait=True, timeout=20):
        binary = connector_bin(self.channel)
        if not os.access(binary, os.X_OK):
            raise AssertionError("%s is not built: cmake --build %s --target hilo-%s"
                                 % (binary, BUILD_DIR, self.channel))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        env.update(self.env)
        self.metrics_port = self.read_metrics_port()
        self.proc = spawn([binary, "-c", self.conf_path], self.log_path, env=env)
        if wait:
            self.wait_health(200, timeout)
        return self

    def url(self, path):
        return self.base + path

    def admin_url(self, path):
        """A URL on the metrics port (never the provider-facing one)."""
        return "http://127.0.0.1:%d%s" % (self.metrics_port or self.read_metrics_port(), path)

    def healthz(self):
        return http("GET", self.admin_url("/healthz"), timeout=3)[0]

    def wait_health(self, status, timeout):
        def check():
            if self.proc.poll() is not None:
                raise AssertionError("hilo-%s exited with %s:\n%s" % (self.channel, self.proc.returncode,
                                                                     tail(self.log_path)))
            return self.healthz() == status
        wait_until(check, timeout, lambda: "hilo-%s /healthz == %s\n%s" % (self.channel, status, tail(self.log_path)))

    def metrics(self):
        status, _, body, _ = http("GET", self.admin_url("/metrics"), timeout=5)
        if status != 200:
            raise AssertionError("hilo-%s /metrics: %s" % (self.channel, status))
        return Metrics.parse(body.decode())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self, timeout=15):
        """SIGTERM; returns (exit status, seconds it took)."""
        t0 = time.monotonic()
        status = terminate(self.proc, signal.SIGTERM, timeout)
        return status, time.monotonic() - t0

    def stop_and_check(self, max_seconds=6):
        """The cleanup of every connector: SIGTERM must end it with status 0, quickly, and its
        log must carry no sanitizer report."""
        was_running = self.running()
        status, took = self.stop()
        reports = sanitizer_reports(self.log())
        if reports:
            raise AssertionError("hilo-%s: sanitizer report:\n%s" % (self.channel, "\n".join(reports[:20])))
        if was_running and (status != 0 or took > max_seconds):
            raise AssertionError("hilo-%s: exit status %s after SIGTERM in %.1fs (want 0 within %ss):\n%s"
                                 % (self.channel, status, took, max_seconds, tail(self.log_path)))


# ---------------------------------------------------------------------------------------------
# The test case
# ---------------------------------------------------------------------------------------------

def connector_conf(router, ports, workdir, sandbox_base=None, overrides=None, metrics_ports=None):
    """The connectors' config: deploy/hilo.conf's channel sections with the test's values (the
    dead-letter files in the test's workdir: dead_letter_path(); each connector's metrics port
    from `metrics_ports`, else a free one). `router`: a harness Router (its link endpoint, and its
    link keys: each connector authenticates with the router's "<channel>-test" key, as in
    production) or a bare endpoint (then link_auth = none)."""
    router_link = getattr(router, "link", router)
    keys = getattr(router, "keys", None)
    example = read_conf(os.path.join(SOURCE_DIR, "deploy", "hilo.conf"))
    conf = {}
    for ch, port in ports.items():
        sec = dict(example.get(ch, {}))
        sec.update({
            "link_connect": router_link, "instance": "%s-e2e" % ch, "http_bind": "127.0.0.1",
            "http_port": str(port), "log_level": "info", "metrics_bind": "127.0.0.1",
            "metrics_port": str((metrics_ports or {}).get(ch) or free_port()),
            # Quick retries and a short voice deadline keep the suites short; the semantics
            # are the production ones.
            "retry_min_ms": "200", "retry_max_ms": "1000", "rate_per_s": "0", "rate_burst": "0",
            "voice_reply_deadline_ms": "2000", "webhook_deadline_ms": "5000", "stop_grace_ms": "1000",
            "dead_letter_file": dead_letter_path(workdir, ch),
        })
        if "spool_dir" in sec:  # the example's /var/lib/hilo/voice-1.spool: the test's own
            sec["spool_dir"] = os.path.join(workdir, "%s.spool" % ch)
        if keys is not None:
            sec.update(keys.connector_conf(ch))
        else:
            sec.update({"link_auth": "none", "link_server_key": ""})
        if ch in ("sms", "voice"):
            sec["public_url"] = "http://127.0.0.1:%d" % port
        if sandbox_base:
            sec["api_base"] = sandbox_base
        sec.update({k: str(v) for k, v in ((overrides or {}).get(ch) or {}).items()})
        conf[ch] = sec
    return conf


def dead_letter_path(workdir, channel):
    return os.path.join(workdir, "%s.dead-letters.jsonl" % channel)


def read_dead_letters(workdir, channel):
    """The records of a connector's dead-letter file, each a dict (docs/connectors.md)."""
    try:
        with open(dead_letter_path(workdir, channel), encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


class ConnectorStackCase(HiloTestCase):
    """HiloTestCase + the sandbox and the real connectors."""

    def setUp(self):
        missing = [c for c in CHANNELS if not os.access(connector_bin(c), os.X_OK)]
        if missing:
            self.skipTest("connectors not built: %s" % ", ".join(missing))
        super().setUp()
        self.conns = {}

    def engine_overrides(self, **router):
        o = {"engine": {"enabled": "true", "flow": FLOW, "compliance_dir": COMPLIANCE},
             "router": {"outbound_poll_ms": "20"}}
        o["router"].update({k: str(v) for k, v in router.items()})
        return o

    def start_stack(self, engine=True, channels=CHANNELS, connector_overrides=None, router_overrides=None,
                    sandbox_args=(), console_origin=False):
        """console_origin: the console takes logins from the router's own address (a browser test);
        self.origin is then that address."""
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        overrides = self.engine_overrides() if engine else {"router": {"outbound_poll_ms": "20"}}
        for sec, items in (router_overrides or {}).items():
            overrides.setdefault(sec, {}).update({k: str(v) for k, v in items.items()})
        self.router_ = self.router(self.redis_, overrides=overrides, start=not console_origin)
        if console_origin:
            self.origin = "http://127.0.0.1:%d" % self.router_.http_port
            console = self.router_.conf.setdefault("console", {})
            console["allowed_origins"] = self.origin
            console["assets_dir"] = os.path.join(SOURCE_DIR, "router", "console")
            write_conf(self.router_.conf_path, self.router_.conf)
            self.router_.start()
        if engine:
            self.assertTrue(self.router_.log_lines("engine", "event=ready"),
                            "the engine did not start:\n%s" % tail(self.router_.log_path))
        self.ports = {ch: free_port() for ch in CHANNELS}
        self.metrics_ports = {ch: free_port() for ch in CHANNELS}
        self.conf_path = os.path.join(self.workdir, "connectors.conf")
        self.connector_overrides = connector_overrides
        write_conf(self.conf_path, connector_conf(self.router_, self.ports, self.workdir, None, connector_overrides,
                                                  self.metrics_ports))
        webhooks = {ch: "http://127.0.0.1:%d%s" % (self.ports[ch], WEBHOOK_PATH[ch]) for ch in CHANNELS}
        self.sandbox = Sandbox(self.workdir, self.conf_path, webhooks, sandbox_args)
        self._logs.append(("sandbox", self.sandbox.log_path))
        self.sandbox.start()
        self.addCleanup(self.sandbox.stop)
        # The connectors' API base is the sandbox, known only now.
        self.conf = connector_conf(self.router_, self.ports, self.workdir, self.sandbox.base,
                                   connector_overrides, self.metrics_ports)
        write_conf(self.conf_path, self.conf)
        for ch in channels:
            self.start_connector(ch)
        return self

    def start_connector(self, ch, wait=True):
        c = ConnectorProc(ch, self.workdir, self.conf_path, self.ports[ch])
        self._logs.append(("hilo-" + ch, c.log_path))
        self.addCleanup(c.stop_and_check)
        self.conns[ch] = c
        return c.start(wait)

    def seed(self, debtor_id, phone, **fields):
        fields.setdefault("document_last4", "4321")
        fields.setdefault("full_name", "Ana Test")
        seed_debtor(self.r, debtor_id, [phone], **fields)

    def thread(self, debtor_id):
        return [it for _, it in history(self.r, debtor_id)]

    def ostat(self, debtor_id):
        return {k: json.loads(v) for k, v in self.r.hgetall(debtor_key(debtor_id, "ostat")).items()}

    def wait_items(self, debtor_id, pred, n, timeout, what):
        """Waits until at least n history items satisfy pred; returns them."""
        def check():
            items = [it for it in self.thread(debtor_id) if pred(it)]
            return items if len(items) >= n else None
        return wait_until(check, timeout, lambda: "%s (thread: %s)" % (what, json.dumps(self.thread(debtor_id))[-1500:]))
