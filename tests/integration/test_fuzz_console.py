"""Seeded random console messages from a logged-in agent and a supervisor: every request type
with fields of the wrong type, missing, huge or odd; unknown types; text that is not JSON;
binary frames; messages over max_message.

What must hold whatever the message:
* an answer to every request that has an id — `ok`, `error` with a documented code, or
  `reply_result` — or a close with a documented code (docs/console-protocol.md, "Close
  codes"), after which the page reconnects and goes on;
* the router keeps serving: after every chunk each socket still answers a valid request, and
  another agent can log in and gets `hello`;
* the agents' records stay whole: loads are non-negative integers, states known;
* the router exits 0 on SIGTERM and, in the ASan+UBSan build, reports nothing (the cleanup
  checks both).

The seed is printed on failure; HILO_FUZZ_SEED and HILO_FUZZ_MESSAGES run other seeds or longer.
"""

import asyncio
import json
import os
import random
import sys
import unittest

import websockets

from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for
from hilo_harness import HiloTestCase, cli_path, seed_debtor

SEED = int(os.environ.get("HILO_FUZZ_SEED", "20261123"))
MESSAGES = int(os.environ.get("HILO_FUZZ_MESSAGES", "3000"))
CHUNK = 150
MAX_MESSAGE = 65536
ERROR_CODES = {"unauthorized", "forbidden", "bad_request", "unknown_type", "rate_limited", "not_ready",
               "unavailable", "not_found", "not_offered", "not_assigned", "unknown_agent", "no_capacity",
               "same_agent", "bad_disposition", "bad_promise", "bad_callback", "disposition_required",
               "ambiguous", "over_committed", "queue_unserved"}
CLOSE_CODES = {1002, 1007, 1008, 1009, 4429}   # protocol error / bad UTF-8 (libwebsockets), documented ones
TYPES = ["sync", "state", "accept", "decline", "open", "unfollow", "reply", "note", "transfer", "wrapup",
         "close", "floor", "agents", "strategies", "find", "search", "promise_edit", "promise_cancel", "plan",
         "ping", "pong"]
FIELDS = ["debtor", "state", "agent", "channel", "text", "to_agent", "to_queue", "code", "comment", "close",
          "amount_cents", "due", "callback_ms", "strategy", "follow", "query", "promise", "instalments", "total_cents",
          "first_due"]
ODD = [None, True, False, 0, -1, 2 ** 53, -(2 ** 63), 1e308, 1.5, "", "x" * 3000, "\u0000", "\u202e💸",
       [], [1, [2, [3]]], {}, {"debtor": "D1"}, "D1", "D2", "D404", "../D1", "*", "ana", "sue", "nobody",
       "available", "away", "offline", "whatsapp", "sms", "voice", "fax", "en.collections", "promise_to_pay",
       "callback", "paid", "2026-02-30", "9999-12-31", "2026-12-01", "0000-00-00", "+1 650 555 1234",
       "00 57 300 123", "Ana María"]
ODD_RIDS = [None, "1", -1, 0, 2 ** 63, 1.5, [], {}, "x" * 100]


def random_request(rng, rid):
    m = {"t": rng.choice(TYPES + ["", "hello", "conv", "admin", "Accept", "x" * 500, 7, None])}
    if rng.random() < 0.9:
        m["rid"] = rid
    else:
        m["rid"] = rng.choice(ODD_RIDS)
    for f in rng.sample(FIELDS, rng.randrange(0, 6)):
        m[f] = rng.choice(ODD)
    if rng.random() < 0.6:   # a real conversation, so that the request gets past the first check
        m["debtor"] = rng.choice(["D1", "D2"])
    if rng.random() < 0.05:
        m["text"] = rng.choice(["hola " * 2000, "¿" * 10000, "y" * (MAX_MESSAGE - 100)])
    return m


def parseable(v):
    """Whether the router's JSON parser (jansson) reads v: no NUL in a string, integers that fit
    64 bits. Anything else is answered with a bad_request that cannot carry the rid."""
    if isinstance(v, bool) or v is None or isinstance(v, float):
        return True
    if isinstance(v, int):
        return -(2 ** 63) <= v < 2 ** 63
    if isinstance(v, str):
        return "\u0000" not in v
    if isinstance(v, list):
        return all(parseable(x) for x in v)
    return all(parseable(k) and parseable(x) for k, x in v.items())


def raw_text(rng):
    return rng.choice(["", "{", "}", "[]", "null", "1", '"x"', "{\"t\":", "{\"t\":\"sync\"",
                       "[" * 5000 + "]" * 5000, "{\"t\":\"sync\",\"t\":\"floor\",\"rid\":1}",
                       "{\"t\":\"note\",\"debtor\":\"D1\",\"text\":\"\\ud800\"}", "\ufeff{\"t\":\"sync\"}",
                       "z" * (MAX_MESSAGE + 10) if rng.random() < 0.2 else "z"])


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class FuzzConsole(HiloTestCase):
    def test_random_messages_are_answered_or_closed_and_break_nothing(self):
        rng = random.Random(SEED)
        redis = self.redis()
        r = redis.client()
        router = self.router(redis, overrides=console_overrides(rate_per_s=10000, rate_burst=10000))
        add_agent(router.conf_path, "ana")
        add_agent(router.conf_path, "sue", role="supervisor")
        add_agent(router.conf_path, "tom")
        for d, phone in (("D1", "+15550000001"), ("D2", "+15550000002")):
            seed_debtor(r, d, [phone])
        stats = {"answers": 0, "closes": {}, "errors": {}}

        async def online(agent):
            c = await Console(router, token_for(router, agent)).connect()
            await c.latest("hello")
            return c

        async def alive(c, agent):
            """The socket answers a valid request: (it, False); a socket the server closed is
            reopened: (the new one, True)."""
            try:
                ans = await c.request("agents" if agent == "sue" else "state", state="available", timeout=15)
                self.assertIn(ans["t"], ("ok", "error"), ans)
                return c, False
            except websockets.ConnectionClosed:
                # Closed by the server (e.g. 1009 after an oversize message); our reader task
                # may not have seen the close yet: let it finish reading what came before.
                await asyncio.wait([c._reader], timeout=5)
            except Exception:
                if not c._reader.done():
                    raise
            return await reopen(c, agent), True

        async def reopen(c, agent):
            """A socket the server closed: its close code is a documented one; a new socket."""
            code = c.ws.close_code
            stats["closes"][code] = stats["closes"].get(code, 0) + 1
            self.assertIn(code, CLOSE_CODES, "seed %d: %s's socket closed with %s (%s)"
                          % (SEED, agent, code, c.ws.close_reason))
            check_answers(c, agent, set())
            n = await online(agent)
            await n.request("state", state="available")
            return n

        def check_answers(c, agent, sent):
            for m in c.inbox:
                if m.get("t") == "error":
                    stats["errors"][m.get("code")] = stats["errors"].get(m.get("code"), 0) + 1
                    self.assertIn(m.get("code"), ERROR_CODES, "seed %d: %s got %s" % (SEED, agent, m))
                    self.assertTrue(m.get("text"), "seed %d: an error without a text: %s" % (SEED, m))
                if isinstance(m.get("rid"), int) and m["rid"] in sent and m.get("t") in ("ok", "error", "reply_result"):
                    sent.discard(m["rid"])
                    stats["answers"] += 1
            c.inbox.clear()

        async def scenario():
            socks = {"ana": await online("ana"), "sue": await online("sue")}
            await socks["ana"].request("state", state="available")
            escalate(r, "D1", addr="+15550000001")
            await socks["ana"].latest("agent", lambda m: any(o["debtor"] == "D1" for o in m.get("offers", [])))
            self.assertEqual((await socks["ana"].request("accept", debtor="D1"))["t"], "ok")
            escalate(r, "D2", channel="sms", addr="+15550000002")
            await socks["sue"].request("floor")
            rid = 1000
            sent = 0
            sent_msgs = {}
            while sent < MESSAGES:
                pending = {"ana": set(), "sue": set()}
                closed_in_chunk = set()
                for _ in range(min(CHUNK, MESSAGES - sent)):
                    sent += 1
                    agent = rng.choice(["ana", "sue"])
                    c = socks[agent]
                    if c._reader.done():   # closed by the server (a message too large): the page reconnects
                        closed_in_chunk.add(agent)
                        c = socks[agent] = await reopen(c, agent)
                    pick = rng.random()
                    try:
                        if pick < 0.8:
                            rid += 1
                            m = random_request(rng, rid)
                            if m.get("rid") == rid and m["t"] not in ("ping", "pong", "sync") and parseable(m):
                                pending[agent].add(rid)   # (those three are not answered with ok/error)
                                sent_msgs[rid] = m
                            await c.ws.send(json.dumps(m, ensure_ascii=rng.random() < 0.5))
                        elif pick < 0.95:
                            await c.ws.send(raw_text(rng))
                        else:
                            await c.ws.send(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
                    except websockets.ConnectionClosed:
                        pass
                await asyncio.sleep(0.05)
                for agent in socks:
                    c = socks[agent]
                    socks[agent], closed = await alive(c, agent)
                    check_answers(c, agent, pending[agent])
                    # Every request with an id was answered, unless its socket was closed.
                    if pending[agent] and not closed and agent not in closed_in_chunk:
                        self.fail("seed %d: %s's requests got no answer: %s" % (
                            SEED, agent, [json.dumps(sent_msgs[x])[:200] for x in sorted(pending[agent])[:10]]))
                # Another agent can still log in.
                t = await online("tom")
                await t.close()
            for c in socks.values():
                await c.close()

        run(scenario(), timeout=600)
        router.assert_running()
        self.assertEqual(router.healthz(), 200)
        for agent in ("ana", "sue", "tom"):
            live = r.hgetall("hilo:agent:%s:live" % agent)
            self.assertIn(live.get("state"), ("available", "away", "offline"), live)
            for k, v in live.items():
                if k.startswith("load:"):
                    self.assertGreaterEqual(int(v), 0, "seed %d: %s %s" % (SEED, agent, live))
        self.assertGreater(stats["answers"], MESSAGES // 6, "too few answers to mean anything")
        print("fuzz: seed %d, %d messages: %d answers, errors %r, closes %r"
              % (SEED, MESSAGES, stats["answers"], stats["errors"], stats["closes"]), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
