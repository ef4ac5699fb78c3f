"""Ids cannot be probed (docs/security.md, "What ids tell"): an agent gets the same answer for a
debtor id that does not exist and for one whose conversation is not theirs, for every message
that names a debtor; a supervisor may learn that a conversation is absent. A supervisor (console
or CLI) operating on an agent that does not exist gets "no such agent" and nothing is written,
including ids that are other keys' suffixes ("ana:live"). Real redis-server + hilo-router +
websocket clients."""

import unittest

from hilo_harness import HiloTestCase, cli_path, run_cli
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for

MESSAGES = [("accept", {}), ("decline", {}), ("open", {}), ("note", {"text": "hello"}),
            ("reply", {"channel": "sms", "text": "hello"}), ("transfer", {"to_queue": "en.dispute"}),
            ("wrapup", {"code": "other", "comment": "x"}), ("close", {})]


def answer(m):
    """What an answer tells: everything but its rid."""
    return {k: v for k, v in m.items() if k != "rid"}


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class Probing(HiloTestCase):
    def start(self):
        self.r = self.redis()
        self.rt = self.router(self.r, overrides=console_overrides())
        add_agent(self.rt.conf_path, "ana")
        add_agent(self.rt.conf_path, "sue", role="supervisor")
        escalate(self.r.client(), "D1")  # queued, offered to nobody: not ana's
        return self.rt

    def test_an_agent_cannot_tell_absent_from_not_hers(self):
        rt = self.start()
        ta, ts = token_for(rt, "ana"), token_for(rt, "sue")

        async def scenario():
            a = await Console(rt, ta).connect()
            await a.latest("hello")
            for t, kw in MESSAGES:
                there = answer(await a.request(t, debtor="D1", **kw))
                absent = answer(await a.request(t, debtor="D404", **kw))
                self.assertEqual(there, absent, t)
                self.assertIn(there.get("t"), ("error", "reply_result"), (t, there))
            s = await Console(rt, ts).connect()
            await s.latest("hello")
            # A supervisor may learn that it is absent.
            self.assertEqual((await s.request("accept", debtor="D404"))["code"], "not_found")
            await a.close()
            await s.close()

        run(scenario())
        self.assertFalse(self.r.client().exists("hilo:{d:D404}:conv"))

    def test_no_keys_for_agents_that_do_not_exist(self):
        rt = self.start()
        ts, ta = token_for(rt, "sue"), token_for(rt, "ana")
        r = self.r.client()

        async def scenario():
            a = await Console(rt, ta).connect()
            await a.latest("hello")
            self.assertEqual((await a.request("state", state="available"))["t"], "ok")  # hilo:agent:ana:live
            s = await Console(rt, ts).connect()
            await s.latest("hello")
            for target in ("nobody", "ana:live", "ana:sessions", "x y"):
                m = await s.request("state", agent=target, state="available")
                self.assertEqual((m["t"], m.get("code")), ("error", "unknown_agent"), (target, m))
            escalate(r, "D2")
            m = await s.request("transfer", debtor="D2", to_agent="ana:live")
            self.assertEqual(m.get("code"), "unknown_agent", m)
            m = await s.request("transfer", debtor="D2", to_agent="nobody")
            self.assertEqual(m.get("code"), "unknown_agent", m)
            # An agent naming another (odd) id is refused as for any other agent's state.
            m = await a.request("state", agent="ana:live", state="away")
            self.assertEqual(m.get("code"), "forbidden", m)
            await a.close()
            await s.close()

        run(scenario())
        for op in ("disable", "enable", "logout"):
            p = run_cli(rt.conf_path, "agent", op, "nobody", check=False)
            self.assertNotEqual(p.returncode, 0, (op, p.stdout))
            self.assertIn("no agent 'nobody'", p.stderr)
        p = run_cli(rt.conf_path, "agent", "passwd", "nobody", "--password-env", "NOPE", check=False)
        self.assertNotEqual(p.returncode, 0)
        keys = set(r.scan_iter("hilo:agent:*"))
        self.assertFalse([k for k in keys if "nobody" in k or k.startswith("hilo:agent:ana:live:")
                          or k.startswith("hilo:agent:ana:sessions:")], keys)
        self.assertEqual(r.smembers("hilo:agents"), {"ana", "sue"})
        self.assertEqual(r.smembers("hilo:agents:available"), {"ana"})


if __name__ == "__main__":
    unittest.main()
