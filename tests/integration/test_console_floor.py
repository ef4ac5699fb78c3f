"""The supervisor's floor on a large floor (router/src/console/supervisor.c, floor_stats.lua):
with 1,300 agents the floor is read in parts of about 500 agents per Redis call (so that a floor of
20,000 never holds Redis for one long call) and joined into one `floor` message that lists every
agent once, with the queues and counters of the first part."""

import unittest

from hilo_harness import HiloTestCase, cli_path
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for

AGENTS = 1300


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleFloor(HiloTestCase):
    def test_large_floor_comes_whole_from_parts(self):
        redis = self.redis()
        router = self.router(redis, overrides=console_overrides())
        add_agent(router.conf_path, "boss", role="supervisor")
        r = redis.client()
        # Agents as `hilo agent add` stores them (without passwords: they never log in here).
        p = r.pipeline(transaction=False)
        for i in range(AGENTS):
            aid = "a%04d" % i
            p.hset("hilo:agent:" + aid, mapping={"name": "Agent %d" % i, "role": "agent", "skills": "en.collections",
                                                 "cap:whatsapp": 3, "cap:sms": 3, "cap:voice": 1})
            p.sadd("hilo:agents", aid)
            p.sadd("hilo:skill:en.collections", aid)
        p.hset("hilo:agent:a0007:live", mapping={"state": "away"})
        p.execute()
        escalate(r, "D1", addr="+15550000001")
        token = token_for(router, "boss")
        r.config_resetstat()

        async def scenario():
            c = await Console(router, token).connect()
            await c.latest("hello")
            self.assertEqual((await c.request("floor"))["t"], "ok")
            floor = await c.latest("floor", timeout=15)
            await c.close()
            return floor

        floor = run(scenario())
        ids = set(floor["agents"])
        self.assertEqual(ids, {"a%04d" % i for i in range(AGENTS)} | {"boss"})
        self.assertEqual(floor["agents"]["a0007"]["state"], "away")
        self.assertEqual(floor["agents"]["a0008"]["capacity"], {"whatsapp": 3, "sms": 3, "voice": 1})
        self.assertEqual(floor["agents"]["boss"]["role"], "supervisor")
        self.assertEqual(floor["queues"]["en.collections"]["waiting"], 1)
        self.assertIn("channel_mix", floor)
        # In parts: several SSCAN calls of hilo:agents for one floor, never one SMEMBERS.
        calls = {k.replace("cmdstat_", ""): v["calls"] for k, v in r.info("commandstats").items()}
        self.assertGreaterEqual(calls.get("sscan", 0), 3)


if __name__ == "__main__":
    unittest.main()
