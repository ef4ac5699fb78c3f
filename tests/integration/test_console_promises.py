"""Promises and payment plans changed from the console ({"t":"promise_edit"} and
{"t":"promise_cancel"}, agent_ops.lua, router/src/console/routing.c): the assigned agent edits a
pending promise (a new amount within what the balance leaves, a new due day that becomes the end
of that day where the debtor lives, the due index moved, audited with what it was) and cancels
it (out of the due index, commits nothing, no longer stops the debtor's strategy in `hilo
strategy plan`, the strategy runners asked to look again); a supervisor cancels a plan (its
instalments not yet kept cancelled, the kept one left, the plan final); the assigned agent
records a plan ({"t":"plan"}: total, instalments, first due day) as the bot's ledger code writes
one, within the open balance; every bad request is refused with its reason and changes nothing.
The router runs on the test clock (Tuesday 2026-11-24, 10:00 in Bogotá) and due days are days
after it: no test depends on today; the console's checks read that clock ("One clock")."""

import json
import os
import unittest

import datetime
import zoneinfo

from hilo_harness import (HiloTestCase, SOURCE_DIR, TEST_CLOCK_OVERRIDES, cli_path, debtor_key, import_debtors,
                          run_cli, use_workday_clock)
from hilo_console import add_agent, console_overrides, escalate, online, run

DEMO = os.path.join(SOURCE_DIR, "deploy", "strategies", "demo.strategy")
D = "PR-1"
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")


def day_end_bogota(y, m, d):
    """The last ms of that day in Bogotá: when a promise due that day is due."""
    return int(datetime.datetime(y, m, d, tzinfo=BOGOTA).timestamp() * 1000) + 86400000 - 1


DUE_END_BOGOTA = day_end_bogota(2027, 2, 1)


def fnv(debtor, n):
    h = 2166136261
    for b in debtor.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % n


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsolePromises(HiloTestCase):
    def setUp(self):
        super().setUp()
        redis = self.redis()
        self.r = redis.client()
        use_workday_clock(self.r)  # 2026-11-24 10:00 in Bogotá
        ov = console_overrides()
        ov["engine"].update(TEST_CLOCK_OVERRIDES["engine"])
        self.rtr = self.router(redis, overrides=ov)
        for a in ("ana", "ben"):
            add_agent(self.rtr.conf_path, a, capacity="whatsapp=2,sms=0,voice=0")
        add_agent(self.rtr.conf_path, "boss", role="supervisor", skills="")
        self.r = redis.client()
        import_debtors(self.rtr.conf_path, self.workdir, [
            {"debtor_id": D, "full_name": "Promise Keeper", "phones": "+573001234567", "balance": "1000.00",
             "currency": "COP", "timezone": "America/Bogota", "country": "CO", "language": "es"}])

    def ledger(self):
        return {k: json.loads(v) for k, v in self.r.hgetall(debtor_key(D, "promises")).items()}

    def audit(self, ev):
        return [json.loads(f["j"]) for _, f in self.r.xrange(debtor_key(D, "audit")) if f.get("ev") == ev]

    def excluded(self):
        p = run_cli(self.rtr.conf_path, "strategy", "plan", "--json", "--at", "2026-11-24T15:00:00Z", DEMO)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        return {x["debtor"]: x.get("excluded") for x in rows if "debtor" in x}[D]

    def test_edit_and_cancel_a_promise_and_cancel_a_plan(self):
        sched = "hilo:{p:%d}:sched" % fnv(D, 8)

        async def scenario():
            ana = await online(self.rtr, "ana")
            escalate(self.r, D, addr="+573001234567")
            await ana.latest("agent", lambda m: D in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await ana.request("accept", debtor=D))["t"], "ok")
            ans = await ana.request("wrapup", debtor=D, code="promise_to_pay", amount_cents=30000, due="2026-12-10",
                                    comment="", close=False)
            self.assertEqual(ans["t"], "ok", ans)
            (pid,) = self.ledger()
            ben = await online(self.rtr, "ben", available=False)
            boss = await online(self.rtr, "boss", available=False)

            # Refused, each with its reason; the ledger and the due index unchanged.
            before = (self.ledger(), self.r.zrange("hilo:promises:due", 0, -1, withscores=True))
            for who, kw, code, detail in [
                    (ana, dict(promise=pid, amount_cents=0), "bad_promise", "amount"),
                    (ana, dict(promise=pid, amount_cents=12.5), "bad_promise", "amount"),
                    (ana, dict(promise=pid, due="2000-01-01"), "bad_promise", "due_past"),
                    (ana, dict(promise=pid, due="tomorrow"), "bad_promise", "due"),
                    (ana, dict(promise=pid, amount_cents=100001), "over_committed", None),
                    (ana, dict(promise=pid, amount_cents=30000), "bad_promise", "unchanged"),
                    (ana, dict(promise="p-nope", amount_cents=100), "bad_promise", "unknown"),
                    (ana, dict(amount_cents=100), "bad_promise", "unknown"),
                    (ben, dict(promise=pid, amount_cents=100), "not_assigned", None)]:
                ans = await who.request("promise_edit", debtor=D, **kw)
                self.assertEqual((ans["t"], ans["code"], ans.get("detail")), ("error", code, detail), (kw, ans))
                self.assertTrue(ans["text"])
            self.assertEqual(before, (self.ledger(), self.r.zrange("hilo:promises:due", 0, -1, withscores=True)))

            # An edit: the whole balance now (the promise's own amount is not counted twice), a
            # later day, due at its end in Bogotá.
            ans = await ana.request("promise_edit", debtor=D, promise=pid, amount_cents=100000, due="2027-02-01",
                                    due_ms=1, comment="agreed by phone")
            self.assertEqual(ans["t"], "ok", ans)
            p = self.ledger()[pid]
            self.assertEqual((p["amount_cents"], p["due"], p["due_ms"], p["state"], p["edited_by"]),
                             (100000, "2027-02-01", DUE_END_BOGOTA, "pending", "ana"))
            self.assertEqual(self.r.zscore("hilo:promises:due", D + "|" + pid), DUE_END_BOGOTA)
            (ed,) = self.audit("promise_edited")
            self.assertEqual((ed["id"], ed["was"], ed["amount_cents"], ed["due"], ed["by"], ed["reason"]),
                             (pid, {"amount_cents": 30000, "due": "2026-12-10"}, 100000, "2027-02-01", "ana",
                              "agreed by phone"))
            # The console shows it.
            ans = await ana.request("open", debtor=D)
            conv = await ana.latest("conv", lambda m: m["debtor"] == D)
            self.assertEqual([(x["id"], x["amount_cents"]) for x in conv["promises"]], [(pid, 100000)])

            # A pending promise stops the strategy; cancelled, it no longer does.
            self.assertEqual(self.excluded(), "promise")
            self.r.zadd(sched, {D: 4102444800000})
            ans = await ana.request("promise_cancel", debtor=D, promise=pid, comment="debtor disputes the amount")
            self.assertEqual(ans["t"], "ok", ans)
            p = self.ledger()[pid]
            self.assertEqual((p["state"], p["cancelled_by"], p["cancel_reason"]),
                             ("cancelled", "ana", "debtor disputes the amount"))
            self.assertIsNone(self.r.zscore("hilo:promises:due", D + "|" + pid))
            self.assertEqual(self.audit("promise_cancelled")[0]["id"], pid)
            self.assertNotEqual(self.excluded(), "promise")
            self.assertEqual(self.r.zscore(sched, D), 0)  # the runners look again now
            ans = await ana.request("promise_cancel", debtor=D, promise=pid)
            self.assertEqual((ans["code"], ans["detail"]), ("bad_promise", "not_pending"))
            ans = await ana.request("promise_edit", debtor=D, promise=pid, amount_cents=500)
            self.assertEqual((ans["code"], ans["detail"]), ("bad_promise", "not_pending"))

            # A plan of three, the first instalment kept: the supervisor cancels the plan.
            plan = "p4102444800000-cafe"
            ids = [plan + ".%d" % i for i in (1, 2, 3)]
            led = {plan: {"kind": "plan", "amount_cents": 33334, "currency": "COP", "instalments": 3,
                          "total_cents": 100000, "first_due": "2027-01-01", "state": "pending",
                          "instalment_ids": ids, "kept_instalments": 1, "broken_instalments": 0}}
            for i, iid in enumerate(ids):
                led[iid] = {"kind": "promise", "amount_cents": 33334 if i < 2 else 33332, "currency": "COP",
                            "due": "2027-0%d-01" % (i + 1), "due_ms": DUE_END_BOGOTA + i, "plan": plan,
                            "instalment": i + 1, "of": 3, "state": "kept" if i == 0 else "pending"}
            self.r.hset(debtor_key(D, "promises"), mapping={k: json.dumps(v) for k, v in led.items()})
            self.r.zadd("hilo:promises:due", {D + "|" + iid: DUE_END_BOGOTA + i for i, iid in enumerate(ids[1:])})
            self.assertEqual(self.excluded(), "promise")
            ans = await ana.request("promise_cancel", debtor=D, promise=ids[1])
            self.assertEqual((ans["code"], ans["detail"]), ("bad_promise", "instalment"))
            ans = await ana.request("promise_edit", debtor=D, promise=plan, amount_cents=100)
            self.assertEqual((ans["code"], ans["detail"]), ("bad_promise", "instalment"))
            ans = await boss.request("promise_cancel", debtor=D, promise=plan, comment="replaced")
            self.assertEqual(ans["t"], "ok", ans)
            now = self.ledger()
            self.assertEqual([now[i]["state"] for i in [plan] + ids], ["cancelled", "kept", "cancelled", "cancelled"])
            self.assertEqual(self.r.zrange("hilo:promises:due", 0, -1), [])
            (pc,) = self.audit("plan_cancelled")
            self.assertEqual((pc["id"], pc["instalments_cancelled"], pc["by"]), (plan, ids[1:], "boss"))
            self.assertNotEqual(self.excluded(), "promise")

            # Cancelled promises commit nothing: the whole balance may be promised again.
            ans = await ana.request("wrapup", debtor=D, code="promise_to_pay", amount_cents=100000, due="2027-03-01",
                                    comment="", close=False)
            self.assertEqual(ans["t"], "ok", ans)
            for c in (ana, ben, boss):
                await c.close()
        run(scenario())

    def test_due_days_follow_the_test_clock(self):
        """The day before the test clock's is past, the day after is not: for a wrap-up's promise,
        an edit, a plan and a call-back alike (whatever the real date)."""
        async def scenario():
            ana = await online(self.rtr, "ana")
            escalate(self.r, D, addr="+573001234567")
            await ana.latest("agent", lambda m: D in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await ana.request("accept", debtor=D))["t"], "ok")
            wrap = dict(code="promise_to_pay", amount_cents=10000, comment="", close=False)
            ans = await ana.request("wrapup", debtor=D, due="2026-11-23", **wrap)
            self.assertEqual((ans["t"], ans.get("code"), ans.get("detail")), ("error", "bad_promise", "due_past"))
            ans = await ana.request("wrapup", debtor=D, due="2026-11-25", **wrap)
            self.assertEqual(ans["t"], "ok", ans)
            (pid,) = self.ledger()
            self.assertEqual(self.ledger()[pid]["created_ms"], int(self.r.get("hilo:test:now_ms")))
            ans = await ana.request("promise_edit", debtor=D, promise=pid, due="2026-11-23")
            self.assertEqual((ans.get("code"), ans.get("detail")), ("bad_promise", "due_past"))
            ans = await ana.request("promise_edit", debtor=D, promise=pid, due="2026-11-26")
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual(self.ledger()[pid]["due_ms"], day_end_bogota(2026, 11, 26))
            ans = await ana.request("plan", debtor=D, instalments=2, total_cents=20000, first_due="2026-11-23")
            self.assertEqual((ans.get("code"), ans.get("detail")), ("bad_promise", "due_past"))
            ans = await ana.request("plan", debtor=D, instalments=2, total_cents=20000, first_due="2026-11-27")
            self.assertEqual(ans["t"], "ok", ans)
            cb = dict(code="callback", comment="", close=False)
            ans = await ana.request("wrapup", debtor=D, callback_at="2026-11-24T09:00", **cb)
            self.assertEqual((ans.get("code"), ans.get("detail")), ("bad_callback", "past"))
            ans = await ana.request("wrapup", debtor=D, callback_at="2026-11-24T11:00", **cb)
            self.assertEqual(ans["t"], "ok", ans)
            await ana.close()
        run(scenario())

    def test_record_a_plan(self):
        async def scenario():
            ana = await online(self.rtr, "ana")
            escalate(self.r, D, addr="+573001234567")
            await ana.latest("agent", lambda m: D in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await ana.request("accept", debtor=D))["t"], "ok")
            ben = await online(self.rtr, "ben", available=False)
            ans = await ana.request("wrapup", debtor=D, code="promise_to_pay", amount_cents=10000, due="2026-12-10",
                                    comment="", close=False)
            self.assertEqual(ans["t"], "ok", ans)
            before = self.ledger()
            for who, kw, code, detail in [
                    (ana, dict(instalments=1, total_cents=90000, first_due="2027-01-31"), "bad_request", None),
                    (ana, dict(instalments=3, total_cents="900", first_due="2027-01-31"), "bad_request", None),
                    (ana, dict(instalments=3, total_cents=90000, first_due="2027-02-30"), "bad_promise", "due"),
                    (ana, dict(instalments=3, total_cents=90000, first_due="2000-01-31"), "bad_promise", "due_past"),
                    (ana, dict(instalments=3, total_cents=90001, first_due="2027-01-31"), "over_committed", None),
                    (ben, dict(instalments=3, total_cents=90000, first_due="2027-01-31"), "not_assigned", None)]:
                ans = await who.request("plan", debtor=D, **kw)
                self.assertEqual((ans["t"], ans["code"], ans.get("detail")), ("error", code, detail), (kw, ans))
            self.assertEqual(self.ledger(), before)
            # 900.00 (what the balance leaves over the 100.00 promise) in 3, from 31 January:
            # the 31st becomes the month's last day.
            ans = await ana.request("plan", debtor=D, instalments=3, total_cents=90000, first_due="2027-01-31",
                                    comment="three months", effects={"promises": {"x": "forged"}})
            self.assertEqual(ans["t"], "ok", ans)
            led = self.ledger()
            (plan_id,) = [k for k, v in led.items() if v["kind"] == "plan"]
            plan = led[plan_id]
            self.assertEqual((plan["instalments"], plan["total_cents"], plan["amount_cents"], plan["currency"],
                              plan["first_due"], plan["state"], plan["by"]),
                             (3, 90000, 30000, "COP", "2027-01-31", "pending", "agent:ana"))
            inst = [led[i] for i in plan["instalment_ids"]]
            self.assertEqual([(p["amount_cents"], p["due"], p["instalment"], p["state"]) for p in inst],
                             [(30000, "2027-01-31", 1, "pending"), (30000, "2027-02-28", 2, "pending"),
                              (30000, "2027-03-31", 3, "pending")])
            due = dict(self.r.zrange("hilo:promises:due", 0, -1, withscores=True))
            for i, p in zip(plan["instalment_ids"], inst):
                self.assertEqual(due[D + "|" + i], p["due_ms"])
            self.assertEqual(inst[0]["due_ms"], DUE_END_BOGOTA - 86400000)  # 2027-01-31, Bogotá
            self.assertNotIn("x", led)
            (pa,) = self.audit("plan")
            self.assertEqual((pa["id"], pa["by"], pa["reason"]), (plan_id, "ana", "three months"))
            # Nothing is left to promise.
            ans = await ana.request("plan", debtor=D, instalments=2, total_cents=2, first_due="2027-01-31")
            self.assertEqual(ans["code"], "over_committed")
            for c in (ana, ben):
                await c.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
