"""The ledger never over-commits (docs/promises.md, "Commitments never exceed what is owed").

A real router with the conversation engine, the console and the test clock. A debtor owing
1,250.00 promises 300 to the bot; the payment plan the bot then offers is on the 950 left, not
on the whole balance (the defect seen from outside: 300 + 1,250 committed on a 1,250 balance).
Once pending promises cover the balance, the bot records nothing more and says why. An agent's
wrap-up promise is held to the same rule (`over_committed`), and it is settled like the bot's:
due at the end of its day where the debtor lives, in the due index, broken by the sweeper when
unpaid, kept by an imported payment.
"""

import unittest

from engine_helpers import EngineTestCase, audit, local_ms, promises
from hilo_console import Console, add_agent, escalate, run, token_for
from hilo_harness import SOURCE_DIR, debtor_key, wait_until

import os

TZ = "America/Chicago"


def pending_cents(led, currency="USD"):
    return sum(p["amount_cents"] for p in led.values()
               if p["kind"] == "promise" and p["state"] == "pending" and p["currency"] == currency)


class Ledger(EngineTestCase):
    def start(self):
        o = self.engine_overrides()
        o["console"] = {"assets_dir": os.path.join(SOURCE_DIR, "router", "console"),
                        "allowed_origins": "http://127.0.0.1:1", "offer_timeout_ms": "20000"}
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        self.router_ = self.router(self.redis_, overrides=o)
        for ch in ("whatsapp", "sms"):
            self._conns[ch] = self.connector(self.router_, ch, "%s-engine" % ch)

    def promise_to_bot(self, debtor_id, phone, last4, balance, words, cents):
        """An English-speaking debtor in Chicago, verified, who promises `words` on SMS."""
        self.import_debtors([{"debtor_id": debtor_id, "full_name": "Debtor " + debtor_id, "phones": [phone],
                              "document_last4": last4, "balance": balance, "currency": "USD",
                              "language": "en", "country": "US", "timezone": TZ}])
        self.set_clock_local(TZ, 2026, 11, 24, 10, 0)
        who = self.debtor(debtor_id, phone)
        who.say("sms", "I can pay")
        who.say("sms", last4)
        self.assertIn("Please confirm your promise", who.say("sms", words).text)
        who.say("sms", "1")
        self.assertEqual(pending_cents(promises(self.r, debtor_id)), cents)
        return who

    def test_bot_plans_and_promises_fit_the_balance(self):
        self.start()
        ruth = self.promise_to_bot("D1060", "+16505550160", "6060", "1250.00", "300 on 12/05", 30000)

        # A plan now: offered on what the promise leaves (950.00), not on the whole balance.
        t = ruth.say("sms", "I want a payment plan")
        self.assertIn("3 monthly payments of 316.67 USD", t.text)
        option = next(l.split(".")[0] for l in t.text.splitlines() if "3 monthly payments" in l)
        ruth.say("sms", option)
        ruth.say("sms", "1")
        led = promises(self.r, "D1060")
        (plan,) = [p for p in led.values() if p["kind"] == "plan"]
        self.assertEqual(plan["total_cents"], 95000)
        self.assertEqual(pending_cents(led), 125000, "300 + 950: exactly the balance, never more")

        # Everything is committed: a new promise is refused with the reason, nothing recorded.
        t = ruth.say("sms", "I will pay 100 on 12/10")
        self.assertIn("already cover your balance of 1,250.00 USD", t.text)
        t = ruth.say("sms", "I want a payment plan")
        self.assertIn("already cover your balance", t.text)
        self.assertEqual(len(promises(self.r, "D1060")), len(led))
        self.assertEqual(len(audit(self.r, "D1060", "promise")), 1)

    def test_agent_promise_is_bounded_and_settled(self):
        self.start()
        add_agent(self.router_.conf_path, "ana")
        self.promise_to_bot("D1061", "+16505550161", "6161", "500.00", "200 on 12/05", 20000)
        escalate(self.r, "D1061", channel="sms", addr="+16505550161")

        async def scenario():
            c = await Console(self.router_, token_for(self.router_, "ana")).connect()
            await c.latest("hello")
            self.assertEqual((await c.request("state", state="available"))["t"], "ok")
            await c.latest("agent", lambda m: "D1061" in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await c.request("accept", debtor="D1061"))["t"], "ok")
            # 400 on top of the bot's 200 would commit 600 of 500: refused, nothing written.
            ans = await c.request("wrapup", debtor="D1061", code="promise_to_pay", amount_cents=40000,
                                  due="2026-12-10")
            self.assertEqual(ans.get("code"), "over_committed", ans)
            self.assertEqual(len(promises(self.r, "D1061")), 1)
            # A due_ms sent by the client is not taken: the router works it out.
            ans = await c.request("wrapup", debtor="D1061", code="promise_to_pay", amount_cents=30000,
                                  due="2026-12-10", due_ms=1)
            self.assertEqual(ans["t"], "ok", ans)
            await c.close()
        run(scenario())

        led = promises(self.r, "D1061")
        (pid, p), = [(k, v) for k, v in led.items() if v.get("by") == "agent:ana"]
        due_ms = local_ms(TZ, 2026, 12, 10, 23, 59, 59) + 999       # the end of Dec 10 in Chicago
        self.assertEqual((p["amount_cents"], p["due_ms"], p["state"]), (30000, due_ms, "pending"))
        self.assertEqual(self.r.zscore("hilo:promises:due", "D1061|" + pid), due_ms)
        self.assertEqual(pending_cents(led), 50000)

        # Unpaid past Dec 10 in Chicago: broken by the sweeper, like any promise...
        self.set_clock(due_ms + 1000)
        wait_until(lambda: promises(self.r, "D1061")[pid]["state"] == "broken", 10, "the sweeper to break it")
        self.assertIn(pid, [f["j"]["id"] for _, f in audit(self.r, "D1061", "promise_broken")])
        # ... and kept after all by a late bank file paid on the day.
        out = self.import_payments([{"debtor_id": "D1061", "amount": "300.00", "currency": "USD",
                                     "paid_at": "2026-12-10", "reference": "ACH-61"}])
        self.assertIn("%s kept" % pid, out.stdout, out.stdout + out.stderr)
        self.assertEqual(promises(self.r, "D1061")[pid]["state"], "kept")


if __name__ == "__main__":
    unittest.main()
