"""The console with the real conversation engine: a debtor asks for a person on SMS, the engine
escalates (en.collections), the available agent is offered it and accepts; the bot then stays
silent while the debtor's next message reaches the agent live; the agent's reply passes the
compliance gate (test clock) and reaches the SMS connector as an Outbound written by agent:<id>;
a reply on a channel the debtor opted out of is blocked with the reason and never sent."""

import asyncio
import unittest

from engine_helpers import EngineTestCase
from hilo_harness import debtor_key, wait_until
from hilo_console import Console, add_agent, console_overrides, run, token_for

EN, EN_PHONE = "D1002", "+16505550142"


class ConsoleWithEngine(EngineTestCase):
    def engine_overrides(self, **engine):
        o = super().engine_overrides(**engine)
        c = console_overrides()
        o["console"] = c["console"]
        return o

    def test_escalation_offer_reply_and_gate(self):
        router = self.start_engine()
        self.import_debtors([{"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE],
                              "language": "en"}])
        now = self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)
        add_agent(router.conf_path, "ana", skills="en.collections,es.collections")
        james = self.debtor(EN, EN_PHONE)

        async def scenario():
            a = await Console(router, token_for(router, "ana")).connect()
            await a.latest("hello")
            await a.request("state", state="available")
            t = james.say("sms", "I want to talk to a person")
            self.assertTrue(t.replies)                       # the bot's handoff message
            offer = await a.latest("agent", lambda m: m["offers"], timeout=10)
            o = offer["offers"][0]
            self.assertEqual((o["debtor"], o["channel"], o["reason"], o["queue"]),
                             (EN, "sms", "requested_agent", "en.collections"))
            self.assertEqual((await a.request("accept", debtor=EN))["t"], "ok")
            self.assertEqual((await a.request("open", debtor=EN))["t"], "ok")
            conv = await a.latest("conv", lambda m: not m["readonly"])
            self.assertEqual(conv["default_channel"], "sms")
            self.assertTrue(conv["channels"]["sms"]["allowed"], conv["channels"])
            bot_items = [i for i in conv["items"] if i.get("by") == "bot"]
            self.assertTrue(bot_items, "bot turns are part of the thread")
            # The bot stays silent now; the debtor's message reaches the agent live.
            t = james.say("sms", "hello? anyone there")
            self.assertEqual(t.replies, [])
            await a.latest("conv", lambda m: any(i.get("text") == "hello? anyone there" for i in m["items"]))
            # The agent's reply goes out on SMS.
            ans = await a.request("reply", debtor=EN, channel="sms", text="Hi James, this is Ana.")
            self.assertTrue(ans["ok"], ans)
            conn = self.conn("sms")
            out = wait_until(lambda: next((x for x in list(conn.outbounds) if x.outbound_id == ans["oid"]), None),
                             10, "the agent's reply at the SMS connector")
            self.assertEqual(out.text, "Hi James, this is Ana.")
            self.assertEqual(out.debtor_id, EN)
            # Opted out of SMS: the reply is blocked, with the gate's reason, and not committed.
            self.r.hset(debtor_key(EN, "conv"), "optout:sms", str(now))
            n_out = len([1 for _ in self.r.xrange(debtor_key(EN, "hist"))])
            ans = await a.request("reply", debtor=EN, channel="sms", text="one more")
            self.assertFalse(ans["ok"])
            self.assertEqual(ans["reason"], "opted_out")
            self.assertEqual(len([1 for _ in self.r.xrange(debtor_key(EN, "hist"))]), n_out)
            await a.close()
        run(scenario())

    def test_reply_cancelled_at_handoff_is_shown_to_the_agent(self):
        """The gate decides again when the reply is handed to a connector: the agent's reply is
        committed while no SMS connector is there, the debtor opts out of SMS meanwhile, and when
        a connector comes the reply is cancelled, never sent, and the agent's view shows why."""
        router = self.start_engine()
        self.import_debtors([{"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE],
                              "language": "en"}])
        now = self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)
        add_agent(router.conf_path, "ana", skills="en.collections,es.collections")
        james = self.debtor(EN, EN_PHONE)

        async def scenario():
            a = await Console(router, token_for(router, "ana")).connect()
            await a.latest("hello")
            await a.request("state", state="available")
            james.say("sms", "I want to talk to a person")
            await a.latest("agent", lambda m: m["offers"], timeout=10)
            self.assertEqual((await a.request("accept", debtor=EN))["t"], "ok")
            self.assertEqual((await a.request("open", debtor=EN))["t"], "ok")
            await a.latest("conv", lambda m: not m["readonly"])
            self.conn("sms").close()  # no SMS connector: the reply waits in the debtor's queue
            wait_until(lambda: router.metrics().value("hilo_connectors", channel="sms") == 0, 10, "connector gone")
            ans = await a.request("reply", debtor=EN, channel="sms", text="Hi James, this is Ana.")
            self.assertTrue(ans["ok"], ans)
            self.r.hset(debtor_key(EN, "conv"), "optout:sms", str(now))  # STOP recorded meanwhile
            late = self.connector(router, "sms", "sms-late")
            conv = await a.latest("conv", lambda m: any(i.get("oid") == ans["oid"] and i.get("status")
                                                        for i in m["items"]), timeout=10)
            item = next(i for i in conv["items"] if i.get("oid") == ans["oid"])
            self.assertEqual((item["status"]["state"], item["status"]["reason"]), ("cancelled", "opted_out"))
            self.assertTrue(item["status"]["text"])
            self.assertNotIn(ans["oid"], [o.outbound_id for o in late.outbounds], "never sent")
            await a.close()
        run(scenario())

    def test_agents_reply_and_the_clock_skew(self):
        """An agent's message counts as a reply (not counted by the frequency cap) while the
        debtor's last SMS is at most reply_window (60 min) old. A last inbound up to 2 s in the
        gate's future (another router's clock) is "just now"; further ahead it is no reply at
        all, and the cap counts the message. docs/compliance.md, "Replies"."""
        router = self.start_engine()
        self.import_debtors([{"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE],
                              "language": "en"}])
        wrote = self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)
        add_agent(router.conf_path, "ana", skills="en.collections,es.collections")
        james = self.debtor(EN, EN_PHONE)
        contacts = debtor_key(EN, "contacts:sms")

        async def scenario():
            a = await Console(router, token_for(router, "ana")).connect()
            await a.latest("hello")
            await a.request("state", state="available")
            self.assertTrue(james.say("sms", "I want to talk to a person").replies)
            self.assertEqual(int(james.conv()["last_in:sms"]), wrote)   # stamped by the test clock
            await a.latest("agent", lambda m: m["offers"], timeout=10)
            self.assertEqual((await a.request("accept", debtor=EN))["t"], "ok")

            async def reply(at, text):
                self.set_clock(at)
                ans = await a.request("reply", debtor=EN, channel="sms", text=text)
                self.assertTrue(ans["ok"], ans)
                # The gate decides again at hand-off, on the clock of that moment (and the cap
                # counts there): the clock stays until the connector has the message and has
                # reported it sent, so the next message is not queued behind this one.
                c = self.conn("sms")

                def handed():
                    return next((o for o in list(c.outbounds) if o.outbound_id == ans["oid"]), None)
                o = await asyncio.to_thread(wait_until, handed, 10, "the reply %r at the connector" % text)
                rr = await asyncio.to_thread(c.wait_result, c.report_delivery(o.outbound_id, "sent"), 10)
                self.assertEqual(rr.kind, "ack", rr)
                return self.r.zcard(contacts)

            self.assertEqual(await reply(wrote + 30 * 60 * 1000, "30 minutes later"), 0)
            self.assertEqual(await reply(wrote - 2000, "2 s before, by this router's clock"), 0)
            self.assertEqual(await reply(wrote - 2001, "just over the skew"), 1)
            self.assertEqual(await reply(wrote + 61 * 60 * 1000, "61 minutes later"), 2)
            self.assertEqual(await reply(wrote - 12 * 86400 * 1000, "12 days before"), 3)
            await a.close()
        run(scenario())

    def test_bot_stays_silent_after_close_within_reopen_window(self):
        router = self.start_engine()
        self.import_debtors([{"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE],
                              "language": "en"}])
        self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)
        add_agent(router.conf_path, "ana", skills="en.collections,es.collections")
        james = self.debtor(EN, EN_PHONE)

        async def scenario():
            a = await Console(router, token_for(router, "ana")).connect()
            await a.latest("hello")
            await a.request("state", state="available")
            james.say("sms", "I want to talk to a person")
            await a.latest("agent", lambda m: m["offers"], timeout=10)
            self.assertEqual((await a.request("accept", debtor=EN))["t"], "ok")
            self.assertEqual((await a.request("wrapup", debtor=EN, code="refused", close=True))["t"], "ok")
            self.assertEqual(self.r.hget(debtor_key(EN, "conv"), "state"), "closed")
            bot_turns = len([e for e in self.r.xrange(debtor_key(EN, "audit")) if e[1]["ev"] == "bot"])
            # The debtor writes again within the reopen window: it goes back to Ana, the bot
            # does not answer in between.
            t = james.say("sms", "sorry, one more question")
            self.assertEqual(t.replies, [])
            await a.latest("agent", lambda m: EN in [o["debtor"] for o in m["offers"]], timeout=10)
            self.assertEqual(len([e for e in self.r.xrange(debtor_key(EN, "audit")) if e[1]["ev"] == "bot"]),
                             bot_turns)
            await a.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
