"""The voice connector's durable spool (issue 17): a call event answered with the fallback TwiML
before the router acked it is written to the spool (synced) before the answer, so that a
connector killed with SIGKILL loses nothing: restarted, it replays the events in order, the
router commits each exactly once (dedupe on the provider id), and the spool empties. Bad files
in the spool are set aside with a log line and never stop the good ones.

Real redis-server, hilo-router (engine on; frozen with SIGSTOP, then killed), hilo-voice
(killed with SIGKILL) and the sandbox's configuration."""

import os
import signal
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase, http, parse_twiml, twilio_signature  # noqa: E402
from hilo_harness import wait_until  # noqa: E402

PHONE = "+16505551234"


class VoiceSpool(ConnectorStackCase):

    def start_voice_stack(self, max_events=100):
        self.spool_dir = os.path.join(self.workdir, "voice-spool")
        self.start_stack(engine=True, channels=("voice",), connector_overrides={"voice": {
            "spool_dir": self.spool_dir, "spool_max_events": str(max_events), "spool_max_age_ms": "3600000"}})
        self.seed("D1", PHONE, language="en")

    def call_start(self, sid):
        url = self.conf["voice"]["public_url"] + "/webhooks/twilio/voice"
        params = [("CallSid", sid), ("AccountSid", self.conf["voice"]["account_sid"]), ("From", PHONE),
                  ("To", "+15005550006"), ("CallStatus", "ringing"), ("Direction", "inbound"),
                  ("ApiVersion", "2010-04-01")]
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": twilio_signature(self.conf["voice"]["auth_token"], url, params)}
        status, _, body, _ = http("POST", self.conns["voice"].url("/webhooks/twilio/voice"),
                                  urllib.parse.urlencode(params).encode(), headers, timeout=20)
        self.assertEqual(status, 200, body)
        names = [v[0] for v in parse_twiml(body.decode())[1]]
        self.assertNotIn("Gather", names, "the fallback, not the bot: %s" % body)
        return body

    def spooled(self):
        try:
            return sorted(n for n in os.listdir(self.spool_dir) if n.endswith(".ev"))
        except FileNotFoundError:
            return []

    def kill9_connector(self):
        c = self.conns["voice"]
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait(10)

    def call_starts(self):
        return [it["voice"].get("call_id") or it.get("pid") for it in self.thread("D1")
                if it["dir"] == "in" and it["ch"] == "voice"]

    def test_fallback_events_survive_kill9_and_land_once_in_order(self):
        self.start_voice_stack()
        sids = ["CAe2espool0000000000000000000000001", "CAe2espool0000000000000000000000002"]
        # The router hangs: both calls get the fallback at voice_reply_deadline_ms, unacked.
        self.router_.freeze()
        for sid in sids:
            self.call_start(sid)
        # Answered 200 (Twilio will never send them again): both are on disk already.
        self.assertEqual(len(self.spooled()), 2, os.listdir(self.spool_dir))
        m = self.conns["voice"].metrics()
        self.assertEqual(m.value("hilo_connector_spool_written_total"), 2)
        self.assertEqual(m.value("hilo_connector_spool_events"), 2)
        # The connector dies before the router acks; the hung router dies too (what it had in its
        # socket buffers is gone with it).
        self.kill9_connector()
        self.router_.kill9()
        self.assertEqual(self.call_starts(), [], "nothing was committed before the restarts")
        # A damaged file and a truncated copy of a record sit in the spool as well.
        with open(os.path.join(self.spool_dir, "00000000000000000900.ev"), "wb") as f:
            f.write(b"garbage that is no spool record")
        with open(os.path.join(self.spool_dir, self.spooled()[0]), "rb") as f:
            head = f.read(40)
        with open(os.path.join(self.spool_dir, "00000000000000000901.ev"), "wb") as f:
            f.write(head)

        self.router_.start()
        c = self.start_connector("voice")
        items = self.wait_items("D1", lambda it: it["dir"] == "in" and it["ch"] == "voice", 2, 30,
                                "both spooled call starts committed after the restarts")
        wait_until(lambda: self.spooled() == [], 20, lambda: "the spool empties: %s" % self.spooled())
        self.assertEqual([it["voice"].get("call_id") for it in items], sids, "in the order they came")
        log = c.log()
        self.assertIn("event=spool_bad_record file=00000000000000000900.ev", log)
        self.assertIn("event=spool_bad_record file=00000000000000000901.ev", log)
        self.assertTrue(os.path.exists(os.path.join(self.spool_dir, "00000000000000000900.ev.bad")))
        m = c.metrics()
        self.assertEqual(m.value("hilo_connector_spool_delivered_total"), 2)
        self.assertEqual(m.value("hilo_connector_spool_dropped_total", reason="bad_record"), 2)
        self.assertEqual(m.value("hilo_connector_spool_events"), 0)

        # Exactly once: another restart replays nothing, and the thread still holds each once.
        c.stop()
        before = len(c.log())  # the restarted process appends to the same log
        c = self.start_connector("voice")
        time.sleep(1.0)
        self.assertEqual(c.metrics().value("hilo_connector_spool_written_total"), 0)
        self.assertNotIn("event=spool_replay ", c.log()[before:])
        self.assertEqual(self.call_starts(), sids)

    def test_replay_after_the_router_got_it_is_deduped(self):
        # The router hung, the connector answered the fallback and spooled the event, then died;
        # the router wakes and may still commit what reached its socket. The replay must not
        # make a second thread item: the router's dedupe answers it as a duplicate.
        self.start_voice_stack()
        sid = "CAe2espool0000000000000000000000003"
        self.router_.freeze()
        self.call_start(sid)
        self.assertEqual(len(self.spooled()), 1)
        self.kill9_connector()
        self.router_.thaw()
        time.sleep(1.0)
        self.start_connector("voice")
        self.wait_items("D1", lambda it: it["dir"] == "in" and it["ch"] == "voice", 1, 30, "the call start")
        wait_until(lambda: self.spooled() == [], 20, lambda: "the spool empties: %s" % self.spooled())
        time.sleep(0.5)
        self.assertEqual(self.call_starts(), [sid])

    def test_count_bound_is_logged_and_counted(self):
        # spool_max_events = 1: the second fallback still plays, its event is not spooled, and
        # that is an error in the log and a metric, not silence.
        self.start_voice_stack(max_events=1)
        self.router_.freeze()
        try:
            self.call_start("CAe2espool0000000000000000000000004")
            self.call_start("CAe2espool0000000000000000000000005")
        finally:
            self.router_.thaw()
        self.assertEqual(len(self.spooled()), 1)
        m = self.conns["voice"].metrics()
        self.assertEqual(m.value("hilo_connector_spool_dropped_total", reason="full"), 1)
        self.assertIn("event=spool_full", self.conns["voice"].log())
        # Still in the link's memory: with the connector alive, both reach the router.
        self.wait_items("D1", lambda it: it["dir"] == "in" and it["ch"] == "voice", 2, 30, "both call starts")
        wait_until(lambda: self.spooled() == [], 20, lambda: "the spool empties: %s" % self.spooled())

    def test_acked_turn_is_not_spooled(self):
        # The router answers in time: nothing goes to the spool.
        self.start_voice_stack()
        step = self.sandbox.call(PHONE)
        self.assertEqual(step["call"]["state"], "gathering", step)
        self.sandbox.hangup(step["call"]["sid"])
        m = self.conns["voice"].metrics()
        self.assertEqual(m.value("hilo_connector_spool_written_total"), 0)
        self.assertEqual(self.spooled(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
