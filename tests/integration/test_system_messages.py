"""The debtor is never left in silence (issue 25; docs/console-protocol.md, "System messages";
router/src/console/system_msg.c): the router's own messages, [messages] of hilo.conf, per kind
and language. Each is committed as a collector-initiated message and handed to a provider only
on the gate's word at hand-off: real redis-server, hilo-router, the WhatsApp and SMS connectors
and the provider sandbox; the router on the test clock (a Tuesday morning in the debtor's zone,
or the night when a test moves it).

- The acknowledgement: a conversation moved to a person's queue from the console gets one in
  the debtor's language, on the channel the debtor last wrote on; not twice in a row; refused by
  the gate at night and for a debtor who opted out of the channel (not sent, the reason in the
  audit).
- The waiting message: a conversation in a person's queue that nobody of the queue can take now
  (no agent of it available) is told so, in the queue's own words when it has them; outside the
  queue's hours ([messages] hours.<queue>, in [console] business_day_zone) the after-hours text
  instead; said once per escalation whichever router reads the event; after the bot's own
  escalation too (the engine on, the shipped flow); refused by the gate at night.
- The closing message and the satisfaction question when the agent closes the conversation, in
  that order; the debtor's answer (1 to 5) recorded on the conversation, in the audit and in the
  queue's totals shown on the supervisor's floor, the conversation left closed; both refused for a debtor who opted out."""

import json
import os
import time
import unittest

from hilo_browser import console_stack
from hilo_console import add_agent, escalate, online, run
from hilo_harness import (HiloTestCase, TEST_CLOCK_KEY, WORKDAY_10AM_MS, cli_path, debtor_key, history, seed_debtor,
                          wait_until)

D, PHONE = "SM-1", "+16505550142"
ACK_ES = "Gracias por escribirnos: un asesor le atenderá en breve."
ACK_EN = "Thank you for writing: an agent will be with you shortly."
WAIT_ES = "Todos nuestros asesores están ocupados; le atenderemos en cuanto uno quede libre."
WAIT_DISPUTE_ES = "Un especialista en reclamos revisará su caso; le escribirá en cuanto esté libre."
AFTER_ES = "Nuestro horario es de lunes a viernes de 8:00 a 18:00; le responderemos al abrir."
MESSAGES = {"default_language": "en", "ack.es": ACK_ES, "ack.en": ACK_EN, "waiting.es": WAIT_ES,
            "waiting.es.dispute.es": WAIT_DISPUTE_ES, "after_hours.es": AFTER_ES,
            "hours.es.dispute": "mon-fri 08:00-18:00"}
EXTRA = {"messages": MESSAGES, "console": {"business_day_zone": "America/New_York"}}
CLOSING_ES = "Gracias por su tiempo; damos por cerrada esta conversación."
CSAT_ES = "¿Cómo le atendimos? Responda con un número del 1 (mal) al 5 (muy bien)."
MESSAGES.update({"closing.es": CLOSING_ES, "csat.es": CSAT_ES})
HOUR_MS = 3600 * 1000


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class SystemMessages(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.stack = console_stack(self, extra=EXTRA)
        self.r = self.stack.r
        seed_debtor(self.r, D, [PHONE], full_name="Sara Silencio", language="es")
        for a in ("ana", "ben"):
            add_agent(self.stack.router.conf_path, a, capacity="whatsapp=2,sms=2,voice=0",
                      skills="en.collections,es.collections")
        add_agent(self.stack.router.conf_path, "boss", role="supervisor", skills="")
        # The dispute queue is served (an enabled account has its skill) but nobody of it is on.
        add_agent(self.stack.router.conf_path, "dora", capacity="whatsapp=2,sms=2,voice=0", skills="es.dispute")
        self.stack.debtor_says(D, PHONE, "whatsapp", "Hola, necesito ayuda con mi cuenta")

    def sent(self, text):
        """The sandbox's Graph API calls that carried text, answered 200."""
        return [c for c in self.stack.provider_calls("whatsapp")
                if text in json.dumps(c.get("body"), ensure_ascii=False) and c.get("response", {}).get("status") == 200]

    def system_items(self, kind):
        return [i for _, i in history(self.r, D) if i.get("by") == "system:" + kind]

    def audit(self, ev):
        return [f for _, f in self.r.xrange(debtor_key(D, "audit")) if f.get("ev") == ev]

    def move_to_queue(self, who, queue="es.collections"):
        """ana takes the conversation and who (ana or the supervisor) moves it to queue."""
        async def scenario():
            ana = await online(self.stack.router, "ana")
            escalate(self.r, D, channel="whatsapp", addr=PHONE, skill="en.collections")
            await ana.latest("agent", lambda m: D in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await ana.request("accept", debtor=D))["t"], "ok")
            actor = ana if who == "ana" else await online(self.stack.router, "boss", available=False)
            ans = await actor.request("transfer", debtor=D, to_queue=queue)
            self.assertEqual(ans["t"], "ok", ans)
            await ana.close()
            if actor is not ana:
                await actor.close()
        run(scenario())

    def test_acknowledged_when_moved_to_a_queue(self):
        self.move_to_queue("ana")
        wait_until(lambda: self.sent(ACK_ES), 20, "the acknowledgement recorded by the sandbox's Graph API")
        (item,) = self.system_items("ack")
        self.assertEqual((item["ch"], item["text"], item["to"]), ("whatsapp", ACK_ES, PHONE))
        self.assertEqual(self.sent(ACK_EN), [])

        # Moved again before the debtor wrote: the debtor already heard it; not said twice.
        async def again():
            boss = await online(self.stack.router, "boss", available=False)
            ans = await boss.request("transfer", debtor=D, to_queue="en.collections")
            self.assertEqual(ans["t"], "ok", ans)
            await boss.close()
        run(again())
        time.sleep(2)
        self.assertEqual(len(self.system_items("ack")), 1)
        self.assertEqual(len(self.sent(ACK_ES)), 1)

    def assert_refused(self, reason):
        wait_until(lambda: self.audit("outbound_cancelled") or self.audit("outbound_failed"), 20,
                   "the gate's refusal in the audit")
        (item,) = self.system_items("ack")
        (ev,) = [f for f in self.audit("outbound_cancelled") if f.get("ref") == item["oid"]]
        self.assertEqual(ev.get("reason"), reason, ev)
        time.sleep(1)
        self.assertEqual(self.sent(ACK_ES), [], "the gate refused it: never sent")

    def test_refused_at_night(self):
        # 23:30 in New York, the debtor's zone: outside contact hours when the ack is handed off.
        self.r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + 13 * 3600 * 1000 + 1800 * 1000))
        self.move_to_queue("ana")
        self.assert_refused("outside_contact_hours")

    def test_refused_for_a_debtor_who_opted_out(self):
        self.r.hset(debtor_key(D, "conv"), "optout:whatsapp", str(WORKDAY_10AM_MS - 60000))
        self.move_to_queue("boss")
        self.assert_refused("opted_out")


    def test_waiting_in_a_queue_nobody_can_take_now(self):
        self.move_to_queue("ana", queue="es.dispute")
        wait_until(lambda: self.sent(WAIT_DISPUTE_ES), 20, "the dispute queue's waiting message at the sandbox")
        wait_until(lambda: self.sent(ACK_ES), 20, "and the acknowledgement")
        (item,) = self.system_items("waiting")
        self.assertEqual((item["ch"], item["text"]), ("whatsapp", WAIT_DISPUTE_ES))
        self.assertEqual(self.sent(WAIT_ES), [], "the queue's own words, not every queue's")
        esc = self.r.hget(debtor_key(D, "conv"), "esc_ms")
        self.assertEqual(self.r.get(debtor_key(D, "said:waiting:" + esc)), "1")
        # The same escalation read again (another router, the same event): said once.
        self.r.xadd("hilo:console:events", {"k": "queue", "a": "", "d": D})
        time.sleep(2)
        self.assertEqual(len(self.system_items("waiting")), 1)

    def test_no_waiting_message_when_an_agent_of_the_queue_is_available(self):
        self.move_to_queue("ana")  # es.collections: ana is available
        wait_until(lambda: self.sent(ACK_ES), 20, "the acknowledgement at the sandbox")
        time.sleep(2)
        self.assertEqual(self.system_items("waiting") + self.system_items("after_hours"), [])

    def test_after_hours(self):
        # Tuesday 19:00 in New York: the dispute queue (08:00-18:00) is closed, contact hours
        # are not over: the after-hours text goes out.
        self.r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + 9 * HOUR_MS))
        self.move_to_queue("ana", queue="es.dispute")
        wait_until(lambda: self.sent(AFTER_ES), 20, "the after-hours message at the sandbox")
        self.assertEqual(self.system_items("waiting"), [])
        (item,) = self.system_items("after_hours")
        self.assertEqual(item["text"], AFTER_ES)

    def test_after_hours_refused_at_night(self):
        self.r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + 13 * HOUR_MS + 1800 * 1000))
        self.move_to_queue("ana", queue="es.dispute")
        wait_until(lambda: len(self.audit("outbound_cancelled")) >= 2, 20, "the gate's two refusals in the audit")
        (item,) = self.system_items("after_hours")
        (ev,) = [f for f in self.audit("outbound_cancelled") if f.get("ref") == item["oid"]]
        self.assertEqual(ev.get("reason"), "outside_contact_hours", ev)
        time.sleep(1)
        self.assertEqual(self.sent(AFTER_ES) + self.sent(ACK_ES), [], "refused by the gate: never sent")


    def close_it(self):
        async def scenario():
            ana = await online(self.stack.router, "ana")
            escalate(self.r, D, channel="whatsapp", addr=PHONE, skill="es.collections")
            await ana.latest("agent", lambda m: D in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await ana.request("accept", debtor=D))["t"], "ok")
            ans = await ana.request("wrapup", debtor=D, code="paid", comment="", close=True)
            self.assertEqual(ans["t"], "ok", ans)
            await ana.close()
        run(scenario())

    def test_closing_message_and_satisfaction_answer(self):
        self.close_it()
        wait_until(lambda: self.sent(CSAT_ES), 20, "the satisfaction question at the sandbox")
        self.assertEqual(len(self.sent(CLOSING_ES)), 1)
        outs = [i["by"] for _, i in history(self.r, D) if i.get("dir") == "out"]
        self.assertEqual(outs[-2:], ["system:closing", "system:csat"])
        conv = debtor_key(D, "conv")
        self.assertTrue(self.r.hget(conv, "csat_asked"))
        self.stack.debtor_says(D, PHONE, "whatsapp", " 4 ")
        wait_until(lambda: self.r.hget(conv, "csat") == "4", 15, "the answer recorded")
        self.assertEqual(self.r.hget(conv, "state"), "closed", "an answer does not reopen the conversation")
        self.assertIsNone(self.r.hget(conv, "csat_asked"))
        (ev,) = self.audit("csat")
        self.assertEqual((json.loads(ev["j"])["score"], json.loads(ev["j"])["queue"]), (4, "es.collections"))
        self.assertEqual(self.r.hgetall("hilo:{q:es.collections}:csat"), {"n": "1", "sum": "4"})

        async def floor():  # the supervisor's floor shows it
            boss = await online(self.stack.router, "boss", available=False)
            self.assertEqual((await boss.request("floor"))["t"], "ok")
            f = await boss.latest("floor", lambda f: f["queues"].get("es.collections", {}).get("csat_n") == 1,
                                  timeout=15)
            self.assertEqual(f["queues"]["es.collections"]["csat_avg"], 4)
            await boss.close()
        run(floor())
        # A message that is no answer reopens it as before.
        self.stack.debtor_says(D, PHONE, "whatsapp", "Otra pregunta, por favor")
        wait_until(lambda: self.r.hget(conv, "state") == "queued", 15, "reopened by the next message")
        self.assertEqual(self.r.hgetall("hilo:{q:es.collections}:csat"), {"n": "1", "sum": "4"})

    def test_closing_refused_for_a_debtor_who_opted_out(self):
        self.r.hset(debtor_key(D, "conv"), "optout:whatsapp", str(WORKDAY_10AM_MS - 60000))
        self.close_it()
        wait_until(lambda: len(self.audit("outbound_cancelled")) >= 2, 20, "the gate's refusals in the audit")
        for kind in ("closing", "csat"):
            (item,) = self.system_items(kind)
            (ev,) = [f for f in self.audit("outbound_cancelled") if f.get("ref") == item["oid"]]
            self.assertEqual(ev.get("reason"), "opted_out", ev)
        time.sleep(1)
        self.assertEqual(self.sent(CLOSING_ES) + self.sent(CSAT_ES), [], "refused by the gate: never sent")


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class SystemMessagesAfterTheBot(HiloTestCase):
    """The engine on with the shipped flow: the bot escalates and says its own hand-off reply."""

    def test_waiting_after_the_bots_escalation(self):
        stack = console_stack(self, engine=True, extra=EXTRA)
        r = stack.r
        seed_debtor(r, D, [PHONE], full_name="Sara Silencio", language="es")
        add_agent(stack.router.conf_path, "ana", capacity="whatsapp=2,sms=2,voice=0", skills="es.collections")
        stack.debtor_says(D, PHONE, "whatsapp", "Quiero hablar con un asesor")
        wait_until(lambda: r.hget(debtor_key(D, "conv"), "state") == "queued", 20, "the bot's escalation")

        def sent(text):
            return [c for c in stack.provider_calls("whatsapp")
                    if text in json.dumps(c.get("body"), ensure_ascii=False)
                    and c.get("response", {}).get("status") == 200]
        wait_until(lambda: sent(WAIT_ES), 20, "the waiting message at the sandbox")
        outs = [i for _, i in history(r, D) if i.get("dir") == "out"]
        self.assertEqual([i["by"] for i in outs][-2:], ["bot", "system:waiting"], outs)
        self.assertEqual([i for i in outs if i["by"] == "system:ack"], [], "the bot acknowledged it already")


if __name__ == "__main__":
    unittest.main()
