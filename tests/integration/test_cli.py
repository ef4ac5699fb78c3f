#!/usr/bin/python3
"""test_cli.py — the `hilo` operator CLI against a real redis-server.

Starts its own redis-server on a free port in a temporary directory (killed at the end) and runs
$HILO_BUILD_DIR/router/cli/hilo with a config file written here. Covers: the portfolio import
(exact FILE:LINE rejection lines, good rows in Redis, re-import with a changed phone, a phone
owned by another debtor), `send` (committed as the router commits), `thread` (text and --json,
by id and by phone, unidentified contacts), `conversations`, `debtor`, the demo portfolio, a
broken config (exit 2, file:line) and an unreachable Redis (exit 3).
Runs under Debian's /usr/bin/python3 with python3-redis; stdlib unittest otherwise.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import redis

import hilo_slot_guard
from hilo_harness import free_port, outbox_key

SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = os.environ.get("HILO_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
HILO = os.path.join(BUILD_DIR, "router", "cli", "hilo")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
DEMO_CSV = os.path.join(SOURCE_DIR, "deploy", "demo", "debtors.csv")

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
OID = r"o\d{13}-[0-9a-f]{12}"


class RedisServer:
    """redis-server without persistence on a free port, in `workdir`."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.port = None
        for _ in range(5):  # another process may take the port between free_port() and bind
            if self._start(free_port()):
                return
        raise RuntimeError("redis-server did not start; see %s/redis.log" % workdir)

    def _start(self, port):
        log = open(os.path.join(self.workdir, "redis.log"), "ab")
        # Under HILO_TEST_REDIS_CLUSTER=1 a one-node cluster, as hilo_harness's: a transaction
        # over two slots is refused (CROSSSLOT).
        cluster = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                   "--cluster-port", str(free_port())] if hilo_slot_guard.enabled() else []
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--save", "", "--appendonly", "no", "--port", str(port),
             "--bind", "127.0.0.1", "--dir", self.workdir] + cluster,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping():
                    self.port = port
                    if cluster:
                        hilo_slot_guard.claim_all_slots(self.client())
                    return True
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        self.stop()
        return False

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def dkey(debtor_id, part):
    return "hilo:{d:%s}:%s" % (debtor_id, part)


class CliTestCase(unittest.TestCase):
    """A redis-server of the class's own, a config file naming it (conf_text()), and hilo()
    to run the CLI against it. No tests here: test_cli_options.py shares it."""

    @classmethod
    def conf_text(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hilo-cli-test-")
        cls.server = RedisServer(cls.tmp)
        cls.r = cls.server.client()
        cls.conf = cls.write("hilo.conf", cls.conf_text())

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.r.flushall()

    @classmethod
    def write(cls, name, text):
        path = os.path.join(cls.tmp, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def hilo(self, *args, conf=None, expect=0, env_extra=None):
        """Runs hilo -c <conf> args (with env_extra in its environment); checks the exit status;
        returns (stdout, stderr)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        env.update(env_extra or {})
        cmd = [HILO, "-c", conf or self.conf] + list(args)
        p = subprocess.run(cmd, capture_output=True, encoding="utf-8", env=env, cwd=self.tmp,
                           timeout=60, stdin=subprocess.DEVNULL)
        if expect is not None:
            self.assertEqual(p.returncode, expect, "%s\nstdout: %s\nstderr: %s"
                             % (" ".join(cmd), p.stdout, p.stderr))
        return p.stdout, p.stderr


@unittest.skipUnless(os.access(HILO, os.X_OK), "the hilo CLI (%s) is not built" % HILO)
class HiloCli(CliTestCase):
    @classmethod
    def conf_text(cls):
        # The shared config file: the CLI must read its keys and leave the other sections alone.
        return ("[redis]\nhost = 127.0.0.1\nport = %d\ntimeout_ms = 3000\n\n"
                "[identity]\ndefault_country_code = 1\n\n"
                "[router]\ninstance = router-test\nlink_bind = tcp://127.0.0.1:1\nhistory_max = 1000\n"
                "dedupe_window_s = 60\n\n"
                "[whatsapp]\nverify_token = x\napp_secret = y\n" % cls.server.port)

    # ---- import-debtors -------------------------------------------------------------------

    def test_import_reports_bad_rows_and_imports_good_ones(self):
        csv = self.write("portfolio.csv", "\n".join([
            "debtor_id,full_name,phones,document_last4,balance,currency,days_past_due,timezone,language,notes",
            'G1,"Gómez, Ana",+16505550001,4321,1250.00,USD,45,America/New_York,es,"first line',
            'second line"',
            "B1,Bad Phone,+1650,,,,,,,",
            "B2,Bad Balance,+16505550002,,-3,,,,,",
            '"G2",Bob Smith,(650) 555-0003; 6505550004,,0,,0,America/Bogota,en,',
            "B3,Bad TZ,,,,,,../etc/passwd,,",
            "B4,Bad Language,,,,,,,spanish,",
            "B5,Bad Document,,12345,,,,,,",
            "B6,Bad Currency,,,,usd,,,,",
            "B7,Bad Days,,,,,x,,,",
            "u:+16505550009,Reserved Id,,,,,,,,",
            'B8,"Name on',
            'two lines",+1650,,,,,,,',
            ",No Id,,,,,,,,",
            "B9,Short",
            'B10,"never closed,,,,,,,,,',
        ]) + "\n")
        out, err = self.hilo("import-debtors", csv)
        # A bad phone does not refuse its row (B1, B8): reported, and the row loads without it.
        self.assertEqual(out, "imported 4, rejected 10\n")
        self.assertEqual(err.splitlines(), [
            csv + ":4: debtor B1: phone '+1650': too short for its country",
            csv + ":5: debtor B2: balance '-3' is not a decimal number >= 0",
            csv + ":7: debtor B3: timezone '../etc/passwd' is not a known time zone (e.g. America/Bogota)",
            csv + ":8: debtor B4: language 'spanish' is not a 2-letter language code (e.g. es, en)",
            csv + ":9: debtor B5: document_last4 '12345' is not exactly 4 digits",
            csv + ":10: debtor B6: currency 'usd' is not 3 uppercase letters (ISO 4217, e.g. USD)",
            csv + ":11: debtor B7: days_past_due 'x' is not an integer >= 0",
            csv + ":12: debtor u:+16505550009: invalid debtor_id "
                  "(1-64 of A-Z a-z 0-9 . _ : + -, not starting with u:)",
            csv + ":13: debtor B8: phone '+1650': too short for its country",
            csv + ":15: debtor (empty): missing debtor_id",
            csv + ":16: debtor B9: row has 2 fields, the header has 10",
            csv + ":17: unterminated quoted field (quote opened on line 17)",
        ])
        self.assertEqual(self.r.smembers("hilo:debtors"), {"G1", "G2", "B1", "B8"})
        g1 = self.r.hgetall(dkey("G1", "debtor"))
        self.assertEqual(g1["full_name"], "Gómez, Ana")
        self.assertEqual(g1["phones"], "+16505550001")
        self.assertEqual(g1["attr:notes"], "first line\nsecond line")
        self.assertEqual((g1["balance"], g1["currency"], g1["days_past_due"], g1["document_last4"]),
                         ("1250.00", "USD", "45", "4321"))
        self.assertEqual((g1["timezone"], g1["language"]), ("America/New_York", "es"))
        self.assertTrue(abs(int(g1["imported_ms"]) - time.time() * 1000) < 60000)
        g2 = self.r.hgetall(dkey("G2", "debtor"))
        self.assertEqual(g2["phones"], "+16505550003;+16505550004")  # normalized with [identity]
        self.assertNotIn("currency", g2)                              # empty: not written
        self.assertEqual(self.r.get("hilo:addr:+16505550001"), "G1")
        self.assertEqual(self.r.get("hilo:addr:+16505550003"), "G2")
        self.assertEqual(self.r.get("hilo:addr:+16505550004"), "G2")
        self.assertIsNone(self.r.get("hilo:addr:+16505550002"))       # B2 was refused whole
        self.assertEqual(sorted(self.r.keys("hilo:{d:B*")), ["hilo:{d:B1}:debtor", "hilo:{d:B8}:debtor"])
        self.assertNotIn("phones", self.r.hgetall(dkey("B1", "debtor")))

    def test_import_bom_crlf(self):
        csv = self.write("bom.csv", "\ufeffdebtor_id,full_name,phones\r\nC1,\"Carla\r\nRuiz\",6505550101\r\n"
                         "C2,Bad,+1650\r\n")
        with open(csv, "rb") as f:
            self.assertTrue(f.read().startswith(b"\xef\xbb\xbfdebtor_id"))
        out, err = self.hilo("import-debtors", csv)
        self.assertEqual(out, "imported 2, rejected 0\n")
        self.assertEqual(err, csv + ":4: debtor C2: phone '+1650': too short for its country\n")
        self.assertEqual(self.r.hget(dkey("C1", "debtor"), "debtor_id"), "C1")
        self.assertEqual(self.r.get("hilo:addr:+16505550101"), "C1")

    def test_import_standard_input(self):
        # `-` reads standard input; bad rows are <stdin>:LINE.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        p = subprocess.run([HILO, "-c", self.conf, "import-debtors", "-"], capture_output=True, encoding="utf-8",
                           env=env, cwd=self.tmp, timeout=60,
                           input="debtor_id,full_name,phones\nS1,Sara,6505550111\nS2,Bad,+1650\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "imported 2, rejected 0\n")
        self.assertEqual(p.stderr, "<stdin>:3: debtor S2: phone '+1650': too short for its country\n")
        self.assertEqual(self.r.get("hilo:addr:+16505550111"), "S1")

    def test_import_bad_file_or_header(self):
        _, err = self.hilo("import-debtors", os.path.join(self.tmp, "missing.csv"), expect=1)
        self.assertIn("cannot read", err)
        csv = self.write("noid.csv", "name,full_name\nx,y\n")
        out, err = self.hilo("import-debtors", csv, expect=1)
        self.assertEqual(err, csv + ":1: bad header: missing required column debtor_id\n")
        self.assertEqual(out, "")
        csv = self.write("empty.csv", "")
        self.hilo("import-debtors", csv, expect=1)
        self.assertEqual(self.r.dbsize(), 0)

    def test_reimport_moves_phones(self):
        first = self.write("v1.csv", "debtor_id,full_name,phones,email\n"
                           "R1,Rita Moreno,+16505550201;+16505550202;+16505550203,rita@example.com\n")
        self.hilo("import-debtors", first)
        # Someone else owns +…0203 now (e.g. a correction made by hand): it must not be touched.
        self.r.set("hilo:addr:+16505550203", "R9")
        second = self.write("v2.csv", "debtor_id,full_name,phones,email\n"
                            "R1,Rita Moreno Díaz,+16505550202;+16505550299,\n")
        out, err = self.hilo("import-debtors", second)
        self.assertEqual((out, err), ("imported 1, rejected 0\n", ""))
        self.assertIsNone(self.r.get("hilo:addr:+16505550201"), "the dropped phone is unmapped")
        self.assertEqual(self.r.get("hilo:addr:+16505550202"), "R1")
        self.assertEqual(self.r.get("hilo:addr:+16505550299"), "R1")
        self.assertEqual(self.r.get("hilo:addr:+16505550203"), "R9")
        rec = self.r.hgetall(dkey("R1", "debtor"))
        self.assertEqual(rec["phones"], "+16505550202;+16505550299")
        self.assertEqual(rec["full_name"], "Rita Moreno Díaz")
        self.assertNotIn("email", rec, "a column emptied in the file is emptied in Redis")
        self.assertEqual(self.r.smembers("hilo:debtors"), {"R1"})

    def test_conflicting_phone_is_refused(self):
        self.hilo("import-debtors", self.write("a.csv", "debtor_id,full_name,phones\nK1,Kim,+16505550301\n"))
        csv = self.write("b.csv", "debtor_id,full_name,phones\n"
                         "K2,Kai,+16505550302;+1 650 555 0301\n"
                         "K3,Kay,+16505550303\n")
        out, err = self.hilo("import-debtors", csv)
        self.assertEqual(out, "imported 1, rejected 1\n")
        self.assertEqual(err, csv + ":2: debtor K2: phone +16505550301 already belongs to debtor K1\n")
        self.assertEqual(self.r.get("hilo:addr:+16505550301"), "K1")
        self.assertIsNone(self.r.get("hilo:addr:+16505550302"), "nothing of the refused row is written")
        self.assertFalse(self.r.exists(dkey("K2", "debtor")))
        self.assertEqual(self.r.smembers("hilo:debtors"), {"K1", "K3"})

    def test_demo_portfolio(self):
        out, err = self.hilo("import-debtors", DEMO_CSV)
        self.assertEqual((out, err), ("imported 20, rejected 0\n", ""))
        ana = self.r.hgetall(dkey("D1001", "debtor"))
        self.assertEqual(ana["full_name"], "Ana María Gómez")
        self.assertEqual(ana["phones"], "+16505551234")
        self.assertEqual((ana["document_last4"], ana["balance"], ana["currency"], ana["days_past_due"]),
                         ("4321", "1250.00", "USD", "45"))
        self.assertEqual((ana["timezone"], ana["language"]), ("America/New_York", "es"))
        self.assertEqual(self.r.get("hilo:addr:+16505551234"), "D1001")
        out, _ = self.hilo("debtor", "D1001")
        self.assertIn("full_name         Ana María Gómez\n", out)
        self.assertIn("phones            +16505551234\n", out)
        out2, _ = self.hilo("debtor", "(650) 555-1234")
        self.assertEqual(out, out2)
        _, err = self.hilo("debtor", "D4040", expect=1)
        self.assertIn("unknown debtor", err)

    # ---- send, thread, conversations ----------------------------------------------------------

    def test_send_thread_and_conversations(self):
        self.hilo("import-debtors", DEMO_CSV)
        o1, _ = self.hilo("send", "D1001", "whatsapp", "Hola Ana, ¿tiene un momento?")
        o2, _ = self.hilo("send", "D1001", "sms", "Recordatorio: saldo 1250.00 USD")
        o1, o2 = o1.strip(), o2.strip()
        self.assertRegex(o1, "^" + OID + "$")
        self.assertNotEqual(o1, o2)
        # An inbound item as commit_inbound.lua stores it.
        inbound = {"ch": "whatsapp", "dir": "in", "kind": "text", "pmid": "wamid.T1",
                   "from": "+16505551234", "to": "15550001111", "sent_ms": 1, "recv_ms": 2,
                   "text": "Sí, dígame\n(estoy en el trabajo)"}
        in_id = self.r.xadd(dkey("D1001", "hist"), {"j": json.dumps(inbound, ensure_ascii=False)})
        self.r.hset(dkey("D1001", "ostat"), o1, json.dumps({"state": "delivered", "rank": 2, "pmid": "w1",
                                                            "error_code": "", "error": "", "ms": 5}))

        # Committed as the router commits: history item, pending hash, the debtor's queue per
        # channel with how the gate at hand-off judges it, the dispatch index mark, state.
        self.assertEqual(set(self.r.hkeys(dkey("D1001", "out"))), {o1, o2})
        self.assertEqual(self.r.zrange(dkey("D1001", "oq:whatsapp"), 0, -1), [o1])
        self.assertEqual(self.r.zrange(dkey("D1001", "oq:sms"), 0, -1), [o2])
        disp = json.loads(self.r.hget(dkey("D1001", "odisp"), o1))
        self.assertEqual((disp["by"], disp["bot"], disp["reply"], disp["kind"], disp["wait"]),
                         ("cli", False, False, "freeform", False))
        self.assertEqual(self.r.zrange(outbox_key("D1001", "whatsapp"), 0, -1, withscores=True), [("D1001", 0.0)])
        conv = self.r.hgetall(dkey("D1001", "conv"))
        self.assertEqual((conv["state"], conv["msgs_out"], conv["last_out_channel"]), ("open", "2", "sms"))
        self.assertEqual(self.r.zrange("hilo:convs", 0, -1), ["D1001"])

        out, _ = self.hilo("thread", "D1001")
        lines = out.splitlines()
        self.assertEqual(lines[0], "debtor D1001  name: Ana María Gómez  state: open")
        self.assertEqual(len(lines), 4, out)
        self.assertRegex(lines[1], "^" + TIME + r"  whatsapp  out  text     Hola Ana, ¿tiene un momento\?  \[delivered\]$")
        self.assertRegex(lines[2], "^" + TIME + r"  sms       out  text     Recordatorio: saldo 1250.00 USD  \[pending\]$")
        self.assertRegex(lines[3], "^" + TIME + r"  whatsapp  in   text     Sí, dígame \(estoy en el trabajo\)$")
        # The time column is the stream id's.
        ms = int(in_id.split("-")[0])
        self.assertTrue(lines[3].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
                                            + ".%03dZ" % (ms % 1000)))

        by_phone, _ = self.hilo("thread", "+1 (650) 555-1234")
        self.assertEqual(by_phone, out)

        jout, _ = self.hilo("thread", "--json", "D1001")
        items = [json.loads(l) for l in jout.splitlines()]
        stream = self.r.xrange(dkey("D1001", "hist"))
        self.assertEqual([i["id"] for i in items], [sid for sid, _ in stream])
        self.assertEqual(items[2], dict(inbound, id=in_id))
        first = items[0]
        self.assertEqual({k: first[k] for k in ("ch", "dir", "kind", "oid", "to", "text", "by")},
                         {"ch": "whatsapp", "dir": "out", "kind": "text", "oid": o1, "to": "+16505551234",
                          "text": "Hola Ana, ¿tiene un momento?", "by": "cli"})
        self.assertEqual(first["sent_ms"], first["recv_ms"])
        self.assertEqual(set(first), {"id", "ch", "dir", "kind", "oid", "to", "sent_ms", "recv_ms", "text", "by"})
        self.assertEqual(items[1]["ch"], "sms")

        # The pending Outbound is the protobuf the connector will get (when the bindings are built).
        try:
            import hilo_link_pb2 as pb
        except ImportError:
            pb = None
        if pb is not None:
            raw = redis.Redis(host="127.0.0.1", port=self.server.port).hget(dkey("D1001", "out"), o2)
            o = pb.Outbound()
            o.ParseFromString(raw)
            self.assertEqual((o.outbound_id, o.channel, o.to, o.debtor_id, o.language),
                             (o2, pb.CHANNEL_SMS, "+16505551234", "D1001", "es"))

        # A second debtor, more recent: listed first.
        self.hilo("send", "D1003", "whatsapp", "Buenas tardes Carlos")
        out, _ = self.hilo("conversations")
        rows = out.splitlines()
        self.assertRegex(rows[0], r"^DEBTOR\s+NAME\s+STATE\s+CHANNEL\s+LAST ACTIVITY\s+IN\s+OUT$")
        self.assertEqual(len(rows), 3, out)
        self.assertRegex(rows[1], r"^D1003\s+Carlos Andrés Restrepo\s+open\s+whatsapp\s+" + TIME + r"\s+0\s+1$")
        self.assertRegex(rows[2], r"^D1001\s+Ana María Gómez\s+open\s+sms\s+" + TIME + r"\s+0\s+2$")
        out, _ = self.hilo("conversations", "--limit", "1")
        self.assertEqual(len(out.splitlines()), 2)
        self.hilo("conversations", "--limit", "zero", expect=64)

    def test_thread_of_unknown_and_unidentified(self):
        _, err = self.hilo("thread", "D4040", expect=1)
        self.assertIn("unknown debtor 'D4040'", err)
        _, err = self.hilo("thread", "+16505559999", expect=1)
        self.assertIn("+16505559999", err)
        uid = "u:+16505557777"
        self.r.xadd(dkey(uid, "hist"), {"j": json.dumps({"ch": "sms", "dir": "in", "kind": "text",
                                                         "text": "who is this?"})})
        self.r.hset(dkey(uid, "conv"), mapping={"state": "open", "unidentified": "1", "addr:sms": "+16505557777"})
        out, _ = self.hilo("thread", "650-555-7777")
        self.assertEqual(out.splitlines()[0], "debtor u:+16505557777  name: (unidentified contact)  state: open")
        self.assertRegex(out.splitlines()[1], "^" + TIME + r"  sms       in   text     who is this\?$")
        # Replying to an unidentified contact uses the address its conversation recorded.
        oid, _ = self.hilo("send", uid, "sms", "Hola, ¿con quién hablo?")
        item = json.loads(self.r.xrange(dkey(uid, "hist"))[-1][1]["j"])
        self.assertEqual((item["oid"], item["to"]), (oid.strip(), "+16505557777"))

    def test_send_refusals(self):
        self.hilo("import-debtors", self.write("n.csv", "debtor_id,full_name\nN1,No Phone\n"))
        _, err = self.hilo("send", "N1", "whatsapp", "hola", expect=1)
        self.assertIn("no address", err)
        self.hilo("send", "N1", "fax", "hola", expect=64)
        self.hilo("send", "N1", "sms", expect=64)
        self.hilo("send", "N404", "sms", "hola", expect=1)
        self.assertFalse(self.r.exists(dkey("N1", "hist")))

    def test_send_longer_than_the_channel_allows(self):
        """A text the connector would refuse as too long is refused before anything is committed,
        counted as the connector counts: SMS parts of at most 1600 characters, cut at spaces, at
        most [sms] max_parts of the shared config (default 3); WhatsApp text 4096 characters."""
        self.hilo("import-debtors", DEMO_CSV)
        words = lambda n: ("palabra " * (n // 8 + 1))[:n]  # noqa: E731 — n characters, spaces every 8
        with open(self.conf, encoding="utf-8") as f:
            shared = f.read()
        two = self.write("two.conf", shared + "\n[sms]\nmax_parts = 2\n")

        def nothing_committed(debtor):
            self.assertFalse(self.r.exists(dkey(debtor, "hist")), "history written")
            self.assertFalse(self.r.exists(dkey(debtor, "out")), "pending outbound written")
            self.assertEqual(self.r.zcard("hilo:outbox:sms") + self.r.zcard("hilo:outbox:whatsapp"), 0)

        _, err = self.hilo("send", "D1001", "sms", words(3300), conf=two, expect=1)
        self.assertIn("not sent to D1001 on sms: text too long: 3300 characters need 3 SMS parts", err)
        self.assertIn("at most 2 ([sms] max_parts)", err)
        nothing_committed("D1001")
        # Non-ASCII counts characters, not bytes; an emoji outside the BMP counts 2 (UTF-16).
        _, err = self.hilo("send", "D1001", "sms", "ñ" * 1500 + " " + "😀" * 900, conf=two, expect=1)
        self.assertIn("3301 characters need 3 SMS parts", err)
        nothing_committed("D1001")
        # Within the limit: sent as before (the default is the connector's, 3 parts).
        oid, _ = self.hilo("send", "D1001", "sms", words(3200), conf=two)
        self.assertRegex(oid.strip(), "^" + OID + "$")
        self.hilo("send", "D1001", "sms", words(4800))
        _, err = self.hilo("send", "D1001", "sms", words(4801), expect=1)
        self.assertIn("4801 characters need 4 SMS parts", err)
        self.assertEqual(self.r.hlen(dkey("D1001", "out")), 2)
        # WhatsApp: 4096 characters (not bytes) at most.
        self.hilo("send", "D1003", "whatsapp", "ñ" * 4096)
        _, err = self.hilo("send", "D1003", "whatsapp", "ñ" * 4097, expect=1)
        self.assertIn("not sent to D1003 on whatsapp: text too long: 4097 characters, the limit is 4096", err)
        self.assertEqual(self.r.hlen(dkey("D1003", "out")), 1)
        # The limit is the SMS connector's setting: a value it would refuse breaks the config.
        bad = self.write("nine.conf", shared + "\n[sms]\nmax_parts = 9\n")
        _, err = self.hilo("send", "D1001", "sms", "hola", conf=bad, expect=2)
        self.assertIn("[sms] max_parts: out of range 1..8", err)

    # ---- configuration and Redis failures ------------------------------------------------------

    def test_broken_config_exits_2_with_file_and_line(self):
        bad = self.write("bad.conf", "[redis]\nhost = 127.0.0.1\n\nport = lots\n")
        _, err = self.hilo("conversations", conf=bad, expect=2)
        self.assertIn(bad + ":4: [redis] port: not an integer", err)
        syntax = self.write("syntax.conf", "[redis]\nport = %d\nthis line is wrong\n" % self.server.port)
        _, err = self.hilo("thread", "D1", conf=syntax, expect=2)
        self.assertIn(syntax + ":3: expected 'key = value' or '[section]'", err)
        big = self.write("big.conf", "[redis]\nport = %d\n[router]\nhistory_max = 0\n" % self.server.port)
        _, err = self.hilo("conversations", conf=big, expect=2)
        self.assertIn(big + ":4: [router] history_max: out of range", err)
        _, err = self.hilo("conversations", conf=os.path.join(self.tmp, "nope.conf"), expect=2)
        self.assertIn("nope.conf", err)

    def test_redis_unreachable_exits_3(self):
        conf = self.write("down.conf", "[redis]\nport = %d\ntimeout_ms = 500\n" % free_port())
        _, err = self.hilo("conversations", conf=conf, expect=3)
        self.assertIn("cannot connect to Redis at 127.0.0.1:", err)
        _, err = self.hilo("import-debtors", DEMO_CSV, conf=conf, expect=3)
        self.assertIn("cannot connect to Redis", err)

    def test_help(self):
        p = subprocess.run([HILO, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        for word in ("import-debtors", "thread", "conversations", "send", "debtor", "exit codes"):
            self.assertIn(word, p.stdout)
        p = subprocess.run([HILO, "frobnicate"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 64)


if __name__ == "__main__":
    unittest.main()
