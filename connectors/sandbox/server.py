"""server.py — the sandbox's HTTP surface: the provider API fakes the connectors call, the
/_sandbox/* test API, and the debtor phone page. A table of (method, path pattern, handler);
handlers take the request and return (status, JSON-able object) or a raw response.
"""

import json
import os
import re
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import calls_out
import dial
import twilio
import voice
import whatsapp
from store import Rule, e164

MAX_BODY = 1 << 20
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "phone.html")


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _json_body(raw):
    if not raw:
        return {}
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest(400, "body is not JSON: %s" % e)
    if not isinstance(obj, dict):
        raise BadRequest(400, "body must be a JSON object")
    return obj


def _int(obj, key, lo, hi, default=None):
    v = obj.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise BadRequest(400, "%s must be a number in %s..%s" % (key, lo, hi))
    return v


def _phone(value, what="from"):
    phone = e164(str(value or ""))
    if len(phone) < 8:
        raise BadRequest(400, "%s must be a phone number like +16505551234" % what)
    return phone


# ---- provider APIs ------------------------------------------------------------------------------

def graph_messages(h, m, q, raw):
    return whatsapp.graph_send(h.sb, "POST", h.path, m.group(1), m.group(2), h.headers, raw)


def twilio_messages(h, m, q, raw):
    return twilio.rest_send(h.sb, "POST", h.path, m.group(1), h.headers, raw)


def twilio_calls(h, m, q, raw):
    return calls_out.rest_call(h.sb, "POST", h.path, m.group(1), h.headers, raw)


def twilio_call_update(h, m, q, raw):
    return dial.rest_update(h.sb, "POST", h.path, m.group(1), m.group(2), h.headers, raw)


def twilio_message_get(h, m, q, raw):
    return twilio.rest_fetch(h.sb, h.headers, m.group(1), m.group(2), urllib.parse.urlsplit(h.path).path)


# ---- test API -----------------------------------------------------------------------------------

def info(h, m, q, raw):
    s = h.sb.settings
    host, port = h.server.server_address[:2]
    return 200, {
        "api_base": "http://%s:%d" % (host, port),
        "whatsapp": {"webhook": s.whatsapp.webhook, "phone_number_id": s.whatsapp.phone_number_id,
                     "display_phone_number": s.whatsapp.display_phone_number,
                     "api_version": s.whatsapp.api_version},
        "sms": {"webhook": s.sms.webhook, "signed_webhook": s.sms.public(s.sms.webhook),
                "status_webhook": s.sms.status_webhook, "number": s.sms.number,
                "account_sid": s.sms.account_sid},
        "voice": {"webhook": s.voice.webhook, "signed_webhook": s.voice.public(s.voice.webhook),
                  "status_webhook": s.voice_status_webhook, "number": s.voice.number},
        "status_delay_ms": list(s.status_delay_ms), "webhook_retries": s.webhook_retries,
        "wa_window_s": s.wa_window_s, "wa_read": s.wa_read,
    }


def _since(q):
    try:
        return int(q.get("since", ["0"])[0])
    except ValueError:
        raise BadRequest(400, "since must be an integer id")


def calls(h, m, q, raw):
    api = q.get("api", [None])[0]
    if api not in (None, "whatsapp", "twilio"):
        raise BadRequest(400, "api must be whatsapp or twilio")
    return 200, h.sb.store.list_calls(api, q.get("to", [None])[0], _since(q))


def events(h, m, q, raw):
    evs = h.sb.store.list_events(q.get("channel", [None])[0], q.get("kind", [None])[0], _since(q))
    ref = q.get("ref", [None])[0]
    return 200, [e for e in evs if not ref or e["ref"] == ref]


def fail_list(h, m, q, raw):
    return 200, h.sb.store.list_rules()


def fail(h, m, q, raw):
    req = _json_body(raw)
    api = req.get("api")
    if api not in ("whatsapp", "twilio"):
        raise BadRequest(400, "api must be whatsapp or twilio")
    status = _int(req, "status", 100, 599)
    delay_ms = _int(req, "delay_ms", 0, 120000, 0)
    deliver = req.get("deliver")
    if deliver not in (None, "failed"):
        raise BadRequest(400, "deliver must be \"failed\"")
    if deliver and (status or delay_ms):
        raise BadRequest(400, "a rule either answers (status, delay_ms) or fails delivery (deliver)")
    if not deliver and not status and not delay_ms:
        raise BadRequest(400, "give status, delay_ms or deliver")
    count = _int(req, "count", 1, 10 ** 6)
    seconds = _int(req, "seconds", 0.001, 86400)
    if count is not None and seconds is not None:
        raise BadRequest(400, "give count or seconds, not both")
    code = req.get("code")
    match = req.get("match")
    if match is not None and (not isinstance(match, str) or not match):
        raise BadRequest(400, "match must be a non-empty string")
    skip = _int(req, "skip", 0, 10 ** 6, 0)
    to = _phone(req["to"], "to") if req.get("to") is not None else None
    rule = Rule(api, status=status, delay_ms=delay_ms, deliver=deliver,
                count=int(count) if count is not None else (None if seconds else 1), seconds=seconds,
                code=code, message=req.get("message"), to=to, skip=int(skip), match=match)
    h.sb.store.add_rule(rule)
    return 200, {"ok": True, "rules": h.sb.store.list_rules()}


def reset(h, m, q, raw):
    h.sb.reset()
    return 200, {"ok": True}


def send(h, m, q, raw):
    req = _json_body(raw)
    channel = req.get("channel")
    phone = _phone(req.get("from"))
    if channel == "whatsapp":
        args, item = whatsapp.debtor_send(h.sb, phone, req)
    elif channel == "sms":
        args, item = twilio.debtor_send(h.sb, phone, req)
    elif channel in ("voice", "call"):
        raise BadRequest(400, "calls start with POST /_sandbox/call")
    else:
        raise BadRequest(400, "channel must be whatsapp or sms")
    retries = int(_int(req, "retries", 0, 20, 0))
    attempt = 1
    event, resp = h.sb.post_webhook(**args)
    while not resp.ok and attempt <= retries:
        time.sleep(min(0.25 * (2 ** (attempt - 1)), 2.0))
        attempt += 1
        event, resp = h.sb.post_webhook(attempt=attempt, **args)
    h.sb.store.update_item(phone, item, webhook={"status": resp.status, "error": resp.error})
    if channel == "sms":
        twilio.twiml_replies(h.sb, phone, resp)
    out = {"status": resp.status, "body": resp.body, "content_type": resp.content_type,
           "error": resp.error, "attempts": attempt, "event_id": event["id"],
           "message_id": item["pmid"], "payload": event["body"]}
    if req.get("duplicate"):  # the provider's at-least-once: the same webhook again
        dup, dresp = h.sb.replay(event)
        out["duplicate"] = {"status": dresp.status, "body": dresp.body, "error": dresp.error,
                            "event_id": dup["id"]}
    return 200, out


def replay(h, m, q, raw):
    req = _json_body(raw)
    event = h.sb.store.get_event(_int(req, "event", 1, 2 ** 62))
    if event is None:
        raise BadRequest(404, "no such event (it may have been reset)")
    ev, resp = h.sb.replay(event)
    return 200, {"status": resp.status, "body": resp.body, "error": resp.error, "event_id": ev["id"]}


def verify(h, m, q, raw):
    req = _json_body(raw)
    args, challenge = whatsapp.verify_args(h.sb, req.get("token"), req.get("challenge"))
    event, resp = h.sb.post_webhook(**args)
    return 200, {"status": resp.status, "body": resp.body, "error": resp.error, "challenge": challenge,
                 "echoed": resp.status == 200 and resp.body.strip() == challenge, "event_id": event["id"]}


def phone(h, m, q, raw):
    return 200, h.sb.store.phone_view(_phone(urllib.parse.unquote(m.group(1)), "the phone"))


def call_start(h, m, q, raw):
    req = _json_body(raw)
    to = _phone(req["to"], "to") if req.get("to") else None
    return 200, voice.start(h.sb, _phone(req.get("from")), to)


def _call(h, sid):
    call = voice.get(h.sb, sid)
    if call is None:
        raise BadRequest(404, "no such call %s" % sid)
    return call


def call_get(h, m, q, raw):
    call = _call(h, m.group(1))
    with h.sb.store.lock:
        return 200, call.view()


def call_input(h, m, q, raw):
    req = _json_body(raw)
    call = _call(h, m.group(1))
    digits, speech = req.get("digits"), req.get("speech")
    if digits is not None and not re.fullmatch(r"[0-9*#]{1,64}", str(digits)):
        raise BadRequest(400, "digits must be 0-9, * and #")
    confidence = _int(req, "confidence", 0, 1)
    try:
        return 200, voice.send_input(h.sb, call, digits=digits, speech=speech, confidence=confidence,
                                     timeout=bool(req.get("timeout")))
    except voice.CallError as e:
        raise BadRequest(409, str(e))


def call_outcome(h, m, q, raw):
    """What a phone does with the calls we place: {"phone": ..., "outcome": "ring" | "human" |
    "machine" | "no-answer" | "busy" | "failed"} (calls_out.py)."""
    req = _json_body(raw)
    outcome = req.get("outcome")
    if outcome not in calls_out.OUTCOMES:
        raise BadRequest(400, "outcome must be one of %s" % ", ".join(calls_out.OUTCOMES))
    phone = _phone(req.get("phone"), "phone")
    h.sb.store.set_call_outcome(phone, outcome)
    return 200, {"ok": True, "phone": phone, "outcome": outcome}


def call_answer(h, m, q, raw):
    req = _json_body(raw) if raw else {}
    by = req.get("by", "human")
    if by not in ("human", "machine"):
        raise BadRequest(400, "by must be human or machine")
    call = _call(h, m.group(1))
    if call.parent is not None:  # an agent's phone rung by a <Dial>
        try:
            return 200, dial.answer_leg(h.sb, call)
        except voice.CallError as e:
            raise BadRequest(409, str(e))
    if call.direction != "outbound-api":
        raise BadRequest(409, "only a call we placed rings on the phone")
    try:
        return 200, calls_out.answer(h.sb, call, by)
    except voice.CallError as e:
        raise BadRequest(409, str(e))


def call_decline(h, m, q, raw):
    """{"status": "busy" (default) | "no-answer" | "failed"}: how the ringing phone ends it."""
    req = _json_body(raw) if raw else {}
    status = req.get("status", "busy")
    if status not in ("busy", "no-answer", "failed"):
        raise BadRequest(400, "status must be busy, no-answer or failed")
    call = _call(h, m.group(1))
    if call.parent is not None:
        try:
            return 200, dial.end_leg(h.sb, call, status)
        except voice.CallError as e:
            raise BadRequest(409, str(e))
    if call.direction != "outbound-api":
        raise BadRequest(409, "only a call we placed rings on the phone")
    try:
        return 200, calls_out.decline(h.sb, call, status)
    except voice.CallError as e:
        raise BadRequest(409, str(e))


def call_hangup(h, m, q, raw):
    call = _call(h, m.group(1))
    if call.parent is not None:  # the agent hangs up: the Dial's action goes on with the caller
        try:
            return 200, dial.end_leg(h.sb, call, "completed")
        except voice.CallError as e:
            raise BadRequest(409, str(e))
    try:
        return 200, voice.hangup(h.sb, call)
    except voice.CallError as e:
        raise BadRequest(409, str(e))


def page(h, m, q, raw):
    with open(PAGE, "rb") as f:
        return 200, ("text/html; charset=utf-8", f.read())


def healthz(h, m, q, raw):
    return 200, ("text/plain; charset=utf-8", b"ok\n")


ROUTES = [(method, re.compile(pattern), fn) for method, pattern, fn in [
    ("POST", r"/(v\d+\.\d+)/([^/]+)/messages", graph_messages),
    ("POST", r"/2010-04-01/Accounts/([^/]+)/Messages\.json", twilio_messages),
    ("GET", r"/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json", twilio_message_get),
    ("POST", r"/2010-04-01/Accounts/([^/]+)/Calls\.json", twilio_calls),
    ("POST", r"/2010-04-01/Accounts/([^/]+)/Calls/(CA[0-9a-f]{32})\.json", twilio_call_update),
    ("GET", r"/", page),
    ("GET", r"/healthz", healthz),
    ("GET", r"/_sandbox/info", info),
    ("GET", r"/_sandbox/calls", calls),
    ("GET", r"/_sandbox/events", events),
    ("GET", r"/_sandbox/fail", fail_list),
    ("POST", r"/_sandbox/fail", fail),
    ("POST", r"/_sandbox/reset", reset),
    ("POST", r"/_sandbox/send", send),
    ("POST", r"/_sandbox/replay", replay),
    ("POST", r"/_sandbox/verify", verify),
    ("GET", r"/_sandbox/phone/([^/]+)", phone),
    ("POST", r"/_sandbox/call", call_start),
    ("GET", r"/_sandbox/call/(CA[0-9a-f]{32})", call_get),
    ("POST", r"/_sandbox/call/(CA[0-9a-f]{32})/input", call_input),
    ("POST", r"/_sandbox/call/(CA[0-9a-f]{32})/hangup", call_hangup),
    ("POST", r"/_sandbox/call/(CA[0-9a-f]{32})/answer", call_answer),
    ("POST", r"/_sandbox/call/(CA[0-9a-f]{32})/decline", call_decline),
    ("POST", r"/_sandbox/answer", call_outcome),
]]


class Handler(BaseHTTPRequestHandler):
    server_version = "hilo-sandbox/1.0"
    protocol_version = "HTTP/1.1"   # keep-alive: the connectors' libcurl reuses connections
    sb = None                       # set by sandbox.main
    quiet = False

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        u = urllib.parse.urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return self._send(413 if length > MAX_BODY else 400, {"error": "bad Content-Length"})
        raw = self.rfile.read(length) if length else b""
        allowed = False
        for m_, pattern, fn in ROUTES:
            match = pattern.fullmatch(u.path)
            if not match:
                continue
            if m_ != method:
                allowed = True
                continue
            try:
                status, obj = fn(self, match, urllib.parse.parse_qs(u.query), raw)
            except BadRequest as e:
                status, obj = e.status, {"error": str(e)}
            except Exception as e:  # a sandbox bug: answer it rather than drop the connection
                self.log_error("internal error on %s %s: %r", method, u.path, e)
                status, obj = 500, {"error": "sandbox internal error: %r" % e}
            return self._send(status, obj)
        if allowed:
            return self._send(405, {"error": "method not allowed"})
        return self._send(404, {"error": "no such path: %s %s" % (method, u.path)})

    def _send(self, status, obj):
        if isinstance(obj, tuple):
            ctype, body = obj
        else:
            ctype, body = "application/json", json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if not self.quiet:
            super().log_message(fmt, *args)
