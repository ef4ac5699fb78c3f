"""The access log (docs/security.md, "Who opened which record"): every `open` of a debtor's
record in the console is written to the debtor's and the person's access streams; supervisors
read them over the websocket ({"t":"access_log"}) and with `hilo access-log`; agents may not.
A refused open is not an access. Real redis-server + hilo-router + websocket clients + the CLI."""

import json
import time
import unittest

from hilo_harness import HiloTestCase, cli_path, run_cli
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class AccessLog(HiloTestCase):
    def test_opens_are_logged_and_supervisors_read_them(self):
        r = self.redis()
        rt = self.router(r, overrides=console_overrides())
        add_agent(rt.conf_path, "ana")
        add_agent(rt.conf_path, "sue", role="supervisor")
        rc = r.client()
        escalate(rc, "D1")
        escalate(rc, "D2")
        escalate(rc, "D3", skill="es.dispute")  # never offered to ana
        ta, ts = token_for(rt, "ana"), token_for(rt, "sue")
        t0 = int(time.time() * 1000)

        async def scenario():
            a = await Console(rt, ta).connect()
            await a.latest("hello")
            await a.request("state", state="available")
            await a.latest("agent", lambda m: any(o["debtor"] == "D1" for o in m["offers"]) or
                           any(o["debtor"] == "D2" for o in m["offers"]), timeout=15)
            offered = [o["debtor"] for o in (await a.latest("agent", lambda m: m["offers"]))["offers"]]
            mine = offered[0]
            self.assertEqual((await a.request("open", debtor=mine))["t"], "ok")
            other = "D2" if mine == "D1" else "D1"
            self.assertEqual((await a.request("open", debtor="D3"))["t"], "error")  # refused: not logged
            # Agents cannot read the log.
            self.assertEqual((await a.request("access_log", debtor=mine)).get("code"), "forbidden")
            s = await Console(rt, ts).connect()
            await s.latest("hello")
            self.assertEqual((await s.request("open", debtor=other))["t"], "ok")
            by_debtor = await s.request("access_log", debtor=mine)
            by_ana = await s.request("access_log", agent="ana")
            by_sue = await s.request("access_log", agent="sue")
            both = await s.request("access_log", debtor=other, agent="ana")
            self.assertEqual((await s.request("access_log")).get("code"), "bad_request")
            await a.close()
            await s.close()
            return mine, other, offered, by_debtor, by_ana, by_sue, both

        mine, other, offered, by_debtor, by_ana, by_sue, both = run(scenario())
        e = by_debtor["entries"]
        self.assertEqual([(x["agent"], x["role"], x["debtor"]) for x in e], [("ana", "agent", mine)], e)
        self.assertTrue(t0 <= e[0]["ms"] <= int(time.time() * 1000), e)
        self.assertEqual([x["debtor"] for x in by_ana["entries"]], [mine])
        self.assertFalse(rc.exists("hilo:{d:D3}:access"))
        self.assertEqual([(x["agent"], x["role"], x["debtor"]) for x in by_sue["entries"]],
                         [("sue", "supervisor", other)])
        self.assertEqual(both["entries"], [])
        # The keys follow the cluster rule (the debtor's tag, the person's tag), capped streams.
        self.assertEqual(rc.type("hilo:{d:%s}:access" % mine), "stream")
        self.assertEqual(rc.type("hilo:{a:ana}:access"), "stream")
        # The CLI reads the same.
        out = run_cli(rt.conf_path, "access-log", "--debtor", mine).stdout.splitlines()
        self.assertEqual(len(out), 2, out)
        self.assertIn("ana", out[1])
        self.assertIn(mine, out[1])
        js = [json.loads(l) for l in run_cli(rt.conf_path, "access-log", "--agent", "sue", "--json").stdout.splitlines()]
        self.assertEqual([(j["agent"], j["role"], j["debtor"]) for j in js], [("sue", "supervisor", other)])
        self.assertEqual(run_cli(rt.conf_path, "access-log", check=False).returncode, 64)


if __name__ == "__main__":
    unittest.main()
