"""Console sessions end when the account changes (docs/security.md, "Console sessions"): a
password change, a role change, `hilo agent disable` and `hilo agent logout` revoke every
session of that agent, and the agent's open consoles — on every router — are closed within a
second or two (logged_out, then close code 4401); the old tokens open nothing. The role a console
gets is the account's at connect time, never the one written into the session. Two routers on
one Redis, real redis-server, the hilo CLI, Python websockets.

Fails on the code before: sessions outlived all four (open sockets kept working, a demoted
supervisor stayed supervisor), and the CLI had no `agent disable` / `agent logout`.
"""

import asyncio
import hashlib
import time
import unittest

from hilo_harness import HiloTestCase, cli_path, run_cli
from hilo_console import PASSWORD, Console, add_agent, console_overrides, login, run, token_for

NEW_PASSWORD = "a brand new secret"


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleSessions(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        self.routers = [self.router(self.redis_, name="router-%d" % i, overrides=console_overrides())
                        for i in (1, 2)]
        self.conf = self.routers[0].conf_path
        add_agent(self.conf, "ana")
        add_agent(self.conf, "sam", role="supervisor")

    def cli(self, *args, password=None):
        import subprocess
        from hilo_harness import CLI_BIN, _clean_env
        p = subprocess.run([CLI_BIN, "-c", self.conf] + list(args), input=(password + "\n") if password else None,
                           capture_output=True, text=True, env=_clean_env(), timeout=60)
        self.assertEqual(p.returncode, 0, "%s: %s %s" % (args, p.stdout, p.stderr))
        return p.stdout

    async def open_both(self, agent, password=PASSWORD):
        """A console of `agent` on each router, each with its own login."""
        socks = []
        for rt in self.routers:
            c = await Console(rt, token_for(rt, agent, password)).connect()
            hello = await c.latest("hello")
            socks.append((c, hello))
        return socks

    async def assert_closed_soon(self, socks, within=3.0):
        t0 = time.monotonic()
        for c, _ in socks:
            m = await c.wait_for(lambda m: m.get("t") == "logged_out", within, "logged_out")
            self.assertIn("reason", m)
            code, _ = await c.wait_closed(within)
            self.assertEqual(code, 4401)
        self.assertLess(time.monotonic() - t0, within)

    async def assert_refused(self, token):
        for rt in self.routers:
            c = await Console(rt, token).connect()
            code, _ = await c.wait_closed(10)
            self.assertEqual(code, 4401, "an old token opened a console on %s" % rt.name)

    def test_password_change_ends_every_session(self):
        async def go():
            socks = await self.open_both("ana")
            old = token_for(self.routers[0], "ana")
            self.cli("agent", "passwd", "ana", password=NEW_PASSWORD)
            await self.assert_closed_soon(socks)
            await self.assert_refused(old)
            self.assertEqual(login(self.routers[0], "ana")[0], 401)
            c = await Console(self.routers[1], token_for(self.routers[1], "ana", NEW_PASSWORD)).connect()
            self.assertEqual((await c.latest("hello"))["agent"], "ana")
            await c.close()
        run(go())
        self.assertEqual(self.r.scard("hilo:agent:ana:sessions"), 1, "only the new session is left")

    def test_role_change_ends_sessions_and_the_role_comes_from_the_account(self):
        async def go():
            socks = await self.open_both("sam")
            self.assertEqual([h["role"] for _, h in socks], ["supervisor", "supervisor"])
            old = token_for(self.routers[0], "sam")
            add_agent(self.conf, "sam", role="agent")  # demoted
            await self.assert_closed_soon(socks)
            await self.assert_refused(old)
            c = await Console(self.routers[0], token_for(self.routers[0], "sam")).connect()
            self.assertEqual((await c.latest("hello"))["role"], "agent")
            ans = await c.request("floor")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"), ans)
            await c.close()
            # A session that claims "supervisor" (as one made before the demotion would) is still
            # only what the account says.
            token = "ab" * 32
            gen = self.r.hget("hilo:agent:sam", "sgen") or "0"
            key = "hilo:session:" + hashlib.sha256(token.encode()).hexdigest()
            exp = int(time.time() * 1000) + 3600000
            self.r.hset(key, mapping={"agent": "sam", "role": "supervisor", "gen": gen, "exp_ms": exp})
            c = await Console(self.routers[1], token).connect()
            self.assertEqual((await c.latest("hello"))["role"], "agent")
            await c.close()
        run(go())

    def test_disable_and_logout(self):
        async def go():
            socks = await self.open_both("ana")
            old = token_for(self.routers[0], "ana")
            out = self.cli("agent", "disable", "ana")
            self.assertIn("revoked", out)
            await self.assert_closed_soon(socks)
            await self.assert_refused(old)
            self.assertEqual(login(self.routers[0], "ana")[0], 401)
            self.cli("agent", "enable", "ana")
            socks = await self.open_both("ana")
            old = token_for(self.routers[1], "ana")
            self.cli("agent", "logout", "ana")
            await self.assert_closed_soon(socks)
            await self.assert_refused(old)
            self.assertEqual(login(self.routers[0], "ana")[0], 200, "logout does not lock the account")
        run(go())
        p = run_cli(self.conf, "agent", "disable", "nobody", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)

    def test_a_session_made_under_an_older_generation_is_void(self):
        """A login that checked the old password while the password changed stores its session
        with the old generation: the socket is refused."""
        async def go():
            token = "cd" * 32
            key = "hilo:session:" + hashlib.sha256(token.encode()).hexdigest()
            exp = int(time.time() * 1000) + 3600000
            self.cli("agent", "logout", "ana")  # generation 1
            self.r.hset(key, mapping={"agent": "ana", "role": "agent", "gen": "0", "exp_ms": exp})
            await self.assert_refused(token)
        run(go())


if __name__ == "__main__":
    unittest.main()
