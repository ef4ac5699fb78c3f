"""Routing on a large floor (router/lua/route_offer.lua with lib/agent_index.lua): candidates come
from the index of agents with capacity left (hilo:free:<skill>:<channel>), not from a walk over
every agent of the skill. With 400 busy agents of a skill: a conversation waits while nobody
has room; an agent whose capacity is raised with `hilo agent add` gets it (the index picks up
the change by itself); an agent who lost the skill is never offered that skill's conversations,
even with room; offers go least-loaded first."""

import time
import unittest

from hilo_harness import HiloTestCase, cli_path, debtor_key, wait_until
from hilo_console import add_agent, console_overrides, escalate

SKILL = "en.collections"
BUSY = 400


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class RoutingIndex(HiloTestCase):
    def test_large_floor(self):
        redis = self.redis()
        router = self.router(redis, overrides=console_overrides(route_ms=200, grace_ms=600000))
        r = redis.client()
        now = int(time.time() * 1000)
        # Present and available, as a connected console makes them (presence in the future so
        # the grace sweep leaves these socket-less agents alone).
        def present(a, load=0):
            p = r.pipeline(transaction=False)
            p.hset("hilo:agent:%s:live" % a, mapping={"state": "available", "load:whatsapp": load})
            p.sadd("hilo:agents:available", a)
            p.zadd("hilo:agents:seen", {a: now + 3600000})
            p.execute()

        p = r.pipeline(transaction=False)
        for i in range(BUSY):
            a = "b%04d" % i
            p.hset("hilo:agent:" + a, mapping={"name": a, "role": "agent", "skills": SKILL, "cap:whatsapp": 3,
                                               "cap:sms": 3, "cap:voice": 1})
            p.sadd("hilo:agents", a)
            p.sadd("hilo:skill:" + SKILL, a)
        p.execute()
        for i in range(BUSY):
            present("b%04d" % i, load=3)
        add_agent(router.conf_path, "ana", capacity="whatsapp=0,sms=3,voice=1")
        present("ana")

        def offer_of(d):
            return r.hget(debtor_key(d, "conv"), "offer_agent")

        # 1. Nobody has WhatsApp room: the conversation waits.
        escalate(r, "D1", addr="+15550000001")
        time.sleep(1.5)
        self.assertIsNone(offer_of("D1"))
        # The index (built by the routing passes, 200 agents each) holds nobody for WhatsApp,
        # everyone for SMS.
        self.assertEqual(r.zrange("hilo:free:%s:whatsapp" % SKILL, 0, -1), [])
        self.assertEqual(r.zcard("hilo:free:%s:sms" % SKILL), BUSY + 1)

        # 2. ana gets WhatsApp capacity through the CLI: routing finds her by itself.
        add_agent(router.conf_path, "ana", capacity="whatsapp=2,sms=3,voice=1")
        # Changing an account ends its sessions, which takes ana out of routing at once
        # (docs/console-protocol.md, "Leaving"); she is back, available, as a new console makes her.
        wait_until(lambda: r.hget("hilo:agent:ana:live", "state") == "offline", 5, "ana out of routing")
        present("ana")
        wait_until(lambda: offer_of("D1") == "ana", 15, "D1 offered to ana after her capacity was raised")

        # 3. b0001 has room but loses the skill: never offered this skill's conversations.
        present("b0001", load=0)
        r.hset("hilo:agent:b0001", "skills", "es.collections")
        r.srem("hilo:skill:" + SKILL, "b0001")
        # An out-of-date entry at the head of the index: checked, dropped, never offered.
        r.zadd("hilo:free:%s:whatsapp" % SKILL, {"b0001": 0})
        # b0002 has room too (load 1 of 3): least loaded after ana's 1 of 2? ana has total 1,
        # b0002 total 1 — the tie goes to the one offered longest ago (b0002, never offered).
        present("b0002", load=1)
        time.sleep(1.5)  # the passes' refresh slices see b0002's room (401 agents, 200 a pass)
        escalate(r, "D2", addr="+15550000002")
        wait_until(lambda: offer_of("D2") is not None, 15, "D2 offered")
        self.assertEqual(offer_of("D2"), "b0002")
        escalate(r, "D3", addr="+15550000003")
        wait_until(lambda: offer_of("D3") is not None, 15, "D3 offered")
        self.assertIn(offer_of("D3"), ("ana", "b0002"))
        escalate(r, "D4", addr="+15550000004")
        wait_until(lambda: offer_of("D4") is not None, 15, "D4 offered")
        time.sleep(1.0)
        offered = [offer_of(d) for d in ("D1", "D2", "D3", "D4")]
        self.assertNotIn("b0001", offered)
        self.assertNotIn("b0001", r.zrange("hilo:free:%s:whatsapp" % SKILL, 0, -1))
        # Capacity holds: ana 2 of 2, b0002 3 of 3.
        self.assertEqual(offered.count("ana"), 2)
        self.assertEqual(int(r.hget("hilo:agent:b0002:live", "load:whatsapp")), 3)
        # One more waits: nobody with the skill has room.
        escalate(r, "D5", addr="+15550000005")
        time.sleep(1.5)
        self.assertIsNone(offer_of("D5"))


if __name__ == "__main__":
    unittest.main()
