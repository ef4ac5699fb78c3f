"""Console acceptance 1: the websocket refuses connections without a token, with a wrong Origin
and after logout; every message is authorised (an agent cannot read another agent's
conversation); size and rate limits. Real redis-server + hilo-router, Python websockets."""

import asyncio
import json
import unittest

import websockets

from hilo_harness import HiloTestCase, cli_path, seed_debtor
from hilo_console import (PASSWORD, Console, add_agent, console_overrides, escalate, login, run,
                          token_for)

ORIGIN = "http://console.example"


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleAuth(HiloTestCase):
    def start(self):
        self.r = self.redis()
        self.router_ = self.router(self.r, overrides=console_overrides(origins=ORIGIN, max_message=4096))
        for a in ("ana", "ben"):
            add_agent(self.router_.conf_path, a)
        return self.router_

    def test_login(self):
        router = self.start()
        status, body = login(router, "ana", "wrong password")
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"], "invalid_credentials")
        status, body = login(router, "nobody", "whatever123")
        self.assertEqual(status, 401, body)
        status, body = login(router, "ana", origin="http://evil.example")
        self.assertEqual(status, 403, body)
        status, body = login(router, "ana")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["agent"], "ana")
        self.assertEqual(body["role"], "agent")
        self.assertEqual(len(body["token"]), 64)
        # The token itself is not stored: only its hash names the session.
        self.assertFalse(self.r.client().exists("hilo:session:" + body["token"]))
        self.assertFalse(any(body["token"] in l for l in router.log().splitlines()), "token in the log")

    def test_cli_agent_commands(self):
        import subprocess
        from hilo_harness import CLI_BIN, _clean_env, run_cli
        router = self.start()
        conf = router.conf_path
        self.assertEqual(run_cli(conf, "agent", "add", "x1", "--name", "X", "--role", "boss", check=False).returncode, 64)
        self.assertEqual(run_cli(conf, "agent", "add", "bad id", "--name", "X", check=False).returncode, 64)
        self.assertEqual(run_cli(conf, "agent", "add", "x1", "--name", "X", "--capacity", "fax=2",
                                 check=False).returncode, 64)
        # stdin password, too short
        p = subprocess.run([CLI_BIN, "-c", conf, "agent", "add", "x1", "--name", "X"], input="short\n",
                           capture_output=True, text=True, env=_clean_env(), timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        p = subprocess.run([CLI_BIN, "-c", conf, "agent", "passwd", "ana"], input="a brand new secret\n",
                           capture_output=True, text=True, env=_clean_env(), timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(login(router, "ana")[0], 401)
        self.assertEqual(login(router, "ana", "a brand new secret")[0], 200)
        out = run_cli(conf, "agent", "list").stdout
        self.assertIn("ana", out)
        self.assertIn("ben", out)
        r = self.r.client()
        self.assertTrue(r.hget("hilo:agent:ana", "pwhash").startswith("$argon2id$"))
        # Changing skills moves the agent between routing sets.
        add_agent(conf, "ana", skills="es.dispute")
        self.assertEqual(r.smembers("hilo:skill:es.dispute"), {"ana"})
        self.assertNotIn("ana", r.smembers("hilo:skill:en.collections"))

    def test_refused_without_token_bad_token_wrong_origin(self):
        router = self.start()
        token = token_for(router, "ana")

        async def scenario():
            c = await Console(router).connect()                      # no token
            code, _ = await c.wait_closed()
            self.assertEqual(code, 4401)
            self.assertEqual(c.inbox[0]["code"], "unauthorized")
            c = await Console(router, "0" * 64).connect()             # unknown token
            code, _ = await c.wait_closed()
            self.assertEqual(code, 4401)
            c = await Console(router, "not-a-token").connect()        # malformed
            self.assertEqual((await c.wait_closed())[0], 4401)
            with self.assertRaises((websockets.InvalidHandshake, OSError)):
                await Console(router, token, origin="http://evil.example").connect()
            with self.assertRaises((websockets.InvalidHandshake, OSError)):
                await Console(router, token, path="/wsx").connect()
            c = await Console(router, token, origin=ORIGIN).connect()  # allowed
            hello = await c.latest("hello")
            self.assertEqual(hello["agent"], "ana")
            await c.latest("agent")
            await c.close()
        run(scenario())

    def test_logout_revokes_the_session(self):
        router = self.start()
        token = token_for(router, "ana")

        async def scenario():
            a = await Console(router, token).connect()
            b = await Console(router, token).connect()               # a second tab
            await a.latest("hello")
            await b.latest("hello")
            ans = await a.request("logout")
            self.assertEqual(ans["t"], "ok", ans)
            # Both sockets of the session are closed, the token no longer opens one.
            self.assertEqual((await b.wait_closed())[0], 4401)
            self.assertEqual((await a.wait_closed())[0], 4401)
            c = await Console(router, token).connect()
            self.assertEqual((await c.wait_closed())[0], 4401)
        run(scenario())

    def test_agent_cannot_read_another_agents_conversation(self):
        router = self.start()
        r = self.r.client()
        seed_debtor(r, "D1", ["+15550000001"])
        tok_a, tok_b = token_for(router, "ana"), token_for(router, "ben")

        async def scenario():
            a = await Console(router, tok_a).connect()
            b = await Console(router, tok_b).connect()
            await a.latest("hello")
            await b.latest("hello")
            self.assertEqual((await a.request("state", state="available"))["t"], "ok")
            escalate(r, "D1", addr="+15550000001")
            offer = await a.latest("agent", lambda m: m["offers"], timeout=15)
            self.assertEqual(offer["offers"][0]["debtor"], "D1")
            # ben is not offered D1: every read and write is refused.
            for t, kw in (("open", {}), ("reply", {"channel": "sms", "text": "hi"}), ("note", {"text": "x"}),
                          ("accept", {}), ("wrapup", {"code": "refused", "close": True})):
                ans = await b.request(t, debtor="D1", **kw)
                self.assertEqual(ans["t"] if ans["t"] != "reply_result" else "error", "error", (t, ans))
                self.assertIn(ans["code"], ("forbidden", "not_offered", "not_assigned"), (t, ans))
            self.assertFalse([m for m in b.inbox if m.get("t") == "conv"], "ben received the conversation")
            # ana may open it (offered), then accept it.
            ans = await a.request("open", debtor="D1")
            self.assertEqual(ans["t"], "ok", ans)
            conv = await a.latest("conv")
            self.assertEqual(conv["debtor"], "D1")
            self.assertTrue(conv["readonly"])
            self.assertEqual((await a.request("accept", debtor="D1"))["t"], "ok")
            conv = await a.latest("conv", lambda m: not m["readonly"])
            self.assertEqual(conv["conv"]["agent"], "ana")
            # Unknown types and bad JSON are answered, not fatal.
            await a.ws.send("{not json")
            self.assertEqual((await a.latest("error"))["code"], "bad_request")
            self.assertEqual((await a.request("launch_missiles"))["code"], "unknown_type")
            # A request without a string "t" is still answered with its rid.
            await a.ws.send(json.dumps({"t": 7, "rid": "r-7"}))
            ans = await a.wait_for(lambda m: m.get("rid") == "r-7", what="the answer to rid r-7")
            self.assertEqual((ans["t"], ans["code"]), ("error", "bad_request"))
            await a.close()
            await b.close()
        run(scenario())

    def test_size_and_rate_limits(self):
        router = self.start()
        token = token_for(router, "ana")

        async def scenario():
            c = await Console(router, token).connect()
            await c.latest("hello")
            for i in range(80):                                       # burst 40, 20/s
                await c.ws.send(json.dumps({"t": "ping"}))
            await c.wait_for(lambda m: m.get("code") == "rate_limited", what="rate_limited error")
            big = json.dumps({"t": "note", "debtor": "D1", "text": "x" * 10000})
            await c.ws.send(big)
            code, _ = await c.wait_closed()
            self.assertEqual(code, 1009)
            # The close code arrives even when the client has more on the way: the router
            # waits for the client's close instead of resetting the connection.
            c = await Console(router, token).connect()
            await c.latest("hello")
            await c.ws.send(big)
            for _ in range(200):
                try:
                    await c.ws.send(json.dumps({"t": "note", "debtor": "D1", "text": "y" * 4000}))
                except websockets.ConnectionClosed:
                    break
            code, _ = await c.wait_closed()
            self.assertEqual(code, 1009)
        run(scenario())

    def test_tls(self):
        import os
        import ssl
        import subprocess
        import urllib.request
        from hilo_harness import wait_until
        key, crt = os.path.join(self.workdir, "key.pem"), os.path.join(self.workdir, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
        self.r = self.redis()
        router = self.router(self.r, overrides=console_overrides(tls_cert=crt, tls_key=key), start=False)
        router.start(wait=False)
        add_agent(router.conf_path, "ana")
        ctx = ssl.create_default_context(cafile=crt)
        ctx.check_hostname = False
        base = "https://127.0.0.1:%d" % router.http_port

        def up():
            try:
                with urllib.request.urlopen(base + "/healthz", context=ctx, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(up, 20, "the router over TLS")
        req = urllib.request.Request(base + "/api/login", method="POST",
                                     data=json.dumps({"agent": "ana", "password": PASSWORD}).encode())
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            token = json.loads(r.read())["token"]

        async def scenario():
            ws = await websockets.connect("wss://127.0.0.1:%d/ws?token=%s" % (router.http_port, token), ssl=ctx)
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            self.assertEqual(hello["t"], "hello")
            await ws.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
