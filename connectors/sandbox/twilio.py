"""twilio.py — the fake Twilio messaging side: the REST send endpoint
(POST /2010-04-01/Accounts/{AccountSid}/Messages.json), its status callbacks, the inbound SMS
webhook a debtor's phone produces, and the signed form request both SMS and voice use.

Twilio signs the URL it requested (scheme, host, path, query) plus the sorted POST parameters;
see signing.twilio_signature and settings.TwilioChannel for the public/local URL split.
"""

import base64
import hmac
import time
import urllib.parse
import uuid

import signing
import twiml
from core import random_hex, rfc2822
from store import e164

API_VERSION = "2010-04-01"
BODY_MAX = 1600  # Twilio's limit on a message body (characters)

# status -> (Twilio error code, message) for injected failures.
TWILIO_ERRORS = {
    400: (21211, "Invalid 'To' Phone Number"),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def twilio_error(status, code=None, message=None):
    dcode, dmsg = TWILIO_ERRORS.get(status, (status, "Error"))
    code = dcode if code is None else code
    return {"code": code, "message": message or dmsg,
            "more_info": "https://www.twilio.com/docs/errors/%s" % code, "status": status}


def country(number):
    return "US" if number.startswith("+1") else ""


def request_args(ch, kind, params, public_url=None, local_url=None, method="POST", ref=None):
    """post_webhook kwargs for one signed Twilio request.

    Give public_url (a URL Twilio was told: StatusCallback, a Gather action) and it is delivered
    to ch.local(public_url); or give local_url (the configured webhook, a --*-webhook override)
    and the signature covers ch.public(local_url). GET puts the parameters in the query string,
    where the signature covers them as part of the URL.
    """
    if public_url is None:
        public_url = ch.public(local_url)
    else:
        local_url = ch.local(public_url)
    body = b""
    sign_params = []
    if method == "GET":
        if params:
            query = urllib.parse.urlencode(params)
            public_url += ("&" if "?" in public_url else "?") + query
            local_url += ("&" if "?" in local_url else "?") + query
    else:
        body = urllib.parse.urlencode(params).encode("utf-8")
        sign_params = params
    headers = {"User-Agent": "TwilioProxy/1.1",
               "X-Twilio-Signature": signing.twilio_signature(ch.auth_token, public_url, sign_params),
               "I-Twilio-Idempotency-Token": str(uuid.uuid4())}
    if method != "GET":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return dict(kind=kind, channel=ch.name, url=local_url, body=body, headers=headers,
                method=method, signed_url=public_url, ref=ref)


# ---- REST: Messages.json -------------------------------------------------------------------

def _segments(text):
    if all(ord(c) < 128 for c in text):   # close enough to the GSM-7 alphabet for a sandbox
        return 1 if len(text) <= 160 else -(-len(text) // 153)
    return 1 if len(text) <= 70 else -(-len(text) // 67)


def _authenticate(sb, headers, path_sid):
    """The channel (sms or voice) whose AccountSid:AuthToken the basic auth carries, or None."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    if user != path_sid:
        return None
    for ch in (sb.settings.sms, sb.settings.voice):
        if hmac.compare_digest(user.encode(), ch.account_sid.encode()) and \
                hmac.compare_digest(password.encode(), ch.auth_token.encode()):
            return ch
    return None


def _record(sb, method, path, headers, raw, form, to):
    return {"api": "twilio", "ms": int(time.time() * 1000), "method": method, "path": path,
            "headers": dict(headers), "raw": raw.decode("utf-8", "replace"),
            "body": dict(form), "form": form, "to": to}


def rest_request(sb, method, path, headers, raw, text_key):
    """The start of every REST call: the form, recorded, and an injected failure applied (its
    `match` looks at params[text_key]). Returns (form, params, done, early): done(status, obj)
    records the answer and returns it; early is the injected failure's answer, or None."""
    try:
        form = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        form = []
    p = dict(form)
    record = _record(sb, method, path, headers, raw, form, e164(p.get("To", "")) or None)

    def done(status, obj):
        record["response"] = {"status": status, "body": obj}
        sb.store.record_call(record)
        return status, obj

    early = None
    rule = sb.store.take_rule("twilio", deliver=False, to=p.get("To", ""), text=p.get(text_key, ""))
    if rule:
        if rule.delay_ms:
            time.sleep(rule.delay_ms / 1000.0)
        if rule.status:
            early = done(rule.status, twilio_error(rule.status, rule.code, rule.message))
    return form, p, done, early


def rest_send(sb, method, path, account_sid, headers, raw):
    """POST .../Messages.json. Returns (status, response object) and records the call."""
    form, p, done, early = rest_request(sb, method, path, headers, raw, "Body")
    if early:
        return early
    ch = _authenticate(sb, headers, account_sid)
    if ch is None:
        return done(401, twilio_error(401))
    to, from_, body = p.get("To", ""), p.get("From", ""), p.get("Body", "")
    media = [v for k, v in form if k == "MediaUrl"]
    if not to:
        return done(400, twilio_error(400, 21604, "A 'To' phone number is required."))
    if len(e164(to)) < 8:
        return done(400, twilio_error(400, 21211, "The 'To' number %s is not a valid phone number." % to))
    if not from_ and not p.get("MessagingServiceSid"):
        return done(400, twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required"))
    if not body and not media:
        return done(400, twilio_error(400, 21602, "Message body is required."))
    if len(body) > BODY_MAX:
        return done(400, twilio_error(400, 21617, "The concatenated message body exceeds the %d character limit."
                                      % BODY_MAX))

    sid = "SM" + random_hex(16)
    now = rfc2822()
    uri = "/%s/Accounts/%s/Messages/%s.json" % (API_VERSION, account_sid, sid)
    resource = {
        "account_sid": account_sid, "api_version": API_VERSION, "body": body,
        "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
        "error_code": None, "error_message": None, "from": from_ or None,
        "messaging_service_sid": p.get("MessagingServiceSid") or None,
        "num_media": str(len(media)), "num_segments": str(_segments(body)), "price": None,
        "price_unit": "USD", "sid": sid, "status": "queued",
        "subresource_uris": {"media": uri[:-len(".json")] + "/Media.json"},
        "to": to, "uri": uri,
    }
    phone = e164(to)
    with sb.store.lock:
        sb.store.messages[sid] = resource
    item = {"channel": "sms", "dir": "out", "kind": "media" if media else "text", "text": body,
            "pmid": sid, "status": "queued"}
    if media:
        item["media"] = [{"url": u} for u in media]
    sb.store.add_item(phone, item)
    _schedule_statuses(sb, ch, phone, item, resource, p.get("StatusCallback"))
    return done(201, dict(resource))


def rest_fetch(sb, headers, account_sid, sid, path):
    """GET .../Messages/{sid}.json: the message resource with its current status."""
    if _authenticate(sb, headers, account_sid) is None:
        return 401, twilio_error(401)
    with sb.store.lock:
        res = sb.store.messages.get(sid)
        res = dict(res) if res else None
    if res is None or res["account_sid"] != account_sid:
        return 404, twilio_error(404, 20404, "The requested resource %s was not found" % path)
    return 200, res


def _schedule_statuses(sb, ch, phone, item, resource, status_callback):
    rule = sb.store.take_rule("twilio", deliver=True, to=phone)
    error = (rule.code or 30003, rule.message or "Unreachable destination handset") if rule else None
    steps = ["sent", "undelivered" if error else "delivered"]
    override = ch.status_webhook

    def step(i):
        if i >= len(steps):
            return
        status = steps[i]

        def apply():
            changes = {"status": status}
            if error and status == "undelivered":
                changes["error"] = "%s %s" % error
            sb.store.update_item(phone, item, **changes)
            with sb.store.lock:
                resource.update(status=status, date_updated=rfc2822())
                if status == "sent":
                    resource["date_sent"] = resource["date_updated"]
                if "error" in changes:
                    resource.update(error_code=error[0], error_message=error[1])

        if not status_callback and not override:  # Twilio only calls back when asked to
            def silent():
                apply()
                step(i + 1)
            sb.schedule(sb.status_delay(), silent)
            return

        def make():
            apply()
            params = [("AccountSid", resource["account_sid"]), ("ApiVersion", API_VERSION),
                      ("From", resource["from"] or ""), ("MessageSid", resource["sid"]),
                      ("MessageStatus", status), ("SmsSid", resource["sid"]), ("SmsStatus", status),
                      ("To", resource["to"])]
            if error and status == "undelivered":
                params.append(("ErrorCode", str(error[0])))
            if override:
                return request_args(ch, "sms.status", params, local_url=override, ref=resource["sid"])
            return request_args(ch, "sms.status", params, public_url=status_callback, ref=resource["sid"])
        sb.post_async(sb.status_delay(), make, on_done=lambda ok: step(i + 1))
    step(0)


# ---- the debtor's phone: inbound SMS ----------------------------------------------------------

def debtor_send(sb, phone, req):
    """Builds the inbound SMS webhook (Twilio's form parameters) and adds it to the transcript.
    Returns (post_webhook kwargs, item)."""
    ch = sb.settings.sms
    sid = "SM" + random_hex(16)
    text = str(req.get("text", ""))
    media = req.get("media") or []
    if isinstance(media, dict):
        media = [media]
    params = [("ToCountry", country(ch.number)), ("ToState", ""), ("SmsMessageSid", sid),
              ("NumMedia", str(len(media))), ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid),
              ("FromState", ""), ("SmsStatus", "received"), ("FromCity", ""), ("Body", text),
              ("FromCountry", country(phone)), ("To", ch.number), ("ToZip", ""),
              ("NumSegments", str(_segments(text))), ("MessageSid", sid),
              ("AccountSid", ch.account_sid), ("From", phone), ("ApiVersion", API_VERSION)]
    for i, m in enumerate(media):
        params.append(("MediaContentType%d" % i, str(m.get("mime_type", "image/jpeg"))))
        params.append(("MediaUrl%d" % i, str(m.get("url") or "https://api.twilio.com/%s/Accounts/%s/Messages/%s/Media/ME%s"
                                              % (API_VERSION, ch.account_sid, sid, random_hex(16)))))
    item = {"channel": "sms", "dir": "in", "kind": "media" if media else "text", "text": text, "pmid": sid}
    sb.store.add_item(phone, item)
    sb.store.mark_inbound("sms", phone)
    return request_args(ch, "sms.message", params, local_url=ch.webhook, ref=sid), item


def twiml_replies(sb, phone, resp):
    """An SMS webhook may be answered with TwiML <Message>s: Twilio sends them to the debtor."""
    if not resp.ok or "<" not in resp.body:
        return
    try:
        verbs = twiml.parse(resp.body)
    except twiml.TwimlError:
        return
    for v in verbs:
        if v["verb"] == "Message" and v["text"]:
            sb.store.add_item(phone, {"channel": "sms", "dir": "out", "kind": "text", "text": v["text"],
                                      "pmid": "SM" + random_hex(16), "status": "delivered", "via": "twiml"})
