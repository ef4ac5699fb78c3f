#!/usr/bin/env python3
"""An escalation's queue entry is a step of its own (router/src/engine_indexes.c), written before
the turn's script on the debtor's slot (engine_apply.lua): a Redis Cluster refuses one script over
both. The window between them — the entry written, the script never run (a crash, a turn that did
not commit) — must cost nothing: the routing pass (route_offer.lua) offers nothing for such an
entry, does not count it abandoned, and drops it; a caller who really left the queue is still
counted, once. Real redis-server, router (engine and console on) and connectors; passes with and
without HILO_TEST_REDIS_CLUSTER=1."""

import asyncio
import time
import unittest

import hilo_link_pb2 as pb
from engine_helpers import EngineTestCase, audit
from hilo_harness import debtor_key, tail, wait_until
from hilo_console import Console, add_agent, console_overrides, run, token_for

EN, EN_PHONE = "D1002", "+16505550142"
EN2, EN2_PHONE = "D1012", "+16505550457"
Q = "en.collections"


class QueueSteps(EngineTestCase):
    def engine_overrides(self, **engine):
        o = super().engine_overrides(**engine)
        o["console"] = console_overrides()["console"]
        return o

    def setup_floor(self):
        router = self.start_engine()
        self.import_debtors([
            {"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE], "language": "en"},
            {"debtor_id": EN2, "full_name": "Michael O'Connor", "phones": [EN2_PHONE], "language": "en"},
        ])
        self.now = self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)
        add_agent(router.conf_path, "ana", skills=Q)
        return router

    def stats(self):
        """The routing pass's day counters, summed over every day (whichever day the SLA clock
        says it is)."""
        out = {}
        for key in self.r.scan_iter("hilo:stats:*"):
            for k, v in self.r.hgetall(key).items():
                out[k] = out.get(k, 0) + int(v)
        return out

    def send(self, phone, text):
        """One SMS from `phone`, acked (the turn's apply is not waited for)."""
        conn = self.conn("sms")
        seq = conn.send_envelope(provider_message_id="qs-%d" % time.time_ns(), from_=phone, to="+15550000000",
                                 text=text)
        res = conn.wait_result(seq, 10)
        self.assertEqual(res.kind, "ack", res)

    def test_a_turn_that_did_not_commit_leaves_an_entry_nobody_is_offered(self):
        router = self.setup_floor()

        async def scenario():
            ana = await Console(router, token_for(router, "ana")).connect()
            await ana.latest("hello")
            self.assertEqual((await ana.request("state", state="available"))["t"], "ok")
            # The escalation's turn: its queue entry is written, its script refused every time.
            self.deny_apply()
            self.send(EN_PHONE, "I want to talk to a person")
            wait_until(lambda: router.log_lines("event=apply_failed", "NOPERM"), 10,
                       lambda: "the apply refused\n" + tail(router.log_path, 20))
            self.assertEqual(self.r.hget(debtor_key(EN, "conv"), "state"), "open")
            # The engine tries again (each try writes the entry again) and leaves the turn to the
            # sweep; meanwhile the routing pass sees the entry and drops it.
            wait_until(lambda: router.log_lines("event=turn_deferred", "debtor=" + EN), 30,
                       lambda: "the turn left to the sweep\n" + tail(router.log_path, 20))
            wait_until(lambda: self.r.zscore("hilo:queue:" + Q, EN) is None, 10, "the stale entry dropped")
            self.assertEqual(self.r.hget(debtor_key(EN, "conv"), "state"), "open")
            self.assertIsNone(self.r.hget(debtor_key(EN, "conv"), "offer_agent"))
            self.assertEqual(audit(self.r, EN, "offered"), [])
            self.assertEqual(self.r.smembers("hilo:agent:ana:offers"), set())
            self.assertNotIn("abandoned:" + Q, self.stats())
            self.assertFalse([m for m in ana.inbox if m.get("t") == "agent" and m.get("offers")],
                             "nothing offered to ana")
            # Redis accepts the script again: the sweep resumes the turn, which writes the entry
            # again and commits; the conversation is queued and offered.
            self.allow_all()
            self.set_clock(self.now + 60000)
            offer = await ana.latest("agent", lambda m: m["offers"], timeout=20)
            self.assertEqual([o["debtor"] for o in offer["offers"]], [EN])
            self.assertEqual(self.r.hget(debtor_key(EN, "conv"), "state"), "queued")
            self.assertNotIn("abandoned:" + Q, self.stats())

        run(scenario())

    def test_a_caller_who_left_is_counted_once_a_stale_entry_after_never(self):
        router = self.setup_floor()
        # Nobody available: the caller waits in the queue, then hangs up (decide_caller_gone).
        michael = self.debtor(EN2, EN2_PHONE)
        michael.say("voice", call_id="CA-q1")
        michael.say("voice", "I want to talk to a person", call_id="CA-q1")
        self.assertEqual(michael.conv()["state"], "queued")
        michael.say("voice", voice_kind=pb.VoiceEvent.KIND_CALL_END, call_id="CA-q1")
        wait_until(lambda: self.r.zscore("hilo:queue:" + Q, EN2) is None, 10, "the caller's entry dropped")
        wait_until(lambda: self.stats().get("abandoned:" + Q) == 1, 10, "the abandonment counted")
        conv = michael.conv()
        self.assertEqual(conv["state"], "open")
        self.assertEqual(conv.get("q_left"), conv["esc_ms"])
        # A later turn of the same debtor writes its entry again and does not commit (the state
        # such a crash leaves, written here): dropped, not counted a second time.
        self.r.zadd("hilo:queue:" + Q, {EN2: self.now})
        # And a conversation queued in another queue with its old entry still here (the step
        # after a move to a stronger reason's queue did not run): never offered from here.
        self.r.hset(debtor_key(EN, "conv"), mapping={"state": "queued", "queue": "en.legal", "esc_ms": str(self.now),
                                                     "esc_skill": "en.legal", "last_channel": "sms"})
        self.r.zadd("hilo:queue:" + Q, {EN: self.now})

        async def scenario():
            ana = await Console(router, token_for(router, "ana")).connect()
            await ana.latest("hello")
            self.assertEqual((await ana.request("state", state="available"))["t"], "ok")
            wait_until(lambda: self.r.zcard("hilo:queue:" + Q) == 0, 10, "the stale entries dropped")
            await asyncio.sleep(0.5)  # routing passes run every few hundred ms
            self.assertFalse([m for m in ana.inbox if m.get("t") == "agent" and m.get("offers")],
                             "nothing offered to ana")
            self.assertIsNone(self.r.hget(debtor_key(EN, "conv"), "offer_agent"))
            self.assertEqual(self.stats().get("abandoned:" + Q), 1)

        run(scenario())


if __name__ == "__main__":
    unittest.main()
