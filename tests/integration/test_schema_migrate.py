"""The schema version of the data in Redis (hilo:{schema}) and `hilo migrate`.

Real redis-server, hilo-router and the hilo CLI, on Redis servers the harness does NOT stamp
(stamp_schema=False):
- a fresh Redis is stamped with this build's version by the first router (the tests' clock key
  does not count as data), or by `hilo import-debtors`; `hilo migrate --dry-run` on it writes
  nothing, `hilo migrate` stamps it;
- data of version 1 (identity keys and phones as the old hand rules wrote them, no key): the
  router refuses to start (exit 4, event=schema_refused naming `hilo migrate`), also when Redis
  comes up only after the router started; `hilo migrate --dry-run` prints each change and the
  stamp and changes nothing; `hilo migrate` moves the keys, rewrites the phones and stamps 2; a
  second run changes nothing; then the router starts and finds the debtor by the canonical number;
- a migration left half-way (the canonical key set, the old one not yet deleted) is finished by
  a run; a conflict stops the step without stamping (exit 1), the router still refuses, and the
  run after the operator settled it stamps;
- a version newer than this build, or a key holding no number: the router refuses (exit 4),
  `hilo migrate` (also --dry-run) and `hilo import-debtors` refuse (exit 4) and write nothing;
- a running router whose Redis comes back with data of version 1 (a restored old backup) exits 4.
"""

import os
import unittest

from hilo_harness import (SCHEMA_KEY, TEST_CLOCK_KEY, HiloTestCase, cli_path, debtor_key, import_debtors, run_cli,
                          schema_version, wait_until)

EXIT_SCHEMA = 4


def seed_version1(r):
    """Data as hilo wrote it before schema versions: the hand rules' Mexican mobile with its 521,
    one phone already canonical, and no hilo:{schema} key."""
    r.hset(debtor_key("M1", "debtor"), mapping={"debtor_id": "M1", "full_name": "Marta",
                                                 "phones": "+5215512345678;+16502530000", "country": "MX"})
    r.hset(debtor_key("M2", "debtor"), mapping={"debtor_id": "M2", "full_name": "Mario",
                                                 "phones": "+5215587654321", "country": "MX"})
    r.sadd("hilo:debtors", "M1", "M2")
    r.set("hilo:addr:+5215512345678", "M1")
    r.set("hilo:addr:+16502530000", "M1")
    r.set("hilo:addr:+5215587654321", "M2")
    r.zadd("hilo:convs", {"M1": 1700000000000})


def snapshot(r):
    out = {}
    for k in sorted(r.keys("*")):
        t = r.type(k)
        out[k] = (t, r.hgetall(k) if t == "hash" else sorted(r.smembers(k)) if t == "set"
                  else r.zrange(k, 0, -1, withscores=True) if t == "zset" else r.get(k) if t == "string" else None)
    return out


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class SchemaMigrate(HiloTestCase):
    def cli(self, router, *args, expect=0):
        p = run_cli(router.conf_path, *args, check=False)
        self.assertEqual(p.returncode, expect, "hilo %s: exit %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def refused(self, router, timeout=30):
        """Waits for the router to exit by itself; asserts exit 4 and the log line; returns it."""
        wait_until(lambda: not router.running(), timeout, "the router to exit on its own")
        self.assertEqual(router.proc.returncode, EXIT_SCHEMA, router.log())
        lines = router.log_lines("event=schema_refused")
        self.assertEqual(len(lines), 1, router.log())
        self.assertIn("level=error", lines[0])
        return lines[0]

    def test_fresh_redis_is_stamped_by_the_first_router(self):
        redis = self.redis(stamp_schema=False)
        r = redis.client()
        r.set(TEST_CLOCK_KEY, "1795000000000")  # the tests' clock is not data
        self.assertFalse(r.exists(SCHEMA_KEY))
        router = self.router(redis)  # ready: /healthz 200
        stamp = r.hgetall(SCHEMA_KEY)
        self.assertEqual(stamp["version"], str(schema_version()))
        self.assertIn("hilo-router", stamp["by"])
        self.assertIn("router-1", stamp["by"])
        self.assertGreater(int(stamp["at_ms"]), 1700000000000)
        self.assertEqual(len(router.log_lines("event=schema_stamped", "version=%d" % schema_version())), 1)
        # A restart finds its own stamp and does not write it again.
        router.restart()
        self.assertEqual(r.hgetall(SCHEMA_KEY), stamp)
        p = self.cli(router, "migrate")
        self.assertIn("up to date: nothing to migrate", p.stdout)
        self.assertEqual(r.hgetall(SCHEMA_KEY), stamp)

    def test_fresh_redis_and_the_cli(self):
        redis = self.redis(stamp_schema=False)
        r = redis.client()
        router = self.router(redis, start=False)
        p = self.cli(router, "migrate", "--dry-run")
        self.assertIn("would stamp schema version %d" % schema_version(), p.stdout)
        self.assertEqual(r.dbsize(), 0, "a dry run writes nothing")
        p = self.cli(router, "migrate")
        self.assertIn("schema version %d stamped" % schema_version(), p.stdout)
        self.assertIn("hilo migrate", r.hget(SCHEMA_KEY, "by"))
        # The portfolio imported before any router ran: the import stamps a fresh Redis, and the
        # router then starts on it.
        r.flushall()
        import_debtors(router.conf_path, self.workdir, [{"debtor_id": "F1", "phones": "+16502530011"}])
        self.assertEqual(r.hget(SCHEMA_KEY, "version"), str(schema_version()))
        self.assertIn("hilo import-debtors", r.hget(SCHEMA_KEY, "by"))
        router.start()

    def test_fresh_redis_with_acl_users(self):
        """As deployed: the router as hilo-router, the CLI as hilo-cli (deploy/lib/redis_users.sh)
        may read, scan and stamp the key."""
        redis = self.redis(acl=True, stamp_schema=False)
        r = redis.client()  # the test's admin
        secret = lambda user: os.path.join(redis.secrets, "redis-%s.pass" % user)
        users = {"redis": {"user": "hilo-router", "password_file": secret("hilo-router")},
                 "cli": {"redis_user": "hilo-cli", "redis_password_file": secret("hilo-cli")}}
        router = self.router(redis, overrides=users)
        self.assertIn("hilo-router", r.hget(SCHEMA_KEY, "by"))
        router.stop()
        r.delete(SCHEMA_KEY)
        self.cli(router, "migrate", "--dry-run")
        self.assertFalse(r.exists(SCHEMA_KEY))
        import_debtors(router.conf_path, self.workdir, [{"debtor_id": "F2", "phones": "+16502530012"}])
        self.assertIn("hilo import-debtors", r.hget(SCHEMA_KEY, "by"))
        p = self.cli(router, "migrate")
        self.assertIn("up to date", p.stdout)
        router.start()

    def test_version1_data_router_refuses_then_migrate(self):
        redis = self.redis(stamp_schema=False)
        r = redis.client()
        seed_version1(r)
        before = snapshot(r)
        router = self.router(redis, start=False)
        router.start(wait=False)
        line = self.refused(router)
        self.assertIn("stored=1 known=%d" % schema_version(), line)
        self.assertIn("hilo migrate", line)
        self.assertIn("written before schema versions", line)
        self.assertEqual(snapshot(r), before, "a refusing router writes nothing")

        p = self.cli(router, "migrate", "--dry-run")
        out = p.stdout.splitlines()
        self.assertIn("schema version in Redis: 1 (hilo data written before schema versions); this hilo: %d"
                      % schema_version(), out)
        self.assertIn("would move hilo:addr:+5215512345678 -> hilo:addr:+525512345678 (debtor M1)", out)
        self.assertIn("would rewrite hilo:{d:M1}:debtor phones +5215512345678;+16502530000 -> "
                      "+525512345678;+16502530000", out)
        self.assertIn("would stamp schema version 2", out)
        self.assertEqual(snapshot(r), before, "a dry run changes nothing")

        p = self.cli(router, "migrate")
        self.assertIn("moved hilo:addr:+5215512345678 -> hilo:addr:+525512345678 (debtor M1)", p.stdout)
        self.assertIn("schema version 2 stamped", p.stdout)
        self.assertEqual(r.get("hilo:addr:+525512345678"), "M1")
        self.assertEqual(r.get("hilo:addr:+525587654321"), "M2")
        self.assertIsNone(r.get("hilo:addr:+5215512345678"))
        self.assertEqual(r.hget(debtor_key("M1", "debtor"), "phones"), "+525512345678;+16502530000")
        stamp = r.hgetall(SCHEMA_KEY)
        self.assertEqual(stamp["version"], "2")
        self.assertIn("hilo migrate", stamp["by"])

        after = snapshot(r)
        p = self.cli(router, "migrate")
        self.assertIn("up to date: nothing to migrate", p.stdout)
        self.assertEqual(snapshot(r), after, "a second run changes nothing")

        router.start()  # ready now
        wa = self.connector(router, "whatsapp", "whatsapp-1")
        seq = wa.send_envelope(provider_message_id="wamid.M1", from_="+525512345678", to="15550001111", text="hola")
        res = wa.wait_result(seq, 15)
        self.assertEqual(res.kind, "ack", res)
        self.assertEqual(res.ack.debtor_id, "M1")

    def test_half_done_migration_and_conflict(self):
        redis = self.redis(stamp_schema=False)
        r = redis.client()
        seed_version1(r)
        # A run that crashed between setting the canonical key and deleting the old one.
        r.set("hilo:addr:+525512345678", "M1")
        # A conflict: the canonical spelling of M2's number names another debtor.
        r.set("hilo:addr:+525587654321", "C9")
        router = self.router(redis, start=False)
        p = self.cli(router, "migrate", expect=1)
        self.assertIn("dropped hilo:addr:+5215512345678 -> hilo:addr:+525512345678 (debtor M1)", p.stdout)
        self.assertIn("conflict: hilo:addr:+5215587654321 names debtor M2 but hilo:addr:+525587654321 names "
                      "debtor C9", p.stderr)
        self.assertIn("stays at schema version 1", p.stderr)
        self.assertFalse(r.exists(SCHEMA_KEY), "a step that did not finish is not stamped")
        self.assertIsNone(r.get("hilo:addr:+5215512345678"))
        router.start(wait=False)
        self.assertIn("stored=1", self.refused(router))

        r.delete("hilo:addr:+525587654321")  # the operator settles it
        p = self.cli(router, "migrate")
        self.assertIn("moved hilo:addr:+5215587654321 -> hilo:addr:+525587654321 (debtor M2)", p.stdout)
        self.assertEqual(r.hget(SCHEMA_KEY, "version"), "2")
        router.start()

    def test_newer_or_unreadable_version_is_refused(self):
        redis = self.redis(stamp_schema=False)
        r = redis.client()
        newer = schema_version() + 1
        r.hset(SCHEMA_KEY, mapping={"version": newer, "by": "hilo migrate 9.9 on elsewhere"})
        r.set("hilo:addr:+16502530000", "N1")
        before = snapshot(r)
        router = self.router(redis, start=False)
        router.start(wait=False)
        line = self.refused(router)
        self.assertIn("stored=%d known=%d" % (newer, schema_version()), line)
        self.assertIn("newer than this hilo knows", line)
        for args in (("migrate",), ("migrate", "--dry-run"), ("migrate-addresses",)):
            p = self.cli(router, *args, expect=EXIT_SCHEMA)
            self.assertIn("schema version %d, newer than this hilo knows (%d)" % (newer, schema_version()), p.stderr)
        p = run_cli(router.conf_path, "import-debtors", "-", check=False,
                    input="debtor_id,full_name,phones\nN2,Nora,+16502530001\n")
        self.assertEqual(p.returncode, EXIT_SCHEMA, p)
        self.assertEqual(snapshot(r), before, "nothing written")

        r.hset(SCHEMA_KEY, "version", "two")
        router.start(wait=False)
        wait_until(lambda: not router.running(), 30, "the router to exit on its own")
        self.assertEqual(router.proc.returncode, EXIT_SCHEMA)
        self.assertTrue(router.log_lines("event=schema_refused", "holds no schema version number"), router.log())
        self.cli(router, "migrate", expect=EXIT_SCHEMA)

    def test_redis_late_or_restored_with_old_data(self):
        redis = self.redis(stamp_schema=False)
        r = redis.client()
        seed_version1(r)
        redis.stop()
        # Redis unreachable at start: the router starts and waits (503), then refuses when Redis
        # comes up with data of version 1.
        router = self.router(redis, start=False)
        router.start(wait=False)
        router.wait_health(503, 30)
        redis.start()
        line = self.refused(router)
        self.assertIn("stored=1", line)

        # A router running on current data; Redis comes back with data of version 1 (a restored
        # old backup): it exits at the reconnect.
        self.cli(router, "migrate")
        router.start()
        r = redis.client()
        r.delete(SCHEMA_KEY)
        redis.restart()
        wait_until(lambda: not router.running(), 30, "the router to exit on its own")
        self.assertEqual(router.proc.returncode, EXIT_SCHEMA)
        self.assertEqual(len(router.log_lines("event=schema_refused", "stored=1")), 2, router.log())


if __name__ == "__main__":
    unittest.main()
