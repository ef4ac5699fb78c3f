#!/usr/bin/python3
"""test_delivery_state.py — router/lua/settle_outbound.lua with lib/delivery_state.lua against a
real redis-server: how one message's delivery status (hilo:{d:ID}:ostat) follows its reports.

The script is assembled the way router/lua/embed.cmake does it (the "-- @include" line replaced
by the library) and run with the keys and arguments router/src/dispatch.c gives it; the
reports are the status JSON settle() builds. Checks:
  - without part reports nothing changes: highest rank wins, stored byte for byte as sent;
  - a long SMS whose second part fails: failed, naming part 2 and its error, every part kept;
  - all parts delivered: delivered once every part says so (not while one is only sent);
  - reports in any order (parts before the connector's own SENT), repeats, and late ones;
  - the connector's FAILED "1 of 2 parts sent" stays failed; a status written before parts
    existed, or an unreadable one, is taken over.
"""
import json
import os
import unittest

from hilo_harness import HiloTestCase, debtor_key

SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
LUA = os.path.join(SOURCE_DIR, "router", "lua")
DEBTOR = "D-5001"
RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


def settle_script():
    with open(os.path.join(LUA, "settle_outbound.lua"), encoding="utf-8") as f:
        body = f.read()
    with open(os.path.join(LUA, "lib", "delivery_state.lua"), encoding="utf-8") as f:
        lib = f.read()
    assert "-- @include delivery_state.lua" in body
    return body.replace("-- @include delivery_state.lua", lib)


def report(state, part=0, parts=0, pmid=None, code=None, error=None, ms=1764000000000):
    """The status JSON of one DeliveryReport, as dispatch.c settle() writes it."""
    st = {"state": state, "rank": RANK[state]}
    if pmid:
        st["pmid"] = pmid
    if code:
        st["error_code"] = code
    if error:
        st["error"] = error
    st["ms"] = ms
    if part:
        st["part"] = part
    if parts > 1:
        st["parts"] = parts
    return json.dumps(st, separators=(",", ":"))


class DeliveryState(HiloTestCase):

    def setUp(self):
        super().setUp()
        self.r = self.redis().client()
        self.sha = self.r.script_load(settle_script())

    def settle(self, oid, status):
        """settle_outbound.lua's "recorded" answer (1 or 0); a report about one part does not
        settle the message (ARGV[3], as dispatch.c settle() passes it)."""
        keys = [debtor_key(DEBTOR, "out"), debtor_key(DEBTOR, "ostat"), debtor_key(DEBTOR, "oq:sms"),
                debtor_key(DEBTOR, "odisp")]
        settles = "0" if json.loads(status).get("part") else "1"
        return self.r.evalsha(self.sha, 4, *keys, oid, status, settles)[0]

    def ostat(self, oid):
        raw = self.r.hget(debtor_key(DEBTOR, "ostat"), oid)
        return json.loads(raw) if raw is not None else None

    def test_whole_message_reports_unchanged(self):
        sent = report("sent", pmid="SM1", parts=1)
        self.assertEqual(self.settle("o1", sent), 1)
        self.assertEqual(self.r.hget(debtor_key(DEBTOR, "ostat"), "o1"), sent, "stored as it came")
        delivered = report("delivered", pmid="SM1", ms=1764000000500)
        self.assertEqual(self.settle("o1", delivered), 1)
        self.assertEqual(self.r.hget(debtor_key(DEBTOR, "ostat"), "o1"), delivered)
        self.assertEqual(self.settle("o1", report("sent", pmid="SM1b")), 0, "a late SENT changes nothing")
        self.assertEqual(self.settle("o1", delivered), 0, "a repeat changes nothing")
        self.assertEqual(self.ostat("o1")["state"], "delivered")

    def test_second_part_fails(self):
        # The order Twilio and the connector produce: part 1's callbacks may come before the
        # connector's SENT (which waits for the last part).
        self.assertEqual(self.settle("o2", report("sent", part=1, parts=2, pmid="SMa")), 1)
        st = self.ostat("o2")
        self.assertEqual((st["state"], st["rank"], st["parts"]), ("sent", 1, 2))
        self.assertNotIn("report", st)
        self.assertEqual(self.settle("o2", report("sent", parts=2, pmid="SMa")), 1)  # the connector's own
        self.assertEqual(self.settle("o2", report("sent", part=2, parts=2, pmid="SMb")), 1)
        self.assertEqual(self.settle("o2", report("delivered", part=1, parts=2, pmid="SMa")), 1)
        self.assertEqual(self.ostat("o2")["state"], "sent", "part 2 is only sent")
        self.assertEqual(self.settle("o2", report("failed", part=2, parts=2, pmid="SMb", code="30003",
                                                  error="Unreachable destination handset", ms=1764000009000)), 1)
        st = self.ostat("o2")
        self.assertEqual((st["state"], st["rank"], st["failed_part"], st["parts"]), ("failed", 4, 2, 2), st)
        self.assertEqual((st["error_code"], st["error"]), ("30003", "Unreachable destination handset"))
        self.assertEqual(st["pmid"], "SMa")
        self.assertEqual(st["ms"], 1764000009000)
        self.assertEqual({k: (v["state"], v.get("pmid")) for k, v in st["part_states"].items()},
                         {"1": ("delivered", "SMa"), "2": ("failed", "SMb")})
        self.assertEqual(st["part_states"]["2"]["error_code"], "30003")
        self.assertEqual(st["report"]["state"], "sent")
        # Nothing moves it back: a late part report, part 1 read, the connector's SENT again.
        self.assertEqual(self.settle("o2", report("sent", part=2, parts=2, pmid="SMb")), 0)
        self.assertEqual(self.settle("o2", report("read", part=1, parts=2, pmid="SMa")), 1)
        self.assertEqual(self.settle("o2", report("sent", parts=2, pmid="SMa")), 0)
        st = self.ostat("o2")
        self.assertEqual((st["state"], st["failed_part"]), ("failed", 2))
        self.assertEqual(st["part_states"]["1"]["state"], "read")

    def test_all_parts_delivered(self):
        self.assertEqual(self.settle("o3", report("sent", parts=3, pmid="SMa")), 1)
        for k, sid in ((1, "SMa"), (2, "SMb"), (3, "SMc")):
            self.settle("o3", report("sent", part=k, parts=3, pmid=sid))
        self.assertEqual(self.ostat("o3")["state"], "sent")
        self.settle("o3", report("delivered", part=3, parts=3, pmid="SMc"))
        self.settle("o3", report("delivered", part=1, parts=3, pmid="SMa"))
        self.assertEqual(self.ostat("o3")["state"], "sent", "part 2 not delivered yet")
        self.assertEqual(self.settle("o3", report("delivered", part=2, parts=3, pmid="SMb")), 1)
        st = self.ostat("o3")
        self.assertEqual((st["state"], st["rank"]), ("delivered", 2), st)
        self.assertNotIn("failed_part", st)
        self.assertNotIn("error", st)
        # The lowest state all parts reached: read only once every part is read.
        self.settle("o3", report("read", part=1, parts=3))
        self.settle("o3", report("read", part=2, parts=3))
        self.assertEqual(self.ostat("o3")["state"], "delivered")
        self.settle("o3", report("read", part=3, parts=3))
        self.assertEqual(self.ostat("o3")["state"], "read")
        self.assertEqual(self.ostat("o3")["part_states"]["3"]["pmid"], "SMc", "a report without an id keeps the id")

    def test_parts_before_the_connector_report(self):
        # Every part delivered before the connector's SENT arrives: delivered, and the SENT after
        # it neither lowers it nor is lost.
        self.settle("o4", report("delivered", part=2, parts=2, pmid="SMb"))
        self.assertEqual(self.ostat("o4")["state"], "sent", "one of two parts: a part went out")
        self.settle("o4", report("delivered", part=1, parts=2, pmid="SMa"))
        self.assertEqual(self.ostat("o4")["state"], "delivered")
        self.assertEqual(self.settle("o4", report("sent", parts=2, pmid="SMa")), 1)
        st = self.ostat("o4")
        self.assertEqual((st["state"], st["pmid"], st["report"]["state"]), ("delivered", "SMa", "sent"))

    def test_connector_failed_after_some_parts(self):
        # Part 2 refused at send time: the connector's FAILED says so; part 1's delivery keeps it failed.
        self.settle("o5", report("sent", part=1, parts=2, pmid="SMa"))
        self.settle("o5", report("failed", parts=2, pmid="SMa", code="21610",
                                 error="1 of 2 parts sent; Attempt to send to unsubscribed recipient"))
        self.settle("o5", report("delivered", part=1, parts=2, pmid="SMa"))
        st = self.ostat("o5")
        self.assertEqual((st["state"], st["error_code"]), ("failed", "21610"), st)
        self.assertTrue(st["error"].startswith("1 of 2 parts sent"))
        self.assertNotIn("failed_part", st)

    def test_takes_over_older_status(self):
        # A status stored before parts existed (the connector's SENT) becomes the whole-message report.
        old = json.dumps({"state": "sent", "rank": 1, "pmid": "SMa", "ms": 1})
        self.r.hset(debtor_key(DEBTOR, "ostat"), "o6", old)
        self.settle("o6", report("delivered", part=1, parts=2, pmid="SMa"))
        self.settle("o6", report("delivered", part=2, parts=2, pmid="SMb"))
        st = self.ostat("o6")
        self.assertEqual((st["state"], st["report"]["pmid"]), ("delivered", "SMa"))
        # An unreadable value is replaced, not a script error.
        self.r.hset(debtor_key(DEBTOR, "ostat"), "o7", "not json")
        self.assertEqual(self.settle("o7", report("failed", part=1, parts=2, code="30005")), 1)
        st = self.ostat("o7")
        self.assertEqual((st["state"], st["failed_part"]), ("failed", 1))


if __name__ == "__main__":
    unittest.main(verbosity=2)
