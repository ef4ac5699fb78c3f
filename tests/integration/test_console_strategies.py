"""The outbound strategies in the console (docs/console-protocol.md, "Strategies"): supervisors
follow the strategies panel ({"t":"strategies"}) and get every loaded strategy's state and funnel
per variant and step, pushed every second and following Redis live; agents are refused and get no
push; bad requests (unknown strategy, malformed fields) are answered with clear errors; an agent's
open conversation carries the debtor's place in its strategy and its last strategy events, and
only for a conversation the agent may read. Real redis-server + hilo-router ([strategies] dir with
two files) + websocket clients; the runner's keys are seeded as strategy_run.c writes them."""

import asyncio
import os
import unittest

from hilo_harness import HiloTestCase, cli_path, debtor_key
from hilo_console import Console, add_agent, console_overrides, run, token_for
from hilo_strategies import funnel_key, place, state_key, strategy_event, write_strategies

FRIDAY_10AM_NY = 1795791600000  # Fri 2026-11-27 10:00 America/New_York

FUNNEL = {"champion|hello_whatsapp|entered": 10, "champion|hello_whatsapp|committed": 9, "champion|hello_whatsapp|sent": 8,
          "champion|hello_whatsapp|delivered": 6, "champion|hello_whatsapp|read": 3, "champion|hello_whatsapp|failed": 1,
          "champion|hello_whatsapp|replied": 2, "champion|hello_whatsapp|stopped:paid": 2,
          "champion|hello_whatsapp|refused:outside_contact_hours": 4, "sms_first|hello_sms|sent": 5,
          "sms_first|hello_sms|collected_cents": 12500, "not a funnel field": 1}


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleStrategies(HiloTestCase):
    def start(self):
        redis = self.redis()
        sdir = write_strategies(os.path.join(self.workdir, "strategies"))
        overrides = console_overrides()
        overrides["strategies"] = {"dir": sdir}
        router = self.router(redis, overrides=overrides)
        add_agent(router.conf_path, "ana")
        add_agent(router.conf_path, "bob")
        add_agent(router.conf_path, "sue", role="supervisor")
        return router, redis.client()

    def test_supervisor_panel_live_agents_refused_bad_requests(self):
        router, r = self.start()
        r.hset(funnel_key("demo_reminders"), mapping=FUNNEL)
        ta, ts = token_for(router, "ana"), token_for(router, "sue")

        async def no_push(c, seconds):
            await asyncio.sleep(seconds)
            return [m for m in c.inbox if m.get("t") == "strategies"]

        async def scenario():
            a = await Console(router, ta).connect()
            await a.latest("hello")
            # An agent asking for the supervisor's panel is refused, with or without a name,
            # and nothing is pushed to it afterwards.
            for kw in ({}, {"strategy": "demo_reminders"}, {"follow": False}):
                ans = await a.request("strategies", **kw)
                self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"), ans)
            self.assertEqual(await no_push(a, 2.5), [])

            s = await Console(router, ts).connect()
            await s.latest("hello")
            self.assertEqual((await s.request("strategies"))["t"], "ok")
            first = await s.latest("strategies")
            by_name = {x["name"]: x for x in first["strategies"]}
            # Priority order; the state as the file says while no one started or paused it.
            self.assertEqual([x["name"] for x in first["strategies"]], ["demo_reminders", "late_notice"])
            rem = by_name["demo_reminders"]
            self.assertEqual((rem["state"], rem["state_from"], rem["file_state"], rem["control"]),
                             ("paused", "file", "paused", None))
            self.assertEqual((by_name["late_notice"]["state"], by_name["late_notice"]["state_from"]),
                             ("running", "file"))
            self.assertEqual([(v["name"], v["share"], [st["name"] for st in v["steps"]]) for v in rem["variants"]],
                             [("champion", 80, ["v_whatsapp", "v_sms", "hello_whatsapp", "hello_sms", "sms_day3",
                                                "late_sms", "late_whatsapp"]),
                              ("sms_first", 20, ["v_whatsapp", "v_sms", "hello_sms", "sms_day3", "late_sms",
                                                 "late_whatsapp"])])
            self.assertEqual([(st["channel"], st["segment"]) for st in rem["variants"][0]["steps"][2:4]],
                             [("whatsapp", "early"), ("sms", "early")])
            want = {}
            for k, n in FUNNEL.items():
                if k.count("|") == 2:
                    v, st, metric = k.split("|")
                    want.setdefault(v, {}).setdefault(st, {})[metric] = n
            self.assertEqual(rem["funnel"], want)
            self.assertEqual(by_name["late_notice"]["funnel"], {})

            # Live: a count the runner bumps and a pause from the CLI reach the open panel.
            r.hincrby(funnel_key("demo_reminders"), "champion|hello_whatsapp|sent", 1)
            r.set(state_key("demo_reminders"), "running")
            live = await s.latest("strategies", lambda m: m["strategies"][0]["funnel"]["champion"]["hello_whatsapp"]
                                  ["sent"] == 9 and m["strategies"][0]["state"] == "running", timeout=10)
            self.assertEqual(live["strategies"][0]["state_from"], "control")

            # Bad requests: each answered with a clear error, the panel carries on.
            for kw, code in (({"strategy": "nope"}, "not_found"), ({"strategy": 7}, "bad_request"),
                             ({"strategy": "Bad Name"}, "bad_request"), ({"strategy": "a|b"}, "bad_request"),
                             ({"follow": "no"}, "bad_request")):
                ans = await s.request("strategies", **kw)
                self.assertEqual((ans["t"], ans.get("code")), ("error", code), (kw, ans))
                self.assertTrue(ans.get("text"), ans)
            self.assertIn("nope", (await s.request("strategies", strategy="nope"))["text"])

            # One strategy only.
            self.assertEqual((await s.request("strategies", strategy="late_notice"))["t"], "ok")
            one = await s.latest("strategies", lambda m: len(m["strategies"]) == 1)
            self.assertEqual(one["strategies"][0]["name"], "late_notice")
            await asyncio.sleep(1.5)
            self.assertTrue(all(len(m["strategies"]) == 1 for m in s.inbox if m.get("t") == "strategies"))

            # Stop following: no more pushes.
            self.assertEqual((await s.request("strategies", follow=False))["t"], "ok")
            await asyncio.sleep(0.3)  # a push already on the wire may still land
            s.inbox = [m for m in s.inbox if m.get("t") != "strategies"]
            self.assertEqual(await no_push(s, 2.5), [])
            await a.close()
            await s.close()

        run(scenario())

    def test_debtor_panel_shows_the_step_to_whoever_may_read_it(self):
        router, r = self.start()
        for d, agent in (("D1", "ana"), ("D2", "bob"), ("D3", "ana")):
            r.hset(debtor_key(d, "conv"), mapping={"state": "assigned", "agent": agent, "last_channel": "sms"})
        r.hset(debtor_key("D1", "conv"), "strat", place("due", "demo_reminders", "sms_day3", at_ms=FRIDAY_10AM_NY,
                                                        last="hello_whatsapp", sent_ms=1795550000000))
        r.hset(debtor_key("D2", "conv"), "strat",
               place("stop", "demo_reminders", "hello_whatsapp", why="paid", prev="due"))
        strategy_event(r, "D1", "entered", step="hello_whatsapp", reason="all", ms=1)
        r.xadd(debtor_key("D1", "audit"), {"ev": "outbound", "ch": "whatsapp", "ref": "o-1"})
        strategy_event(r, "D1", "skipped", step="hello_whatsapp", reason="opted_out", ms=2)
        strategy_event(r, "D1", "scheduled", step="sms_day3", ms=3)
        r.xadd(debtor_key("D1", "audit"), {"ev": "blocked", "j": "{}"})
        ta, ts = token_for(router, "ana"), token_for(router, "sue")

        async def scenario():
            a = await Console(router, ta).connect()
            await a.latest("hello")
            self.assertEqual((await a.request("open", debtor="D1"))["t"], "ok")
            d1 = await a.latest("conv", lambda m: m["debtor"] == "D1")
            # Not hers: refused as any other read, and no conversation (nor its strategy) sent.
            ans = await a.request("open", debtor="D2")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"))
            self.assertEqual((await a.request("open", debtor="D3"))["t"], "ok")
            d3 = await a.latest("conv", lambda m: m["debtor"] == "D3")
            await asyncio.sleep(0.5)
            self.assertFalse([m for m in a.inbox if m.get("t") == "conv" and m.get("debtor") == "D2"])
            s = await Console(router, ts).connect()
            await s.latest("hello")
            self.assertEqual((await s.request("open", debtor="D2"))["t"], "ok")
            d2 = await s.latest("conv", lambda m: m["debtor"] == "D2")
            await a.close()
            await s.close()
            return d1, d2, d3

        d1, d2, d3 = run(scenario())
        cur = d1["strategy"]["current"]
        self.assertEqual({k: cur[k] for k in ("state", "strategy", "variant", "step", "last", "at_ms", "channel")},
                         {"state": "due", "strategy": "demo_reminders", "variant": "champion", "step": "sms_day3",
                          "last": "hello_whatsapp", "at_ms": FRIDAY_10AM_NY, "channel": "sms"})
        # Newest first, only the strategy's entries.
        self.assertEqual([(e["event"], e["step"], e.get("reason")) for e in d1["strategy"]["events"]],
                         [("scheduled", "sms_day3", None), ("skipped", "hello_whatsapp", "opted_out"),
                          ("entered", "hello_whatsapp", "all")])
        self.assertEqual((d2["strategy"]["current"]["state"], d2["strategy"]["current"]["why"]), ("stop", "paid"))
        self.assertEqual(d2["strategy"]["current"]["template"], "hello_limited_v1")
        self.assertIsNone(d3["strategy"])


if __name__ == "__main__":
    unittest.main()
