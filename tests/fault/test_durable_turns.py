"""Durable engine turns: a turn whose message is acked is applied exactly once, whatever fails
between the ack and the apply (docs/architecture.md, "Durable turns").

A real redis-server, real routers with the conversation engine and the test clock, real faults
injected after the connector has its ack and before the turn's effects are applied:
- NOSCRIPT: the script cache flushed and every script but engine_apply.lua loaded again (what a
  Redis restart followed by another client's SCRIPT LOAD looks like), so the inbound commit works
  and the apply answers NOSCRIPT — a STOP must still record the opt-out;
- rev conflicts: a concurrent writer (redis-benchmark) bumping the conversation's `rev` non-stop
  for a while — a legal threat must still escalate;
- Redis errors, then Redis stopped and started: an ACL that denies a key every apply declares
  (hilo:promises:due) makes the apply fail with NOPERM; Redis is then stopped and started again
  (the ACL is not persisted: the fault clears) — a confirmed promise must still be in the ledger;
- a router SIGKILLed while its turn is pending (held by the same ACL fault): another router's
  sweep resumes it (a legal threat), and a newer message of the same debtor handled by another
  router first applies the older pending turn (STOP, then START: the debtor ends opted in).
Each effect is checked to arrive exactly once: one audit entry, one ledger entry or queue entry,
one reply committed and sent, and nothing left pending.
"""

import glob
import os
import re
import shutil
import time
import unittest

from engine_helpers import EngineTestCase, audit, promises
from hilo_harness import SOURCE_DIR, debtor_key, history, spawn, tail, terminate, wait_until

TZ = "America/New_York"
EN, EN_PHONE = "D3001", "+16505553001"
ES, ES_PHONE = "D3002", "+16505553002"
FAULT_TIMEOUT = 30.0


def embedded_scripts():
    """{file name: source} of router/lua/*.lua as router/lua/embed.cmake embeds them (each
    "-- @include x.lua" line replaced by router/lua/lib/x.lua): the same bytes, the same SHA1."""
    out = {}
    lua = os.path.join(SOURCE_DIR, "router", "lua")
    for path in sorted(glob.glob(os.path.join(lua, "*.lua"))):
        with open(path) as f:
            body = f.read()
        for name in re.findall(r"-- @include ([a-z_]+\.lua)", body):
            with open(os.path.join(lua, "lib", name)) as f:
                body = body.replace("-- @include " + name, f.read())
        out[os.path.basename(path)] = body
    return out


class DurableTurns(EngineTestCase):
    # --- helpers ------------------------------------------------------------------------

    def start(self, **engine):
        self.start_engine(**engine)
        self.import_debtors([
            {"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE], "language": "en",
             "timezone": TZ},
            {"debtor_id": ES, "full_name": "Ana María Gómez", "phones": [ES_PHONE], "document_last4": "4321",
             "balance": "1250.00", "language": "es", "timezone": TZ},
        ])
        self.now = self.set_clock_local(TZ, 2026, 11, 24, 12, 0)

    def send(self, conn, phone, text):
        """One message from `phone` through `conn`; returns its provider id once acked."""
        pmid = "fault-%d-%d" % (time.time_ns(), id(conn))
        seq = conn.send_envelope(provider_message_id=pmid, from_=phone, to="+15550000000", text=text)
        res = conn.wait_result(seq, 10)
        self.assertIsNotNone(res, "no ack for %r" % text)
        self.assertEqual(res.kind, "ack", res)
        return pmid

    def wait_log(self, router, *needles, timeout=FAULT_TIMEOUT):
        return wait_until(lambda: router.log_lines(*needles), timeout,
                          lambda: "%s in %s's log\n%s" % (needles, router.name, tail(router.log_path, 20)))

    def deny_apply(self):
        """Redis errors: every key but hilo:promises:due (declared by every engine_apply.lua
        call, by no inbound commit) allowed to the default user. Checked by Redis before the
        script runs: NOPERM, nothing written."""
        self.deny_keys(self.redis_, "~hilo:[^p]*", "~hilo:p[^r]*")

    def allow_all(self):
        self.allow_all_keys(self.redis_)

    def bot_replies(self, debtor_id, pmid):
        """The bot's outbound items after the inbound item `pmid` in the thread."""
        items = history(self.r, debtor_id)
        at = next(i for i, (_, it) in enumerate(items) if it.get("pmid") == pmid)
        return [it for _, it in items[at + 1:] if it["dir"] == "out" and it.get("by") == "bot"]

    def replies_once(self, conns, replies, expect):
        """Every reply of the turn committed once (no text twice), one of them containing
        `expect`, and each sent to a connector under its one outbound id."""
        texts = [it["text"] for it in replies]
        self.assertEqual(len(set(texts)), len(texts), texts)
        self.assertTrue(any(expect in t for t in texts), texts)
        for it in replies:
            self.sent_once(conns, it)

    def sent_once(self, conns, item):
        """The reply reached a connector (any of `conns`), always under its one outbound id."""
        oid = item["oid"]
        got = wait_until(lambda: [o for c in conns for o in list(c.outbounds) if o.outbound_id == oid],
                         FAULT_TIMEOUT, "outbound %s to reach a connector" % oid)
        self.assertEqual({o.text for o in got}, {item["text"]})
        for c in conns:
            if any(o.outbound_id == oid for o in list(c.outbounds)):
                rr = c.wait_result(c.report_delivery(oid, "sent", provider_message_id="P" + oid), 10)
                self.assertEqual(rr.kind, "ack", rr)
                break
        return got[0]

    def assert_nothing_pending(self, debtor_id):
        wait_until(lambda: self.r.zcard(debtor_key(debtor_id, "turnq")) == 0, 10,
                   lambda: "no pending turn of %s (turnq %r)" % (debtor_id,
                                                                 self.r.zrange(debtor_key(debtor_id, "turnq"), 0, -1)))
        self.assertEqual(self.r.hlen(debtor_key(debtor_id, "turns")), 0)
        def indexed():
            return [m for p in range(16) for m in self.r.zrange("hilo:{p:%d}:turns" % p, 0, -1)
                    if m.startswith(debtor_id + "|")]
        wait_until(lambda: not indexed(), 10,
                   lambda: "the pending-turns index to forget %s (%r)" % (debtor_id, indexed()))

    def check_opted_out(self, debtor_id, channel, pmid, conns):
        conv = wait_until(lambda: (lambda c: c if ("optout:" + channel) in c else None)(
            self.r.hgetall(debtor_key(debtor_id, "conv"))), FAULT_TIMEOUT,
            "the opt-out of %s on %s to be recorded" % (debtor_id, channel))
        self.assertEqual(int(conv["optout:" + channel]), self.now, "recorded at the time of the STOP")
        opt = [f["j"] for _, f in audit(self.r, debtor_id, "optout")]
        self.assertEqual(len(opt), 1, opt)
        self.assertEqual((opt[0]["channel"], opt[0]["keyword"]), (channel, "STOP"))
        replies = wait_until(lambda: self.bot_replies(debtor_id, pmid), 10, "the STOP's confirmation")
        self.assertEqual(len(replies), 1, replies)
        self.assertIn("START", replies[0]["text"])
        self.sent_once(conns, replies[0])

    def check_escalated_legal(self, debtor_id, pmid, conns):
        conv = wait_until(lambda: (lambda c: c if c.get("state") == "queued" else None)(
            self.r.hgetall(debtor_key(debtor_id, "conv"))), FAULT_TIMEOUT,
            "the legal threat of %s to be escalated" % debtor_id)
        self.assertEqual(conv.get("esc_reason"), "legal_threat", conv)
        skill = conv.get("esc_skill")
        self.assertEqual(skill, "en.legal", conv)
        self.assertIsNotNone(self.r.zscore("hilo:queue:" + skill, debtor_id), "not in the %s queue" % skill)
        esc = [f["j"] for _, f in audit(self.r, debtor_id, "escalated")]
        self.assertEqual(len(esc), 1, esc)
        self.assertEqual((esc[0]["reason"], esc[0]["skill"]), ("legal_threat", skill))
        replies = wait_until(lambda: self.bot_replies(debtor_id, pmid), 10, "the hand-off reply")
        self.replies_once(conns, replies, "An agent from the right team will attend to you")

    # --- the tests ----------------------------------------------------------------------

    def test_stop_applied_after_noscript(self):
        self.start()
        sms = self.conn("sms")
        # The script cache is flushed and every script but engine_apply.lua is loaded again: the
        # commit of the STOP works, its turn's apply answers NOSCRIPT.
        self.r.script_flush()
        for name, src in embedded_scripts().items():
            if name != "engine_apply.lua":
                self.r.script_load(src)
        pmid = self.send(sms, EN_PHONE, "STOP")
        self.wait_log(self.router_, "event=apply_failed", "NOSCRIPT")
        self.check_opted_out(EN, "sms", pmid, [sms])
        self.assert_nothing_pending(EN)
        time.sleep(0.5)  # nothing arrives twice afterwards
        self.assertEqual(len(audit(self.r, EN, "optout")), 1)
        self.assertEqual(len(self.bot_replies(EN, pmid)), 1)

    def test_legal_threat_applied_despite_rev_conflicts(self):
        self.start()
        sms = self.conn("sms")
        kconv = debtor_key(EN, "conv")
        self.r.hset(kconv, "rev", "0")
        bench = shutil.which("redis-benchmark")
        if not bench:
            self.skipTest("redis-benchmark is not installed")
        # A concurrent writer: the conversation's rev bumped non-stop (pipelined, two clients),
        # so that every turn decided meanwhile finds it changed at its apply.
        writer = spawn([bench, "-p", str(self.redis_.port), "-c", "2", "-P", "16", "-n", "100000000", "-q",
                        "HINCRBY", kconv, "rev", "1"], os.path.join(self.workdir, "writer.log"))
        self.addCleanup(terminate, writer)
        wait_until(lambda: int(self.r.hget(kconv, "rev") or 0) > 1000, 10, "the writer to bump rev")
        pmid = self.send(sms, EN_PHONE, "I am going to sue you, talk to my lawyer")
        time.sleep(1.5)
        terminate(writer)
        self.assertGreater(int(self.r.hget(kconv, "rev")), 10000)
        self.check_escalated_legal(EN, pmid, [sms])
        self.assert_nothing_pending(EN)

    def test_promise_applied_after_redis_errors_and_restart(self):
        self.start()
        sms = self.conn("sms")
        for text in ("quiero pagar", "4321", "200 el 30/11"):
            self.debtor(ES, ES_PHONE).say("sms", text)
        self.assertEqual(promises(self.r, ES), {})
        self.deny_apply()
        pmid = self.send(sms, ES_PHONE, "1")  # confirms the promise
        self.wait_log(self.router_, "event=apply_failed", "NOPERM")
        # Redis goes away with the turn pending, and comes back (without the ACL).
        self.redis_.stop()
        time.sleep(0.5)
        self.redis_.start()
        self.r = self.redis_.client()
        ledger = wait_until(lambda: promises(self.r, ES), FAULT_TIMEOUT, "the promise to be in the ledger")
        self.assertEqual(len(ledger), 1, ledger)
        (pid, p), = ledger.items()
        self.assertEqual((p["amount_cents"], p["currency"], p["due"], p["state"]), (20000, "USD", "2026-11-30", "pending"))
        self.assertEqual(len(audit(self.r, ES, "promise")), 1)
        self.assertIsNotNone(self.r.zscore("hilo:promises:due", "%s|%s" % (ES, pid)))
        replies = wait_until(lambda: self.bot_replies(ES, pmid), 10, "the confirmation reply")
        self.replies_once([sms], replies, "registramos su promesa de pago de 200,00 USD")
        self.assert_nothing_pending(ES)

    def two_routers(self):
        """router-1 (the test case's) and router-2, an sms connector on each."""
        self.start()
        r2 = self.router(self.redis_, name="router-2", overrides=self.engine_overrides())
        c2 = self.connector(r2, "sms", "sms-router-2")
        return self.router_, r2, self.conn("sms"), c2

    def test_turn_of_killed_router_resumed_by_another(self):
        r1, r2, c1, c2 = self.two_routers()
        self.deny_apply()
        pmid = self.send(c1, EN_PHONE, "I will take you to court")
        self.wait_log(r1, "event=apply_failed", "NOPERM")
        r1.kill9()  # its turn pending
        self.allow_all()
        # Time passes: past [engine] turn_resume_ms (10 s) after the commit, router-2's sweep
        # takes the turn up.
        self.set_clock(self.now + 60000)
        self.check_escalated_legal(EN, pmid, [c1, c2])
        self.assert_nothing_pending(EN)
        self.assertTrue(r2.log_lines("event=turn_resumed", "debtor=" + EN), tail(r2.log_path))

    def test_older_pending_turn_applied_first(self):
        r1, r2, c1, c2 = self.two_routers()
        self.deny_apply()
        stop = self.send(c1, EN_PHONE, "STOP")
        self.wait_log(r1, "event=apply_failed", "NOPERM")
        r1.kill9()  # the STOP's turn pending
        self.allow_all()
        # The debtor writes again, through the other router, before any sweep: START must take
        # effect after the STOP, as the debtor sent them.
        start = self.send(c2, EN_PHONE, "START")
        wait_until(lambda: len(audit(self.r, EN, "optin")) == 1, FAULT_TIMEOUT, "the START to be applied")
        evs = [f["ev"] for _, f in audit(self.r, EN) if f["ev"] in ("optout", "optin")]
        self.assertEqual(evs, ["optout", "optin"], "STOP then START, each once")
        self.assertNotIn("optout:sms", self.r.hgetall(debtor_key(EN, "conv")))
        # In the thread: STOP, START (both committed before either turn applied), then the
        # STOP's confirmation and the START's, once each.
        replies = wait_until(lambda: (lambda x: x if len(x) >= 2 else None)(self.bot_replies(EN, start)), 10,
                             "both confirmations")
        texts = [it["text"] for it in replies]
        self.assertEqual(len(texts), 2, texts)
        self.assertIn("START", texts[0])
        self.assertEqual(self.bot_replies(EN, stop), replies)
        for it in replies:
            self.sent_once([c1, c2], it)
        self.assert_nothing_pending(EN)


if __name__ == "__main__":
    unittest.main()
