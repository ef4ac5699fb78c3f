"""Historical reports (router/src/console/reports.c, report_csv.c; docs/console-protocol.md,
"Reports"): two business days in Bogota scripted on the test clock — escalations, offers,
answers, first replies within and past the SLA, dispositions, closes, an abandoned conversation —
rolled up into hilo:{r:<day>}:rollup and read back as JSON and as CSV, byte for byte (an agent
whose name has a comma and quotes); the roll-up survives the live counters; a roll-up expires
[reports] keep_days after its day began; bad ranges get clear errors; agents are refused."""

import json
import os
import unittest

from hilo_harness import HiloTestCase, TEST_CLOCK_KEY, cli_path, debtor_key, run_cli, seed_debtor, wait_until
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for
from engine_helpers import local_ms
from hilo_strategies import LATE_NOTICE, funnel_key, write_strategies

BOGOTA = "America/Bogota"
Q = "en.collections"
ANA_NAME = 'Ana "la jefa", Pérez'


def offers_of(m):
    return [o["debtor"] for o in m.get("offers", [])]


def day_number(y, m, d):
    import datetime
    return (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleReports(HiloTestCase):
    def start(self, keep_days=None, strategies=False, rollup_s=None):
        redis = self.redis()
        ov = console_overrides(business_day_zone=BOGOTA, business_day_start="00:00")
        if strategies:
            sdir = write_strategies(os.path.join(self.workdir, "strategies"))
            # Eight strategies in all: more fields than one batch of single commands would take.
            for i in range(6):
                with open(os.path.join(sdir, "late_%d.strategy" % i), "w") as f:
                    f.write(LATE_NOTICE.replace("name = late_notice", "name = late_%d" % i)
                            .replace("priority = 10", "priority = %d" % (20 + i)))
            ov["strategies"] = {"dir": sdir}
        ov["engine"]["test_clock"] = "true"
        ov["sla"] = {"first_response_s": 60}
        if keep_days or rollup_s:
            ov["reports"] = {k: v for k, v in (("keep_days", keep_days), ("rollup_s", rollup_s)) if v}
        self.rtr = self.router(redis, overrides=ov)
        add_agent(self.rtr.conf_path, "ana", name=ANA_NAME, capacity="whatsapp=0,sms=6,voice=0")
        add_agent(self.rtr.conf_path, "boss", role="supervisor", skills="")
        return redis.client()

    async def online(self, agent, available=True):
        c = await Console(self.rtr, token_for(self.rtr, agent)).connect()
        await c.latest("hello")
        if available:
            self.assertEqual((await c.request("state", state="available"))["t"], "ok")
        return c

    async def handle(self, r, ana, debtors, t0):
        """Escalated at t0 into Q; all offered to ana, who accepts them."""
        for d in debtors:
            escalate(r, d, channel="sms", addr="+1555000%s" % d[1:].zfill(4), now_ms=t0,
                     reason={"D1": "requested_agent", "D2": "dispute", "D3": "hardship"}.get(d, "requested_agent"))
        await ana.latest("agent", lambda m: set(offers_of(m)) >= set(debtors), timeout=15)
        for d in debtors:
            self.assertEqual((await ana.request("accept", debtor=d))["t"], "ok")

    async def reply(self, ana, r, debtor, at):
        r.set(TEST_CLOCK_KEY, str(at))
        ans = await ana.request("reply", debtor=debtor, channel="sms", text="Hello, this is your agent.")
        self.assertEqual((ans["t"], ans.get("ok")), ("reply_result", True), ans)
        wait_until(lambda: r.hget(debtor_key(debtor, "conv"), "resp_ms") == str(at), 10, "reply counted")

    async def close(self, ana, debtor, code):
        ans = await ana.request("wrapup", debtor=debtor, code=code, close=True)
        self.assertEqual(ans["t"], "ok", ans)

    def test_two_scripted_days_rolled_up_and_exported(self):
        r = self.start()
        day1, day2 = local_ms(BOGOTA, 2026, 11, 24, 9, 0), local_ms(BOGOTA, 2026, 11, 25, 20, 30)
        r.set(TEST_CLOCK_KEY, str(day1))
        for i in range(1, 5):
            seed_debtor(r, "D%d" % i, ["+1555000%04d" % i])

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            # Day 1 (24 Nov in Bogota): D1 answered within the 60 s target, D2 after it.
            await self.handle(r, ana, ["D1", "D2"], day1)
            await self.reply(ana, r, "D1", day1 + 30000)
            await self.reply(ana, r, "D2", day1 + 90000)
            await self.close(ana, "D1", "refused")
            await self.close(ana, "D2", "dispute")
            # Day 2, 20:30 in Bogota (already 26 Nov in UTC: the business day decides).
            r.set(TEST_CLOCK_KEY, str(day2))
            await self.handle(r, ana, ["D3"], day2)
            await self.reply(ana, r, "D3", day2 + 10000)
            self.assertEqual((await ana.request("wrapup", debtor="D3", code="other", comment="will pay"))["t"], "ok")
            await self.close(ana, "D3", "paid")
            # D4 waits and leaves the queue without an agent (the bot took it back): abandoned.
            self.assertEqual((await ana.request("state", state="away"))["t"], "ok")
            escalate(r, "D4", channel="sms", addr="+15550000004", now_ms=day2 + 20000, reason="complaint")
            wait_until(lambda: r.hget(debtor_key("D4", "conv"), "esc_counted") == "1", 10, "D4 counted")
            r.hset(debtor_key("D4", "conv"), "state", "bot")
            wait_until(lambda: r.zscore("hilo:queue:" + Q, "D4") is None, 10, "D4 left the queue")

            ans = await boss.request("report", **{"from": "2026-11-24", "to": "2026-11-25"})
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual((ans["from"], ans["to"], ans["zone"]), ("2026-11-24", "2026-11-25", BOGOTA))
            self.assertEqual(ans["agent_names"], {"ana": ANA_NAME})
            d1, d2 = ans["days"]
            self.assertEqual((d1["date"], d1["day"], d2["date"]), ("2026-11-24", day_number(2026, 11, 24), "2026-11-25"))
            self.assertEqual(d1["queues"], {Q: {"escalated": 2, "offered": 2, "answered": 2, "closed": 2,
                                                "sla_met": 1, "sla_breached": 1}})
            self.assertEqual(d1["agents"], {"ana": {"answered": 2, "closed": 2,
                                                    "dispositions": {"refused": 1, "dispute": 1}}})
            self.assertEqual(d1["reasons"], {"requested_agent": 1, "dispute": 1})
            self.assertEqual(d1["dispositions"], {"refused": 1, "dispute": 1})
            self.assertEqual(d2["queues"], {Q: {"escalated": 2, "offered": 1, "answered": 1, "closed": 1,
                                                "abandoned": 1, "sla_met": 1}})
            self.assertEqual(d2["agents"], {"ana": {"answered": 1, "closed": 1,
                                                    "dispositions": {"other": 1, "paid": 1}}})
            self.assertEqual(d2["reasons"], {"hardship": 1, "complaint": 1})
            self.assertEqual(d2["dispositions"], {"other": 1, "paid": 1})

            report = ans
            ans = await boss.request("report", format="csv", **{"from": "2026-11-24", "to": "2026-11-25"})
            self.assertEqual(ans["filename"], "hilo-report-2026-11-24-to-2026-11-25.csv")
            self.assertNotIn("days", ans)  # the file only
            name = '"Ana ""la jefa"", Pérez"'
            rows = ["date,dimension,id,name,metric,value"]
            for date, q, agent, reasons, disps in (
                    ("2026-11-24", [("escalated", 2), ("offered", 2), ("answered", 2), ("closed", 2),
                                    ("sla_met", 1), ("sla_breached", 1)],
                     [("answered", 2), ("closed", 2), ("dispositions:dispute", 1), ("dispositions:refused", 1)],
                     [("dispute", 1), ("requested_agent", 1)], [("dispute", 1), ("refused", 1)]),
                    ("2026-11-25", [("escalated", 2), ("offered", 1), ("answered", 1), ("abandoned", 1),
                                    ("closed", 1), ("sla_met", 1)],
                     [("answered", 1), ("closed", 1), ("dispositions:other", 1), ("dispositions:paid", 1)],
                     [("complaint", 1), ("hardship", 1)], [("other", 1), ("paid", 1)])):
                rows += ["%s,queue,%s,,%s,%d" % (date, Q, m, v) for m, v in q]
                rows += ["%s,agent,ana,%s,%s,%d" % (date, name, m, v) for m, v in agent]
                rows += ["%s,reason,%s,,count,%d" % (date, k, v) for k, v in reasons]
                rows += ["%s,disposition,%s,,count,%d" % (date, k, v) for k, v in disps]
            self.assertEqual(ans["csv"], "\r\n".join(rows) + "\r\n")
            # The CLI reads the same roll-ups and writes them the same way.
            conf = self.rtr.conf_path
            cli = run_cli(conf, "report", "daily", "--from", "2026-11-24", "--to", "2026-11-25", "--csv")
            self.assertEqual(cli.stdout, ans["csv"].replace("\r\n", "\n"))  # (read as text: CRLF -> LF)
            js = json.loads(run_cli(conf, "report", "daily", "--from", "2026-11-24", "--to", "2026-11-25", "--json").stdout)
            self.assertEqual((js["days"], js["agent_names"]), (report["days"], report["agent_names"]))
            table = run_cli(conf, "report", "daily", "--from", "2026-11-24", "--to", "2026-11-25").stdout.splitlines()
            self.assertEqual([line.split() for line in table[1:]],
                             [["2026-11-24", Q, "2", "2", "2", "0", "2", "50%"],
                              ["2026-11-25", Q, "2", "1", "1", "1", "1", "100%"]])
            for bad, why in ((["--from", "2026-11-25", "--to", "2026-11-24"], "in order"),
                             (["--from", "2026-13-01", "--to", "2026-12-01"], "YYYY-MM-DD"),
                             (["--from", "2026-11-24"], "usage: hilo report daily"),
                             (["--from", "2026-11-24", "--to", "2026-11-24", "--csv", "--json"], "usage: hilo report daily")):
                p = run_cli(conf, "report", "daily", *bad, check=False)
                self.assertEqual(p.returncode, 64, (bad, p.stderr))
                self.assertIn(why, p.stderr)

            # The roll-ups are their own keys: they outlive the live counters.
            for d in (day_number(2026, 11, 24), day_number(2026, 11, 25)):
                self.assertGreater(r.hlen("hilo:{r:%d}:rollup" % d), 0)
                self.assertGreater(r.pttl("hilo:stats:%d" % d), 0)  # the live counters end now
                r.delete("hilo:stats:%d" % d)
            again = await boss.request("report", **{"from": "2026-11-24", "to": "2026-11-25"})
            self.assertEqual(again["days"], report["days"])
            for c in (ana, boss):
                await c.close()
        run(scenario())

    def test_bad_requests_and_agents_refused(self):
        r = self.start()

        async def scenario():
            ana = await self.online("ana", available=False)
            boss = await self.online("boss", available=False)
            ans = await ana.request("report", **{"from": "2026-11-24", "to": "2026-11-25"})
            self.assertEqual((ans["t"], ans["code"]), ("error", "forbidden"), ans)
            for args, text in (({"from": "2026-11-24"}, "YYYY-MM-DD"),
                               ({"from": "2026-02-30", "to": "2026-03-01"}, "YYYY-MM-DD"),
                               ({"from": "2026-11-25", "to": "2026-11-24"}, "ends before it starts"),
                               ({"from": "2025-01-01", "to": "2026-11-24"}, "at most 366 days"),
                               ({"from": "2026-11-24", "to": "2026-11-24", "format": "xls"}, "json or csv")):
                ans = await boss.request("report", **args)
                self.assertEqual((ans["t"], ans["code"]), ("error", "bad_request"), ans)
                self.assertIn(text, ans["text"])
            # An empty range is an answer, not an error: days with nothing counted.
            ans = await boss.request("report", **{"from": "2026-11-01", "to": "2026-11-02"})
            self.assertEqual([d["queues"] for d in ans["days"]], [{}, {}])
            ans = await boss.request("report", format="csv", **{"from": "2026-11-01", "to": "2026-11-02"})
            self.assertEqual(ans["csv"], "date,dimension,id,name,metric,value\r\n")
            # Sixty days of a 2,000-agent floor: more than a socket may have queued (8 MB) — refused
            # with words, the socket stays up.
            first = day_number(2025, 1, 1)
            p = r.pipeline(transaction=False)
            for d in range(first, first + 60):
                p.hset("hilo:{r:%d}:rollup" % d, mapping={"a|agent%04d|%s" % (i, m): 1 for i in range(2000)
                                                          for m in ("answered", "closed", "disp:paid")})
            p.execute()
            for fmt in ("json", "csv"):
                ans = await boss.request("report", format=fmt, **{"from": "2025-01-01", "to": "2025-03-01"})
                self.assertEqual((ans["t"], ans["code"]), ("error", "too_large"), ans)
                self.assertIn("fewer days", ans["text"])
            ans = await boss.request("report", **{"from": "2025-01-01", "to": "2025-01-02"})
            self.assertEqual(len(ans["days"][1]["agents"]), 2000)
            for c in (ana, boss):
                await c.close()
        run(scenario())

    def test_a_rollup_expires_keep_days_after_its_day(self):
        r = self.start(keep_days=2)
        day1 = local_ms(BOGOTA, 2026, 11, 24, 9, 0)
        r.set(TEST_CLOCK_KEY, str(day1))
        seed_debtor(r, "D1", ["+15550000001"])
        key = "hilo:{r:%d}:rollup" % day_number(2026, 11, 24)

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            await self.handle(r, ana, ["D1"], day1)
            self.assertEqual((await boss.request("report", **{"from": "2026-11-24", "to": "2026-11-24"}))["t"], "ok")
            # Kept two days from the day's start (00:00 in Bogota): 39 h from 09:00 on the first.
            self.assertAlmostEqual(r.pttl(key) / 3600000, 39, delta=0.01)
            # 1.5 s before the end of its retention, the next pass gives it 1.5 s to live.
            end = local_ms(BOGOTA, 2026, 11, 26, 0, 0)
            r.set(TEST_CLOCK_KEY, str(end - 1500))
            self.assertEqual((await boss.request("report", **{"from": "2026-11-24", "to": "2026-11-24"}))["t"], "ok")
            self.assertLessEqual(r.pttl(key), 1500)
            wait_until(lambda: not r.exists(key), 10, "the roll-up expired")
            # Past its retention, a pass does not write it again (its live counters still exist).
            r.set(TEST_CLOCK_KEY, str(end + 1000))
            ans = await boss.request("report", **{"from": "2026-11-24", "to": "2026-11-24"})
            self.assertEqual(ans["days"][0]["queues"], {})
            self.assertFalse(r.exists(key))
            for c in (ana, boss):
                await c.close()
        run(scenario())

    def test_a_strategy_day_is_what_its_funnel_grew_that_day(self):
        r = self.start(strategies=True)
        day1, day2 = local_ms(BOGOTA, 2026, 11, 24, 9, 0), local_ms(BOGOTA, 2026, 11, 25, 10, 0)
        r.set(TEST_CLOCK_KEY, str(day1))
        # The funnel only grows (strategy_run.c): what it held before the first pass is no day's.
        r.hset(funnel_key("demo_reminders"), mapping={"champion|hello_whatsapp|sent": 5, "sms_first|hello_sms|sent": 3,
                                                      "champion|hello_whatsapp|delivered": 4,
                                                      "champion|hello_whatsapp|refused:outside_contact_hours": 9})

        async def report(boss, frm, to):
            ans = await boss.request("report", **{"from": frm, "to": to})
            self.assertEqual(ans["t"], "ok", ans)
            ans["csv"] = (await boss.request("report", format="csv", **{"from": frm, "to": to}))["csv"]
            return ans

        async def scenario():
            boss = await self.online("boss", available=False)
            ans = await report(boss, "2026-11-24", "2026-11-24")
            self.assertEqual(ans["days"][0]["strategies"], {})
            fields = r.hkeys("hilo:{r:%d}:rollup" % day_number(2026, 11, 24))
            self.assertEqual(len([f for f in fields if f.startswith("s|")]), 8 * 6 * 2, fields)
            r.hincrby(funnel_key("demo_reminders"), "champion|hello_whatsapp|sent", 3)
            r.hincrby(funnel_key("demo_reminders"), "sms_first|hello_sms|sent", 1)
            r.hincrby(funnel_key("demo_reminders"), "sms_first|hello_sms|paid", 1)
            r.hincrby(funnel_key("demo_reminders"), "sms_first|hello_sms|collected_cents", 12500)
            ans = await report(boss, "2026-11-24", "2026-11-24")
            self.assertEqual(ans["days"][0]["strategies"],
                             {"demo_reminders": {"sent": 4, "paid": 1, "collected_cents": 12500}})
            # The next day starts where the first one's last pass left the funnel.
            r.hincrby(funnel_key("demo_reminders"), "champion|hello_whatsapp|sent", 2)
            r.hincrby(funnel_key("demo_reminders"), "champion|hello_whatsapp|delivered", 2)
            r.set(TEST_CLOCK_KEY, str(day2))
            ans = await report(boss, "2026-11-24", "2026-11-25")
            self.assertEqual([d["strategies"] for d in ans["days"]],
                             [{"demo_reminders": {"sent": 4, "paid": 1, "collected_cents": 12500}},
                              {"demo_reminders": {"sent": 2, "delivered": 2}}])
            self.assertEqual(ans["csv"], "date,dimension,id,name,metric,value\r\n"
                             "2026-11-24,strategy,demo_reminders,,collected_cents,12500\r\n"
                             "2026-11-24,strategy,demo_reminders,,paid,1\r\n"
                             "2026-11-24,strategy,demo_reminders,,sent,4\r\n"
                             "2026-11-25,strategy,demo_reminders,,delivered,2\r\n"
                             "2026-11-25,strategy,demo_reminders,,sent,2\r\n")
            await boss.close()
        run(scenario())

    def test_the_routers_roll_up_on_their_own(self):
        r = self.start(rollup_s=1)
        r.set(TEST_CLOCK_KEY, str(local_ms(BOGOTA, 2026, 11, 24, 9, 0)))
        today = day_number(2026, 11, 24)
        # What the day's scripts counted, with no report asked for: the next pass copies it.
        r.hset("hilo:stats:%d" % today, mapping={"escq:%s" % Q: 3, "a:ana:closed": 2, "esc:dispute": 3})
        key = "hilo:{r:%d}:rollup" % today
        wait_until(lambda: r.hgetall(key) == {"q|%s|escalated" % Q: "3", "a|ana|closed": "2", "r|dispute": "3"}, 10,
                   "the day rolled up by the timer")
        r.hincrby("hilo:stats:%d" % today, "esc:dispute", 1)
        wait_until(lambda: r.hget(key, "r|dispute") == "4", 10, "rolled up again")


if __name__ == "__main__":
    unittest.main()
