"""Redis users (docs/operations.md "Redis users", docs/security.md): a real redis-server with the
ACL users of deploy/lib/redis_users.sh — the quickstart's — and the default user off.

* Nobody gets in without logging in (NOAUTH), hilo-read cannot write, no hilo user can run an
  administrative command or touch a key outside hilo:*.
* The router as hilo-router ([redis] user, password_file of mode 0600): ready, commits an
  inbound message (Lua scripts), keeps its identity cache (client tracking), dispatches and
  settles an outbound; the CLI as hilo-cli ([cli] redis_user, redis_password_file) imports,
  sends, lists.
* A wrong password: the router stays unready (/healthz 503) and logs event=redis_auth_refused
  with the user, never the password; the CLI exits 3 with "refused AUTH (user hilo-cli)".
* A password file others may read: the router refuses to start (exit 2) naming the file.

Fails on the code before ACL users were supported (the router and CLI sent a one-argument AUTH
and knew no user or password file).
"""

import os
import time
import unittest

import redis as redislib

from hilo_harness import (TEST_CLOCK_OVERRIDES, HiloTestCase, cli_path, debtor_key, run_cli, use_workday_clock,
                          wait_until, write_secret)

DEBTOR = "D-9001"
PHONE = "+16505550199"


class RedisUsers(HiloTestCase):
    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        super().setUp()

    def secret(self, redis, user):
        return os.path.join(redis.secrets, "redis-%s.pass" % user)

    def password(self, redis, user):
        with open(self.secret(redis, user)) as f:
            return f.readline().strip()

    def overrides(self, redis, router_pass=None, cli_pass=None):
        return {**TEST_CLOCK_OVERRIDES,
                "redis": {"user": "hilo-router", "password_file": router_pass or self.secret(redis, "hilo-router")},
                "cli": {"redis_user": "hilo-cli", "redis_password_file": cli_pass or self.secret(redis, "hilo-cli")},
                "router": {"outbound_poll_ms": 50}}

    def test_users_are_enforced_and_hilo_works_with_its_own(self):
        redis = self.redis(acl=True)
        r = redis.client()  # the test's admin user
        # 1. The default user is off; each hilo user gets what it needs and no more.
        anon = redislib.Redis(host="127.0.0.1", port=redis.port, socket_timeout=5)
        with self.assertRaises(redislib.exceptions.AuthenticationError):
            anon.get("hilo:debtors")
        read = redis.client(username="hilo-read", password=self.password(redis, "hilo-read"))
        self.assertIsNone(read.get("hilo:x"))
        with self.assertRaises(redislib.exceptions.NoPermissionError):
            read.set("hilo:x", "1")
        for user in ("hilo-router", "hilo-cli"):
            c = redis.client(username=user, password=self.password(redis, user))
            c.set("hilo:probe", "1")
            with self.assertRaises(redislib.exceptions.NoPermissionError):
                c.set("other:key", "1")
            for cmd in (("FLUSHALL",), ("CONFIG", "GET", "dir"), ("KEYS", "*"), ("ACL", "LIST")):
                with self.assertRaises(redislib.exceptions.NoPermissionError, msg="%s may %s" % (user, cmd)):
                    c.execute_command(*cmd)
        with self.assertRaisesRegex(redislib.exceptions.ResponseError, "WRONGPASS"):
            redis.client(username="hilo-cli", password="wrong").ping()

        # 2. The router and the CLI, each as its own user.
        use_workday_clock(r)
        rt = self.router(redis, overrides=self.overrides(redis))
        self.assertFalse(rt.log_lines("NOPERM"), "\n".join(rt.log_lines("NOPERM")))
        import_csv = os.path.join(self.workdir, "d.csv")
        with open(import_csv, "w") as f:
            f.write("debtor_id,full_name,phones,email,document_last4,balance,currency,days_past_due,timezone,"
                    "language,country\n%s,Ana ACL,%s,,1234,100.00,USD,30,America/New_York,en,US\n" % (DEBTOR, PHONE))
        run_cli(rt.conf_path, "import-debtors", import_csv)
        self.assertEqual(r.hget(debtor_key(DEBTOR, "debtor"), "full_name"), "Ana ACL")
        c = self.connector(rt, "sms", "sms-acl")
        res = c.wait_result(c.send_envelope(provider_message_id="SMacl-1", from_=PHONE, text="hola"), 10)
        self.assertEqual((res.kind, res.debtor_id), ("ack", DEBTOR), res)
        run_cli(rt.conf_path, "send", DEBTOR, "sms", "Hola Ana")
        got = c.wait_outbound(15)
        self.assertTrue(got, "no outbound dispatched")
        res = c.wait_result(c.report_delivery(got[0].outbound_id, "sent", provider_message_id="SMacl-out"), 10)
        self.assertEqual(res.kind, "ack", res)
        wait_until(lambda: not r.hexists(debtor_key(DEBTOR, "out"), got[0].outbound_id), 5, "the outbound settled")
        out = run_cli(rt.conf_path, "thread", DEBTOR).stdout
        self.assertIn("hola", out)
        self.assertIn("Hola Ana", out)
        # The identity cache's client tracking (CLIENT TRACKING, __redis__:invalidate) works.
        self.assertTrue(rt.log_lines("mod=identity", "event=cache_on"), "the identity cache is not on")
        self.assertFalse(rt.log_lines("mod=identity", "level=error"))
        self.assertFalse(rt.log_lines("NOPERM"), "\n".join(rt.log_lines("NOPERM")))
        self.assertFalse(rt.log_lines("redis_auth_refused"))

    def test_a_wrong_password_fails_clearly(self):
        redis = self.redis(acl=True)
        wrong = write_secret(os.path.join(self.workdir, "wrong.pass"), "not-the-password")
        rt = self.router(redis, overrides=self.overrides(redis, router_pass=wrong, cli_pass=wrong), start=False)
        rt.start(wait=False)
        wait_until(lambda: rt.log_lines("event=redis_auth_refused", "user=hilo-router"), 15,
                   lambda: "the router to log the refused AUTH:\n" + rt.log()[-2000:])
        self.assertEqual(rt.healthz(), 503)
        self.assertNotIn("not-the-password", rt.log())
        p = run_cli(rt.conf_path, "conversations", check=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("refused AUTH (user hilo-cli)", p.stderr)
        self.assertIn("WRONGPASS", p.stderr)
        self.assertNotIn("not-the-password", p.stderr)

    def test_a_password_file_others_may_read_is_refused(self):
        redis = self.redis(acl=True)
        loose = os.path.join(self.workdir, "loose.pass")
        write_secret(loose, self.password(redis, "hilo-router"))
        os.chmod(loose, 0o644)
        rt = self.router(redis, overrides=self.overrides(redis, router_pass=loose, cli_pass=loose), start=False)
        rt.start(wait=False)
        wait_until(lambda: rt.proc.poll() is not None, 15, "the router to refuse the password file")
        self.assertEqual(rt.proc.returncode, 2)
        self.assertIn("%s: the secret file has mode 0644: group and others must have no access" % loose, rt.log())
        p = run_cli(rt.conf_path, "conversations", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("mode 0644", p.stderr)


if __name__ == "__main__":
    unittest.main()
