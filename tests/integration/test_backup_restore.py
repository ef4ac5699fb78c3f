"""Backup and restore of Redis, the way docs/operations.md ("Backup and restore") says.

Real redis-server (AOF everysec, as deployed), hilo-router and a reference SMS connector:
1. three inbound messages of a debtor are acked (durable in Redis);
2. backup: BGSAVE, wait until INFO's rdb_saves counts it and the save reports ok, copy dump.rdb out of
   Redis's `dir` (CONFIG GET dir), check the copy with redis-check-rdb;
3. two more messages are acked after the backup;
4. restore with the router left running: stop Redis, move its AOF directory and dump.rdb aside,
   put the copy in as dump.rdb, start Redis with appendonly off (so that it loads the RDB),
   CONFIG SET appendonly yes (Redis writes a new AOF from what it loaded), wait for that rewrite,
   and put appendonly yes back in the config; a restart then loads the new AOF;
5. the router reconnects by itself (same process; the schema check passes: the version came back
   with the data: event=schema_ok again) and sees exactly the backed-up state: the debtor's thread is the three messages
   with their stream ids, a message acked after the backup is new to it again, one acked before
   it is still a duplicate; the schema key is the backed-up one.
"""

import os
import shutil
import subprocess
import time
import unittest

from hilo_harness import SCHEMA_KEY, HiloTestCase, history, seed_debtor, wait_until

DEBTOR = "BK-1"
PHONE = "+16505550190"


def info(r, section="persistence"):
    return r.info(section)


class BackupRestore(HiloTestCase):
    def send(self, conn, pmid, text="hola"):
        seq = conn.send_envelope(provider_message_id=pmid, from_=PHONE, to="+15550001111", text=text)
        res = conn.wait_result(seq, 15)
        self.assertEqual(res.kind, "ack", res)
        return res.ack

    def test_backup_and_restore(self):
        redis = self.redis()
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE])
        router = self.router(redis)
        pid = router.proc.pid
        sms = self.connector(router, "sms", "sms-bk")
        for i in range(3):
            self.assertFalse(self.send(sms, "bk-%d" % i).duplicate)

        # 2. The backup.
        saves = info(r)["rdb_saves"]
        r.bgsave()
        wait_until(lambda: info(r)["rdb_saves"] > saves and not info(r)["rdb_bgsave_in_progress"], 30,
                   "BGSAVE to finish")
        self.assertEqual(info(r)["rdb_last_bgsave_status"], "ok")
        data_dir = r.config_get("dir")["dir"]
        backup = os.path.join(self.workdir, "backup")
        os.makedirs(backup)
        shutil.copy2(os.path.join(data_dir, "dump.rdb"), os.path.join(backup, "dump.rdb"))
        check = subprocess.run(["redis-check-rdb", os.path.join(backup, "dump.rdb")], capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        thread = history(r, DEBTOR)
        self.assertEqual([item["pmid"] for _, item in thread], ["bk-0", "bk-1", "bk-2"])
        schema = r.hgetall(SCHEMA_KEY)
        self.assertTrue(schema.get("version"))

        # 3. Written after the backup.
        for i in range(3, 5):
            self.assertFalse(self.send(sms, "bk-%d" % i).duplicate)
        self.assertEqual(len(history(r, DEBTOR)), 5)

        # 4. The restore, the router still running.
        checks = len(router.log_lines("event=schema_ok"))
        self.assertGreaterEqual(checks, 1, "the router checked the schema version when it connected")
        redis.stop()
        aside = os.path.join(self.workdir, "before-restore")
        os.makedirs(aside)
        for name in ("appendonlydir", "dump.rdb"):
            if os.path.exists(os.path.join(data_dir, name)):
                shutil.move(os.path.join(data_dir, name), os.path.join(aside, name))
        shutil.copy2(os.path.join(backup, "dump.rdb"), os.path.join(data_dir, "dump.rdb"))
        with open(redis.conf_path) as f:
            conf = f.read()
        self.assertIn("appendonly yes\n", conf)
        with open(redis.conf_path, "w") as f:
            f.write(conf.replace("appendonly yes\n", "appendonly no\n"))
        redis.start()
        r = redis.client()
        r.config_set("appendonly", "yes")
        wait_until(lambda: info(r)["aof_enabled"] and not info(r)["aof_rewrite_in_progress"]
                   and not info(r)["aof_rewrite_scheduled"], 60, "the AOF rewrite after CONFIG SET appendonly yes")
        self.assertEqual(info(r)["aof_last_bgrewrite_status"], "ok")
        with open(redis.conf_path, "w") as f:
            f.write(conf)
        redis.restart()  # from the new AOF now
        r = redis.client()

        # 5. What the router sees.
        router.wait_ready(30)
        self.assertEqual(router.proc.pid, pid, "the same router process, reconnected")
        self.assertEqual(history(r, DEBTOR), thread, "exactly the backed-up thread")
        self.assertEqual(r.hgetall(SCHEMA_KEY), schema)
        self.assertFalse(router.log_lines("event=schema_refused"))
        self.assertGreater(len(router.log_lines("event=schema_ok")), checks, "checked again on reconnecting")
        self.assertTrue(self.send(sms, "bk-1").duplicate, "acked before the backup: still known")
        self.assertFalse(self.send(sms, "bk-3").duplicate, "acked after the backup: new again")
        self.assertEqual([item["pmid"] for _, item in history(r, DEBTOR)], ["bk-0", "bk-1", "bk-2", "bk-3"])


if __name__ == "__main__":
    unittest.main()
