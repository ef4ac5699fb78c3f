"""Redis over its unix socket: `[redis] host` set to a path (starting with '/') makes the
router reach Redis by that socket, as the CLI does. Every router connection (commits, the
identity cache's invalidations, the console's event read) goes through it; envelopes are
acked and stored; a Redis restart is followed by a reconnect on the same path; a path where
no Redis listens is named in the log and the envelopes are nacked as retryable."""

import os
import unittest

from hilo_harness import HiloTestCase, envelope, history, seed_debtor, wait_until

DEBTOR = "D-3001"
PHONE = "+16505550177"


class RedisUnixSocket(HiloTestCase):
    def test_router_over_the_unix_socket(self):
        redis = self.redis(unix_socket=True)
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE])
        router = self.router(redis, overrides={"redis": {"host": redis.socket, "port": "1"}})
        wait_until(lambda: router.metrics().value("hilo_identity_cache_up") == 1, 15, "the identity cache")

        clients = [c for c in r.client_list() if c.get("id") != str(r.client_id())]
        self.assertGreaterEqual(len(clients), 2, clients)
        self.assertEqual({c["addr"].rsplit(":", 1)[0] for c in clients}, {redis.socket}, clients)

        link = self.connector(router, "sms", "sms-1")

        def send(pmid, text):
            seq = link.send_envelope(provider_message_id=pmid, from_=PHONE, text=text)
            res = link.wait_result(seq, 30)
            self.assertEqual((res.kind, res.debtor_id), ("ack", DEBTOR), res)

        send("SMsock0001", "hola por el socket")
        send("SMsock0002", "y otra vez")   # the second one from the identity cache
        self.assertEqual([i["text"] for _, i in history(r, DEBTOR)], ["hola por el socket", "y otra vez"])

        redis.restart()
        r = redis.client()
        wait_until(lambda: router.http_get("/healthz")[0] == 200, 30, "the router back on the socket")
        send("SMsock0003", "después del reinicio")
        self.assertEqual([i["pmid"] for _, i in history(r, DEBTOR)], ["SMsock0001", "SMsock0002", "SMsock0003"])

    def test_no_redis_at_the_path(self):
        redis = self.redis()
        missing = os.path.join(redis.dir, "nobody-listens.sock")
        router = self.router(redis, overrides={"redis": {"host": missing}}, start=False)
        router.start(wait=False)
        wait_until(lambda: "event=redis_connect_failed host=%s" % missing in router.log(), 15,
                   "the failed connect, with the path, in the log")
        link = self.raw_link(router)
        link.hello("sms", "sms-raw")
        link.send(envelope=envelope(1, "sms", "SMnoredis01", PHONE, text="hola"))
        nack = link.expect("nack")
        self.assertEqual(nack.seq, 1)
        self.assertIn("storage", nack.reason)
        self.assertEqual(router.http_get("/healthz")[0], 503)
        router.assert_running()


if __name__ == "__main__":
    unittest.main()
