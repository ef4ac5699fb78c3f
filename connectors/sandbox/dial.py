"""dial.py — the far end of <Dial>: an agent's phone that rings, answers or not, talks and hangs
up; and Twilio's call update (POST .../Calls/{CallSid}.json with Twiml), by which the voice
connector puts a caller who waits in a queue through to an agent (docs/providers.md,
"Connecting a caller").

A <Dial> of a <Number> or <Sip> starts a leg: a voice.Call of its own (direction
"outbound-dial", `parent` = the caller's call) ringing on the agent's phone, which the phone page
or the test API answers, declines or hangs up (POST /_sandbox/call/<leg sid>/answer, /decline,
/hangup); the Dial's timeout (20 s by default) ends it as no-answer. The leg's statusCallback
gets the events its statusCallbackEvent asks for (ringing, answered); when the leg ends, the
Dial's action is requested with DialCallStatus, DialCallSid and DialCallDuration, and the
caller's call runs the TwiML it answers (voice.py). A caller who hangs up ends the leg too.
"""

import threading
import time
import urllib.parse

import twiml
import twilio
import voice
from core import random_hex

DIAL_TIMEOUT_S = 20  # Twilio's default <Dial timeout>


def _ch(sb):
    return sb.settings.voice


def start_leg(sb, call, step, verb, doc_url):
    """Runs a <Dial> verb on `call` (its lock held). Returns False when the Dial has no number
    to ring (a <Queue>, a <Client>...): the call then just stays "dialing" as before."""
    nouns = [n for n in verb.get("nouns", []) if n["noun"] in ("Number", "Sip")]
    if not nouns and not verb["text"]:
        return False
    noun = nouns[0] if nouns else {"noun": "Number", "attrs": {}, "text": verb["text"]}
    a = verb["attrs"]
    try:
        timeout = max(5, min(600, int(a.get("timeout", DIAL_TIMEOUT_S))))
    except ValueError:
        timeout = DIAL_TIMEOUT_S
    target = noun["text"]
    leg = voice.Call("CA" + random_hex(16), target, call.to, direction="outbound-dial",
                     status_callback=noun["attrs"].get("statusCallback") and
                     urllib.parse.urljoin(doc_url, noun["attrs"]["statusCallback"]),
                     events=noun["attrs"].get("statusCallbackEvent", "").split())
    leg.parent = call
    leg.action = urllib.parse.urljoin(doc_url, a["action"]) if a.get("action") else None
    leg.action_method = a.get("method", "POST").upper()
    leg.doc_url = doc_url
    call.leg = leg
    call.state, call.dial, call.queue = "dialing", target, None
    with sb.store.lock:
        sb.store.voice_calls[leg.sid] = leg
    voice._item(sb, call, "event", "dial", "Connecting you to %s" % target)
    voice._item(sb, leg, "event", "call", "Incoming call from %s" % call.phone)
    _leg_event(sb, leg, "ringing", "ringing")
    gen = sb.generation

    def ring_out():
        if gen == sb.generation:
            try:
                end_leg(sb, leg, "no-answer")
            except voice.CallError:
                pass  # answered or ended meanwhile
    sb.schedule(timeout, ring_out)
    return True


def _leg_event(sb, leg, name, status):
    """The leg's statusCallback, when its statusCallbackEvent asks for `name`."""
    if name not in leg.events or not leg.status_callback:
        return
    params = voice._params(sb, leg, status) + [("ParentCallSid", leg.parent.sid),
                                               ("CallbackSource", "call-progress-events"),
                                               ("SequenceNumber", str(leg.sequence))]
    leg.sequence += 1
    sb.post_webhook(**twilio.request_args(_ch(sb), "voice.agent", params, public_url=leg.status_callback,
                                          ref=leg.parent.sid))


def _leg(sb, sid):
    leg = voice.get(sb, sid)
    if leg is None or getattr(leg, "parent", None) is None:
        raise voice.CallError("no such agent leg %s" % sid)
    return leg


def answer_leg(sb, leg):
    """The agent picks up: caller and agent talk."""
    call = leg.parent
    step = voice._Step()
    with call.lock:
        if leg.state != "ringing":
            raise voice.CallError("the agent's phone is not ringing (it is %s)" % leg.state)
        leg.answered = time.time()
        leg.state = leg.call_status = "in-progress"
        call.state = "connected"
        voice._item(sb, leg, "event", "call", "Answered")
        voice._item(sb, call, "event", "dial", "Connected to %s" % leg.phone)
        _leg_event(sb, leg, "answered", "in-progress")
        return voice._result(call, step)


def end_leg(sb, leg, status):
    """The leg ends: not answered (no-answer, busy, failed), or the agent hangs up
    (completed). The Dial's action decides what the caller hears next."""
    call = leg.parent
    step = voice._Step()
    with call.lock:
        if leg.state == "ended" or call.leg is not leg:
            raise voice.CallError("the agent's call has already ended")
        if status == "completed" and leg.state != "in-progress":
            raise voice.CallError("the agent's phone is ringing: answer or decline it")
        if status != "completed" and leg.state != "ringing":
            raise voice.CallError("the agent's phone is not ringing (it is %s)" % leg.state)
        _finish_leg(sb, leg, status)
        if call.state == "ended":
            return voice._result(call, step)
        call.state = call.call_status = "in-progress"
        if not leg.action:
            voice._end(sb, call, step, "completed")  # no action: Twilio goes on after <Dial>; ours ends
            return voice._result(call, step)
        params = voice._params(sb, call, "in-progress") + [
            ("DialCallStatus", status), ("DialCallSid", leg.sid), ("DialCallDuration", str(leg.duration_s()))]
        got = voice._fetch(sb, call, step, "voice.dialed", params, method=leg.action_method, public_url=leg.action)
        if got is not None:
            voice._execute(sb, call, step, *got)
        return voice._result(call, step)


def _finish_leg(sb, leg, status):
    leg.state, leg.call_status, leg.ended = "ended", status, time.time()
    leg.parent.leg = None
    voice._item(sb, leg, "event", "call", "Call ended (%s, %d s)" % (status, leg.duration_s()))


def caller_gone(sb, call):
    """The caller hung up (their call's lock held): the agent's leg ends with it."""
    leg = getattr(call, "leg", None)
    if leg is not None and leg.state != "ended":
        _finish_leg(sb, leg, "completed" if leg.answered else "canceled")


def rest_update(sb, method, path, account_sid, sid, headers, raw):
    """POST .../Calls/{CallSid}.json with Twiml (or Url): the live call leaves what it was doing
    (a queue) and runs the new document. Answers the call resource; the TwiML runs right after,
    as Twilio runs it asynchronously."""
    form, p, done, early = twilio.rest_request(sb, method, path, headers, raw, "Twiml")
    if early:
        return early
    if twilio._authenticate(sb, headers, account_sid) is None:
        return done(401, twilio.twilio_error(401))
    call = voice.get(sb, sid)
    if call is None:
        return done(404, twilio.twilio_error(404, 20404, "The requested resource %s was not found" % path))
    if not p.get("Twiml"):
        return done(400, twilio.twilio_error(400, 21205, "Twiml parameter is required."))
    try:
        verbs = twiml.parse(p["Twiml"])
    except twiml.TwimlError as e:
        return done(400, twilio.twilio_error(400, 21220, "Invalid Twiml: %s" % e))
    with call.lock:
        if call.state == "ended" or call.call_status != "in-progress":
            return done(400, twilio.twilio_error(400, 21220, "Call is not in-progress. Cannot redirect."))
        resource = {"account_sid": account_sid, "sid": sid, "status": call.call_status, "direction": call.direction,
                    "from": call.phone, "to": call.to}
    gen = sb.generation

    def run():
        if gen != sb.generation:
            return
        step = voice._Step()
        with call.lock:
            if call.state == "ended":
                return
            call.gather, call.queue = None, None
            call.twiml, call.verbs = p["Twiml"], verbs
            voice._execute(sb, call, step, verbs, call.status_callback or "")
    threading.Thread(target=run, daemon=True).start()
    return done(200, resource)
