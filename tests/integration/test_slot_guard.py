#!/usr/bin/env python3
"""The CI guard of "Keys on a Redis Cluster" (tests/lib/hilo_slot_guard.py) catches what a Redis
Cluster would refuse: it runs with HILO_TEST_REDIS_CLUSTER=1 set here, whatever the caller's
environment, on a real one-node cluster-mode redis-server."""

import json
import os
import unittest

import hilo_slot_guard
from hilo_harness import (WORKDAY_10AM_MS, HiloTestCase, RedisServer, debtor_key, history, seed_debtor,
                          use_workday_clock, wait_until)


class OnCluster(HiloTestCase):
    """HILO_TEST_REDIS_CLUSTER=1 for this test's servers, whatever the caller's environment."""

    def setUp(self):
        super().setUp()
        self._env = os.environ.get(hilo_slot_guard.ENV)
        os.environ[hilo_slot_guard.ENV] = "1"

    def tearDown(self):
        if self._env is None:
            os.environ.pop(hilo_slot_guard.ENV, None)
        else:
            os.environ[hilo_slot_guard.ENV] = self._env
        super().tearDown()


class SlotGuard(OnCluster):

    def server(self, **kw):
        # Not self.redis(): its cleanup would fail this test for the offences it makes on purpose.
        rs = RedisServer(self.workdir, **kw).start()
        self.addCleanup(rs.stop)
        return rs

    def test_cluster_mode_refuses_a_multi_and_a_declaration_of_two_slots(self):
        rs = self.server()
        r = rs.client()
        self.assertEqual(hilo_slot_guard.cluster_state(r), "ok")
        with self.assertRaisesRegex(Exception, "CROSSSLOT"):
            r.eval("return 1", 2, "hilo:{d:1}:a", "hilo:{d:2}:a")
        p = r.pipeline(transaction=True)
        p.set("hilo:{d:1}:a", 1)
        p.set("hilo:{d:2}:a", 1)
        with self.assertRaisesRegex(Exception, "CROSSSLOT"):
            p.execute()
        with self.assertRaisesRegex(Exception, "SELECT is not allowed"):
            r.execute_command("SELECT", 1)
        self.assertEqual(rs.slot_offences(), [])

    def test_a_script_touching_an_undeclared_key_of_another_slot_is_an_offence(self):
        rs = self.server()
        r = rs.client()
        # Redis 7.0 runs this one: the guard is what refuses it.
        r.eval("redis.call('SET', KEYS[1], 1); return redis.call('HSET', 'hilo:{d:2}:b', 'f', 1)",
               1, "hilo:{d:1}:a")
        # One slot, declared or not (the second key has the same tag): no offence.
        r.eval("redis.call('SET', KEYS[1], 1); return redis.call('SET', 'hilo:{d:1}:c', 1)", 1, "hilo:{d:1}:a")
        # Keys found by COMMAND GETKEYS (a moving-keys command) count too.
        r.eval("redis.call('SET', KEYS[1], 1); "
               "return redis.call('ZUNIONSTORE', 'hilo:{q:x}:z', 1, 'hilo:{q:x}:y')", 1, "hilo:{q:y}:z")
        offences = rs.slot_offences()
        self.assertEqual(len(offences), 2, offences)
        self.assertIn("hilo:{d:1}:a", offences[0])
        self.assertIn("hilo:{d:2}:b", offences[0])
        self.assertIn("hilo:{q:x}:z", offences[1])
        with open(os.path.join(rs.dir, "slot_guard.log")) as f:
            log = f.read()
        self.assertIn("undeclared script", log)
        self.assertIn("hilo:{d:1}:c, not declared", log)

    def test_an_offence_of_a_listed_script_with_listed_keys_is_known_any_other_fails(self):
        import hilo_harness
        rs = self.server()
        r = rs.client()
        body = hilo_harness.lua_script(os.path.join(hilo_harness.SOURCE_DIR, "router", "lua", "reopen.lua"))
        known = hilo_slot_guard.load_known()
        self.assertIn("hilo:closed", known["reopen.lua"])
        # reopen.lua as the router runs it: a closed conversation past its window leaves
        # hilo:closed (a global index) after a read of the debtor's conv (its own slot).
        r.hset("hilo:{d:D1}:conv", mapping={"state": "closed", "closed_ms": 0})
        r.zadd("hilo:closed", {"D1": 0})
        self.assertEqual(r.eval(body, 0, 10**9, 1000, "D1"), [0, []])
        self.assertEqual(rs.slot_offences(), [])
        self.assertEqual(len(rs.guards[-1].known), 1, rs.guards[-1].known)
        self.assertIn("reopen.lua", rs.guards[-1].known[0])
        # The same script body under another name is not listed: an offence.
        r.zadd("hilo:closed", {"D1": 0})
        r.eval(body + "\n", 0, 10**9, 1000, "D1")
        self.assertEqual(len(rs.slot_offences()), 1)

    def test_the_guard_survives_a_restart_and_works_with_acl_users(self):
        rs = self.server(acl=True)
        rs.restart()
        r = rs.client()
        self.assertEqual(hilo_slot_guard.cluster_state(r), "ok")
        r.eval("redis.call('SET', 'x', 1); return redis.call('SET', 'y', 1)", 0)
        offences = rs.slot_offences()
        self.assertEqual(len(offences), 1, offences)


class InboundOnCluster(OnCluster):
    def test_a_burst_from_several_debtors_is_stored_one_slot_per_call(self):
        # Several debtors' messages in one loop turn: on a standalone Redis one MGET and one
        # commit call take them all; on a cluster each call keeps to one slot (one debtor).
        redis = self.redis()  # the guard's cleanup: no CROSSSLOT in the router's log either
        r = redis.client()
        phones = {"B%d" % i: "+1650555010%d" % i for i in range(1, 5)}
        for debtor, phone in phones.items():
            seed_debtor(r, debtor, [phone])
        router = self.router(redis)
        c = self.connector(router, "sms")
        sent = []
        for i in range(12):
            debtor = "B%d" % (1 + i % 4)
            sent.append((debtor, c.send_envelope(provider_message_id="m%d" % i, from_=phones[debtor],
                                                 text="hello %d" % i)))
        for debtor, seq in sent:
            result = c.wait_result(seq, 15)
            self.assertEqual(result.kind, "ack", (debtor, seq, result))
        for debtor in phones:
            texts = [item.get("text") for _, item in history(r, debtor)]
            want = ["hello %d" % i for i in range(12) if "B%d" % (1 + i % 4) == debtor]
            self.assertEqual(texts, want, debtor)
        self.assertTrue(router.log_lines("event=redis_mode", "mode=cluster"), "the router saw the cluster")


class PromisesOnCluster(OnCluster):
    def test_the_sweeper_breaks_a_due_promise_and_drops_members_in_steps_of_one_slot(self):
        # promise_break.lua on the debtor's keys, then the index member's ZREM: a pending
        # promise past due is broken once; a kept one whose member was left behind (a crash
        # between a payment and its ZREM) is left kept, and its member goes.
        redis = self.redis()  # the guard's cleanup: no script or command over two slots
        r = redis.client()
        use_workday_clock(r)
        seed_debtor(r, "P1", ["+16505550111"])
        past = WORKDAY_10AM_MS - 86400000
        for pid, state in (("pC", "pending"), ("pA", "kept")):
            r.hset(debtor_key("P1", "promises"), pid, json.dumps(
                {"kind": "promise", "amount_cents": 5000, "currency": "USD", "due": "2026-11-23",
                 "due_ms": past, "channel": "sms", "created_ms": past - 86400000, "state": state}))
            r.zadd("hilo:promises:due", {"P1|" + pid: past})
        self.router(redis, overrides={"engine": {"enabled": "true", "test_clock": "true",
                                                 "promise_sweep_ms": "100"}})
        wait_until(lambda: r.zcard("hilo:promises:due") == 0, 20, "the sweeper to empty hilo:promises:due")
        ledger = {k: json.loads(v) for k, v in r.hgetall(debtor_key("P1", "promises")).items()}
        self.assertEqual((ledger["pC"]["state"], ledger["pA"]["state"]), ("broken", "kept"))
        self.assertEqual(r.hget(debtor_key("P1", "conv"), "broken_promises"), "1")


if __name__ == "__main__":
    unittest.main()
