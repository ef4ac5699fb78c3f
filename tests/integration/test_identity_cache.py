"""The router's address -> debtor cache (router/src/identity_cache.c) never files a message
under an address's old owner once the change is made.

Each envelope below is sent after the change it must see was acknowledged to whoever made it
(the CLI, or a Redis client), as a gateway would after an operator's import. The cache must be
in use in between (its hit counter moves), so a stale entry would show as a wrong debtor in
the Ack and in the history:
  - unknown address -> imported (hilo import-debtors) -> moved to another debtor by two imports
    -> its key deleted -> FLUSHALL -> re-created;
  - the cache's own Redis connection killed (CLIENT KILL TYPE pubsub) and a change made before
    it is back; then Redis restarted;
  - [identity] cache_max = 0: no cache, same answers.
"""

import unittest

from hilo_harness import HiloTestCase, cli_path, history, import_debtors, seed_debtor, wait_until

PHONE = "+16505551234"


class IdentityCache(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.seq_pmid = 0

    def send(self, conn, expect_debtor):
        """One SMS from PHONE; its Ack must name expect_debtor, and so must the history."""
        self.seq_pmid += 1
        pmid = "SMcache%04d" % self.seq_pmid
        seq = conn.send_envelope(provider_message_id=pmid, from_=PHONE, to="+15550002222",
                                 text="msg %d" % self.seq_pmid)
        res = conn.wait_result(seq, 15)
        self.assertIsNotNone(res, "no answer to %s" % pmid)
        self.assertEqual(res.kind, "ack", res)
        self.assertEqual(res.debtor_id, expect_debtor, "%s filed under the wrong debtor" % pmid)
        items = history(self.r, expect_debtor)
        self.assertIn(pmid, [i["pmid"] for _, i in items], "history of %s" % expect_debtor)

    def hits(self, router):
        return router.metrics().value("hilo_identity_cache_lookups_total", result="hit")

    def wait_cache_up(self, router, up=1):
        wait_until(lambda: router.metrics().value("hilo_identity_cache_up") == up, 15,
                   "identity cache up=%d" % up)

    def import_phones(self, router, debtor, phones):
        if cli_path():
            res = import_debtors(router.conf_path, self.workdir, [{"debtor_id": debtor, "phones": phones}])
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        else:  # what the CLI writes, for a build without it
            for key in self.r.scan_iter("hilo:addr:*"):
                if self.r.get(key) == debtor and key[len("hilo:addr:"):] not in phones:
                    self.r.delete(key)
            seed_debtor(self.r, debtor, phones)

    def test_changes_reach_the_next_envelope(self):
        redis = self.redis()
        self.r = redis.client()
        router = self.router(redis)
        sms = self.connector(router, "sms", "sms-1")
        self.wait_cache_up(router)

        self.send(sms, "u:" + PHONE)  # unknown: looked up, answer kept
        h0 = self.hits(router)
        self.send(sms, "u:" + PHONE)
        self.assertGreater(self.hits(router), h0, "the second envelope should come from the cache")

        self.import_phones(router, "D-1", [PHONE])
        self.send(sms, "D-1")
        h1 = self.hits(router)
        self.send(sms, "D-1")
        self.assertGreater(self.hits(router), h1, "cached again after the change")

        # Moved: D-1 gives the phone up, D-2 takes it.
        self.import_phones(router, "D-1", ["+16505550000"])
        self.send(sms, "u:" + PHONE)
        self.import_phones(router, "D-2", [PHONE])
        self.send(sms, "D-2")
        self.send(sms, "D-2")

        self.r.delete("hilo:addr:" + PHONE)
        self.send(sms, "u:" + PHONE)
        self.r.set("hilo:addr:" + PHONE, "D-3")
        self.send(sms, "D-3")

        drops = router.metrics().value("hilo_identity_cache_drops_total")
        self.r.flushall()
        self.send(sms, "u:" + PHONE)
        self.r.set("hilo:addr:" + PHONE, "D-4")
        self.send(sms, "D-4")
        m = router.metrics()
        self.assertGreater(m.value("hilo_identity_cache_drops_total"), drops, "FLUSHALL drops the cache")
        self.assertGreaterEqual(m.value("hilo_identity_cache_invalidations_total"), 4)
        router.stop_and_check()

    def test_lost_subscription_and_redis_restart(self):
        redis = self.redis()
        self.r = redis.client()
        router = self.router(redis)
        sms = self.connector(router, "sms", "sms-1")
        self.wait_cache_up(router)
        seed_debtor(self.r, "D-1", [PHONE])
        self.send(sms, "D-1")
        self.send(sms, "D-1")

        # The cache's connection is killed, then the address changes: no invalidation can
        # reach the router, so the cache must not be used until it is subscribed again.
        killed = self.r.client_kill_filter(_type="pubsub")
        self.assertGreaterEqual(killed, 1, "the router's invalidation subscription")
        self.r.set("hilo:addr:" + PHONE, "D-2")
        self.send(sms, "D-2")
        self.wait_cache_up(router)
        self.send(sms, "D-2")
        h = self.hits(router)
        self.send(sms, "D-2")
        self.assertGreater(self.hits(router), h, "the cache is used again once resubscribed")

        redis.restart()
        router.wait_ready(30)
        self.wait_cache_up(router)
        self.r = redis.client()
        self.r.set("hilo:addr:" + PHONE, "D-3")
        self.send(sms, "D-3")
        self.send(sms, "D-3")
        self.assertGreaterEqual(router.metrics().value("hilo_identity_cache_drops_total"), 2)
        router.stop_and_check()

    def test_cache_off(self):
        redis = self.redis()
        self.r = redis.client()
        router = self.router(redis, overrides={"identity": {"cache_max": "0"}})
        sms = self.connector(router, "sms", "sms-1")
        seed_debtor(self.r, "D-1", [PHONE])
        self.send(sms, "D-1")
        self.r.set("hilo:addr:" + PHONE, "D-2")
        self.send(sms, "D-2")
        m = router.metrics()
        self.assertEqual(m.value("hilo_identity_cache_up"), 0)
        self.assertEqual(m.value("hilo_identity_cache_lookups_total"), 0)
        router.stop_and_check()


if __name__ == "__main__":
    unittest.main()
