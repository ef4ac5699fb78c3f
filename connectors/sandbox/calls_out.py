"""calls_out.py — calls we place: Twilio's POST /2010-04-01/Accounts/{AccountSid}/Calls.json and
what happens to the call at the debtor's end.

The debtor's phone rings; what it does next is the number's setting (POST /_sandbox/answer,
default "ring"): "human" or "machine" answer it, "no-answer", "busy" and "failed" end it, "ring"
keeps it ringing until the phone page (or POST /_sandbox/call/<sid>/answer, /decline) decides, or
the call's Timeout (60 s) runs out as no-answer. The call's StatusCallback gets the events its
StatusCallbackEvent list asks for (initiated, ringing, answered) and always the final one
(completed, busy, no-answer, failed), with AnsweredBy (human, machine_end_beep) when
MachineDetection was asked for. An answered call runs its Twiml (or the TwiML its Url answers)
as voice.py runs an inbound call; a machine hears it out and hangs up at the first <Gather>.
"""

import threading
import time

import twilio
import twiml
import voice
from core import random_hex, rfc2822
from store import e164

OUTCOMES = ("ring", "human", "machine", "no-answer", "busy", "failed")
RING_TIMEOUT_S = 60  # Twilio's default Timeout


class Placed:
    """What a placed call carries besides voice.Call: its TwiML source and settings."""

    def __init__(self, twiml_doc, url, machine_detection, timeout_s):
        self.twiml_doc = twiml_doc
        self.url = url
        self.machine_detection = machine_detection
        self.timeout_s = timeout_s


def rest_call(sb, method, path, account_sid, headers, raw):
    """POST .../Calls.json. Returns (status, resource) and records the call."""
    form, p, done, early = twilio.rest_request(sb, method, path, headers, raw, "Twiml")
    if early:
        return early
    if twilio._authenticate(sb, headers, account_sid) is None:
        return done(401, twilio.twilio_error(401))
    to, from_ = p.get("To", ""), p.get("From", "")
    if not to or len(e164(to)) < 8:
        return done(400, twilio.twilio_error(400, 21211, "The 'To' number %s is not a valid phone number." % to))
    if not from_:
        return done(400, twilio.twilio_error(400, 21603, "A 'From' phone number is required."))
    if not p.get("Twiml") and not p.get("Url"):
        return done(400, twilio.twilio_error(400, 21205, "Url or Twiml parameter is required."))
    if p.get("Twiml"):
        try:
            twiml.parse(p["Twiml"])
        except twiml.TwimlError as e:
            return done(400, twilio.twilio_error(400, 21220, "Invalid Twiml: %s" % e))
    try:
        timeout = max(5, min(600, int(p.get("Timeout", RING_TIMEOUT_S))))
    except ValueError:
        timeout = RING_TIMEOUT_S
    sid = "CA" + random_hex(16)
    now = rfc2822()
    resource = {"account_sid": account_sid, "api_version": twilio.API_VERSION, "sid": sid, "status": "queued",
                "direction": "outbound-api", "from": from_, "to": to, "date_created": now, "date_updated": now,
                "answered_by": None, "uri": "/%s/Accounts/%s/Calls/%s.json" % (twilio.API_VERSION, account_sid, sid)}
    call = voice.Call(sid, e164(to), from_, direction="outbound-api", status_callback=p.get("StatusCallback"),
                      events=[v for k, v in form if k == "StatusCallbackEvent"])
    call.placed = Placed(p.get("Twiml"), p.get("Url"), p.get("MachineDetection"), timeout)
    call.state = call.call_status = "queued"
    with sb.store.lock:
        sb.store.voice_calls[sid] = call
    voice._item(sb, call, "event", "call", "Incoming call from %s" % from_)
    gen = sb.generation
    threading.Thread(target=_progress, args=(sb, call, gen), daemon=True).start()
    return done(201, resource)


def _event(sb, call, name, status):
    """A progress callback, when the call asked for that event."""
    if name not in call.events or not call.status_callback:
        return
    params = voice._params(sb, call, status) + [("CallbackSource", "call-progress-events"),
                                                 ("SequenceNumber", str(call.sequence)),
                                                 ("Timestamp", rfc2822())]
    call.sequence += 1
    sb.post_webhook(**twilio.request_args(voice._ch(sb), "voice.status", params,
                                          public_url=call.status_callback, ref=call.sid))


def _progress(sb, call, gen):
    time.sleep(sb.status_delay())
    if gen != sb.generation:
        return
    with call.lock:
        _event(sb, call, "initiated", "initiated")
        call.state = call.call_status = "ringing"
        _event(sb, call, "ringing", "ringing")
    outcome = sb.store.call_outcome(call.phone)
    if outcome == "ring":
        def timeout():
            try:
                decline(sb, call, "no-answer")
            except voice.CallError:
                pass  # answered or ended meanwhile
        sb.schedule(call.placed.timeout_s, timeout)
        return
    time.sleep(sb.status_delay())
    try:
        if outcome in ("human", "machine"):
            answer(sb, call, outcome)
        else:
            decline(sb, call, outcome)
    except voice.CallError:
        pass


def decline(sb, call, status="busy"):
    """The ringing call ends unanswered: busy, no-answer or failed."""
    step = voice._Step()
    with call.lock:
        if call.state != "ringing":
            raise voice.CallError("the call is not ringing (it is %s)" % call.state)
        voice._end(sb, call, step, status)
        return voice._result(call, step)


def answer(sb, call, by="human"):
    """A person (or a machine) picks up the ringing call: it runs the call's TwiML."""
    step = voice._Step()
    with call.lock:
        if call.state != "ringing":
            raise voice.CallError("the call is not ringing (it is %s)" % call.state)
        call.answered = time.time()
        call.state = call.call_status = "in-progress"
        if call.placed.machine_detection in ("Enable", "DetectMessageEnd"):
            call.answered_by = "machine_end_beep" if by == "machine" else "human"
        voice._item(sb, call, "event", "call", "Answered (%s)" % by)
        _event(sb, call, "answered", "in-progress")
        if call.placed.twiml_doc:
            verbs, doc_url = twiml.parse(call.placed.twiml_doc), call.status_callback or ""
            call.twiml, call.verbs = call.placed.twiml_doc, verbs
        else:
            got = voice._fetch(sb, call, step, "voice.call", voice._params(sb, call, "in-progress"),
                               public_url=call.placed.url)
            if got is None:
                return voice._result(call, step)
            verbs, doc_url = got
        voice._execute(sb, call, step, verbs, doc_url)
        if by == "machine" and call.state == "gathering":
            voice._end(sb, call, step, "completed")  # a voicemail does not press keys
        return voice._result(call, step)
