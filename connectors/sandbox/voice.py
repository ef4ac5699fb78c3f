"""voice.py — plays a debtor's phone call against the voice connector the way Twilio runs a
call: it requests the voice webhook, executes the TwiML it gets back (Say, Play, Pause, Gather,
Redirect, Dial, Enqueue, Hangup, Reject), waits at a <Gather> for the debtor's digits or
speech, posts them to the Gather's action URL, and sends the status callback when the call
ends. One Call object per CallSid; its lock keeps one call's steps in order.

Calls we place (POST .../Calls.json) are calls_out.py; once answered they run here too.

A <Dial> of a number or SIP address rings that phone (an agent's; dial.py), and Twilio's call
update (POST .../Calls/{CallSid}.json) runs new TwiML on a live call (dial.py). Not simulated:
the far end of <Enqueue> and <Dial><Queue>, and media: such a call stays "queued"/"dialing"
until the debtor hangs up or the call is updated.
"""

import threading
import time
import urllib.parse

import twiml
import twilio
from core import random_hex, rfc2822

MAX_FETCHES = 25       # TwiML documents fetched in one step (a <Redirect> loop stops here)
REDIRECT_PAUSE_S = 0.2 # a redirect is not instant at Twilio either; keeps a wait loop from spinning
MAX_PAUSE_S = 5.0      # <Pause length> is honoured up to this


class CallError(Exception):
    """An input the call cannot take now (HTTP 409 for the test API)."""


class Call:
    def __init__(self, sid, phone, to, direction="inbound", status_callback=None, events=()):
        self.sid = sid
        self.phone = phone            # the debtor (From of an inbound call, To of one we placed)
        self.to = to                  # our number (To of an inbound call, From of one we placed)
        self.direction = direction    # "inbound" | "outbound-api" (placed with Calls.json)
        self.status_callback = status_callback  # a placed call's StatusCallback (public URL)
        self.events = set(events)     # its StatusCallbackEvent list
        self.answered_by = None       # AnsweredBy (answering-machine detection), placed calls
        self.lock = threading.Lock()  # one step at a time
        self.state = "ringing"        # ringing | in-progress | gathering | dialing | queued | ended
        self.call_status = "ringing"  # Twilio's CallStatus
        self.started = time.time()
        self.answered = None
        self.ended = None
        self.gather = None            # the <Gather> waiting for input, see _execute
        self.queue = None             # <Enqueue> queue name
        self.dial = None              # <Dial> target
        self.twiml = ""               # last TwiML document
        self.verbs = []               # ... parsed
        self.error = None
        self.sequence = 0
        self.leg = None               # the agent's leg a <Dial> rings (dial.py)
        self.parent = None            # a leg: the caller's call it belongs to

    def duration_s(self):
        if not self.answered:
            return 0
        return int(round((self.ended or time.time()) - self.answered))

    def view(self):
        g = self.gather
        return {"sid": self.sid, "phone": self.phone, "to": self.to, "direction": self.direction,
                "answered_by": self.answered_by, "state": self.state,
                "call_status": self.call_status, "started_ms": int(self.started * 1000),
                "ended_ms": int(self.ended * 1000) if self.ended else None,
                "duration_s": self.duration_s(),
                "gather": None if g is None else {k: g[k] for k in ("attrs", "input", "num_digits",
                                                                    "finish_on_key", "action", "method")},
                "queue": self.queue, "dial": self.dial, "error": self.error,
                "leg": self.leg.sid if self.leg else None, "parent": self.parent.sid if self.parent else None,
                "twiml": self.twiml, "verbs": self.verbs}


def _ch(sb):
    return sb.settings.voice


def _params(sb, call, status):
    ch = _ch(sb)
    caller, called = (call.phone, call.to) if call.direction == "inbound" else (call.to, call.phone)
    p = [("AccountSid", ch.account_sid), ("ApiVersion", twilio.API_VERSION), ("CallSid", call.sid),
         ("CallStatus", status), ("Called", called), ("CalledCountry", twilio.country(called)),
         ("Caller", caller), ("CallerCountry", twilio.country(caller)),
         ("Direction", call.direction), ("From", caller), ("FromCountry", twilio.country(caller)),
         ("To", called), ("ToCountry", twilio.country(called))]
    if call.answered_by:
        p.append(("AnsweredBy", call.answered_by))
    return p


def _item(sb, call, dir_, kind, text, **extra):
    sb.store.add_item(call.phone, dict(channel="voice", dir=dir_, kind=kind, text=text,
                                       call_sid=call.sid, **extra))


class _Step:
    """What one API call (start / input / hangup) did: documents fetched, words said."""

    def __init__(self):
        self.fetches = 0
        self.said = []
        self.response = None          # the connector's answer to the last TwiML request
        self.event_id = None
        self.status_callback = None   # set when the step ended the call


def _fetch(sb, call, step, kind, params, method="POST", public_url=None, local_url=None):
    """Requests a TwiML document. Returns (verbs, document URL) or None after ending the call
    on an application error (as Twilio does: it says so and hangs up)."""
    step.fetches += 1
    args = twilio.request_args(_ch(sb), kind, params, public_url=public_url, local_url=local_url,
                               method=method, ref=call.sid)
    event, resp = sb.post_webhook(**args)
    step.response, step.event_id = resp, event["id"]
    if not resp.ok:
        why = "HTTP %s" % resp.status if resp.status else resp.error
        return _fail(sb, call, step, "the %s webhook failed: %s" % (kind, why))
    try:
        verbs = twiml.parse(resp.body)
    except twiml.TwimlError as e:
        return _fail(sb, call, step, "the %s webhook did not answer TwiML: %s" % (kind, e))
    call.twiml, call.verbs = resp.body, verbs
    return verbs, args["signed_url"]


def _fail(sb, call, step, why):
    call.error = why
    _item(sb, call, "event", "error", "Application error: " + why)
    _end(sb, call, step, "completed" if call.answered else "failed")
    return None


def _say(sb, call, step, verb):
    if verb["verb"] == "Say":
        step.said.append(verb["text"])
        _item(sb, call, "out", "say", verb["text"], language=verb.get("language"))
    elif verb["verb"] == "Play":
        _item(sb, call, "out", "play", "[audio] " + verb["text"])


def _execute(sb, call, step, verbs, doc_url):
    """Runs verbs like Twilio: until a Gather waits, the call is handed over, or it ends."""
    i = 0
    while i < len(verbs):
        v, a = verbs[i], verbs[i]["attrs"]
        tag = v["verb"]
        if tag in ("Say", "Play"):
            _say(sb, call, step, v)
        elif tag == "Pause":
            try:
                time.sleep(min(float(a.get("length", "1")), MAX_PAUSE_S))
            except ValueError:
                pass
        elif tag == "Gather":
            for child in v["children"]:
                _say(sb, call, step, child)
            num = a.get("numDigits")
            call.gather = {
                "attrs": a,
                "input": a.get("input", "dtmf"),
                "num_digits": int(num) if num and num.isdigit() else None,
                "finish_on_key": a.get("finishOnKey", "#"),
                "action": urllib.parse.urljoin(doc_url, a["action"]) if a.get("action") else doc_url,
                "method": a.get("method", "POST").upper(),
                "on_empty": a.get("actionOnEmptyResult", "false").lower() == "true",
                "after": verbs[i + 1:],       # what runs when the gather times out
                "doc_url": doc_url,
            }
            call.state = "gathering"
            return
        elif tag == "Hangup":
            _end(sb, call, step, "completed")
            return
        elif tag == "Reject":
            _end(sb, call, step, "busy" if a.get("reason") == "busy" else "no-answer")
            return
        elif tag == "Dial":
            import dial  # (dial.py builds on this module)
            if dial.start_leg(sb, call, step, v, doc_url):
                return
            call.state, call.dial = "dialing", v["target"]
            _item(sb, call, "event", "dial", "Connecting you to %s" % v["target"])
            return
        elif tag == "Enqueue":
            call.state, call.queue = "queued", v["queue"]
            _item(sb, call, "event", "enqueue", "Waiting in queue '%s'" % v["queue"])
            return
        elif tag == "Redirect":
            if step.fetches >= MAX_FETCHES:
                _fail(sb, call, step, "more than %d TwiML documents in one step (Redirect loop?)" % MAX_FETCHES)
                return
            time.sleep(REDIRECT_PAUSE_S)
            got = _fetch(sb, call, step, "voice.redirect", _params(sb, call, call.call_status),
                         method=a.get("method", "POST").upper(),
                         public_url=urllib.parse.urljoin(doc_url, v["url"] or doc_url))
            if got is None:
                return
            verbs, doc_url = got
            i = 0
            continue
        # Message, Sms and unknown verbs do nothing on a call
        i += 1
    _end(sb, call, step, "completed")  # out of verbs: Twilio hangs up


def _end(sb, call, step, status):
    """Ends the call and posts the status callback (synchronously: the test API's answer
    carries the connector's response)."""
    if call.state == "ended":
        return
    import dial
    dial.caller_gone(sb, call)
    call.state, call.call_status, call.ended, call.gather = "ended", status, time.time(), None
    _item(sb, call, "event", "call", "Call ended (%s, %d s)" % (status, call.duration_s()))
    call.sequence += 1
    params = _params(sb, call, status) + [
        ("CallDuration", str(call.duration_s())), ("Timestamp", rfc2822(call.ended)),
        ("CallbackSource", "call-progress-events"), ("SequenceNumber", str(call.sequence - 1))]
    if call.status_callback:  # a placed call: the URL its Calls.json request gave
        args = twilio.request_args(_ch(sb), "voice.status", params, public_url=call.status_callback, ref=call.sid)
    else:
        args = twilio.request_args(_ch(sb), "voice.status", params,
                                   local_url=sb.settings.voice_status_webhook, ref=call.sid)
    event, resp = sb.post_webhook(**args)
    step.status_callback = {"event_id": event["id"], "response": resp.as_dict()}


def _result(call, step):
    return {"call": call.view(), "said": step.said, "twiml": call.twiml, "verbs": call.verbs,
            "event_id": step.event_id,
            "response": step.response.as_dict() if step.response else None,
            "status_callback": step.status_callback}


def start(sb, phone, to=None):
    """Places a call from the debtor; returns the first step's result."""
    call = Call("CA" + random_hex(16), phone, to or _ch(sb).number)
    with sb.store.lock:
        sb.store.voice_calls[call.sid] = call
    step = _Step()
    with call.lock:
        _item(sb, call, "event", "call", "Calling %s" % call.to)
        got = _fetch(sb, call, step, "voice.call", _params(sb, call, "ringing"),
                     local_url=sb.settings.voice.webhook)
        if got is not None:
            call.answered = time.time()
            call.state = call.call_status = "in-progress"
            _execute(sb, call, step, *got)
        return _result(call, step)


def get(sb, sid):
    with sb.store.lock:
        return sb.store.voice_calls.get(sid)


def send_input(sb, call, digits=None, speech=None, confidence=None, timeout=False):
    """The debtor answers the waiting <Gather>: digits, speech, or nothing (timeout)."""
    step = _Step()
    with call.lock:
        g = call.gather
        if call.state == "ended":
            raise CallError("the call has ended")
        if g is None:
            raise CallError("no <Gather> is waiting for input (call is %s)" % call.state)
        params = _params(sb, call, "in-progress")
        if digits:
            if "dtmf" not in g["input"].split():
                raise CallError("this <Gather> takes input=%r, not digits" % g["input"])
            digits = str(digits)
            fin = g["finish_on_key"]
            if fin and fin in digits:
                digits = digits[:digits.index(fin)]
                params.append(("FinishedOnKey", fin))
            if g["num_digits"]:
                digits = digits[:g["num_digits"]]
            if digits:  # only the finish key pressed: an empty result, like silence
                params.append(("Digits", digits))
                _item(sb, call, "in", "digits", digits)
        elif speech:
            if "speech" not in g["input"].split():
                raise CallError("this <Gather> takes input=%r, not speech" % g["input"])
            conf = 0.9 if confidence is None else float(confidence)
            params += [("SpeechResult", str(speech)), ("Confidence", "%.8f" % conf)]
            _item(sb, call, "in", "speech", str(speech))
        elif not timeout:
            raise CallError("give digits, speech, or timeout: true")
        call.gather = None
        call.state = "in-progress"
        if not digits and not speech and not g["on_empty"]:
            _item(sb, call, "event", "timeout", "No input")
            _execute(sb, call, step, g["after"], g["doc_url"])
            return _result(call, step)
        got = _fetch(sb, call, step, "voice.gather", params, method=g["method"], public_url=g["action"])
        if got is not None:
            _execute(sb, call, step, *got)
        return _result(call, step)


def hangup(sb, call):
    step = _Step()
    with call.lock:
        if call.state == "ended":
            raise CallError("the call has already ended")
        _end(sb, call, step, "completed")
        return _result(call, step)
