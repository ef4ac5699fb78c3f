"""hilo_console — helpers for the console suites (tests/integration/test_console_*.py, tests/browser).

    console_overrides(**kw)        router config overrides for the console ([console] + gate rules)
    add_agent(config, id, ...)     `hilo agent add` with the password passed through the environment
    login(router, id, password)    POST /api/login -> (status, json)
    escalate(r, debtor, skill, ...) what the engine writes when it escalates (engine_apply.lua)
    Console(router, token)         an asyncio websocket client of the JSON protocol
    post_login(router, id, pw, source, xff)  POST /api/login from a 127.0.0.x source -> (status, json, s)
    LoginFlood(router, workers)    threads posting wrong passwords for unknown ids, each from its
                                   own X-Forwarded-For address, until stop()
"""

import asyncio
import http.client
import json
import threading
import os
import subprocess
import time
import urllib.error
import urllib.request

import websockets

from hilo_harness import CLI_BIN, SOURCE_DIR, _clean_env, debtor_key

PASSWORD = "correct horse battery"


def console_overrides(offer_timeout_ms=20000, grace_ms=30000, origins="http://127.0.0.1:1", **console):
    c = {"assets_dir": os.path.join(SOURCE_DIR, "router", "console"), "allowed_origins": origins,
         "offer_timeout_ms": offer_timeout_ms, "grace_ms": grace_ms}
    c.update(console)
    # The engine stays off: escalations are written by escalate(), like engine_apply.lua does.
    return {"console": c, "engine": {"enabled": "false",
                                     "compliance_dir": os.path.join(SOURCE_DIR, "deploy", "compliance")}}


def add_agent(config, agent_id, name=None, role="agent", skills="en.collections",
              capacity="whatsapp=3,sms=3,voice=1", password=PASSWORD, phone=None):
    env = _clean_env()
    env["HILO_TEST_PW"] = password
    cmd = [CLI_BIN, "-c", config, "agent", "add", agent_id, "--name", name or ("Agent " + agent_id),
           "--role", role, "--skills", skills, "--capacity", capacity, "--password-env", "HILO_TEST_PW"]
    if phone:
        cmd += ["--phone", phone]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=env)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def login(router, agent_id, password=PASSWORD, origin=None):
    """(status, body dict) of POST /api/login."""
    req = urllib.request.Request("http://127.0.0.1:%d/api/login" % router.http_port, method="POST",
                                 data=json.dumps({"agent": agent_id, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    if origin:
        req.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, {"raw": body.decode("utf-8", "replace")}


def post_login(router, agent, password, source="127.0.0.1", xff=None, timeout=60):
    """(status, body, seconds) of POST /api/login over a connection from `source` (status 0:
    the connection failed)."""
    c = http.client.HTTPConnection("127.0.0.1", router.http_port, timeout=timeout, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if xff:
        headers["X-Forwarded-For"] = xff
    t0 = time.monotonic()
    try:
        c.request("POST", "/api/login", json.dumps({"agent": agent, "password": password}), headers)
        r = c.getresponse()
        raw = r.read()
        took = time.monotonic() - t0
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"raw": raw.decode("utf-8", "replace")}
        return r.status, body, took
    except OSError as e:
        return 0, {"raw": str(e)}, time.monotonic() - t0
    finally:
        c.close()


class LoginFlood:
    """`workers` threads posting wrong passwords for unknown ids back to back, each attempt from
    its own X-Forwarded-For address (the router must trust 127.0.0.1 as a proxy for the
    addresses to count). answers: the statuses, in no particular order."""

    def __init__(self, router, workers=16):
        self.answers = []
        self._stop = threading.Event()

        def flood(w):
            i = 0
            while not self._stop.is_set():
                i += 1
                xff = "198.%d.%d.%d" % (w, i // 250 % 250, i % 250 + 1)
                self.answers.append(post_login(router, "u%d-%d" % (w, i), "guess", xff=xff)[0])

        self._threads = [threading.Thread(target=flood, args=(w,)) for w in range(workers)]
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(120)
        return self.answers


def token_for(router, agent_id, password=PASSWORD):
    status, body = login(router, agent_id, password)
    if status != 200:
        raise AssertionError("login %s: %s %s" % (agent_id, status, body))
    return body["token"]


def escalate(r, debtor, skill="en.collections", channel="whatsapp", priority=0, reason="requested_agent",
             addr=None, now_ms=None, rev=None):
    """Puts a conversation in a human queue the way engine_apply.lua does. rev: write this value
    as the conversation's rev in the same transaction (a hand-edited record) instead of bumping it."""
    now = now_ms or int(time.time() * 1000)
    conv = debtor_key(debtor, "conv")
    fields = {"state": "queued", "esc_reason": reason, "esc_detail": "", "esc_topic": "", "esc_skill": skill,
              "esc_segment": "", "esc_priority": str(priority), "esc_ms": str(now), "queue": skill,
              "last_channel": channel, "updated_ms": str(now)}
    if addr:
        fields["addr:" + channel] = addr
    if not r.hget(conv, "created_ms"):
        fields["created_ms"] = str(now)
    # The debtor's conversation in one transaction on its slot, then the queue's index (another
    # slot: on a Redis Cluster one MULTI cannot hold both), as the engine's steps do
    # (router/src/engine_indexes.c; the router writes the entry before the script).
    p = r.pipeline(transaction=True)
    p.hset(conv, mapping=fields)
    if rev is None:
        p.hincrby(conv, "rev", 1)
    else:
        p.hset(conv, "rev", rev)
    p.execute()
    r.zadd("hilo:queue:" + skill, {debtor: now - priority * 60000})
    r.sadd("hilo:queues", skill)


class ConsoleClosed(Exception):
    pass


class Console:
    """One websocket to /ws. Messages are collected in order; wait_for() finds the next one
    matching a predicate. Use inside an asyncio coroutine."""

    def __init__(self, router, token=None, origin=None, path="/ws"):
        self.url = "ws://127.0.0.1:%d%s" % (router.http_port, path)
        if token is not None:
            self.url += "?token=" + token
        self.origin = origin
        self.ws = None
        self.inbox = []
        self.rid = 0
        self._reader = None
        self.closed = asyncio.Event() if False else None

    async def connect(self):
        kw = {"open_timeout": 10, "max_size": 8 << 20}
        if self.origin:
            kw["origin"] = self.origin
        self.ws = await websockets.connect(self.url, **kw)
        self._cond = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                if m.get("t") == "ping":
                    await self.ws.send(json.dumps({"t": "pong"}))
                async with self._cond:
                    self.inbox.append(m)
                    self._cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._cond:
                self._cond.notify_all()

    async def send(self, t, **kw):
        self.rid += 1
        kw.update({"t": t, "rid": self.rid})
        await self.ws.send(json.dumps(kw))
        return self.rid

    async def wait_for(self, pred, timeout=10, what="message", consume=True, drop_older=True):
        deadline = time.monotonic() + timeout
        async with self._cond:
            while True:
                for i, m in enumerate(self.inbox):
                    if pred(m):
                        if consume:
                            # The match and older messages of its type go; other types stay
                            # for whoever waits for them (answers to concurrent requests).
                            t = m.get("t")
                            self.inbox = [x for j, x in enumerate(self.inbox)
                                          if j > i or (j < i and (x.get("t") != t or not drop_older))]
                        return m
                if self._reader.done():
                    raise ConsoleClosed("socket closed (code %s) while waiting for %s; inbox: %s"
                                        % (self.ws.close_code, what, self.inbox[-5:]))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %s within %ss; last messages: %s" % (what, timeout, self.inbox[-5:]))
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    async def request(self, t, timeout=10, **kw):
        """Sends a request and returns its ok/error answer."""
        rid = await self.send(t, **kw)
        return await self.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("ok", "error", "reply_result"),
                                   timeout, "answer to %s" % t, drop_older=False)

    async def latest(self, t, pred=lambda m: True, timeout=10):
        """Waits for a message of type t matching pred (consuming older ones)."""
        return await self.wait_for(lambda m: m.get("t") == t and pred(m), timeout, "%s message" % t)

    async def wait_closed(self, timeout=10):
        await asyncio.wait_for(self._reader, timeout)
        return self.ws.close_code, self.ws.close_reason

    async def close(self):
        if self.ws:
            await self.ws.close()
        if self._reader:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, Exception):
                pass


def run(coro, timeout=300):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def online(router, agent, available=True):
    """agent's console, signed in (hello received); available: set to available first."""
    c = await Console(router, token_for(router, agent)).connect()
    await c.latest("hello")
    if available:
        ans = await c.request("state", state="available")
        if ans["t"] != "ok":
            raise AssertionError("%s could not become available: %r" % (agent, ans))
    return c
