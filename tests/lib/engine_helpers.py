"""engine_helpers — driving the conversation engine (bot, verification, escalation, compliance
gate, promise ledger) of a real hilo-router from the tests/integration/test_engine_*.py suites.

Builds on hilo_harness (real redis-server + hilo-router) and hilo_connector (the reference
connector): one connector per channel, the debtor's messages sent as envelopes, the bot's
replies read as the Outbound frames the router dispatches (and settled with a DeliveryReport
SENT, as a real connector would), voice answers read as the Outbound with reply_to_seq.

    class T(EngineTestCase):
        def test_x(self):
            self.start_engine()                       # redis + router with the engine on
            self.import_debtors([{"debtor_id": "D1", "phones": ["+16505551234"], ...}])
            self.set_clock_local("America/New_York", 2026, 11, 24, 10, 0)
            d = self.debtor("D1", "+16505551234")
            texts = d.say("whatsapp", "cuanto debo")  # the bot's replies to this turn

The clock: the router runs with [engine] test_clock = true, so "now" for the engine, the
console's gate, the promise sweeper and the inbound commit (the debtor's last_in:<channel>) is
the Redis key hilo:test:now_ms (set_clock*). Set it before the debtor writes: the gate compares
the two, and a last inbound more than 2 s ahead of the gate's clock is no reply.
"""

import datetime
import itertools
import json
import os
import time
import zoneinfo

import hilo_link_pb2 as pb
from hilo_harness import (SOURCE_DIR, HiloTestCase, cli_path, debtor_key, history, import_debtors,
                          run_cli, tail, wait_until)

FLOW = os.path.join(SOURCE_DIR, "deploy", "flows", "collections.flow")
COMPLIANCE = os.path.join(SOURCE_DIR, "deploy", "compliance")
CLOCK_KEY = "hilo:test:now_ms"
TURN_TIMEOUT = 10.0

_pmids = itertools.count(1)


def local_ms(tz, y, mo, d, h=0, mi=0, s=0):
    """Unix ms of a wall-clock time in the IANA zone tz."""
    dt = datetime.datetime(y, mo, d, h, mi, s, tzinfo=zoneinfo.ZoneInfo(tz))
    return int(dt.timestamp() * 1000)


def audit(r, debtor_id, ev=None):
    """The debtor's audit trail: [(stream id, fields)] with `j` decoded; only `ev` if given."""
    out = []
    for eid, f in r.xrange(debtor_key(debtor_id, "audit")):
        f = dict(f)
        if "j" in f:
            try:
                f["j"] = json.loads(f["j"])
            except ValueError:
                pass
        if ev is None or f.get("ev") == ev:
            out.append((eid, f))
    return out


def promises(r, debtor_id):
    """The promise ledger: {promise id: dict}."""
    return {k: json.loads(v) for k, v in r.hgetall(debtor_key(debtor_id, "promises")).items()}


class Turn:
    """What one inbound message led to: the replies (texts and Outbound frames) in order."""

    def __init__(self, pmid, replies, outbounds, voice=None):
        self.pmid = pmid
        self.replies = replies        # texts of the bot's replies
        self.outbounds = outbounds    # the Outbound frames (voice: the one that answered)
        self.voice = voice            # voice: the VoiceAction of the answer

    @property
    def text(self):
        return "\n".join(self.replies)

    def __repr__(self):
        return "Turn(%s, %r)" % (self.pmid, self.replies)


class Debtor:
    """One debtor's phone, talking to the router through the test's connectors."""

    def __init__(self, case, debtor_id, phone):
        self.case = case
        self.id = debtor_id
        self.phone = phone
        self.r = case.r

    def conv(self):
        return self.r.hgetall(debtor_key(self.id, "conv"))

    def rev(self):
        return int(self.r.hget(debtor_key(self.id, "conv"), "rev") or 0)

    def say(self, channel, text=None, button=None, digits=None, voice_kind=None, call_id="CA-test",
            expect_turn=True, timeout=TURN_TIMEOUT):
        """Sends one message from the debtor on `channel` and returns the Turn: the bot's
        replies, once the engine has applied the turn and every reply reached the connector
        (settled with SENT). Voice: a gather (digits/speech) or call event with wants_reply,
        answered directly. expect_turn=False: only waits for the ack (a turn that changes
        nothing, e.g. a duplicate)."""
        conn = self.case.conn(channel)
        pmid = "%s-%d-%d" % (channel, int(time.time() * 1000), next(_pmids))
        rev0 = self.rev()
        kw = {}
        if channel == "voice":
            kind = voice_kind or (pb.VoiceEvent.KIND_GATHER if (text or digits) else pb.VoiceEvent.KIND_CALL_START)
            kw["voice"] = pb.VoiceEvent(kind=kind, call_id=call_id, digits=digits or "", speech=text or "")
            kw["wants_reply"] = kind != pb.VoiceEvent.KIND_CALL_END
        else:
            if text is not None:
                kw["text"] = text
            if button is not None:
                kw["button"] = pb.Button(payload=button, title=button)
        seq = conn.send_envelope(provider_message_id=pmid, from_=self.phone, to="+15550000000", **kw)
        res = conn.wait_result(seq, timeout)
        self.case.assertIsNotNone(res, "no ack for %s %r" % (channel, text))
        self.case.assertEqual(res.kind, "ack", res)
        if not expect_turn:
            return Turn(pmid, [], [])
        wait_until(lambda: self.rev() > rev0, timeout,
                   lambda: "the engine to apply the turn of %s %r (rev still %d)\n%s"
                   % (channel, text, self.rev(), tail(self.case.router_.log_path, 15)))
        if channel == "voice":
            if not kw["wants_reply"]:
                return Turn(pmid, [], [])
            o = wait_until(lambda: next((o for o in list(conn.outbounds) if o.reply_to_seq == seq), None),
                           timeout, "the voice answer to seq %d" % seq)
            return Turn(pmid, [o.text] if o.text else [], [o], o.voice)
        # The replies of this turn: the outbound items after this inbound in the thread.
        items = history(self.r, self.id)
        at = next(i for i, (_, it) in enumerate(items) if it.get("pmid") == pmid)
        outs = [it for _, it in items[at + 1:] if it["dir"] == "out" and it.get("by") == "bot"]
        got = []
        for it in outs:
            o = wait_until(lambda: next((o for o in list(self.case.conn(it["ch"]).outbounds)
                                         if o.outbound_id == it["oid"]), None),
                           timeout, "outbound %s on %s" % (it["oid"], it["ch"]))
            c = self.case.conn(it["ch"])
            rr = c.wait_result(c.report_delivery(o.outbound_id, "sent", provider_message_id="P" + o.outbound_id),
                               timeout)
            self.case.assertEqual(rr.kind, "ack", rr)
            got.append(o)
        return Turn(pmid, [o.text for o in got], got)


class EngineTestCase(HiloTestCase):
    """A router with the conversation engine on, the test clock, and one connector per
    channel (whatsapp, sms, voice)."""

    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        if not os.path.exists(FLOW):
            self.skipTest("no bot flow at %s" % FLOW)
        super().setUp()
        self._conns = {}

    def engine_overrides(self, **engine):
        o = {"engine": {"enabled": "true", "flow": FLOW, "compliance_dir": COMPLIANCE,
                        "test_clock": "true", "promise_sweep_ms": "100"},
             "router": {"outbound_poll_ms": "20", "outbound_lease_ms": "5000"}}
        o["engine"].update({k: str(v) for k, v in engine.items()})
        return o

    def start_engine(self, channels=("whatsapp", "sms", "voice"), **engine):
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        self.router_ = self.router(self.redis_, overrides=self.engine_overrides(**engine))
        self.assertTrue(self.router_.log_lines("engine", "event=ready"),
                        "the engine did not start:\n%s" % tail(self.router_.log_path))
        for ch in channels:
            self._conns[ch] = self.connector(self.router_, ch, "%s-engine" % ch)
        return self.router_

    def conn(self, channel):
        return self._conns[channel]

    def import_debtors(self, rows):
        p = import_debtors(self.router_.conf_path, self.workdir, rows)
        self.assertIn("rejected 0", p.stdout, p.stdout + p.stderr)
        return p

    def import_payments(self, rows, check=True):
        """`hilo import-payments` of a generated CSV; rows: dicts with debtor_id, amount,
        currency, paid_at, reference (or raw CSV lines as str). Returns the CompletedProcess."""
        import csv
        path = os.path.join(self.workdir, "payments-%d.csv" % int(time.time() * 1000000))
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["debtor_id", "amount", "currency", "paid_at", "reference"])
            for row in rows:
                if isinstance(row, str):
                    f.write(row + "\r\n")
                else:
                    w.writerow([row["debtor_id"], row["amount"], row["currency"], row["paid_at"],
                                row["reference"]])
        p = run_cli(self.router_.conf_path, "import-payments", path, check=check)
        p.path = path
        return p

    def set_clock(self, ms):
        self.r.set(CLOCK_KEY, str(int(ms)))

    def deny_apply(self):
        """Redis refuses engine_apply.lua (NOPERM, checked before the script runs: nothing
        written) until allow_all(): the debtors' consent keys, which it declares and no inbound
        commit or routing pass touches, are denied to the default user, every other key allowed.
        The router's steps before the script (router/src/engine_indexes.c) still go through."""
        self.deny_keys(self.redis_, "~hilo:[^{]*", "~hilo:{[^d]*", "~hilo:{d:*}:[^c]*", "~hilo:{d:*}:conv")

    def allow_all(self):
        self.allow_all_keys(self.redis_)

    def set_clock_local(self, tz, y, mo, d, h=0, mi=0, s=0):
        ms = local_ms(tz, y, mo, d, h, mi, s)
        self.set_clock(ms)
        return ms

    def debtor(self, debtor_id, phone):
        return Debtor(self, debtor_id, phone)

    def blocked(self, debtor_id):
        """The audit's compliance blocks: [j dicts]."""
        return [f["j"] for _, f in audit(self.r, debtor_id, "blocked")]
